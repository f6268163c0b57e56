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

criterion_group!(benches, bench);
criterion_main!(benches);
