//! hull::zfs against real OpenZFS. These run inside the project's ZFS test
//! guest (`scripts/zfs-guest`, started by the README's test command with
//! `--include-ignored`), which has pools `tank` and `tank2`. A plain `cargo
//! test` lists them as ignored (never as passed): the host kernel has no ZFS.
//! Each test works under its own dataset and removes it.

mod common;

use std::io::Write;

use hull::name::{DatasetName, SnapshotName};
use hull::zfs::{DatasetKind, Props, Zfs};
use hull::ErrorKind;

const NEEDS_ZFS: &str = "needs ZFS: the README test command runs it in the ZFS test guest";

/// ZFS with a pool named `tank`, or a failure that says what is missing.
fn zfs() -> Zfs {
    assert!(
        std::path::Path::new("/dev/zfs").exists(),
        "no /dev/zfs: {NEEDS_ZFS}"
    );
    let z = Zfs::open().unwrap_or_else(|e| panic!("{e}: {NEEDS_ZFS}"));
    assert!(z.exists("tank").unwrap(), "no pool named tank: {NEEDS_ZFS}");
    z
}

fn ds(s: &str) -> DatasetName {
    s.parse().unwrap()
}
fn snap(s: &str) -> SnapshotName {
    s.parse().unwrap()
}

/// A scratch dataset `tank/<tag>` destroyed (recursively, by hull) on drop.
struct Scratch<'a> {
    zfs: &'a Zfs,
    root: DatasetName,
}

