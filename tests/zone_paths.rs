//! Paths a zone's configuration or its tenant can influence never lead
//! hull onto the host: zonepaths are normalized and never nested, an
//! existing directory is never taken over, mount targets are resolved
//! inside the zone's root without following links, read-only mounts are
//! read-only all the way down, and the zone's cgroups are its own. Real
//! zones, as root; skipped (and said so) without root or busybox.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::zone::{setup, zone_name};
use hull::zone::{FsMount, State, ZoneConfig};
use hull::ErrorKind;

fn invalid(e: &hull::Error) -> bool {
    matches!(e.kind, ErrorKind::InvalidArgument(_))
}

#[test]
fn zonepaths_with_dot_dot_or_inside_another_zone_are_refused() {
    let Some(s) = setup("paths_zonepath") else {
        return;
    };
    let mut cfg = s.config(&zone_name("dotdot"), &["/bin/true"]);
    cfg.zonepath = s.base.join("a/../../etc");
    let e = s.zones.configure(&cfg).unwrap_err();
    assert!(invalid(&e), "{e}");
    cfg.zonepath = s.base.join("a/./b");
    assert!(invalid(&s.zones.configure(&cfg).unwrap_err()));

    let outer = s.config(&zone_name("outer"), &["/bin/true"]);
    s.zones.configure(&outer).unwrap();
    let mut inner = s.config(&zone_name("inner"), &["/bin/true"]);
    inner.zonepath = outer.zonepath.join("root/inner");
    let e = s.zones.configure(&inner).unwrap_err();
    assert!(
        invalid(&e) && e.to_string().contains("inside or contains"),
        "{e}"
    );
    let mut around = s.config(&zone_name("around"), &["/bin/true"]);
    around.zonepath = s.base.clone();
    assert!(invalid(&s.zones.configure(&around).unwrap_err()));
    assert_eq!(
        s.zones.list().unwrap().len(),
        1,
        "only the first was recorded"
    );
}

#[test]
fn an_existing_non_empty_zonepath_is_refused_and_left_untouched() {
    let Some(s) = setup("paths_existing") else {
        return;
    };
    let cfg = s.config(&zone_name("existing"), &["/bin/true"]);
    std::fs::create_dir_all(&cfg.zonepath).unwrap();
    std::fs::write(cfg.zonepath.join("precious"), "keep").unwrap();
    std::fs::set_permissions(&cfg.zonepath, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.zones.configure(&cfg).unwrap();
    let e = s.zones.install(&cfg.name, &s.image).unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
    assert_eq!(s.zones.state(&cfg.name).unwrap(), State::Configured);
    assert_eq!(
        std::fs::read_to_string(cfg.zonepath.join("precious")).unwrap(),
        "keep"
    );
    assert!(!cfg.zonepath.join("root").exists());
    let mode = std::fs::metadata(&cfg.zonepath)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "never chmodded");
    // A symlink in the zonepath's place is refused too.
    let link = s.config(&zone_name("linked"), &["/bin/true"]);
    std::os::unix::fs::symlink(s.base.join("elsewhere"), &link.zonepath).unwrap();
    std::fs::create_dir(s.base.join("elsewhere")).unwrap();
    s.zones.configure(&link).unwrap();
    assert_eq!(
        s.zones.install(&link.name, &s.image).unwrap_err().kind,
        ErrorKind::AlreadyExists
    );
    assert!(std::fs::read_dir(s.base.join("elsewhere"))
        .unwrap()
        .next()
        .is_none());
}

