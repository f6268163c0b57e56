//! A tenant who is root inside a zone gets nothing of the host: each test
//! boots a real zone (busybox-static root) and probes from inside, as a
//! hostile tenant would, with probes that are harmless to the host if they
//! wrongly succeed (reads, writing a value back unchanged, creating a user
//! namespace). Needs root and /bin/busybox; skipped (and said so) without.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use common::zone::{setup, zone_name};
use hull::zone::{UserNs, ZoneConfig};

/// Capability numbers (linux/capability.h) a zone's root must not hold.
const FORBIDDEN: &[(&str, u32)] = &[
    ("CAP_SYS_ADMIN", 21),
    ("CAP_SYS_MODULE", 16),
    ("CAP_SYS_RAWIO", 17),
    ("CAP_SYS_PTRACE", 19),
    ("CAP_SYS_BOOT", 22),
    ("CAP_SYS_TIME", 25),
    ("CAP_MAC_ADMIN", 33),
];

/// The value of a `Name:\tvalue` line of /proc/<pid>/status.
fn status_field(status: &str, field: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {status}"))
        .trim()
        .to_string()
}

fn sh(s: &common::zone::Setup, tag: &str, script: &str) -> ZoneConfig {
    s.config(&zone_name(tag), &["/bin/sh", "-c", script])
}

#[test]
fn zone_root_holds_only_dockers_capabilities_and_no_caller_signal_dispositions() {
    let Some(s) = setup("confine_caps") else {
        return;
    };
    // INIT itself reports what it was given: no shell in between.
    let mut cfg = s.config(&zone_name("caps"), &["/bin/cat", "/proc/self/status"]);
    let log = s.base.join("caps.log");
    cfg.console = hull::zone::Console::File(log.clone());
    let (code, _) = s.run(&cfg);
    let out = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, 0, "{out}");
    for set in ["CapBnd", "CapEff", "CapPrm"] {
        let v = u64::from_str_radix(&status_field(&out, set), 16).unwrap();
        for (name, bit) in FORBIDDEN {
            assert_eq!(v & (1 << bit), 0, "{set} holds {name}: {v:#x}");
        }
        assert_eq!(v.count_ones(), 14, "{set} is Docker's 14: {v:#x}");
    }
    // Empty, as Docker's since CVE-2022-24769.
    assert_eq!(status_field(&out, "CapInh"), "0000000000000000");
    assert_eq!(status_field(&out, "CapAmb"), "0000000000000000");
    // The test harness (a Rust program) ignores SIGPIPE; the zone must not.
    assert_eq!(status_field(&out, "SigIgn"), "0000000000000000");
    assert_eq!(status_field(&out, "SigBlk"), "0000000000000000");
    assert_eq!(status_field(&out, "Seccomp"), "2", "a seccomp filter is on");
    assert_eq!(status_field(&out, "Umask"), "0022");
}

#[test]
fn init_leads_its_own_session_without_the_callers_terminal() {
    let Some(s) = setup("confine_session") else {
        return;
    };
    let mut cfg = s.config(&zone_name("session"), &["/bin/cat", "/proc/self/stat"]);
    let log = s.base.join("session.log");
    cfg.console = hull::zone::Console::File(log.clone());
    let (code, _) = s.run(&cfg);
    let stat = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, 0, "{stat}");
    // pid (comm) state ppid pgrp session tty_nr ...
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    assert_eq!(
        (f[2], f[3], f[4]),
        ("1", "1", "0"),
        "pgrp 1, session 1, no tty: {stat}"
    );
}