impl<'a> Scratch<'a> {
    fn new(zfs: &'a Zfs, tag: &str) -> Scratch<'a> {
        let root = ds(&format!("tank/{tag}"));
        zfs.create_filesystem(&root, &Props::new()).unwrap();
        Scratch { zfs, root }
    }
    fn child(&self, name: &str) -> DatasetName {
        self.root.child(name).unwrap()
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        destroy_tree(self.zfs, &self.root);
    }
}

/// Destroys a dataset, its children and snapshots (clones first), with hull.
fn destroy_tree(zfs: &Zfs, d: &DatasetName) {
    for _ in 0..3 {
        for c in zfs.children(d).unwrap_or_default() {
            destroy_tree(zfs, &c);
        }
        let _ = zfs.destroy(d);
        if !zfs.exists(d.as_str()).unwrap_or(true) {
            return;
        }
        // Snapshots: the only ones these tests make are named s, s1, s2 and
        // final (an image's).
        let snaps: Vec<_> = ["s", "s1", "s2", "final"]
            .iter()
            .map(|s| d.snapshot(s).unwrap())
            .filter(|s| zfs.exists(s.as_str()).unwrap_or(false))
            .collect();
        for s in snaps {
            let _ = zfs.destroy_snapshots(&[s], false);
        }
    }
}

fn write_file(path: &str, bytes: &[u8]) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn create_snapshot_clone_with_properties_and_read_them_back() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "props");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new().user("org.hull:role", "image").unwrap())
        .unwrap();
    assert!(zfs.exists(base.as_str()).unwrap());
    let v1 = base.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&v1), &[("org.hull:tag", "v1")])
        .unwrap();
    let vm = s.child("vm");
    zfs.clone_from_snapshot(
        &v1,
        &vm,
        &Props::new()
            .quota(64 << 20)
            .mountpoint("/mnt-hull-vm")
            .unwrap(),
    )
    .unwrap();
    let p = zfs.properties(vm.as_str()).unwrap();
    assert_eq!(p.kind, DatasetKind::Filesystem);
    assert_eq!(p.origin, Some(v1.clone()));
    assert_eq!(p.quota, Some(64 << 20));
    assert_eq!(p.mountpoint.as_deref(), Some("/mnt-hull-vm"));
    assert!(
        p.creation > 1_600_000_000,
        "creation is a unix time: {}",
        p.creation
    );
    assert!(p.available > 0);
    let sp = zfs.properties(v1.as_str()).unwrap();
    assert_eq!(sp.kind, DatasetKind::Snapshot);
    assert_eq!(
        zfs.children(&s.root).unwrap(),
        vec![base.clone(), vm.clone()]
    );
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn volumes_are_created_with_their_size() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "vol");
    let v = s.child("disk0");
    zfs.create_volume(&v, 16 << 20, &Props::new()).unwrap();
    assert_eq!(
        zfs.properties(v.as_str()).unwrap().kind,
        DatasetKind::Volume
    );
    let e = zfs
        .create_volume(&s.child("bad"), 1000, &Props::new())
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)));
    assert!(!zfs.exists(s.child("bad").as_str()).unwrap());
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn cloning_a_missing_snapshot_is_not_found() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "missing");
    let e = zfs
        .clone_from_snapshot(&snap("tank/missing@nope"), &s.child("c"), &Props::new())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(!zfs.exists(s.child("c").as_str()).unwrap());
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn cloning_onto_an_existing_name_already_exists() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "exists");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new()).unwrap();
    zfs.snapshot(&[base.snapshot("s").unwrap()], &[]).unwrap();
    let e = zfs
        .clone_from_snapshot(&base.snapshot("s").unwrap(), &base, &Props::new())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
    assert!(
        e.to_string()
            .starts_with("clone tank/exists/base@s -> tank/exists/base: already exists"),
        "{e}"
    );
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn destroying_a_snapshot_with_clones_fails_and_destroys_nothing() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "busy");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new()).unwrap();
    let v1 = base.snapshot("s").unwrap();
    let v2 = base.snapshot("s2").unwrap();
    zfs.snapshot(std::slice::from_ref(&v1), &[]).unwrap();
    zfs.snapshot(std::slice::from_ref(&v2), &[]).unwrap();
    zfs.clone_from_snapshot(&v1, &s.child("clone"), &Props::new())
        .unwrap();
    let e = zfs
        .destroy_snapshots(&[v1.clone(), v2.clone()], false)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Busy, "{e}");
    assert!(e.to_string().contains("tank/busy/base@s"), "{e}");
    assert!(
        zfs.exists(v1.as_str()).unwrap() && zfs.exists(v2.as_str()).unwrap(),
        "atomic: nothing destroyed"
    );
    assert!(zfs.exists(s.child("clone").as_str()).unwrap());
    // Deferred: accepted now, done when the last clone goes.
    zfs.destroy_snapshots(std::slice::from_ref(&v1), true)
        .unwrap();
    assert!(zfs.exists(v1.as_str()).unwrap());
    zfs.destroy(&s.child("clone")).unwrap();
    assert!(!zfs.exists(v1.as_str()).unwrap());
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn promote_swaps_the_origin() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "promote");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new()).unwrap();
    let v1 = base.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&v1), &[]).unwrap();
    let clone = s.child("clone");
    zfs.clone_from_snapshot(&v1, &clone, &Props::new()).unwrap();
    zfs.promote(&clone).unwrap();
    assert_eq!(zfs.properties(clone.as_str()).unwrap().origin, None);
    assert_eq!(
        zfs.properties(base.as_str()).unwrap().origin,
        Some(clone.snapshot("s").unwrap())
    );
    assert!(
        !zfs.exists(v1.as_str()).unwrap(),
        "the snapshot moved to the promoted clone"
    );
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn rollback_discards_later_writes() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "rollback");
    let fs = s.child("fs");
    zfs.create_filesystem(&fs, &Props::new().mountpoint("/mnt-hull-rollback").unwrap())
        .unwrap();
    zfs.mount(&fs).unwrap();
    assert!(zfs.is_mounted(&fs).unwrap());
    write_file("/mnt-hull-rollback/file", b"before");
    let v1 = fs.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&v1), &[]).unwrap();
    write_file("/mnt-hull-rollback/file", b"after");
    write_file("/mnt-hull-rollback/new", b"new");
    zfs.rollback_to(&v1).unwrap();
    assert_eq!(std::fs::read("/mnt-hull-rollback/file").unwrap(), b"before");
    assert!(!std::path::Path::new("/mnt-hull-rollback/new").exists());
    // Only to the newest snapshot.
    zfs.snapshot(&[fs.snapshot("s2").unwrap()], &[]).unwrap();
    assert!(zfs.rollback_to(&v1).is_err());
    zfs.unmount(&fs).unwrap();
    assert!(!zfs.is_mounted(&fs).unwrap());
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn a_multi_snapshot_naming_two_pools_fails_and_creates_nothing() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "twopools");
    let other = ds("tank2/hull-twopools");
    zfs.create_filesystem(&other, &Props::new()).unwrap();
    let names = [s.root.snapshot("s").unwrap(), other.snapshot("s").unwrap()];
    let e = zfs.snapshot(&names, &[]).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
    assert!(!zfs.exists(names[0].as_str()).unwrap() && !zfs.exists(names[1].as_str()).unwrap());
    zfs.destroy(&other).unwrap();
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn two_snapshots_of_one_dataset_in_one_call_are_refused_before_zfs() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "twice");
    let names = [
        s.root.snapshot("s1").unwrap(),
        s.root.snapshot("s2").unwrap(),
    ];
    let e = zfs.snapshot(&names, &[]).unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::InvalidArgument(ref w) if w.contains("named twice")),
        "{e}"
    );
    assert!(!zfs.exists(names[0].as_str()).unwrap());
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn snapshot_of_a_missing_dataset_names_it() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "snapmissing");
    let names = [
        s.root.snapshot("s").unwrap(),
        s.child("nope").snapshot("s").unwrap(),
    ];
    let e = zfs.snapshot(&names, &[]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("tank/snapmissing/nope@s"), "{e}");
    assert!(!zfs.exists(names[0].as_str()).unwrap(), "all or none");
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn twenty_clones_of_50_mib_cost_at_most_1_percent_more_than_the_base() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "twenty");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new().mountpoint("/mnt-hull-twenty").unwrap())
        .unwrap();
    zfs.mount(&base).unwrap();
    // 50 MiB that does not compress.
    write_file("/mnt-hull-twenty/image", &common::bytes(50 << 20, 42));
    zfs.unmount(&base).unwrap();
    let v1 = base.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&v1), &[]).unwrap();
    let base_used = zfs.properties(base.as_str()).unwrap().used;
    assert!(base_used >= 50 << 20, "base uses {base_used}");
    let clones: Vec<_> = (0..20).map(|i| s.child(&format!("vm{i}"))).collect();
    zfs.clone_many(&v1, &clones, &Props::new()).unwrap();
    for c in &clones {
        assert_eq!(zfs.properties(c.as_str()).unwrap().origin, Some(v1.clone()));
    }
    let total = zfs.properties(s.root.as_str()).unwrap().used;
    assert!(
        total as f64 <= base_used as f64 * 1.01,
        "20 clones: {total} bytes used under {} vs {base_used} for the base",
        s.root
    );
    eprintln!(
        "20 clones of {base_used} bytes: {total} bytes in all ({:+} bytes)",
        total as i64 - base_used as i64
    );
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn clone_many_is_all_or_nothing() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "allornothing");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new()).unwrap();
    let v1 = base.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&v1), &[]).unwrap();
    let taken = s.child("taken");
    zfs.create_filesystem(&taken, &Props::new()).unwrap();
    let mut targets: Vec<_> = (0..6).map(|i| s.child(&format!("c{i}"))).collect();
    targets.push(taken.clone());
    let e = zfs.clone_many(&v1, &targets, &Props::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
    for t in &targets[..6] {
        assert!(!zfs.exists(t.as_str()).unwrap(), "{t} was left behind");
    }
    assert!(
        zfs.exists(taken.as_str()).unwrap(),
        "what existed before is untouched"
    );
    let e = zfs
        .clone_many(&v1, &[s.child("d"), s.child("d")], &Props::new())
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)));
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn clone_many_from_8_threads_at_once() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "threads");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new()).unwrap();
    let v1 = base.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&v1), &[]).unwrap();
    std::thread::scope(|sc| {
        for t in 0..8 {
            let (zfs, v1, s) = (&zfs, &v1, &s);
            sc.spawn(move || {
                let targets: Vec<_> = (0..3).map(|i| s.child(&format!("t{t}-{i}"))).collect();
                zfs.clone_many(v1, &targets, &Props::new()).unwrap();
            });
        }
    });
    assert_eq!(zfs.children(&s.root).unwrap().len(), 1 + 8 * 3);
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn invalid_names_never_reach_zfs() {
    let zfs = zfs();
    for bad in [
        "tank//x",
        "tank/x@",
        "tank/a@b@c",
        "",
        "tank/../x",
        "1pool/x",
    ] {
        let e = zfs.exists(bad).unwrap_err();
        assert_eq!(e.op, hull::Op::ValidateName, "{bad:?}");
        assert!(zfs.properties(bad).is_err());
    }
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn destroy_removes_and_a_missing_dataset_is_not_found() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "destroy");
    let d = s.child("d");
    zfs.create_filesystem(&d, &Props::new()).unwrap();
    zfs.destroy(&d).unwrap();
    assert!(!zfs.exists(d.as_str()).unwrap());
    assert_eq!(zfs.destroy(&d).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(
        zfs.properties(d.as_str()).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn the_clone_from_snapshot_example_clones_prints_and_fails_cleanly() {
    let zfs = zfs();
    // The README test command puts the example next to this binary in the guest.
    let example = std::env::current_exe()
        .unwrap()
        .with_file_name("clone_from_snapshot");
    assert!(
        example.exists(),
        "{} is missing: {NEEDS_ZFS}",
        example.display()
    );
    let s = Scratch::new(&zfs, "example");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new()).unwrap();
    zfs.snapshot(&[base.snapshot("s").unwrap()], &[]).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(&example)
            .args(args)
            .output()
            .unwrap()
    };

    let out = run(&[
        "tank/example/base@s",
        "tank/example/vm",
        "-o",
        "quota=1G",
        "-o",
        "mountpoint=/mnt-hull-example",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("tank/example/vm origin=tank/example/base@s used="),
        "{stdout}"
    );
    assert!(stdout.contains(" referenced="));
    assert_eq!(
        zfs.properties("tank/example/vm").unwrap().quota,
        Some(1 << 30)
    );

    // Errors: one line, non-zero, nothing made.
    for (args, needle) in [
        (
            &["tank/example/base@nope", "tank/example/x"][..],
            "not found",
        ),
        (
            &["tank/example/base@s", "tank/example/vm"][..],
            "already exists",
        ),
        (
            &["tank/example/base@s", "tank/example/y", "-o", "quota=lots"][..],
            "not a number",
        ),
        (
            &["tank/example/base@s@s", "tank/example/z"][..],
            "exactly one '@'",
        ),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            err.lines().filter(|l| !l.starts_with("usage:")).count(),
            1,
            "{err}"
        );
    }
    for left in ["tank/example/x", "tank/example/y", "tank/example/z"] {
        assert!(!zfs.exists(left).unwrap(), "{left} was made");
    }
}