/// A zone whose root has `/data` planted as a symlink to a host directory,
/// and a configured mount onto `target`.
fn planted(s: &common::zone::Setup, tag: &str, target: &str) -> (ZoneConfig, std::path::PathBuf) {
    let host = s.base.join(format!("host-{tag}"));
    std::fs::create_dir_all(&host).unwrap();
    // Read-write sources lie below a directory only root can enter.
    let private = s.base.join("private");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let src = private.join(format!("src-{tag}"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("payload"), "from the mount").unwrap();
    let mut cfg = s.config(&zone_name(tag), &["/bin/sh", "-c", "ls -R / > /dev/null"]);
    cfg.mounts = vec![FsMount {
        source: src,
        target: target.into(),
        readonly: false,
        follow_symlinks: false,
    }];
    let name = s.installed(&cfg);
    // The tenant plants a link in its own root, pointing at the host.
    std::os::unix::fs::symlink(&host, cfg.zonepath.join("root/data")).unwrap();
    assert_eq!(name, cfg.name);
    (cfg, host)
}

#[test]
fn a_mount_target_through_a_planted_symlink_is_refused_and_the_host_untouched() {
    let Some(s) = setup("paths_target") else {
        return;
    };
    for (tag, target) in [("below", "/data/sub"), ("at", "/data")] {
        let (cfg, host) = planted(&s, tag, target);
        let e = s.zones.boot(&cfg.name).unwrap_err();
        assert!(invalid(&e), "{tag}: {e}");
        assert!(e.to_string().contains("/data"), "{e}");
        assert_eq!(s.zones.state(&cfg.name).unwrap(), State::Installed);
        assert!(
            std::fs::read_dir(&host).unwrap().next().is_none(),
            "{tag}: nothing made or mounted in the host directory"
        );
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(host.to_str().unwrap()),
            "{tag}: nothing mounted on the host"
        );
    }
}

#[test]
fn a_read_only_mount_is_read_only_in_its_submounts_too() {
    let Some(s) = setup("paths_rosub") else {
        return;
    };
    let data = s.base.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    // A submount on the host: a tmpfs at data/sub.
    assert!(Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "hulltest"])
        .arg(data.join("sub"))
        .status()
        .unwrap()
        .success());
    let script =
        "if echo x > /data/top 2>/dev/null; then echo top=rw; else echo top=ro; fi > /out; \
        if echo x > /data/sub/inner 2>/dev/null; then echo sub=rw; else echo sub=ro; fi >> /out";
    let mut cfg = s.config(&zone_name("rosub"), &["/bin/sh", "-c", script]);
    cfg.mounts = vec![FsMount {
        source: data.clone(),
        target: "/data".into(),
        readonly: true,
        follow_symlinks: false,
    }];
    let (code, out) = s.run(&cfg);
    let written = data.join("sub/inner").exists() || data.join("top").exists();
    Command::new("umount")
        .arg(data.join("sub"))
        .status()
        .unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "top=ro\nsub=ro\n");
    assert!(!written);
}

#[test]
fn a_symlinked_mount_source_is_refused_unless_the_config_allows_it() {
    let Some(s) = setup("paths_source") else {
        return;
    };
    let real = s.base.join("real");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::write(real.join("f"), "real\n").unwrap();
    let link = s.base.join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut cfg = s.config(&zone_name("srclink"), &["/bin/sh", "-c", "cat /m/f > /out"]);
    cfg.mounts = vec![FsMount {
        source: link.clone(),
        target: "/m".into(),
        readonly: true,
        follow_symlinks: false,
    }];
    let name = s.installed(&cfg);
    let e = s.zones.boot(&name).unwrap_err();
    assert!(
        invalid(&e) && e.to_string().contains("symbolic link"),
        "{e}"
    );
    let mut ok = s.config(
        &zone_name("srclink2"),
        &["/bin/sh", "-c", "cat /m/f > /out"],
    );
    ok.mounts = vec![FsMount {
        source: link,
        target: "/m".into(),
        readonly: true,
        follow_symlinks: true,
    }];
    assert_eq!(s.run(&ok).1, "real\n");
}

#[test]
fn mount_targets_on_hulls_own_system_dirs_are_refused() {
    let Some(s) = setup("paths_sysdirs") else {
        return;
    };
    for t in ["/proc/sys", "/dev", "/sys/x", "/"] {
        let mut cfg = s.config(&zone_name("sysdir"), &["/bin/true"]);
        cfg.mounts = vec![FsMount {
            source: s.base.clone(),
            target: t.into(),
            readonly: false,
            follow_symlinks: false,
        }];
        assert!(invalid(&s.zones.configure(&cfg).unwrap_err()), "{t}");
    }
    assert!(Path::new(&s.base).exists());
}

