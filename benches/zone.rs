//! Zone boot to INIT and halt, through hull vs `crun run` of the same root
//! file system, in the same run. INIT is `/bin/true` (busybox-static): the
//! measurement is boot to the first instruction of INIT, its exit, and
//! teardown. crun refuses this host's hybrid cgroup layout, so, as
//! shared/reference/this-machine.md says, the benchmark unmounts
//! `/sys/fs/cgroup/unified` in a private mount namespace and runs crun with
//! `--cgroup-manager=cgroupfs` (v1). Needs root, busybox-static and crun;
//! otherwise it says so and measures nothing.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

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
    for a in ["sh", "true"] {
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
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
    static N: AtomicU32 = AtomicU32::new(0);

    let mut g = c.benchmark_group("zone_boot_halt");
    g.sample_size(30);
    g.bench_function("hull", |b| {
        b.iter(|| {
            zones.boot(&cfg.name).unwrap();
            assert_eq!(zones.wait(&cfg.name).unwrap(), 0);
            zones.halt(&cfg.name).unwrap();
        })
    });
    g.bench_function("crun", |b| {
        b.iter(|| {
            let id = format!(
                "hull-bench-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let ok = Command::new("crun")
                .args(["--cgroup-manager=cgroupfs", "run", "-b"])
                .arg(&bundle)
                .arg(&id)
                .status()
                .unwrap()
                .success();
            assert!(ok, "crun run failed");
        })
    });
    g.finish();

    zones.uninstall(&cfg.name).unwrap();
    zones.delete(&cfg.name).unwrap();
    let _ = std::fs::remove_dir_all(&base);
}

criterion_group!(benches, bench);
criterion_main!(benches);