#[test]
#[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
fn a_clone_whose_properties_cannot_be_set_is_not_left_behind() {
    let zfs = zfs();
    let s = Scratch::new(&zfs, "badprops");
    let base = s.child("base");
    zfs.create_filesystem(&base, &Props::new()).unwrap();
    let v1 = base.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&v1), &[]).unwrap();
    // A reservation larger than the pool cannot be set.
    let target = s.child("vm");
    let e = zfs
        .clone_from_snapshot(&v1, &target, &Props::new().reservation(1 << 50))
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NoSpace(_)), "{e}");
    assert!(
        !zfs.exists(target.as_str()).unwrap(),
        "the half-made clone was left behind"
    );
    // And through clone_many: nothing made either.
    let targets: Vec<_> = (0..4).map(|i| s.child(&format!("m{i}"))).collect();
    assert!(zfs
        .clone_many(&v1, &targets, &Props::new().reservation(1 << 50))
        .is_err());
    assert_eq!(zfs.children(&s.root).unwrap(), vec![base]);
}

// ---- hull::image: imgadm-style import on real OpenZFS ----

mod images {
    use super::*;
    use hull::image::{Images, Manifest, Progress};
    use sha1::Digest;

    const UUID_A: &str = "1a000000-0000-4000-8000-00000000000a";

    const MACHINE_INIT: &str = r#"#!/bin/busybox sh
B=/bin/busybox
$B ip -o addr > /out.addr
$B ip -o link > /out.link
echo up > /out.ready
while true; do
    if [ -f /ping ]; then
        for a in $($B cat /ping); do
            $B ping -c 1 -W 3 $a > /dev/null 2>&1
            echo "$a rc=$?"
        done > /out.ping.tmp
        $B mv /out.ping.tmp /out.ping
        $B rm -f /ping
    fi
    $B sleep 0.2
done
"#;