#[test]
fn an_operators_empty_zonepath_must_be_roots_and_closed_and_stay_so() {
    let Some(s) = setup("paths_open") else { return };
    // 0755: other host users could run the tenant's setuid files below it.
    let open = s.config(&zone_name("open"), &["/bin/true"]);
    std::fs::create_dir_all(&open.zonepath).unwrap();
    std::fs::set_permissions(&open.zonepath, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.zones.configure(&open).unwrap();
    let e = s.zones.install(&open.name, &s.image).unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    assert_eq!(s.zones.state(&open.name).unwrap(), State::Configured);
    let mode = std::fs::metadata(&open.zonepath)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "never chmodded");
    // 0700 and root's: used as it is.
    let closed = s.config(&zone_name("closed"), &["/bin/true"]);
    std::fs::create_dir_all(&closed.zonepath).unwrap();
    std::fs::set_permissions(&closed.zonepath, std::fs::Permissions::from_mode(0o700)).unwrap();
    s.zones.configure(&closed).unwrap();
    s.zones.install(&closed.name, &s.image).unwrap();
    // Opened up after install: the boot is refused.
    std::fs::set_permissions(&closed.zonepath, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = s.zones.boot(&closed.name).unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    assert_eq!(s.zones.state(&closed.name).unwrap(), State::Installed);
}

#[test]
fn a_source_reached_through_a_symlinked_directory_is_refused_too() {
    let Some(s) = setup("paths_midlink") else {
        return;
    };
    // Another zone's tenant could have made `vol/pub` a link while it had
    // vol mounted read-write; here it points at a harmless directory.
    let real = s.base.join("real");
    std::fs::create_dir_all(real.join("etc")).unwrap();
    std::fs::write(real.join("etc/f"), "through the link\n").unwrap();
    std::fs::create_dir_all(s.base.join("vol")).unwrap();
    std::os::unix::fs::symlink(&real, s.base.join("vol/pub")).unwrap();
    let mut cfg = s.config(&zone_name("midlink"), &["/bin/sh", "-c", "cat /m/f > /out"]);
    cfg.mounts = vec![FsMount {
        source: s.base.join("vol/pub/etc"),
        target: "/m".into(),
        readonly: true,
        follow_symlinks: false,
    }];
    let name = s.installed(&cfg);
    let e = s.zones.boot(&name).unwrap_err();
    assert!(
        invalid(&e) && e.to_string().contains("symbolic link"),
        "{e}"
    );
    assert_eq!(s.zones.state(&name).unwrap(), State::Installed);
}

#[test]
fn nested_targets_overlapping_id_ranges_and_a_console_in_the_zonepath_are_refused() {
    let Some(s) = setup("paths_config") else {
        return;
    };
    let mut cfg = s.config(&zone_name("nested"), &["/bin/true"]);
    let m = |t: &str| FsMount {
        source: s.base.clone(),
        target: t.into(),
        readonly: false,
        follow_symlinks: false,
    };
    cfg.mounts = vec![m("/a"), m("/a/b")];
    assert!(invalid(&s.zones.configure(&cfg).unwrap_err()));
    cfg.mounts = vec![];
    cfg.console = hull::zone::Console::File(cfg.zonepath.join("root/log"));
    assert!(invalid(&s.zones.configure(&cfg).unwrap_err()));

    let ns = |uid: u32| hull::zone::UserNs {
        host_uid: uid,
        host_gid: uid,
        count: 65536,
    };
    let mut a = s.config(&zone_name("rangea"), &["/bin/true"]);
    a.userns = Some(ns(500_000));
    s.zones.configure(&a).unwrap();
    let mut b = s.config(&zone_name("rangeb"), &["/bin/true"]);
    b.userns = Some(ns(500_000 + 65535));
    let e = s.zones.configure(&b).unwrap_err();
    assert!(invalid(&e) && e.to_string().contains("overlap"), "{e}");
    b.userns = Some(ns(500_000 + 65536));
    s.zones.configure(&b).unwrap();

    // A zonepath written through a link into another zone's zonepath.
    let outer = s.config(&zone_name("outer2"), &["/bin/true"]);
    s.zones.configure(&outer).unwrap();
    std::fs::create_dir_all(&outer.zonepath).unwrap();
    std::os::unix::fs::symlink(&outer.zonepath, s.base.join("alias")).unwrap();
    let mut sneaky = s.config(&zone_name("sneaky"), &["/bin/true"]);
    sneaky.zonepath = s.base.join("alias/root");
    let e = s.zones.configure(&sneaky).unwrap_err();
    assert!(
        invalid(&e) && e.to_string().contains("inside or contains"),
        "{e}"
    );
}

#[test]
fn a_read_write_source_other_host_users_can_reach_needs_a_user_namespace() {
    let Some(s) = setup("paths_rwsource") else {
        return;
    };
    // Under the test's 0755 base: a zone's root could leave a setuid
    // program there for every host user.
    let shared = s.base.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let mut cfg = s.config(
        &zone_name("rwshared"),
        &["/bin/sh", "-c", "echo hi > /data/f"],
    );
    cfg.mounts = vec![FsMount {
        source: shared.clone(),
        target: "/data".into(),
        readonly: false,
        follow_symlinks: false,
    }];
    let name = s.installed(&cfg);
    let e = s.zones.boot(&name).unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    assert_eq!(s.zones.state(&name).unwrap(), State::Installed);
    // Read-only it is fine; so is read-write in a user-namespaced zone.
    let mut ro = cfg.clone();
    ro.name = zone_name("roshared").parse().unwrap();
    ro.zonepath = s.base.join("roshared");
    ro.mounts[0].readonly = true;
    ro.init = vec!["/bin/true".into()];
    assert_eq!(s.run(&ro).0, 0);
    let mut ns = cfg.clone();
    ns.name = zone_name("nsshared").parse().unwrap();
    ns.zonepath = s.base.join("nsshared");
    ns.userns = Some(hull::zone::UserNs {
        host_uid: 700_000,
        host_gid: 700_000,
        count: 65536,
    });
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(s.run(&ns).0, 0);
    let made = std::fs::metadata(shared.join("f")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(made.uid(), 700_000, "written as the mapped host uid");
}

#[test]
fn a_zonepath_below_a_directory_others_can_write_is_refused() {
    let Some(s) = setup("paths_swap") else { return };
    // Anyone could rename the zonepath away and put their own in its place.
    let open = s.base.join("world");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut cfg = s.config(&zone_name("swap"), &["/bin/true"]);
    cfg.zonepath = open.join("z");
    s.zones.configure(&cfg).unwrap();
    let e = s.zones.install(&cfg.name, &s.image).unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    assert!(!cfg.zonepath.exists());
    // Sticky (as /tmp is): only root may rename root's entries there.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    s.zones.install(&cfg.name, &s.image).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(
        s.zones.boot(&cfg.name).unwrap_err().kind,
        ErrorKind::PermissionDenied
    );
}

#[test]
fn a_thousand_configured_zones_are_listed_once_each_and_deleting_them_leaves_nothing() {
    let base = std::env::temp_dir().join(format!("hull-zone-1000-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let zones = hull::zone::Zones::open(base.join("state")).unwrap();
    let mut made = std::collections::BTreeSet::new();
    for i in 0..1000 {
        let name = format!("z{i:04}");
        let c: hull::zone::ZoneConfig = serde_json::from_value(serde_json::json!({
            "name": name, "zonepath": base.join("zones").join(&name), "init": ["/bin/true"]
        }))
        .unwrap();
        zones.configure(&c).unwrap();
        made.insert((name, base.join("zones").join(format!("z{i:04}"))));
    }
    let list = zones.list().unwrap();
    assert_eq!(list.len(), 1000, "each exactly once");
    let listed: std::collections::BTreeSet<_> = list
        .iter()
        .map(|(n, s, p)| {
            assert_eq!(*s, hull::zone::State::Configured);
            (n.to_string(), p.clone())
        })
        .collect();
    assert_eq!(listed, made);
    // A second handle (a new process's view) sees the same.
    let other = hull::zone::Zones::open(base.join("state")).unwrap();
    assert_eq!(other.list().unwrap(), list);
    for (n, _, _) in &list {
        zones.delete(n).unwrap();
    }
    assert!(zones.list().unwrap().is_empty());
    // Nothing left in the state directory but the lock and an empty index.
    let mut left: Vec<String> = walk(&base.join("state"));
    left.sort();
    assert_eq!(
        left,
        [".lock", "index", "index/resolved", "index/written"],
        "{left:?}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}