#[test]
fn limitpriv_widens_or_narrows_the_set_and_unknown_names_are_refused() {
    let Some(s) = setup("confine_limitpriv") else {
        return;
    };
    let mut cfg = sh(&s, "limitpriv", "cat /proc/self/status > /out");
    cfg.limitpriv = Some(vec!["default".into(), "sys_ptrace".into()]);
    let (_, out) = s.run(&cfg);
    let bnd = u64::from_str_radix(&status_field(&out, "CapBnd"), 16).unwrap();
    assert_eq!(
        (bnd.count_ones(), bnd & (1 << 19) != 0),
        (15, true),
        "{bnd:#x}"
    );
    let mut bad = sh(&s, "limitpriv2", "true");
    bad.limitpriv = Some(vec!["CAP_SYS_EVERYTHING".into()]);
    let e = s.zones.configure(&bad).unwrap_err();
    assert!(matches!(e.kind, hull::ErrorKind::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("CAP_SYS_EVERYTHING"), "{e}");
    // vmadm's comma-separated form deserializes too.
    let v: ZoneConfig = serde_json::from_value(serde_json::json!({
        "name": "lp", "zonepath": "/zones/lp", "init": ["/bin/sh"], "limit_priv": "default, net_admin"
    }))
    .unwrap();
    assert_eq!(
        v.limitpriv,
        Some(vec!["default".into(), "net_admin".into()])
    );
}

#[test]
fn proc_sys_is_read_only_and_kcore_reads_nothing() {
    let Some(s) = setup("confine_proc") else {
        return;
    };
    // Writing core_pattern's own value back: harmless if it wrongly succeeds.
    let script = "cat /proc/sys/kernel/core_pattern > /cp; \
        if cat /cp > /proc/sys/kernel/core_pattern 2>/dev/null; then echo core_pattern=written; else echo core_pattern=refused; fi > /out; \
        echo kcore=$(head -c 64 /proc/kcore 2>/dev/null | wc -c) >> /out; \
        echo keys=$(cat /proc/keys 2>/dev/null | wc -c) >> /out; \
        echo kpageflags=$(head -c 64 /proc/kpageflags 2>/dev/null | wc -c) >> /out; \
        if echo 0 > /proc/sysrq-trigger 2>/dev/null; then echo sysrq=written; else echo sysrq=refused; fi >> /out; \
        if touch /sys/kernel/x 2>/dev/null; then echo sys=writable; else echo sys=refused; fi >> /out";
    let (code, out) = s.run(&sh(&s, "proc", script));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "core_pattern=refused\nkcore=0\nkeys=0\nkpageflags=0\nsysrq=refused\nsys=refused\n"
    );
}

#[test]
fn the_hosts_kmsg_cannot_be_made_or_read_and_the_seven_devices_work() {
    let Some(s) = setup("confine_dev") else {
        return;
    };
    // /dev/kmsg is char 1:11 and readable by the host's root: the probe is
    // a read, harmless if it wrongly succeeds.
    let script = "if mknod /kmsg c 1 11 2>/dev/null; then echo mknod=made; else echo mknod=refused; fi > /out; \
        echo kmsg=$(head -c 16 /kmsg 2>/dev/null | wc -c) >> /out; \
        echo devkmsg=$(head -c 16 /dev/kmsg 2>/dev/null | wc -c) >> /out; \
        for d in null zero full random urandom tty ptmx; do echo $d=$(stat -L -c '%F %t:%T' /dev/$d) >> /out; done; \
        echo x > /dev/null && echo null_read=$(cat /dev/null | wc -c) >> /out; \
        echo zero=$(dd if=/dev/zero bs=32 count=1 2>/dev/null | tr -d '\\000' | wc -c)/$(dd if=/dev/zero bs=32 count=1 2>/dev/null | wc -c) >> /out; \
        if echo x > /dev/full 2>/dev/null; then echo full=wrote; else echo full=ENOSPC; fi >> /out; \
        echo urandom=$(dd if=/dev/urandom bs=32 count=1 2>/dev/null | wc -c) random=$(dd if=/dev/random bs=32 count=1 2>/dev/null | wc -c) >> /out; \
        exec 3<>/dev/ptmx && echo pts=$(ls /dev/pts | tr '\\n' ' ') >> /out; \
        for f in /dev/null /dev/urandom /proc/keys; do if chmod 666 $f 2>/dev/null; then echo chmod=done; else echo chmod=refused; fi; done | tr '\\n' ' ' >> /out; echo >> /out; \
        ls /dev | tr '\\n' ' ' >> /out";
    for host in ["/dev/null", "/dev/urandom"] {
        let mode = std::fs::metadata(host).unwrap().mode() & 0o7777;
        assert_eq!(
            mode, 0o666,
            "{host}: the chmod probe below must be harmless"
        );
    }
    let (code, out) = s.run(&sh(&s, "dev", script));
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "mknod=refused", "{out}");
    assert_eq!(lines[1], "kmsg=0", "{out}");
    assert_eq!(lines[2], "devkmsg=0", "{out}");
    let want = [
        "null=character special file 1:3",
        "zero=character special file 1:5",
        "full=character special file 1:7",
        "random=character special file 1:8",
        "urandom=character special file 1:9",
        "tty=character special file 5:0",
        "ptmx=character special file 5:2",
        "null_read=0",
        "zero=0/32",
        "full=ENOSPC",
        "urandom=32 random=32",
        "pts=0 ptmx",
        // The nodes are the host's inodes: no chmod (0666 is what the host
        // has, so a wrong success would change nothing).
        "chmod=refused chmod=refused chmod=refused ",
    ];
    assert_eq!(&lines[3..3 + want.len()], &want, "{out}");
    let dev: Vec<&str> = lines[3 + want.len()].split_whitespace().collect();
    assert_eq!(
        dev,
        [
            "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
            "tty", "urandom", "zero"
        ],
        "{out}"
    );
}