    /// A busybox root in `<scratch>/src`, snapshotted and sent with the
    /// `zfs` command: the stream, as imgadm's images carry it.
    pub(super) fn busybox_stream(zfs: &Zfs, s: &Scratch, tag: &str) -> Vec<u8> {
        let src = s.child("src");
        let mnt = format!("/tmp/hull-img-{tag}");
        zfs.create_filesystem(&src, &Props::new().mountpoint(&mnt).unwrap())
            .unwrap();
        zfs.mount(&src).unwrap();
        for d in ["bin", "etc", "sbin"] {
            std::fs::create_dir_all(format!("{mnt}/{d}")).unwrap();
        }
        std::fs::copy("/bin/busybox", format!("{mnt}/bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", format!("{mnt}/bin/sh")).unwrap();
        write_file(&format!("{mnt}/etc/hostname"), b"image-test\n");
        // INIT for machines made from it: reports its links and addresses,
        // then pings whatever the test writes to /ping.
        write_file(&format!("{mnt}/sbin/init"), MACHINE_INIT.as_bytes());
        std::fs::set_permissions(
            format!("{mnt}/sbin/init"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        zfs.unmount(&src).unwrap();
        let snap = src.snapshot("s").unwrap();
        zfs.snapshot(std::slice::from_ref(&snap), &[]).unwrap();
        let out = std::process::Command::new("zfs")
            .args(["send", snap.as_str()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    pub(super) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// The file written to /tmp, and a manifest that describes it.
    pub(super) fn packaged(
        tag: &str,
        uuid: &str,
        file: &[u8],
        compression: &str,
    ) -> (std::path::PathBuf, Manifest) {
        let path = std::path::PathBuf::from(format!("/tmp/hull-img-{tag}-{uuid}.zfs"));
        std::fs::write(&path, file).unwrap();
        let sha1: String = sha1::Sha1::digest(file)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let m = Manifest::from_json(&format!(
            r#"{{"v": 2, "uuid": "{uuid}", "name": "busybox-{tag}", "version": "1.0.0",
                "type": "zone-dataset", "os": "linux", "description": "kept as is",
                "requirements": {{"brand": "joyent"}},
                "files": [{{"sha1": "{sha1}", "size": {}, "compression": "{compression}"}}]}}"#,
            file.len()
        ))
        .unwrap();
        (path, m)
    }

    fn no_dataset(zfs: &Zfs, images: &Images, uuid: &str) {
        let d = images.root().child(uuid).unwrap();
        assert!(!zfs.exists(d.as_str()).unwrap(), "{d} was left behind");
    }

    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn an_image_imports_in_each_compression_and_lists_gets_and_reads_back() {
        let zfs = zfs();
        let s = Scratch::new(&zfs, "img-ok");
        let stream = busybox_stream(&zfs, &s, "ok");
        let root = s.child("images");
        zfs.create_filesystem(&root, &Props::new()).unwrap();
        let images = Images::new(&zfs, root.clone());
        let files: [(&str, Vec<u8>); 4] = [
            ("none", stream.clone()),
            ("gzip", gzip(&stream)),
            ("bzip2", {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(&stream).unwrap();
                e.finish().unwrap()
            }),
            ("xz", {
                let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(&stream).unwrap();
                e.finish().unwrap()
            }),
        ];
        let mut uuids = Vec::new();
        for (i, (compression, file)) in files.iter().enumerate() {
            let uuid = format!("1a000000-0000-4000-8000-00000000010{i}");
            let (path, m) = packaged("ok", &uuid, file, compression);
            let mut seen = Vec::new();
            // Once the file is verified, it is overwritten: what is
            // received is the verified copy, not what the path now holds.
            let image = images
                .import_with_progress(&m, &path, &mut |p| {
                    if matches!(p, Progress::Verifying { done, total } if done == total)
                        && !seen.iter().any(|q| matches!(q, Progress::Receiving { .. }))
                    {
                        std::fs::write(&path, vec![0u8; file.len()]).unwrap();
                    }
                    seen.push(p)
                })
                .unwrap_or_else(|e| panic!("{compression}: {e}"));
            assert_eq!(image.snapshot.as_str(), format!("{root}/{uuid}@final"));
            assert!(zfs.exists(image.snapshot.as_str()).unwrap());
            assert!(seen.iter().any(|p| matches!(p, Progress::Verifying { .. })));
            assert!(seen.iter().any(|p| matches!(p, Progress::Receiving { .. })));
            // Inert on the host until cloned: not mounted, not mountable
            // by `zfs mount -a`, no setuid or devices, read-only.
            assert!(!zfs.is_mounted(&image.dataset).unwrap());
            let got = std::process::Command::new("zfs")
                .args([
                    "get",
                    "-H",
                    "-o",
                    "value",
                    "canmount,setuid,devices,readonly",
                ])
                .arg(image.dataset.as_str())
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&got.stdout),
                "noauto\noff\noff\non\n"
            );
            // The manifest, unknown fields included, comes back.
            let got = images.get(&uuid).unwrap();
            assert_eq!(got.manifest, m);
            assert_eq!(got.manifest.extra["description"], "kept as is");
            std::fs::remove_file(path).ok();
            uuids.push(uuid);
        }
        let listed: Vec<String> = images
            .list()
            .unwrap()
            .into_iter()
            .map(|i| i.manifest.uuid)
            .collect();
        assert_eq!(listed, uuids);
        // What was received is the busybox root.
        let vm = s.child("vm");
        zfs.clone_from_snapshot(
            &images.get(&uuids[1]).unwrap().snapshot,
            &vm,
            &Props::new().mountpoint("/tmp/hull-img-vm").unwrap(),
        )
        .unwrap();
        zfs.mount(&vm).unwrap();
        assert_eq!(
            std::fs::read("/tmp/hull-img-vm/bin/busybox").unwrap(),
            std::fs::read("/bin/busybox").unwrap()
        );
        assert_eq!(
            std::fs::read_link("/tmp/hull-img-vm/bin/sh")
                .unwrap()
                .to_str(),
            Some("busybox")
        );
        zfs.unmount(&vm).unwrap();
        // A uuid-named clone under the root (a machine) is not an image,
        // and neither is a plain dataset; neither lists as one.
        let machine = "1a000000-0000-4000-8000-0000000001ff";
        zfs.clone_from_snapshot(
            &images.get(&uuids[0]).unwrap().snapshot,
            &root.child(machine).unwrap(),
            &Props::new(),
        )
        .unwrap();
        let plain = "1a000000-0000-4000-8000-0000000001fe";
        zfs.create_filesystem(&root.child(plain).unwrap(), &Props::new())
            .unwrap();
        for u in [machine, plain] {
            assert_eq!(images.get(u).unwrap_err().kind, ErrorKind::NotFound, "{u}");
            assert_eq!(
                images.delete(u).unwrap_err().kind,
                ErrorKind::NotFound,
                "{u}"
            );
        }
        assert_eq!(images.list().unwrap().len(), 4);
        // Nor does a manifest inherited from above make one.
        let above = s.child("above");
        let m = images.get(&uuids[0]).unwrap().manifest;
        zfs.create_filesystem(
            &above,
            &Props::new()
                .user("hull:manifest", &serde_json::to_string(&m).unwrap())
                .unwrap(),
        )
        .unwrap();
        let below = above.child(&uuids[0]).unwrap();
        zfs.create_filesystem(&below, &Props::new()).unwrap();
        let beside = Images::new(&zfs, above.clone());
        assert_eq!(beside.get(&uuids[0]).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(
            beside.delete(&uuids[0]).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert!(zfs.exists(below.as_str()).unwrap(), "nothing was destroyed");
        assert!(beside.list().unwrap().is_empty());
    }

    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn bad_files_and_streams_fail_typed_and_leave_no_dataset() {
        let zfs = zfs();
        let s = Scratch::new(&zfs, "img-bad");
        let stream = busybox_stream(&zfs, &s, "bad");
        let root = s.child("images");
        zfs.create_filesystem(&root, &Props::new()).unwrap();
        let images = Images::new(&zfs, root);
        let good = gzip(&stream);

        // A wrong SHA-1: refused before anything reaches ZFS.
        let (path, mut m) = packaged("bad", UUID_A, &good, "gzip");
        m.files[0].sha1 = "0".repeat(40);
        let e = images.import(&m, &path).unwrap_err();
        assert!(
            matches!(&e.kind, ErrorKind::InvalidFormat(w) if w.contains("SHA-1")),
            "{e}"
        );
        no_dataset(&zfs, &images, UUID_A);
        // A wrong size.
        let (path, mut m) = packaged("bad", UUID_A, &good, "gzip");
        m.files[0].size += 1;
        let e = images.import(&m, &path).unwrap_err();
        assert!(
            matches!(&e.kind, ErrorKind::InvalidFormat(w) if w.contains("bytes")),
            "{e}"
        );
        no_dataset(&zfs, &images, UUID_A);

        // Files whose manifest matches them, but whose stream ZFS must not
        // end up with: each an InvalidFormat error, with no dataset left.
        let mut corrupt = good.clone();
        let mid = corrupt.len() / 2;
        for b in &mut corrupt[mid..mid + 64] {
            *b ^= 0x5a;
        }
        let mut padded = stream.clone();
        padded.extend(std::iter::repeat_n(0u8, 1 << 20));
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"not a gzip member");
        for (what, file, compression) in [
            // ZFS refuses it, and the kernel removes what it had received.
            ("truncated", &stream[..stream.len() * 2 / 3], "none"),
            ("its END record cut", &stream[..stream.len() - 8], "none"),
            ("bytes flipped in gzip", &corrupt[..], "gzip"),
            ("not a stream at all", &[7u8; 4096][..], "none"),
            // A whole stream with more after its END record: the kernel
            // finishes the receive without reading the rest, so the import
            // must destroy what it received.
            ("padded after END", &padded[..], "none"),
            ("bytes after the gzip member", &trailing[..], "gzip"),
        ] {
            let (path, m) = packaged("bad", UUID_A, file, compression);
            let e = images.import(&m, &path).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::InvalidFormat(_)), "{what}: {e}");
            no_dataset(&zfs, &images, UUID_A);
            std::fs::remove_file(path).ok();
        }
        let (path, m) = packaged("bad", UUID_A, &good, "gzip");
        // A directory is not an image file.
        let e = images.import(&m, std::path::Path::new("/tmp")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
        std::fs::remove_file(path).ok();
    }

    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn a_duplicate_uuid_is_refused_and_an_image_with_clones_cannot_be_deleted() {
        let zfs = zfs();
        let s = Scratch::new(&zfs, "img-dup");
        let stream = busybox_stream(&zfs, &s, "dup");
        let root = s.child("images");
        zfs.create_filesystem(&root, &Props::new()).unwrap();
        let images = Images::new(&zfs, root);
        let (path, m) = packaged("dup", UUID_A, &gzip(&stream), "gzip");
        let image = images.import(&m, &path).unwrap();
        let before = zfs.properties(image.dataset.as_str()).unwrap();
        let e = images.import(&m, &path).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
        // The first one is untouched.
        assert_eq!(zfs.properties(image.dataset.as_str()).unwrap(), before);
        assert_eq!(images.get(UUID_A).unwrap().manifest, m);

        let vm = s.child("vm");
        zfs.clone_from_snapshot(&image.snapshot, &vm, &Props::new())
            .unwrap();
        let e = images.delete(UUID_A).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Busy, "{e}");
        assert!(
            zfs.exists(image.snapshot.as_str()).unwrap(),
            "nothing was destroyed"
        );
        zfs.destroy(&vm).unwrap();
        images.delete(UUID_A).unwrap();
        assert!(!zfs.exists(image.dataset.as_str()).unwrap());
        assert_eq!(images.get(UUID_A).unwrap_err().kind, ErrorKind::NotFound);
        // A dataset that is not an image is not one to get or delete.
        assert_eq!(
            images
                .get("1a000000-0000-4000-8000-0000000000ff")
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        std::fs::remove_file(path).ok();
    }
    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn the_imgadm_example_imports_lists_gets_and_deletes_with_one_line_errors() {
        let zfs = zfs();
        let example = std::env::current_exe().unwrap().with_file_name("imgadm");
        assert!(
            example.exists(),
            "{} is missing: {NEEDS_ZFS}",
            example.display()
        );
        let s = Scratch::new(&zfs, "img-cli");
        let stream = busybox_stream(&zfs, &s, "cli");
        let root = s.child("images");
        zfs.create_filesystem(&root, &Props::new()).unwrap();
        let uuid = "1a000000-0000-4000-8000-0000000000c1";
        let (file, m) = packaged("cli", uuid, &gzip(&stream), "gzip");
        let manifest = format!("/tmp/hull-img-cli-{uuid}.json");
        std::fs::write(&manifest, serde_json::to_string(&m).unwrap()).unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new(&example)
                .args(["--pool", root.as_str()])
                .args(args)
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, out, err) = run(&["import", "-m", &manifest, "-f", file.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.starts_with(&format!("Imported image {uuid} (busybox-cli@1.0.0)")),
            "{out}"
        );
        assert_eq!(err, "", "quiet when stderr is not a terminal");
        let (code, out, _) = run(&["list"]);
        assert_eq!(code, Some(0));
        assert!(out.lines().nth(1).unwrap().starts_with(uuid), "{out}");
        let (code, out, _) = run(&["get", uuid]);
        assert_eq!(code, Some(0));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["manifest"]["uuid"], uuid);
        assert_eq!(v["snapshot"], format!("{root}/{uuid}@final"));
        // Errors: exit 1, one line; usage: exit 2.
        for args in [
            &["import", "-m", &manifest, "-f", file.to_str().unwrap()][..],
            &["get", "1a000000-0000-4000-8000-0000000000ff"][..],
            &["get", "not-a-uuid"][..],
            &["import", "-m", "/nonexistent.json", "-f", "/nonexistent"][..],
        ] {
            let (code, out, err) = run(args);
            assert_eq!(code, Some(1), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.starts_with("imgadm: "), "{err}");
            assert_eq!(out, "");
        }
        for args in [&["frobnicate"][..], &["import", "-m"][..], &["get"][..]] {
            assert_eq!(run(args).0, Some(2), "{args:?}");
        }
        let (code, out, err) = run(&["delete", uuid]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out, format!("Deleted image {uuid}\n"));
        assert!(!zfs.exists(&format!("{root}/{uuid}")).unwrap());
        std::fs::remove_file(file).ok();
        std::fs::remove_file(manifest).ok();
    }
}

// ---- hull::machine: vmadm-style machines on real OpenZFS, zones and VNICs ----

mod machines {
    use super::images::{busybox_stream, gzip, packaged};
    use super::*;
    use hull::image::Images;
    use hull::machine::{Machines, NodeConfig, Payload, Step};
    use hull::name::{LinkName, ZoneName};
    use hull::vnic::Vnics;
    use std::time::{Duration, Instant};

