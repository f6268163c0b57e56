//! The outside judge: the same hostile probes run inside a hull zone and
//! inside a busybox container under `crun run` with crun's own default spec
//! (`crun spec`). Wherever the container is closed, the zone must be closed
//! too; the zone may keep more capabilities than the container only within
//! Docker's 14. Every probe is harmless to the host if it wrongly succeeds
//! (reads, writing core_pattern's own value back, access checks, a user
//! namespace, a tmpfs mount in the probe's own namespace). Needs root,
//! busybox-static and crun (the README test command installs them);
//! skipped, and said so, without.

mod common;

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::process::Command;

use common::zone::{setup, zone_name};

/// Each probe prints `NAME=open` or `NAME=closed`; then CapBnd and the
/// character devices in /dev. Output goes to stdout (crun's root is
/// read-only by default).
const PROBES: &str = r#"
o() { if [ "$2" = 0 ]; then echo "$1=open"; else echo "$1=closed"; fi; }
cp=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
printf '%s\n' "$cp" > /proc/sys/kernel/core_pattern 2>/dev/null; o core_pattern $?
(exec 3>> /proc/sysrq-trigger) 2>/dev/null; o sysrq_trigger $?
(exec 3>> /sys/kernel/rcu_expedited) 2>/dev/null; o sys_writable $?
n=$(head -c 16 /proc/kcore 2>/dev/null | wc -c); [ "$n" -gt 0 ]; o kcore $?
n=$(head -c 16 /proc/timer_list 2>/dev/null | wc -c); [ "$n" -gt 0 ]; o timer_list $?
n=$(head -c 16 /proc/sched_debug 2>/dev/null | wc -c); [ "$n" -gt 0 ]; o sched_debug $?
n=$(head -c 1 /dev/kmsg 2>/dev/null | wc -c); [ "$n" -gt 0 ]; o dev_kmsg $?
mknod /dev/hk c 1 11 2>/dev/null && n=$(head -c 1 /dev/hk 2>/dev/null | wc -c) && [ "$n" -gt 0 ]; o mknod_kmsg $?
mount -t tmpfs probe /dev/shm 2>/dev/null; o mount $?
unshare -U true 2>/dev/null; o user_namespace $?
test -e /proc/self/fd/87; o caller_fd $?
grep CapBnd /proc/self/status
for f in /dev/* /dev/*/*; do [ -c "$f" ] && echo "chardev=$f"; done
"#;

/// (probe name -> open?, CapBnd, char devices) from a probe run's output.
fn parse(out: &str) -> (BTreeMap<String, bool>, u64, Vec<String>) {
    let mut probes = BTreeMap::new();
    let (mut bnd, mut devs) = (None, Vec::new());
    for l in out.lines() {
        if let Some(v) = l.strip_prefix("CapBnd:") {
            bnd = u64::from_str_radix(v.trim(), 16).ok();
        } else if let Some(d) = l.strip_prefix("chardev=") {
            devs.push(d.to_string());
        } else if let Some((k, v)) = l.split_once('=') {
            probes.insert(k.to_string(), v == "open");
        }
    }
    (
        probes,
        bnd.unwrap_or_else(|| panic!("no CapBnd in {out}")),
        devs,
    )
}

#[test]
fn a_zone_is_at_least_as_closed_as_crun_default_container() {
    let Some(s) = setup("vs_crun") else { return };
    if Command::new("crun").arg("--version").output().is_err() {
        if std::env::var_os("HULL_REQUIRE_ROOT").is_some() {
            panic!("crun is required (HULL_REQUIRE_ROOT is set)");
        }
        common::skipped("vs_crun", "no crun");
        return;
    }
    // An fd left open without close-on-exec, for both to (not) inherit.
    let leak = std::fs::File::open("/proc/version").unwrap();
    // SAFETY: dup2 onto a fresh number; closed at the end of the test.
    assert_eq!(unsafe { libc::dup2(leak.as_raw_fd(), 87) }, 87);

    // hull: INIT runs the probes; output to a console file.
    let log = s.base.join("hull.out");
    let mut cfg = s.config(&zone_name("vscrun"), &["/bin/sh", "-c", PROBES]);
    cfg.console = hull::zone::Console::File(log.clone());
    let (code, _) = s.run(&cfg);
    assert_eq!(code, 0);
    let hull_out = std::fs::read_to_string(&log).unwrap();

    // crun: the same root, its default spec, the same script. crun refuses
    // this host's hybrid cgroups, so it runs in a private mount namespace
    // without the unified hierarchy (shared/reference/this-machine.md).
    let bundle = s.base.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    assert!(Command::new("cp")
        .arg("-a")
        .arg(&s.image)
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
    spec["process"]["args"] = serde_json::json!(["/bin/sh", "-c", PROBES]);
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let id = format!("hull-vs-crun-{}", std::process::id());
    let crun_out = std::thread::spawn(move || {
        // SAFETY: mount-namespace calls affecting this thread (and crun) only.
        unsafe {
            assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0);
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            );
            libc::umount2(c"/sys/fs/cgroup/unified".as_ptr(), libc::MNT_DETACH);
        }
        let out = Command::new("crun")
            .args(["--cgroup-manager=cgroupfs", "run", "-b"])
            .arg(&bundle)
            .arg(&id)
            .output()
            .unwrap();
        assert!(out.status.success(), "crun run: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .join()
    .unwrap();
    // SAFETY: closing the fd this test made.
    unsafe { libc::close(87) };

    let (hull, hull_bnd, hull_devs) = parse(&hull_out);
    let (crun, crun_bnd, crun_devs) = parse(&crun_out);
    assert_eq!(
        hull.keys().collect::<Vec<_>>(),
        crun.keys().collect::<Vec<_>>(),
        "{hull_out}\n{crun_out}"
    );
    for (probe, crun_open) in &crun {
        if !crun_open {
            assert!(!hull[probe], "{probe}: closed in crun's container, open in the zone\nhull:\n{hull_out}\ncrun:\n{crun_out}");
        }
    }
    // Capabilities beyond the container's: only Docker's 14.
    let extra = hull_bnd & !crun_bnd;
    assert_eq!(
        extra & !hull::zone::caps::default_mask(),
        0,
        "zone {hull_bnd:#x} vs crun {crun_bnd:#x}"
    );
    // No device in the zone's /dev that the container lacks.
    for d in &hull_devs {
        assert!(
            crun_devs.contains(d),
            "{d} in the zone, not in crun's /dev: {crun_devs:?}"
        );
    }
    // And the judge is not asleep: the container is closed on these.
    for probe in [
        "core_pattern",
        "sys_writable",
        "kcore",
        "mknod_kmsg",
        "mount",
        "caller_fd",
    ] {
        assert!(
            !crun[probe],
            "{probe} open in crun's container?\n{crun_out}"
        );
    }
}
