//! Zones on Linux, for real: a busybox-static root built by the test, INIT
//! as PID 1 in its own namespaces, caps enforced by cgroups, nothing left
//! after halt, uninstall and delete. Needs root and /bin/busybox; without
//! them the tests say they are skipped (the README test command requires
//! root and installs busybox-static).

mod common;

use std::path::Path;
use std::process::Command;

use common::zone::{no_cgroups_for, setup, zone_name};
use hull::zone::{State, ZoneConfig, Zones};
use hull::ErrorKind;

#[test]
fn inside_a_zone_init_is_pid_1_with_its_hostname_only_lo_and_no_host_process() {
    let Some(s) = setup("zone_inside") else {
        return;
    };
    let script = "echo pid=$$ > /out; hostname >> /out; cat /proc/net/dev >> /out; for p in /proc/[0-9]*; do echo $p; done >> /out";
    let cfg = s.config(&zone_name("inside"), &["/bin/sh", "-c", script]);
    let name = s.installed(&cfg);
    let init = s
        .zones
        .boot(&name)
        .unwrap()
        .init
        .expect("a Linux boot reports INIT");
    assert!(init.pid > 1);
    assert_eq!(s.zones.wait(&name).unwrap(), 0);
    let out = std::fs::read_to_string(cfg.zonepath.join("root/out")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "pid=1", "{out}");
    assert_eq!(lines[1], name.as_str(), "{out}");
    let links: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains(':') && !l.contains('|'))
        .map(|l| l.trim().split(':').next().unwrap())
        .collect();
    assert_eq!(links, vec!["lo"], "{out}");
    let procs: Vec<&&str> = lines.iter().filter(|l| l.starts_with("/proc/")).collect();
    assert_eq!(procs, vec![&"/proc/1"], "no host process is visible: {out}");
    // INIT exited: the zone is down until halted; halt cleans up.
    assert_eq!(s.zones.state(&name).unwrap(), State::Down);
    s.zones.halt(&name).unwrap();
    assert_eq!(s.zones.state(&name).unwrap(), State::Installed);
    assert!(no_cgroups_for(&name));
    s.zones.uninstall(&name).unwrap();
    assert!(!cfg.zonepath.exists(), "uninstall leaves no files");
    s.zones.delete(&name).unwrap();
    assert!(s.zones.list().unwrap().is_empty());
}

#[test]
fn the_memory_cap_kills_a_process_that_allocates_past_it() {
    let Some(s) = setup("zone_memcap") else {
        return;
    };
    let mut cfg = s.config(
        &zone_name("memcap"),
        &[
            "/bin/sh",
            "-c",
            "x=0123456789abcdef; while :; do x=$x$x; done",
        ],
    );
    cfg.caps.memory_bytes = Some(32 << 20);
    let name = s.installed(&cfg);
    s.zones.boot(&name).unwrap();
    let code = s.zones.wait(&name).unwrap();
    assert_eq!(
        code,
        128 + libc::SIGKILL,
        "killed by the OOM killer at the cap"
    );
    s.zones.halt(&name).unwrap();
    assert!(no_cgroups_for(&name));
}

