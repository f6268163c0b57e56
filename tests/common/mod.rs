//! Helpers shared by hull's integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

pub mod cfake;
pub mod fake;
pub mod zone;

/// Opens `/dev/kvm`, or says clearly that the test is skipped. With
/// `HULL_REQUIRE_KVM` set (the README's test command sets it) a missing
/// `/dev/kvm` fails the test instead.
pub fn kvm_or_skip(test: &str) -> Option<hull::vm::Kvm> {
    match hull::vm::Kvm::open() {
        Ok(k) => Some(k),
        Err(e) => {
            if std::env::var_os("HULL_REQUIRE_KVM").is_some() {
                panic!(
                    "{test}: /dev/kvm is required (HULL_REQUIRE_KVM is set) but not usable: {e}"
                );
            }
            skipped(
                test,
                &format!(
                    "/dev/kvm not usable ({e}); run the README test command as root on a KVM host"
                ),
            );
            None
        }
    }
}

/// Says on the terminal that a test was skipped, and why. Written to the
/// stderr handle, not with `eprintln!`, so libtest's capture does not hide it.
pub fn skipped(test: &str, why: &str) {
    // libtest runs each test on a thread named after it.
    let name = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_owned);
    let test = name.as_deref().unwrap_or(test);
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Assembles GAS (Intel syntax) source into flat machine code with the
/// system assembler, as the test kernel is built.
pub fn asm(source: &str) -> Vec<u8> {
    let dir = tempdir("asm");
    let s = dir.join("t.S");
    let o = dir.join("t.o");
    let b = dir.join("t.bin");
    std::fs::write(&s, format!(".intel_syntax noprefix\n.text\n{source}\n")).unwrap();
    let ok = Command::new("as")
        .arg("--64")
        .arg("-o")
        .arg(&o)
        .arg(&s)
        .status()
        .unwrap()
        .success();
    assert!(ok, "as failed on:\n{source}");
    let ok = Command::new("objcopy")
        .args(["-O", "binary", "-j", ".text"])
        .arg(&o)
        .arg(&b)
        .status()
        .unwrap()
        .success();
    assert!(ok, "objcopy failed");
    let code = std::fs::read(&b).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    code
}

/// A fresh, unique temporary directory.
pub fn tempdir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "hull-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A console that keeps what the guest wrote.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// FNV-1a 32, the checksum the test kernel reports for the initrd.
pub fn fnv1a32(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h ^= *b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Deterministic pseudo-random bytes.
pub fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
