//! A zone's cgroups are its own: the service that booted it can be
//! stopped and its cgroups removed (what systemd does on a restart) while
//! the zone runs on; a cap whose controller is missing is a typed error.
//! Real zones, as root; skipped (and said so) without root or busybox.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::zone::{example, no_cgroups_for, setup, zone_name};
use hull::zone::{State, Zones};
use hull::ErrorKind;

#[test]
fn a_zone_survives_the_removal_of_its_callers_systemd_and_unified_cgroups() {
    let Some(s) = setup("cgroup_survive") else {
        return;
    };
    let (systemd, unified) = (
        Path::new("/sys/fs/cgroup/systemd"),
        Path::new("/sys/fs/cgroup/unified"),
    );
    if !systemd.join("cgroup.procs").exists() {
        common::skipped(
            "cgroup_survive",
            "not a hybrid cgroup host (no name=systemd hierarchy)",
        );
        return;
    }
    // The "service": its own cgroup in name=systemd and in the unified hierarchy.
    let tag = format!("hull-caller-{}", std::process::id());
    let callers: Vec<PathBuf> = [systemd, unified]
        .iter()
        .filter(|h| h.join("cgroup.procs").exists())
        .map(|h| h.join(&tag))
        .collect();
    for c in &callers {
        std::fs::create_dir(c).unwrap();
    }
    let join: String = callers
        .iter()
        .map(|c| format!("echo $$ > {}/cgroup.procs; ", c.display()))
        .collect();
    let state = s.base.join("state-survive");
    let name = zone_name("survive");
    let mut agent = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("{join}exec \"$@\""))
        .arg("sh")
        .arg(example())
        .args([
            "--name",
            &name,
            "--root",
            s.image.to_str().unwrap(),
            "--state-dir",
        ])
        .arg(&state)
        .args([
            "--console",
            "null",
            "--",
            "/bin/sh",
            "-c",
            "sleep 1; echo alive > /out; sleep 300",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(agent.stderr.take().unwrap()).lines();
    let running = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.ends_with(": running"));
    assert!(running, "the example booted the zone");
    // Stop the service as systemd does: kill every process in its cgroups, remove them.
    for c in &callers {
        for pid in std::fs::read_to_string(c.join("cgroup.procs"))
            .unwrap()
            .lines()
        {
            // SAFETY: a pid listed in the test's own cgroup.
            unsafe { libc::kill(pid.parse().unwrap(), libc::SIGKILL) };
        }
    }
    agent.wait().unwrap();
    for c in &callers {
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::remove_dir(c).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} still holds processes",
                c.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let zones = Zones::open(&state).unwrap();
    let name = name.parse().unwrap();
    assert_eq!(
        zones.state(&name).unwrap(),
        State::Running,
        "INIT outlived the service"
    );
    let out = s.base.join(format!("state-survive/{name}.zone/root/out"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.exists() {
        assert!(Instant::now() < deadline, "the zone went on running");
        std::thread::sleep(Duration::from_millis(50));
    }
    zones.halt(&name).unwrap();
    zones.uninstall(&name).unwrap();
    zones.delete(&name).unwrap();
    assert!(no_cgroups_for(&name));
}

#[test]
fn a_cap_whose_controller_is_missing_is_a_typed_error() {
    let Some(s) = setup("cgroup_missing") else {
        return;
    };
    let capped = {
        let mut c = s.config(&zone_name("nopids"), &["/bin/true"]);
        c.caps.max_processes = Some(64);
        s.installed(&c);
        c
    };
    let plain = s.config(&zone_name("plain"), &["/bin/true"]);
    s.installed(&plain);
    let zones = s.zones.clone();
    let capped_name = capped.name.clone();
    let (e, plain_ok) = std::thread::spawn(move || {
        // This thread only: a mount namespace without the pids hierarchy.
        // SAFETY: unshare and mount calls that affect this thread's namespace only.
        unsafe {
            assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0);
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
            assert_eq!(
                libc::umount2(c"/sys/fs/cgroup/pids".as_ptr(), libc::MNT_DETACH),
                0
            );
        }
        let e = zones.boot(&capped.name).unwrap_err();
        let state = zones.state(&capped.name).unwrap();
        assert_eq!(state, State::Installed);
        let plain_ok = zones
            .boot(&plain.name)
            .map(|_| zones.wait(&plain.name).unwrap());
        zones.halt(&plain.name).unwrap();
        (e, plain_ok.unwrap())
    })
    .join()
    .unwrap();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
    assert!(e.to_string().contains("pids"), "{e}");
    assert_eq!(plain_ok, 0, "a zone without that cap still boots");
    assert!(no_cgroups_for(&capped_name));
}
