//! Zone boot to INIT and halt, through hull vs `crun run` of the same root
//! file system, in the same run, with equal confinement. INIT is
//! `/bin/true` (busybox-static): the measurement is boot to the first
//! instruction of INIT, its exit, and teardown.
//!
//! Equal confinement: hull's zone is confined as every hull zone is
//! (Docker's 14 capabilities, its seccomp filter, device allow-list, masked
//! and read-only `/proc` paths, read-only `/sys`, private `/dev`, cgroup
//! namespace); crun gets its own default spec (`crun spec`: masked and
//! read-only paths, private `/dev`, device allow-list, no_new_privs) plus
//! Docker's 14 capabilities (inheritable empty), a cgroup namespace, and hull's
//! seccomp filter as an OCI profile ([`hull::zone::seccomp::oci_profile`]).
//! After the group it prints the ratio of the two means (hull / crun).
//!
//! crun refuses this host's hybrid cgroup layout, so, as
//! shared/reference/this-machine.md says, the benchmark unmounts
//! `/sys/fs/cgroup/unified` in a private mount namespace and runs crun with
//! `--cgroup-manager=cgroupfs` (v1). Needs root, busybox-static and crun;
//! otherwise it says so and measures nothing.
//!
//! `zone_at_scale` measures configure+install and boot+halt with 1, 100 and
//! 1000 zones present and prints the growth of each.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hull::zone::{ZoneConfig, Zones};

fn skip(why: &str) {
    eprintln!("SKIPPED benches/zone.rs: {why}");
}

fn bench(c: &mut Criterion) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip("needs root");
    }
    if !Path::new("/bin/busybox").exists()
        || Command::new("crun").arg("--version").output().is_err()
    {
        return skip("needs busybox-static and crun");
    }
    // A private mount namespace without the v2 hierarchy, for crun.
    // SAFETY: affects this thread (and the processes it starts) only.
    unsafe {
        assert_eq!(
            libc::unshare(libc::CLONE_NEWNS),
            0,
            "unshare: {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null()
            ),
            0
        );
        libc::umount2(c"/sys/fs/cgroup/unified".as_ptr(), libc::MNT_DETACH);
    }
    let base = std::env::temp_dir().join(format!("hull-bench-zone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let image = base.join("image");
    std::fs::create_dir_all(image.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", image.join("bin/busybox")).unwrap();
    for a in ["sh", "true", "cat"] {
        std::os::unix::fs::symlink("busybox", image.join("bin").join(a)).unwrap();
    }

    // hull
    let zones = Zones::open(base.join("state")).unwrap();
    let cfg: ZoneConfig = serde_json::from_value(serde_json::json!({
        "name": format!("bench{}", std::process::id()), "zonepath": base.join("zone"), "init": ["/bin/true"]
    }))
    .unwrap();
    zones.configure(&cfg).unwrap();
    zones.install(&cfg.name, &image).unwrap();

    // crun: the same root, a default spec with INIT /bin/true.
    let bundle = base.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    assert!(Command::new("cp")
        .arg("-a")
        .arg(&image)
        .arg(bundle.join("rootfs"))
        .status()
        .unwrap()
        .success());
    assert!(Command::new("crun")
        .arg("spec")
        .current_dir(&bundle)
        .status()
        .unwrap()
        .success());
    let spec_path = bundle.join("config.json");
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&spec_path).unwrap()).unwrap();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["/bin/true"]);
    let docker14: Vec<String> = hull::zone::caps::DEFAULT_LIMITPRIV
        .iter()
        .map(|c| format!("CAP_{c}"))
        .collect();
    for set in ["bounding", "effective", "permitted"] {
        spec["process"]["capabilities"][set] = serde_json::json!(docker14);
    }
    // Empty, as a hull zone's and Docker's.
    spec["process"]["capabilities"]["inheritable"] = serde_json::json!([]);
    spec["linux"]["seccomp"] = hull::zone::seccomp::oci_profile();
    spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "cgroup"}));
    static N: AtomicU32 = AtomicU32::new(0);
    let crun_run = |id_tag: &str| {
        let id = format!(
            "hull-bench-{id_tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        Command::new("crun")
            .args(["--cgroup-manager=cgroupfs", "run", "-b"])
            .arg(&bundle)
            .arg(&id)
            .output()
            .unwrap()
    };
    // Check once that crun applied what "equal" claims: the same
    // capability set as a hull zone, and a seccomp filter.
    spec["process"]["args"] = serde_json::json!(["/bin/cat", "/proc/self/status"]);
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let status = String::from_utf8_lossy(&crun_run("check").stdout).into_owned();
    let field = |f: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(f))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("crun's INIT shows no {f}: {status}"))
    };
    let bnd = u64::from_str_radix(&field("CapBnd:"), 16).unwrap();
    assert_eq!(
        bnd,
        hull::zone::caps::default_mask(),
        "crun has Docker's 14"
    );
    assert_eq!(field("Seccomp:"), "2", "crun installed the filter");
    spec["process"]["args"] = serde_json::json!(["/bin/true"]);
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();

    // Each side's total time and count, for the ratio printed at the end.
    let totals = Mutex::new([(Duration::ZERO, 0u64); 2]);
    let timed = |side: usize, iters: u64, op: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        let t = start.elapsed();
        let mut tot = totals.lock().unwrap();
        tot[side].0 += t;
        tot[side].1 += iters;
        t
    };
    let hull_op = || {
        zones.boot(&cfg.name).unwrap();
        assert_eq!(zones.wait(&cfg.name).unwrap(), 0);
        zones.halt(&cfg.name).unwrap();
    };
    let crun_op = || {
        let out = crun_run("run");
        assert!(out.status.success(), "crun run failed: {out:?}");
    };
    let mut g = c.benchmark_group("zone_boot_halt");
    g.sample_size(30);
    g.bench_function("hull", |b| b.iter_custom(|n| timed(0, n, &hull_op)));
    g.bench_function("crun", |b| b.iter_custom(|n| timed(1, n, &crun_op)));
    g.finish();
    let tot = totals.lock().unwrap();
    let per = |(t, n): (Duration, u64)| t.as_secs_f64() * 1e3 / n.max(1) as f64;
    let (h, r) = (per(tot[0]), per(tot[1]));
    println!(
        "zone_boot_halt, equal confinement: hull {h:.2} ms, crun {r:.2} ms per boot+halt; hull/crun = {:.2}",
        h / r
    );

    zones.uninstall(&cfg.name).unwrap();
    zones.delete(&cfg.name).unwrap();
    let _ = std::fs::remove_dir_all(&base);
}