    // Each test's machine uuids differ in their first 11 hex digits: a
    // machine's link names are made of them, and the tests run in parallel.

    /// An image in the pool `tank` (where machines clone it from), an
    /// etherstub for the NIC tag `ext`, and a state directory; all removed
    /// on drop.
    struct Node<'a> {
        zfs: &'a Zfs,
        image: String,
        stub: LinkName,
        state: std::path::PathBuf,
        _scratch: Scratch<'a>,
    }

    impl<'a> Node<'a> {
        fn new(zfs: &'a Zfs, tag: &str, image: &str) -> Node<'a> {
            let s = Scratch::new(zfs, &format!("m-{tag}"));
            let stream = busybox_stream(zfs, &s, &format!("m-{tag}"));
            let (file, m) = packaged(&format!("m-{tag}"), image, &gzip(&stream), "gzip");
            Images::new(zfs, ds("tank")).import(&m, &file).unwrap();
            std::fs::remove_file(file).ok();
            let stub: LinkName = format!("st{tag}").parse().unwrap();
            Vnics::open().unwrap().create_etherstub(&stub).unwrap();
            let state = std::path::PathBuf::from(format!("/tmp/hull-machines-{tag}"));
            Node {
                zfs,
                image: image.into(),
                stub,
                state,
                _scratch: s,
            }
        }

        fn machines(&self) -> Machines {
            let node =
                NodeConfig::from_json(&format!(r#"{{"nic_tags": {{"ext": "{}"}}}}"#, self.stub))
                    .unwrap();
            Machines::open(&self.state, ds("tank"), node).unwrap()
        }

        fn payload(&self, uuid: &str, host: u8) -> Payload {
            Payload::from_json(&format!(
                r#"{{"uuid": "{uuid}", "brand": "joyent", "image_uuid": "{}", "alias": "m{host}",
                    "max_physical_memory": 128, "max_lwps": 200, "quota": 1,
                    "hostname": "m{host}", "resolvers": ["10.10.0.53"],
                    "nics": [{{"nic_tag": "ext", "ip": "10.10.0.{host}", "netmask": "255.255.255.0",
                               "gateway": "10.10.0.1", "primary": true}},
                             {{"nic_tag": "ext", "vlan_id": 7, "ips": ["10.20.0.{host}/24"], "mtu": 1400}}]}}"#,
                self.image
            ))
            .unwrap()
        }

        /// Nothing of machine `uuid` is left: record, zone, dataset,
        /// VNICs, cgroups.
        fn nothing_left(&self, machines: &Machines, uuid: &str) {
            assert_eq!(machines.get(uuid).unwrap_err().kind, ErrorKind::NotFound);
            let zone: ZoneName = uuid.parse().unwrap();
            let zones = hull::zone::Zones::open(self.state.join("zones")).unwrap();
            assert_eq!(
                zones.state(&zone).unwrap_err().kind,
                ErrorKind::NotFound,
                "zone record of {uuid}"
            );
            assert!(common::zone::no_cgroups_for(&zone), "cgroups of {uuid}");
            assert!(
                !self.zfs.exists(&format!("tank/{uuid}")).unwrap(),
                "dataset of {uuid}"
            );
            let hex: String = uuid.chars().filter(|c| *c != '-').take(11).collect();
            let mut v = Vnics::open().unwrap();
            for i in 0..2 {
                let l: LinkName = format!("m{hex}n{i}").parse().unwrap();
                assert_eq!(v.get(&l).unwrap_err().kind, ErrorKind::NotFound, "{l}");
            }
            assert!(!std::path::Path::new(&format!("/tank/{uuid}")).exists());
        }
    }