#[test]
fn halt_kills_every_process_of_a_running_zone() {
    let Some(s) = setup("zone_halt") else { return };
    let cfg = s.config(
        &zone_name("halt"),
        &["/bin/sh", "-c", "sleep 300 & sleep 300 & sleep 300"],
    );
    let name = s.installed(&cfg);
    let init = s
        .zones
        .boot(&name)
        .unwrap()
        .init
        .expect("a Linux boot reports INIT");
    assert_eq!(s.zones.state(&name).unwrap(), State::Running);
    // Another process sees the same state.
    assert_eq!(
        Zones::open(s.base.join("state"))
            .unwrap()
            .state(&name)
            .unwrap(),
        State::Running
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    let ns = s.zones.netns(&name).unwrap();
    assert!(ns.exists());
    // Double boot is refused and changes nothing.
    assert!(matches!(
        s.zones.boot(&name).unwrap_err().kind,
        ErrorKind::InvalidState { .. }
    ));
    s.zones.halt(&name).unwrap();
    assert!(!init.alive());
    assert!(!Path::new(&format!("/proc/{}", init.pid)).exists() || !init.alive());
    assert!(no_cgroups_for(&name));
    assert_eq!(s.zones.state(&name).unwrap(), State::Installed);
    // Halt of a stopped zone is refused.
    assert!(matches!(
        s.zones.halt(&name).unwrap_err().kind,
        ErrorKind::InvalidState { .. }
    ));
}

#[test]
fn a_boot_whose_init_is_missing_leaves_nothing_behind() {
    let Some(s) = setup("zone_noinit") else {
        return;
    };
    let cfg = s.config(&zone_name("noinit"), &["/bin/nope"]);
    let name = s.installed(&cfg);
    let e = s.zones.boot(&name).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("/bin/nope"), "{e}");
    assert_eq!(s.zones.state(&name).unwrap(), State::Installed);
    assert!(no_cgroups_for(&name));
    // Boot before install is refused too.
    let cfg2 = s.config(&zone_name("noinst"), &["/bin/sh"]);
    s.zones.configure(&cfg2).unwrap();
    assert!(matches!(
        s.zones.boot(&cfg2.name).unwrap_err().kind,
        ErrorKind::InvalidState { .. }
    ));
}

#[test]
fn a_vnic_can_be_moved_into_a_running_zone() {
    let Some(s) = setup("zone_vnic") else { return };
    let cfg = s.config(&zone_name("vnic"), &["/bin/sh", "-c", "sleep 300"]);
    let name = s.installed(&cfg);
    s.zones.boot(&name).unwrap();
    let ns = s.zones.netns(&name).unwrap();
    let zones = s.zones.clone();
    let result = std::thread::spawn(move || {
        // A private network namespace for the parent link, off the host's.
        // SAFETY: affects only this thread.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        assert!(Command::new("ip")
            .args(["link", "add", "p0", "type", "veth", "peer", "name", "p1"])
            .status()
            .unwrap()
            .success());
        let mut v = hull::vnic::Vnics::open().unwrap();
        let spec = hull::vnic::VnicSpec {
            name: "zvnic0".parse().unwrap(),
            over: "p0".parse().unwrap(),
            mac: hull::vnic::MacSpec::Random,
            vlan: None,
            mtu: None,
        };
        v.create(&spec).unwrap();
        v.move_into(&spec.name, hull::vnic::NetNs::Path(&ns))
            .unwrap();
        let inside = Command::new("nsenter")
            .arg(format!("--net={}", ns.display()))
            .args(["ip", "-o", "link"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&inside.stdout).into_owned()
    })
    .join();
    zones.halt(&name).unwrap();
    let inside = result.unwrap();
    assert!(inside.contains("zvnic0"), "{inside}");
}

#[test]
fn configured_mounts_are_bound_in_and_read_only_when_asked() {
    let Some(s) = setup("zone_mounts") else {
        return;
    };
    let data = s.base.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("hello"), "from the host\n").unwrap();
    let script = "cat /data/hello > /out; if echo x > /data/new; then echo rw >> /out; else echo ro >> /out; fi";
    let mut cfg = s.config(&zone_name("mounts"), &["/bin/sh", "-c", script]);
    cfg.mounts = vec![hull::zone::FsMount {
        source: data.clone(),
        target: "/data".into(),
        readonly: true,
        follow_symlinks: false,
    }];
    let name = s.installed(&cfg);
    s.zones.boot(&name).unwrap();
    assert_eq!(s.zones.wait(&name).unwrap(), 0);
    s.zones.halt(&name).unwrap();
    assert_eq!(
        std::fs::read_to_string(cfg.zonepath.join("root/out")).unwrap(),
        "from the host\nro\n"
    );
    assert!(!data.join("new").exists());
    // A missing source refuses the boot and leaves nothing.
    let mut bad = s.config(&zone_name("mounts2"), &["/bin/sh"]);
    bad.mounts = vec![hull::zone::FsMount {
        source: s.base.join("nope"),
        target: "/x".into(),
        readonly: false,
        follow_symlinks: false,
    }];
    let bad_name = s.installed(&bad);
    assert_eq!(
        s.zones.boot(&bad_name).unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(s.zones.state(&bad_name).unwrap(), State::Installed);
    assert!(no_cgroups_for(&bad_name));
}

