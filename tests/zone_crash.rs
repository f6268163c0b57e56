//! A compute-node agent is killed (SIGKILL) at any step of a zone's boot or
//! halt: the next `Zones::open` finds every zone either running and
//! tracked, or installed with no process and no cgroup left, and halt,
//! boot and uninstall work. The agent here is the `zone_lifecycle` example,
//! killed at each fault point (`HULL_FAULT_KILL_AT`). Real zones, as root;
//! skipped (and said so) without root or busybox.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::zone::{example, no_cgroups_for, setup, zone_name};
use hull::name::ZoneName;
use hull::zone::{State, Zones};

/// Processes (host-wide) that sit in this zone's cgroups.
fn processes_of(name: &ZoneName) -> Vec<String> {
    let needle = format!("/hull/{name}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("cgroup"))
                .is_ok_and(|c| c.lines().any(|l| l.ends_with(&needle)))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Runs the example killed at `point`; returns the state dir and zone name.
fn killed_at(s: &common::zone::Setup, point: &str, init: &str) -> (std::path::PathBuf, ZoneName) {
    let tag = point.replace(':', "-");
    let state = s.base.join(format!("state-{tag}"));
    let name = zone_name(&format!("crash-{tag}"));
    let status = Command::new(example())
        .env("HULL_FAULT_KILL_AT", point)
        .args([
            "--name",
            &name,
            "--root",
            s.image.to_str().unwrap(),
            "--state-dir",
        ])
        .arg(&state)
        .args(["--console", "inherit", "--", "/bin/sh", "-c", init])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "{point}: the agent was killed there"
    );
    (state, name.parse().unwrap())
}

/// What a fresh open must find, and that the zone is usable afterwards.
fn recovers(point: &str, state: &Path, name: &ZoneName) {
    let zones = Zones::open(state).unwrap();
    match zones.state(name).unwrap() {
        State::Running => {
            assert!(
                !processes_of(name).is_empty(),
                "{point}: running means tracked and alive"
            );
            zones.halt(name).unwrap();
        }
        State::Installed => {}
        other => panic!("{point}: {other:?} after a fresh open"),
    }
    // Installed, with nothing left behind.
    assert_eq!(zones.state(name).unwrap(), State::Installed, "{point}");
    // The relay and any zone process go with the cgroups.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !processes_of(name).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{point}: {:?} left",
            processes_of(name)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(no_cgroups_for(name), "{point}: a cgroup left");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let zonepath = state.join(format!("{name}.zone"));
    assert!(
        !mounts.contains(zonepath.to_str().unwrap()),
        "{point}: a mount of the zone left on the host"
    );
    // And it works: boot, halt, uninstall, delete.
    zones.boot(name).unwrap();
    zones.halt(name).unwrap();
    zones.uninstall(name).unwrap();
    zones.delete(name).unwrap();
    assert!(no_cgroups_for(name));
}

#[test]
fn an_agent_killed_at_any_step_of_boot_leaves_a_zone_running_and_tracked_or_installed_and_clean() {
    let Some(s) = setup("crash_boot") else { return };
    for point in [
        "boot:cgroups-made",
        "boot:spawned",
        "boot:recorded",
        "boot:handed-over",
        "boot:running",
    ] {
        let (state, name) = killed_at(&s, point, "sleep 30");
        recovers(point, &state, &name);
    }
}

#[test]
fn an_agent_killed_at_any_step_of_halt_leaves_the_zone_installed_and_clean() {
    let Some(s) = setup("crash_halt") else { return };
    for point in ["halt:killed", "halt:cgroups-removed"] {
        // INIT exits at once; the example then waits and halts.
        let (state, name) = killed_at(&s, point, "true");
        recovers(point, &state, &name);
    }
}