    /// The `vmadm` example (beside this binary in the guest) with this
    /// node's pool, NIC tag file and state directory, and a payload file
    /// for one machine; the files are removed on drop.
    struct Cli {
        example: std::path::PathBuf,
        node_file: String,
        payload: String,
        state: String,
    }

    impl Cli {
        fn new(node: &Node, uuid: &str, host: u8) -> Cli {
            let example = std::env::current_exe().unwrap().with_file_name("vmadm");
            assert!(
                example.exists(),
                "{} is missing: {NEEDS_ZFS}",
                example.display()
            );
            let node_file = format!("{}.node.json", node.state.display());
            write_file(
                &node_file,
                format!(r#"{{"nic_tags": {{"ext": "{}"}}}}"#, node.stub).as_bytes(),
            );
            let payload = format!("{}.payload.json", node.state.display());
            write_file(
                &payload,
                serde_json::to_string(&node.payload(uuid, host))
                    .unwrap()
                    .as_bytes(),
            );
            Cli {
                example,
                node_file,
                payload,
                state: node.state.display().to_string(),
            }
        }

        /// `vmadm --pool tank --node ... --state ... ARGS`.
        fn command(&self, args: &[&str]) -> std::process::Command {
            let mut c = std::process::Command::new(&self.example);
            c.args([
                "--pool",
                "tank",
                "--node",
                &self.node_file,
                "--state",
                &self.state,
            ])
            .args(args);
            c
        }
    }

    impl Drop for Cli {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.node_file);
            let _ = std::fs::remove_file(&self.payload);
        }
    }

