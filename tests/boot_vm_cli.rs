//! The `boot_vm` example as a user runs it: the demo succeeds, and every bad
//! input exits non-zero with a one-line reason on stderr.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{bytes, kvm_or_skip, tempdir};

/// `cargo test` builds the examples next to the test binaries' directory.
fn boot_vm() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("examples").join("boot_vm");
    assert!(
        bin.exists(),
        "{} is missing: build the examples (cargo test does)",
        bin.display()
    );
    bin
}

fn run(args: &[&str]) -> Output {
    Command::new(boot_vm()).args(args).output().unwrap()
}

/// Asserts a failure with exactly one line on stderr containing `needle`.
fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "one-line reason expected, got:\n{err}"
    );
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

macro_rules! kvm {
    () => {
        if kvm_or_skip(module_path!()).is_none() {
            return;
        }
    };
}

#[test]
fn demo_boots_the_embedded_kernel_and_exits_0() {
    kvm!();
    let out = run(&["--mem", "32"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("hull-testkernel\ncmdline: "), "{stdout}");
    assert!(stdout.ends_with("reset\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Reset"),
        "timing and outcome go to stderr: {err}"
    );
}

#[test]
fn flags_reach_the_guest() {
    kvm!();
    let dir = tempdir("cli");
    let initrd = dir.join("initrd");
    std::fs::write(&initrd, bytes(1000, 3)).unwrap();
    let out = run(&[
        "--cmdline",
        "a=b c",
        "--initrd",
        initrd.to_str().unwrap(),
        "--mem",
        "48",
        "--vcpus",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cmdline: a=b c\n"));
    assert!(stdout.contains(&format!(
        "size=0x{:016x} fnv1a=0x{:08x}",
        1000,
        common::fnv1a32(&bytes(1000, 3))
    )));
    assert!(stdout.contains(&format!(
        "e820: 0x0000000000100000 0x{:016x}",
        (48u64 << 20) - 0x10_0000
    )));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn halting_with_interrupts_disabled_exits_0() {
    kvm!();
    let out = run(&["--cmdline", "hull.halt", "--mem", "16"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("halt\n"));
}

#[test]
fn missing_kernel() {
    let out = run(&["--kernel", "/nonexistent/bzImage"]);
    fails_with(&out, "load kernel /nonexistent/bzImage: not found");
}

#[test]
fn a_kernel_or_initrd_that_is_not_a_regular_file() {
    let dir = tempdir("cli");
    let out = run(&["--kernel", dir.to_str().unwrap()]);
    fails_with(&out, "not a regular file");
    // A device that never ends is refused, not read for ever.
    fails_with(&run(&["--kernel", "/dev/zero"]), "not a regular file");
    fails_with(&run(&["--initrd", "/dev/zero"]), "not a regular file");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn not_a_bzimage_or_elf() {
    kvm!();
    let dir = tempdir("cli");
    let k = dir.join("vmlinuz");
    std::fs::write(&k, b"#!/bin/sh\necho not a kernel\n").unwrap();
    fails_with(
        &run(&["--kernel", k.to_str().unwrap()]),
        "not a bzImage or ELF kernel",
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn initrd_larger_than_guest_memory() {
    kvm!();
    let dir = tempdir("cli");
    let initrd = dir.join("initrd");
    std::fs::write(&initrd, vec![0u8; 20 << 20]).unwrap();
    fails_with(
        &run(&["--mem", "16", "--initrd", initrd.to_str().unwrap()]),
        "load initrd initrd of 20971520 bytes: does not fit",
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn memory_too_small_for_the_kernel() {
    kvm!();
    fails_with(&run(&["--mem", "1"]), "the kernel needs guest RAM up to");
}

#[test]
fn kvm_device_missing() {
    fails_with(
        &run(&["--kvm", "/nonexistent/kvm"]),
        "open /nonexistent/kvm: not found (ENOENT",
    );
}

#[test]
fn kvm_device_not_permitted() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        common::skipped(
            "kvm_device_not_permitted",
            "needs root, to run boot_vm as nobody",
        );
        return;
    }
    // Only meaningful where /dev/kvm works for root and is root's only (the
    // Debian default, 0600 root:root).
    kvm!();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(boot_vm())
        .output()
        .expect("setpriv (util-linux) runs the example as nobody");
    fails_with(&out, "open /dev/kvm: permission denied (EACCES");
}

#[test]
fn timeout() {
    kvm!();
    fails_with(
        &run(&["--cmdline", "hull.spin", "--timeout", "0.5", "--mem", "16"]),
        "timed out",
    );
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(run(&["--mem", "lots"]).status.code(), Some(2));
    assert_eq!(run(&["--frobnicate"]).status.code(), Some(2));
}

#[test]
fn console_in_passes_standard_input_to_the_guest() {
    kvm!();
    use std::io::Write;
    let mut child = Command::new(boot_vm())
        .args(["--cmdline", "console=ttyS0 hull.echo", "--console-in"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"typed by a user.")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("echo\ntyped by a user.\nreset\n"),
        "{stdout}"
    );
}

#[test]
fn disk_reaches_the_guest_and_bad_disk_arguments_are_one_line_errors() {
    kvm!();
    let dir = tempdir("cli");
    let img = dir.join("disk.img");
    let data = bytes(64 * 1024, 5);
    std::fs::write(&img, &data).unwrap();
    let out = run(&[
        "--disk",
        &format!("{},ro,serial=cli-disk", img.display()),
        "--cmdline",
        "console=ttyS0 hull.blk hull.blkid hull.blkread=16",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("blk: id=cli-disk\n"), "{stdout}");
    let want = common::fnv1a32(&data[..16 * 512]);
    assert!(stdout.contains(&format!("fnv1a=0x{want:08x}")), "{stdout}");
    fails_with(
        &run(&["--disk", dir.join("missing.img").to_str().unwrap()]),
        "not found",
    );
    fails_with(
        &run(&["--disk", dir.to_str().unwrap()]),
        "regular file or a block device",
    );
    fails_with(
        &run(&["--disk", &format!("{},rw", img.display())]),
        "unknown option",
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_net_arguments_are_one_line_errors() {
    kvm!();
    fails_with(
        &run(&["--net", "a-tap-name-longer-than-15"]),
        "1 to 15 bytes",
    );
    fails_with(&run(&["--net", "tap0,mac=01:00:5e:00:00:01"]), "multicast");
    fails_with(&run(&["--net", "tap0,mac=zz"]), "MAC address");
    fails_with(&run(&["--net", "tap0,speed=10"]), "unknown option");
}