#[test]
fn configured_nets_are_handed_to_the_zone_at_boot() {
    let Some(s) = setup("zone_nets") else { return };
    let base = s.base.clone();
    let image = s.image.clone();
    let zones = s.zones.clone();
    let r = std::thread::spawn(move || {
        // SAFETY: affects only this thread: the links live off the host's namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        assert!(Command::new("ip").args(["link", "add", "p0", "type", "veth", "peer", "name", "p1"]).status().unwrap().success());
        assert!(Command::new("ip").args(["link", "add", "link", "p0", "name", "znet0", "type", "macvlan"]).status().unwrap().success());
        let cfg: ZoneConfig = serde_json::from_value(serde_json::json!({
            "name": zone_name("nets"), "zonepath": base.join("nets"), "init": ["/bin/sh", "-c", "sleep 300"], "nets": ["znet0"]
        }))
        .unwrap();
        zones.configure(&cfg).unwrap();
        zones.install(&cfg.name, &image).unwrap();
        zones.boot(&cfg.name).unwrap();
        let ns = zones.netns(&cfg.name).unwrap();
        let inside = Command::new("nsenter").arg(format!("--net={}", ns.display())).args(["ip", "-o", "link"]).output().unwrap();
        zones.halt(&cfg.name).unwrap();
        // A zone naming a link that does not exist does not boot.
        let missing: ZoneConfig = serde_json::from_value(serde_json::json!({
            "name": zone_name("nets2"), "zonepath": base.join("nets2"), "init": ["/bin/sh"], "nets": ["nosuch0"]
        }))
        .unwrap();
        zones.configure(&missing).unwrap();
        zones.install(&missing.name, &image).unwrap();
        let e = zones.boot(&missing.name).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        assert_eq!(zones.state(&missing.name).unwrap(), State::Installed);
        String::from_utf8_lossy(&inside.stdout).into_owned()
    })
    .join()
    .unwrap();
    assert!(r.contains("znet0"), "{r}");
}