    impl Drop for Node<'_> {
        fn drop(&mut self) {
            let _ = Images::new(self.zfs, ds("tank")).delete(&self.image);
            let _ = Vnics::open().map(|mut v| v.delete_etherstub(&self.stub));
            let _ = std::fs::remove_dir_all(&self.state);
        }
    }

    /// Waits for `path` to exist and returns its text.
    fn wait_for(path: &str) -> String {
        let start = Instant::now();
        loop {
            if let Ok(t) = std::fs::read_to_string(path) {
                return t;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{path} never came"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn vlan_devices() -> String {
        std::fs::read_to_string("/proc/net/vlan/config").unwrap_or_default()
    }

    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn two_machines_with_a_vlan_nic_each_ping_each_other_and_leave_nothing_after_delete() {
        let zfs = zfs();
        let node = Node::new(&zfs, "life", "2a000000-0000-4000-8000-000000000001");
        let mut machines = node.machines();
        let (a, b) = (
            "2a0000a1-0000-4000-8000-0000000000a1",
            "2a0000b1-0000-4000-8000-0000000000b1",
        );
        assert_eq!(machines.create(node.payload(a, 11)).unwrap(), a);
        assert_eq!(machines.create(node.payload(b, 12)).unwrap(), b);
        let root = |u: &str| format!("/tank/{u}/root");
        wait_for(&format!("{}/out.ready", root(a)));
        wait_for(&format!("{}/out.ready", root(b)));

        // Its dataset is a clone of the image with the quota.
        let p = zfs.properties(&format!("tank/{a}")).unwrap();
        assert_eq!(
            p.origin.unwrap().as_str(),
            format!("tank/{}@final", node.image)
        );
        assert_eq!(p.quota, Some(1 << 30));
        // The zone sees exactly lo and its two links, with the MACs vmadm
        // would report, and its addresses.
        let got = machines.get(a).unwrap();
        assert_eq!(got.state, "running");
        let links = std::fs::read_to_string(format!("{}/out.link", root(a))).unwrap();
        assert_eq!(links.lines().count(), 3, "{links}");
        for nic in &got.payload.nics {
            let mac = nic.mac.as_ref().unwrap();
            assert!(links.contains(mac.as_str()), "{mac} in {links}");
        }
        assert!(links.contains("mtu 1400"), "{links}");
        let addrs = std::fs::read_to_string(format!("{}/out.addr", root(a))).unwrap();
        assert!(
            addrs.contains("10.10.0.11/24") && addrs.contains("10.20.0.11/24"),
            "{addrs}"
        );
        // The VLAN: an 802.1q sub-link with VID 7 on the tag's link.
        let vlans = vlan_devices();
        assert!(
            vlans
                .lines()
                .any(|l| l.contains("| 7 ") && l.contains(node.stub.as_str())),
            "{vlans}"
        );
        // resolv.conf and hostname, written into the root.
        assert_eq!(
            std::fs::read_to_string(format!("{}/etc/resolv.conf", root(a))).unwrap(),
            "nameserver 10.10.0.53\n"
        );
        // A pings B on the untagged and the VLAN network.
        write_file(&format!("{}/ping", root(a)), b"10.10.0.12 10.20.0.12");
        let ping = wait_for(&format!("{}/out.ping", root(a)));
        assert_eq!(ping, "10.10.0.12 rc=0\n10.20.0.12 rc=0\n");

        // get and list, from another process's view (a new handle).
        let other = node.machines();
        let listed: Vec<String> = other
            .list()
            .unwrap()
            .into_iter()
            .map(|m| m.payload.uuid)
            .collect();
        assert_eq!(listed, [a, b]);
        let json = serde_json::to_value(other.get(b).unwrap()).unwrap();
        assert_eq!(json["alias"], "m12");
        assert_eq!(json["state"], "running");
        assert_eq!(json["zfs_filesystem"], format!("tank/{b}"));

        // stop, start, reboot.
        let zone: ZoneName = a.parse().unwrap();
        machines.stop(a, Duration::from_secs(2)).unwrap();
        assert_eq!(machines.get(a).unwrap().state, "stopped");
        assert!(
            common::zone::no_cgroups_for(&zone),
            "processes left after stop"
        );
        std::fs::remove_file(format!("{}/out.ready", root(a))).unwrap();
        machines.start(a).unwrap();
        wait_for(&format!("{}/out.ready", root(a)));
        assert_eq!(machines.get(a).unwrap().state, "running");
        std::fs::remove_file(format!("{}/out.ping", root(a))).unwrap();
        write_file(&format!("{}/ping", root(a)), b"10.20.0.12");
        assert_eq!(
            wait_for(&format!("{}/out.ping", root(a))),
            "10.20.0.12 rc=0\n"
        );
        std::fs::remove_file(format!("{}/out.ready", root(a))).unwrap();
        machines.reboot(a, Duration::from_secs(2)).unwrap();
        wait_for(&format!("{}/out.ready", root(a)));
        assert_eq!(machines.get(a).unwrap().state, "running");

        // delete: nothing left, while the other machine runs on.
        machines.delete(a).unwrap();
        node.nothing_left(&machines, a);
        assert_eq!(machines.get(b).unwrap().state, "running");
        machines.delete(b).unwrap();
        node.nothing_left(&machines, b);
        assert!(
            !vlan_devices().contains(node.stub.as_str()),
            "the VLAN sub-link went with the last VNIC"
        );
    }

    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn a_fault_at_every_step_of_create_leaves_nothing_behind() {
        let zfs = zfs();
        let node = Node::new(&zfs, "fault", "2a000000-0000-4000-8000-000000000002");
        let mut machines = node.machines();
        let uuid = "2a0000f1-0000-4000-8000-0000000000f1";
        for step in Step::ALL {
            machines.fail_after(Some(step));
            let e = machines.create(node.payload(uuid, 21)).unwrap_err();
            assert!(
                e.object
                    .contains(&format!("step {}", format!("{step:?}").to_lowercase())),
                "{step:?}: {e}"
            );
            node.nothing_left(&machines, uuid);
            assert!(
                !vlan_devices().contains(node.stub.as_str()),
                "{step:?}: a VLAN sub-link was left"
            );
        }
        // And with no fault, the same payload makes the machine.
        machines.fail_after(None);
        machines.create(node.payload(uuid, 21)).unwrap();
        machines.delete(uuid).unwrap();
        node.nothing_left(&machines, uuid);
    }

    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn payloads_naming_what_the_node_lacks_or_a_taken_uuid_are_refused_and_make_nothing() {
        let zfs = zfs();
        let node = Node::new(&zfs, "bad", "2a000000-0000-4000-8000-000000000003");
        let mut machines = node.machines();
        let uuid = "2a0000e1-0000-4000-8000-0000000000e1";
        // An image that is not there.
        let mut p = node.payload(uuid, 31);
        p.image_uuid = "2a000000-0000-4000-8000-00000000dead".into();
        let e = machines.create(p).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        assert!(e.object.contains("image_uuid"), "{e}");
        node.nothing_left(&machines, uuid);
        // A NIC tag the node does not have.
        let mut p = node.payload(uuid, 31);
        p.nics[1].nic_tag = "storage".into();
        let e = machines.create(p).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        assert!(e.object.contains("nics[1].nic_tag"), "{e}");
        node.nothing_left(&machines, uuid);
        // A uuid already taken; the alias may repeat.
        machines.create(node.payload(uuid, 31)).unwrap();
        let e = machines.create(node.payload(uuid, 32)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
        assert_eq!(machines.get(uuid).unwrap().state, "running", "untouched");
        let twin = "2a0000e2-0000-4000-8000-0000000000e2";
        let mut p = node.payload(twin, 33);
        p.alias = Some("m31".into());
        p.nics.truncate(1);
        machines.create(p).unwrap();
        // The image cannot go while machines are cloned from it.
        assert_eq!(
            Images::new(&zfs, ds("tank"))
                .delete(&node.image)
                .unwrap_err()
                .kind,
            ErrorKind::Busy
        );
        for u in [uuid, twin] {
            machines.delete(u).unwrap();
            node.nothing_left(&machines, u);
        }
    }
    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn the_vmadm_example_creates_gets_lists_stops_starts_reboots_and_deletes() {
        let zfs = zfs();
        let node = Node::new(&zfs, "cli", "2a000000-0000-4000-8000-000000000004");
        let uuid = "2a0000c1-0000-4000-8000-0000000000c1";
        let cli = Cli::new(&node, uuid, 41);
        let payload = cli.payload.clone();
        let run = |args: &[&str]| {
            let out = cli.command(args).output().unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, out, err) = run(&["create", "-f", &payload]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out, format!("Successfully created VM {uuid}\n"));
        wait_for(&format!("/tank/{uuid}/root/out.ready"));
        let (code, out, _) = run(&["get", uuid]);
        assert_eq!(code, Some(0));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["state"], "running");
        assert_eq!(v["nics"][1]["vlan_id"], 7);
        assert!(
            v["nics"][0]["mac"].is_string(),
            "the MAC chosen is recorded"
        );
        let (_, out, _) = run(&["list"]);
        assert!(out.lines().nth(1).unwrap().starts_with(uuid), "{out}");
        assert!(out.contains("running"), "{out}");
        for (cmd, said, state) in [
            ("stop", "Successfully completed stop for VM", "stopped"),
            ("start", "Successfully started VM", "running"),
            ("reboot", "Successfully completed reboot for VM", "running"),
        ] {
            let (code, out, err) = run(&[cmd, uuid]);
            assert_eq!(code, Some(0), "{cmd}: {err}");
            assert_eq!(out, format!("{said} {uuid}\n"));
            let (_, out, _) = run(&["get", uuid]);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["state"], state, "after {cmd}");
        }
        // Errors: exit 1 and one line; a failed create leaves nothing.
        let bad = format!("{}.bad.json", node.state.display());
        let other = "2a0000c2-0000-4000-8000-0000000000c2";
        write_file(
            &bad,
            format!(
                r#"{{"uuid": "{other}", "image_uuid": "{}", "ram": 512}}"#,
                node.image
            )
            .as_bytes(),
        );
        for args in [
            &["create", "-f", &bad][..],
            &["create", "-f", &payload][..],
            &["get", other][..],
            &["start", "not-a-uuid"][..],
        ] {
            let (code, out, err) = run(args);
            assert_eq!(code, Some(1), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.starts_with("vmadm: "), "{err}");
            assert_eq!(out, "");
        }
        let (_, _, err) = run(&["create", "-f", &bad]);
        assert!(err.contains("ram"), "the unknown property is named: {err}");
        for args in [&["frobnicate"][..], &["create"][..], &["get"][..]] {
            assert_eq!(run(args).0, Some(2), "{args:?}");
        }
        let (code, out, err) = run(&["delete", uuid]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out, format!("Successfully deleted VM {uuid}\n"));
        node.nothing_left(&node.machines(), uuid);
        std::fs::remove_file(bad).ok();
    }
    #[test]
    #[ignore = "needs ZFS: run in the ZFS test guest by the README test command"]
    fn a_create_killed_at_any_step_is_undone_by_the_next_open() {
        let zfs = zfs();
        let node = Node::new(&zfs, "kill", "2a000000-0000-4000-8000-000000000005");
        let uuid = "2a0000d1-0000-4000-8000-0000000000d1";
        let cli = Cli::new(&node, uuid, 51);
        let payload = cli.payload.clone();
        let vmadm = |args: &[&str], kill_at: Option<&str>| {
            let mut c = cli.command(args);
            if let Some(p) = kill_at {
                c.env("HULL_FAULT_KILL_AT", p);
            }
            c.output().unwrap()
        };
        for point in [
            "machine:record",
            "machine:vnics",
            "machine:configure",
            "install:cloned",
            "machine:install",
            "machine:files",
            "boot:spawned",
            "boot:handed-over",
            "boot:running",
            "machine:boot",
        ] {
            let out = vmadm(&["create", "-f", &payload], Some(point));
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{point}: {out:?}");
            // The next process to open the machines undoes the create.
            let out = vmadm(&["list"], None);
            assert!(out.status.success(), "{point}: {out:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).lines().count(),
                1,
                "{point}"
            );
            node.nothing_left(&node.machines(), uuid);
            assert!(
                !vlan_devices().contains(node.stub.as_str()),
                "{point}: a VLAN sub-link was left"
            );
        }
    }
}