/// Zone operations with 1, 100 and 1000 zones already present (configured
/// and installed, in the same state directory): configure+install of one
/// more zone (uninstalled and deleted outside the timing), and boot+halt of
/// one installed zone. Prints each one's growth (per-op time at 1000 ÷ at
/// 1).
fn at_scale(c: &mut Criterion) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/bin/busybox").exists() {
        return skip("zone_at_scale needs root and busybox-static");
    }
    let base = std::env::temp_dir().join(format!("hull-bench-zscale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let image = base.join("image");
    std::fs::create_dir_all(image.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", image.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", image.join("bin/true")).unwrap();
    // The zones present get a root of one small file.
    let tiny = base.join("tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    std::fs::write(tiny.join("motd"), "present\n").unwrap();
    let zones = Zones::open(base.join("state")).unwrap();
    let cfg = |name: &str| -> ZoneConfig {
        serde_json::from_value(serde_json::json!({
            "name": name, "zonepath": base.join("z").join(name), "init": ["/bin/true"]
        }))
        .unwrap()
    };
    let booted = cfg("booted");
    zones.configure(&booted).unwrap();
    zones.install(&booted.name, &image).unwrap();
    let fresh = cfg("fresh");

    let counts = [1usize, 100, 1000];
    let totals = Mutex::new(std::collections::HashMap::new());
    let timed = |op: &'static str, count: usize, n: u64, f: &dyn Fn() -> Duration| {
        let mut t = Duration::ZERO;
        for _ in 0..n {
            t += f();
        }
        let mut tot = totals.lock().unwrap();
        let e = tot.entry((op, count)).or_insert((Duration::ZERO, 0u64));
        e.0 += t;
        e.1 += n;
        t
    };
    let configure_install = || {
        let s = Instant::now();
        zones.configure(&fresh).unwrap();
        zones.install(&fresh.name, &image).unwrap();
        let t = s.elapsed();
        zones.uninstall(&fresh.name).unwrap();
        zones.delete(&fresh.name).unwrap();
        t
    };
    let boot_halt = || {
        let s = Instant::now();
        zones.boot(&booted.name).unwrap();
        assert_eq!(zones.wait(&booted.name).unwrap(), 0);
        zones.halt(&booted.name).unwrap();
        s.elapsed()
    };
    // `booted` is one of the zones present.
    let mut present = 1;
    let mut g = c.benchmark_group("zone_at_scale");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    for count in counts {
        while present < count {
            let z = cfg(&format!("p{present}"));
            zones.configure(&z).unwrap();
            zones.install(&z.name, &tiny).unwrap();
            present += 1;
        }
        // Write the zones just made out to disk before measuring: on ext4
        // (data=ordered) the first fsyncs after making them would otherwise
        // also flush their copied roots, a backlog of the set-up rather
        // than a cost of having zones.
        // SAFETY: sync has no preconditions.
        unsafe { libc::sync() };
        g.bench_function(format!("configure_install/{count}"), |b| {
            b.iter_custom(|n| timed("configure+install", count, n, &configure_install))
        });
        g.bench_function(format!("boot_halt/{count}"), |b| {
            b.iter_custom(|n| timed("boot+halt", count, n, &boot_halt))
        });
    }
    g.finish();
    let tot = totals.lock().unwrap();
    // A group filtered out on the command line measured nothing.
    if tot.is_empty() {
        return;
    }
    for op in ["configure+install", "boot+halt"] {
        let v: Vec<f64> = counts
            .iter()
            .map(|&n| {
                let (t, k): (Duration, u64) = tot[&(op, n)];
                t.as_secs_f64() * 1e3 / k.max(1) as f64
            })
            .collect();
        println!(
            "zone_at_scale {op}: {:.3} / {:.3} / {:.3} ms at 1 / 100 / 1000 zones present; growth {:.2}x",
            v[0],
            v[1],
            v[2],
            v[2] / v[0]
        );
    }
    for (name, _, _) in zones.list().unwrap() {
        let _ = zones.uninstall(&name);
        let _ = zones.delete(&name);
    }
    let _ = std::fs::remove_dir_all(&base);
}

// at_scale first: `bench` leaves its thread in a mount namespace without
// the v2 cgroup hierarchy, for crun.
criterion_group!(benches, at_scale, bench);
criterion_main!(benches);