#[test]
fn the_zone_lifecycle_example_runs_init_and_exits_with_its_status() {
    let Some(s) = setup("zone_example") else {
        return;
    };
    let bin = common::zone::example();
    let state = s.base.join("ex-state");
    let name = zone_name("ex");
    let out = Command::new(&bin)
        .args([
            "--name",
            &name,
            "--root",
            s.image.to_str().unwrap(),
            "--memory",
            "64",
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .args([
            "--",
            "/bin/sh",
            "-c",
            "echo hello from $(hostname) as pid $$; exit 3",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("hello from {name} as pid 1\n")
    );
    for st in ["configured", "installed", "running", "down", "deleted"] {
        assert!(stderr.contains(&format!("zone {name}: {st}")), "{stderr}");
    }
    // Nothing left: no record, no zonepath, no cgroup.
    assert!(Zones::open(&state).unwrap().list().unwrap().is_empty());
    assert!(!state.join(format!("{name}.zone")).exists());
    assert!(no_cgroups_for(&name.parse().unwrap()));

    // Errors: one line, non-zero, nothing left.
    for args in [
        vec![
            "--name",
            name.as_str(),
            "--root",
            "/nonexistent",
            "--state-dir",
            state.to_str().unwrap(),
            "--",
            "/bin/sh",
        ],
        vec![
            "--name",
            name.as_str(),
            "--root",
            s.image.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--",
            "/bin/missing",
        ],
    ] {
        let out = Command::new(&bin).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let reason: Vec<&str> = err.lines().filter(|l| !l.starts_with("zone ")).collect();
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(reason.len(), 1, "{err}");
        assert!(reason[0].contains("not found"), "{err}");
        assert!(
            Zones::open(&state).unwrap().list().unwrap().is_empty(),
            "{args:?} left a zone"
        );
        assert!(!state.join(format!("{name}.zone")).exists());
    }
    // --console null discards INIT's output; --console FILE appends it there;
    // --userns runs the zone's root as an unprivileged host user.
    let log = s.base.join("ex.log");
    for (console, want_stdout) in [("null", ""), (log.to_str().unwrap(), "")] {
        let out = Command::new(&bin)
            .args([
                "--name",
                &name,
                "--root",
                s.image.to_str().unwrap(),
                "--state-dir",
            ])
            .arg(&state)
            .args(["--console", console, "--userns", "400000", "--"])
            .args([
                "/bin/sh",
                "-c",
                "echo uid $(id -u) owns $(stat -c %u /bin/busybox)",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want_stdout);
    }
    // Inside: uid 0, owning its files (host uid 400000 outside).
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "uid 0 owns 0\n");
    for bad in [["--console", "relative.log"], ["--userns", "0"]] {
        let out = Command::new(&bin)
            .args(["--name", &name, "--root", "/x"])
            .args(bad)
            .args(["--", "/bin/sh"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    assert_eq!(
        Command::new(&bin)
            .args(["--name", "global", "--root", "/", "--", "/bin/sh"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );

    // --list from another invocation sees a zone configured here.
    let zones = Zones::open(&state).unwrap();
    let cfg = s.config(&zone_name("listed"), &["/bin/sh"]);
    zones.configure(&cfg).unwrap();
    let out = Command::new(&bin)
        .args(["--list", "--state-dir", state.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{} Configured {}\n", cfg.name, cfg.zonepath.display())
    );
    zones.delete(&cfg.name).unwrap();
}

#[test]
fn shutdown_asks_init_first_and_reboot_starts_a_fresh_init() {
    let Some(s) = setup("zone_shutdown") else {
        return;
    };
    // An INIT that exits on SIGTERM.
    let cfg = s.config(
        &zone_name("gentle"),
        &[
            "/bin/sh",
            "-c",
            "trap 'echo bye > /bye; exit 0' TERM; while :; do sleep 0.1; done",
        ],
    );
    let name = s.installed(&cfg);
    let first = s
        .zones
        .boot(&name)
        .unwrap()
        .init
        .expect("a Linux boot reports INIT");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let second = s
        .zones
        .reboot(&name)
        .unwrap()
        .init
        .expect("a Linux boot reports INIT");
    assert!(!first.alive() && second.alive() && first.pid != second.pid);
    std::thread::sleep(std::time::Duration::from_millis(200));
    s.zones
        .shutdown(&name, std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(cfg.zonepath.join("root/bye")).unwrap(),
        "bye\n",
        "INIT got SIGTERM"
    );
    assert_eq!(s.zones.state(&name).unwrap(), State::Installed);
    assert!(no_cgroups_for(&name));
    // An INIT that ignores it is halted after the timeout.
    let stubborn = s.config(&zone_name("stubborn"), &["/bin/sh", "-c", "sleep 300"]);
    let sname = s.installed(&stubborn);
    let init = s
        .zones
        .boot(&sname)
        .unwrap()
        .init
        .expect("a Linux boot reports INIT");
    s.zones
        .shutdown(&sname, std::time::Duration::from_millis(300))
        .unwrap();
    assert!(!init.alive());
    assert_eq!(s.zones.state(&sname).unwrap(), State::Installed);
    assert!(matches!(
        s.zones.reboot(&sname).unwrap_err().kind,
        ErrorKind::InvalidState { .. }
    ));
}

#[test]
fn a_boot_that_fails_after_the_link_handover_gives_the_links_back() {
    let Some(s) = setup("zone_giveback") else {
        return;
    };
    let base = s.base.clone();
    let image = s.image.clone();
    let zones = s.zones.clone();
    std::thread::spawn(move || {
        // SAFETY: affects only this thread: the links live off the host's namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let ip = |args: &[&str]| Command::new("ip").args(args).status().unwrap().success();
        assert!(ip(&[
            "link", "add", "p0", "type", "veth", "peer", "name", "p1"
        ]));
        assert!(ip(&[
            "link", "add", "link", "p0", "name", "znet0", "type", "macvlan"
        ]));
        let cfg: ZoneConfig = serde_json::from_value(serde_json::json!({
            "name": zone_name("giveback"), "zonepath": base.join("giveback"),
            "init": ["/bin/bogus"], "nets": ["znet0"]
        }))
        .unwrap();
        zones.configure(&cfg).unwrap();
        zones.install(&cfg.name, &image).unwrap();
        // Executable by its mode, but not a program: the exec itself fails
        // (ENOEXEC), after every other step and after the handover.
        let bogus = cfg.zonepath.join("root/bin/bogus");
        std::fs::write(&bogus, "not a program\n").unwrap();
        std::fs::set_permissions(&bogus, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let e = zones.boot(&cfg.name).unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOEXEC), "{e}");
        assert_eq!(zones.state(&cfg.name).unwrap(), State::Installed);
        assert!(
            ip(&["link", "show", "znet0"]),
            "znet0 is back in the caller's namespace"
        );
        assert!(no_cgroups_for(&cfg.name));
        // Mended, the next boot gets the same link.
        std::fs::write(&bogus, "#!/bin/sh\nexec sleep 300\n").unwrap();
        zones.boot(&cfg.name).unwrap();
        let ns = zones.netns(&cfg.name).unwrap();
        let inside = Command::new("nsenter")
            .arg(format!("--net={}", ns.display()))
            .args(["ip", "-o", "link"])
            .output()
            .unwrap();
        zones.halt(&cfg.name).unwrap();
        assert!(String::from_utf8_lossy(&inside.stdout).contains("znet0"));
    })
    .join()
    .unwrap();
}

#[test]
fn zones_on_an_etherstub_get_their_addresses_ping_each_other_and_reach_the_host_through_the_gateway(
) {
    let Some(s) = setup("zone_ip") else { return };
    let base = s.base.clone();
    let image = s.image.clone();
    let zones = s.zones.clone();
    std::thread::spawn(move || {
        // SAFETY: affects only this thread: the links live off the host's namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let mut v = hull::vnic::Vnics::open().unwrap();
        let stub: hull::name::LinkName = "stub0".parse().unwrap();
        v.create_etherstub(&stub).unwrap();
        for name in ["gw0", "za0", "zb0"] {
            v.create(&hull::vnic::VnicSpec {
                name: name.parse().unwrap(),
                over: stub.clone(),
                mac: hull::vnic::MacSpec::Random,
                vlan: None,
                mtu: None,
            })
            .unwrap();
        }
        // The host side: the gateway on the stub, and an address beyond it.
        let ip = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success(), "ip {args:?}");
        ip(&["link", "set", "lo", "up"]);
        ip(&["link", "set", "stub0", "up"]);
        ip(&["addr", "add", "10.88.0.1/24", "dev", "gw0"]);
        ip(&["link", "set", "gw0", "up"]);
        ip(&["addr", "add", "10.99.0.1/32", "dev", "lo"]);
        let zone = |tag: &str, link: &str, addr: &str, script: &str| -> ZoneConfig {
            serde_json::from_value(serde_json::json!({
                "name": zone_name(tag), "zonepath": base.join(tag),
                "init": ["/bin/sh", "-c", script],
                "nets": [{"interface": link, "ip": addr, "netmask": "255.255.255.0",
                          "ips": [format!("fd00:88::{}/64", &addr[8..])],
                          "gateway": "10.88.0.1", "mtu": 1400, "primary": true}]
            }))
            .unwrap()
        };
        let b = zone("ipb", "zb0", "10.88.0.3", "sleep 300");
        let a = zone(
            "ipa",
            "za0",
            "10.88.0.2",
            "ip -o addr show dev za0 > /addrs; ip link show za0 >> /addrs; \
             for i in 1 2 3 4 5; do ping -c 1 -W 1 10.88.0.3 > /dev/null && echo peer=ok > /out && break; done; \
             for i in 1 2 3 4 5; do ping -c 1 -W 1 10.99.0.1 > /dev/null && echo gateway=ok >> /out && break; done; \
             echo done >> /out; sleep 300",
        );
        for c in [&b, &a] {
            zones.configure(c).unwrap();
            zones.install(&c.name, &image).unwrap();
            zones.boot(&c.name).unwrap();
        }
        let out = a.zonepath.join("root/out");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !std::fs::read_to_string(&out).unwrap_or_default().contains("done") {
            assert!(std::time::Instant::now() < deadline, "zone a's pings did not finish");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let addrs = std::fs::read_to_string(a.zonepath.join("root/addrs")).unwrap();
        for c in [&a, &b] {
            zones.halt(&c.name).unwrap();
        }
        (std::fs::read_to_string(&out).unwrap(), addrs)
    })
    .join()
    .map(|(out, addrs)| {
        assert_eq!(out, "peer=ok\ngateway=ok\ndone\n", "{addrs}");
        assert!(addrs.contains("10.88.0.2/24"), "{addrs}");
        assert!(addrs.contains("fd00:88::2/64"), "{addrs}");
        assert!(addrs.contains("mtu 1400"), "{addrs}");
    })
    .unwrap();
}

#[test]
fn the_examples_ip_flag_gives_the_zone_a_vnic_with_its_address_and_gateway() {
    let Some(s) = setup("zone_example_ip") else {
        return;
    };
    let bin = common::zone::example();
    let image = s.image.clone();
    let state = s.base.join("ip-state");
    let (out, links_after, bad) = std::thread::spawn(move || {
        // SAFETY: affects only this thread and the processes it starts.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let ip = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success(), "ip {args:?}");
        ip(&["link", "add", "stub0", "type", "bridge"]);
        ip(&["link", "set", "stub0", "up"]);
        ip(&["link", "add", "link", "stub0", "name", "gw0", "type", "macvlan", "mode", "bridge"]);
        ip(&["addr", "add", "10.66.0.1/24", "dev", "gw0"]);
        ip(&["link", "set", "gw0", "up"]);
        let name = zone_name("exip");
        let out = Command::new(&bin)
            .args(["--name", &name, "--root", image.to_str().unwrap(), "--state-dir"])
            .arg(&state)
            .args(["--ip", "10.66.0.2/24", "--over", "stub0", "--gateway", "10.66.0.1", "--"])
            .args(["/bin/sh", "-c", "ip -o -4 addr show | grep -o '10.66.0.2/24'; \
                for i in 1 2 3 4 5; do ping -c 1 -W 1 10.66.0.1 > /dev/null && echo reached && break; done"])
            .output()
            .unwrap();
        let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
        // A link that does not exist: refused, nothing left.
        let bad = Command::new(&bin)
            .args(["--name", &name, "--root", image.to_str().unwrap(), "--state-dir"])
            .arg(&state)
            .args(["--ip", "10.66.0.3/24", "--over", "nosuch0", "--", "/bin/true"])
            .output()
            .unwrap();
        (out, String::from_utf8_lossy(&links.stdout).into_owned(), bad)
    })
    .join()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "10.66.0.2/24\nreached\n",
        "{stderr}"
    );
    assert!(
        !links_after.contains(": zl"),
        "the zone's VNIC went with it: {links_after}"
    );
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not found"),
        "{bad:?}"
    );
    let usage = Command::new(common::zone::example())
        .args([
            "--name",
            "x",
            "--root",
            "/x",
            "--ip",
            "10.0.0.1/24",
            "--",
            "/bin/true",
        ])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "--ip without --over");
}
