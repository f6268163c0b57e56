//! An illumos build of hull pulls in no Linux-only crate: the rtnetlink
//! crates and seccompiler are Linux dependencies only, and the modules
//! that use them are compiled for Linux only. (No illumos standard library
//! can be fetched on this project's machines, so `cargo check --target
//! x86_64-unknown-illumos` is out of reach; the dependency graph is what
//! can be checked.)

use std::process::Command;

const LINUX_ONLY: &[&str] = &[
    "netlink-packet-core",
    "netlink-packet-route",
    "netlink-sys",
    "seccompiler",
];

/// The crates `cargo tree` lists for hull's normal dependencies on `target`.
fn crates_for(target: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree", "-p", "hull", "-e", "normal", "--prefix", "none", "--target", target,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn an_illumos_build_pulls_in_no_linux_only_crate() {
    let illumos = crates_for("x86_64-unknown-illumos");
    for c in LINUX_ONLY {
        assert!(
            !illumos.iter().any(|k| k == c),
            "{c} in an illumos build: {illumos:?}"
        );
    }
    // The illumos backends' -sys crates are there ...
    for c in ["dladm-sys", "zonecfg-sys", "kvm-sys"] {
        assert!(illumos.iter().any(|k| k == c), "{c} missing: {illumos:?}");
    }
    // ... and the same check sees the Linux-only crates where they belong.
    let linux = crates_for("x86_64-unknown-linux-gnu");
    for c in LINUX_ONLY {
        assert!(
            linux.iter().any(|k| k == c),
            "{c} not in a Linux build: {linux:?}"
        );
    }
}
