//! The stock Debian kernel (the uncompressed `vmlinux` that
//! `scripts/zfs-guest setup` caches, or `HULL_STOCK_KERNEL`) as the outside
//! judge of hull's firmware tables: booted with 2 vCPUs and 384 MiB it must
//! find both CPUs in the MP table. On these machines KVM is nested and a
//! stock kernel gets through early boot only (about a minute), which is
//! where it reads the tables; the test runs it for 30 s and reads the log.

mod common;

use std::time::Duration;

use common::Captured;
use hull::vm::{BootSpec, Machine};

fn stock_kernel() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("HULL_STOCK_KERNEL") {
        return Some(p.into());
    }
    let cache = std::path::Path::new(&std::env::var_os("HOME")?).join(".cache/hull/zfs-guest");
    std::fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("vmlinux"))
        .find(|p| p.is_file())
}

#[test]
fn the_stock_kernel_finds_both_vcpus_in_the_mp_table() {
    let test = "the_stock_kernel_finds_both_vcpus_in_the_mp_table";
    let Some(kvm) = common::kvm_or_skip(test) else {
        return;
    };
    let Some(path) = stock_kernel() else {
        common::skipped(
            test,
            "no stock kernel: run scripts/zfs-guest setup (it caches Debian's vmlinux) or set HULL_STOCK_KERNEL",
        );
        return;
    };
    let mut spec = BootSpec::from_path(&path).unwrap();
    spec.vcpus = 2;
    spec.memory_mib = 384;
    // earlyprintk: the console driver itself starts later than 30 s here.
    spec.cmdline = "console=ttyS0 earlyprintk=ttyS0".into();
    let log = Captured::default();
    let mut m = Machine::boot(&kvm, &spec, Box::new(log.clone())).unwrap();
    // It does not finish booting here; the tables are read in the first
    // seconds.
    let _ = m.run(Some(Duration::from_secs(30)));
    let text = log.text();
    assert!(
        text.contains("smpboot: Allowing 2 CPUs"),
        "the kernel did not find 2 CPUs:\n{text}"
    );
    assert!(
        !text.contains("not listed by BIOS"),
        "the boot CPU is missing from the MP table:\n{text}"
    );
    assert!(text.contains("Processor #1"), "{text}");
    assert!(text.contains("IOAPIC[0]: apic_id 2"), "{text}");
}