#[test]
fn an_fd_the_caller_left_open_does_not_reach_the_zone() {
    let Some(s) = setup("confine_fds") else {
        return;
    };
    // An fd without close-on-exec, at a number nothing else uses.
    let file = std::fs::File::open("/proc/version").unwrap();
    // SAFETY: dup2 onto a fresh number; that fd is closed below.
    assert_eq!(unsafe { libc::dup2(file.as_raw_fd(), 87) }, 87);
    // Two commands, so that sh stays PID 1 and ls lists INIT's fds.
    let (code, out) = s.run(&sh(&s, "fds", "ls /proc/1/fd > /out; true"));
    // SAFETY: closing the fd this test made.
    unsafe { libc::close(87) };
    assert_eq!(code, 0, "{out}");
    let fds: Vec<&str> = out.split_whitespace().collect();
    assert!(
        !fds.contains(&"87"),
        "the caller's fd 87 reached INIT: {fds:?}"
    );
    // 0-2, and what busybox sh itself opens (10 and up).
    assert!(fds.iter().all(|f| f.parse::<u32>().unwrap() < 3 || (10..20).contains(&f.parse::<u32>().unwrap())), "{fds:?}");
}

#[test]
fn a_syscall_the_filter_denies_gets_eperm_and_the_filter_can_be_switched_off() {
    let Some(s) = setup("confine_seccomp") else {
        return;
    };
    // unshare(CLONE_NEWUSER) needs no capability: only the filter stops
    // it. Creating a user namespace is harmless to the host.
    let script = "unshare -U true 2> /out; echo rc=$? >> /out";
    let (_, out) = s.run(&sh(&s, "seccomp", script));
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.ends_with("rc=1\n"), "{out}");
    let mut off = sh(&s, "seccomp-off", script);
    off.seccomp = false;
    let (_, out) = s.run(&off);
    assert_eq!(out, "rc=0\n", "without the filter the same call succeeds");
}

#[test]
fn the_zone_has_its_own_cgroup_root_environment_and_console() {
    let Some(s) = setup("confine_misc") else {
        return;
    };
    std::env::set_var("HULL_TEST_SECRET", "leak");
    let mut cfg = sh(
        &s,
        "misc",
        "cat /proc/self/cgroup > /out; env | sort >> /out; echo to-the-log; echo err >&2",
    );
    cfg.env.insert("ZONE_ROLE".into(), "web".into());
    cfg.console = hull::zone::Console::Log;
    let (code, out) = s.run(&cfg);
    assert_eq!(code, 0, "{out}");
    let (cgroups, env): (Vec<&str>, Vec<&str>) = out.lines().partition(|l| {
        l.split(':')
            .next()
            .is_some_and(|n| n.parse::<u32>().is_ok())
    });
    assert!(!cgroups.is_empty());
    for l in &cgroups {
        assert!(
            l.ends_with(":/"),
            "a cgroup namespace rooted at the zone's cgroup: {l}"
        );
    }
    let names: Vec<&str> = env.iter().map(|l| l.split('=').next().unwrap()).collect();
    // busybox sh adds PWD and SHLVL of its own.
    let ours: Vec<&&str> = names
        .iter()
        .filter(|n| !["PWD", "SHLVL", "_"].contains(n))
        .collect();
    assert_eq!(ours, [&"HOSTNAME", &"PATH", &"ZONE_ROLE"], "{out}");
    let log = std::fs::read_to_string(cfg.zonepath.join("console.log")).unwrap();
    assert_eq!(log, "to-the-log\nerr\n");
}

#[test]
fn in_a_user_namespace_the_zones_root_is_an_unprivileged_host_user() {
    let Some(s) = setup("confine_userns") else {
        return;
    };
    let mut cfg = sh(
        &s,
        "userns",
        "id -u > /out; touch /made-inside; ls -ln /bin/busybox | cut -c1-30 >> /out; cat /proc/self/uid_map >> /out",
    );
    cfg.userns = Some(UserNs {
        host_uid: 300_000,
        host_gid: 300_000,
        count: 65536,
    });
    let name = s.installed(&cfg);
    // Installed with shifted owners.
    let meta = std::fs::metadata(cfg.zonepath.join("root/bin/busybox")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (300_000, 300_000));
    s.zones.boot(&name).unwrap();
    assert_eq!(s.zones.wait(&name).unwrap(), 0);
    s.zones.halt(&name).unwrap();
    let made = std::fs::metadata(cfg.zonepath.join("root/made-inside")).unwrap();
    assert_eq!(
        (made.uid(), made.gid()),
        (300_000, 300_000),
        "owned by the mapped host ids"
    );
    let out = std::fs::read_to_string(cfg.zonepath.join("root/out")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "root inside: {out}");
    assert!(
        lines[2].split_whitespace().eq(["0", "300000", "65536"]),
        "{out}"
    );
}

#[test]
fn the_zone_never_holds_a_host_file_as_its_console() {
    let Some(s) = setup("confine_console") else {
        return;
    };
    // A log file: the zone's fd 1 is a pipe to a relay, so chmod, chown
    // and capabilities through it reach no host file. (A wrong success
    // would only touch this test's own log.)
    let log = s.base.join("console.log");
    let script = "chmod 4755 /proc/self/fd/1 2>/dev/null; chown 65534 /proc/self/fd/2 2>/dev/null; \
        stat -L -c '%F' /proc/self/fd/1; \
        if chmod 666 /proc/self/fd/0 2>/dev/null; then echo null=chmodded; else echo null=refused; fi";
    let mut cfg = sh(&s, "console", script);
    cfg.console = hull::zone::Console::File(log.clone());
    let (code, _) = s.run(&cfg);
    assert_eq!(code, 0);
    let meta = std::fs::metadata(&log).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid()),
        (0o600, 0),
        "the host file is untouched"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "fifo\nnull=refused\n"
    );

    // A FIFO or a link in the console's path refuses the boot, at once.
    let fifo = s.base.join("fifo.log");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink(&s.base, s.base.join("via")).unwrap();
    for (tag, path) in [("fifo", fifo), ("link", s.base.join("via/x.log"))] {
        let mut cfg = sh(&s, &format!("console-{tag}"), "true");
        cfg.console = hull::zone::Console::File(path);
        let name = s.installed(&cfg);
        let e = s.zones.boot(&name).unwrap_err();
        assert!(
            matches!(e.kind, hull::ErrorKind::InvalidArgument(_)),
            "{tag}: {e}"
        );
        assert!(!s.base.join("x.log").exists());
    }
}
