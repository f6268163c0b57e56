//! Nothing half-built: every fd and mapping is released after successful
//! runs, after failed ones, and when any single system call of VM creation
//! fails. One test in its own binary, so nothing else opens fds meanwhile.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake::FakeKvm;
use common::{kvm_or_skip, Captured};
use hull::vm::{BootSpec, Flavor, Kvm, Machine, Vm, TEST_KERNEL};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The number of vCPU-page mappings, and the total bytes mapped (robust to
/// the kernel merging a guest-memory mapping with a neighbour).
fn kvm_mappings() -> (usize, u64) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let vcpu = maps.lines().filter(|l| l.contains("kvm-vcpu")).count();
    let total = maps
        .lines()
        .map(|l| {
            let range = l.split_whitespace().next().unwrap();
            let (a, b) = range.split_once('-').unwrap();
            u64::from_str_radix(b, 16).unwrap() - u64::from_str_radix(a, 16).unwrap()
        })
        .sum();
    (vcpu, total)
}

#[test]
fn no_fd_or_mapping_outlives_a_vm_whether_it_succeeded_or_failed() {
    let fds = open_fds();

    // 1. Fail each system call of "open, VM with 2 MiB, 2 vCPUs" in turn,
    //    on both flavours: every attempt fails cleanly and leaves nothing.
    for flavor in [Flavor::Linux, Flavor::Illumos] {
        let calls = {
            let fake = Arc::new(FakeKvm::new(flavor));
            let kvm = Kvm::open_with(fake.clone(), flavor, "/dev/kvm").unwrap();
            let vm = Vm::builder().memory_mib(2).vcpus(2).build(&kvm).unwrap();
            let n = fake.calls().len();
            drop(vm);
            n
        };
        for n in 0..calls {
            let fake = Arc::new(FakeKvm::new(flavor).fail_at(n));
            let built = Kvm::open_with(fake.clone(), flavor, "/dev/kvm")
                .and_then(|kvm| Vm::builder().memory_mib(2).vcpus(2).build(&kvm).map(drop));
            // A failed capability query reads as "absent" and is not fatal;
            // every other failure must fail the build.
            let is_cap_query = matches!(fake.calls().get(n), Some(common::fake::Call::Ioctl { request, .. })
                if *request == kvm_sys::linux::KVM_CHECK_EXTENSION || *request == kvm_sys::illumos::KVM_CHECK_EXTENSION);
            assert!(
                built.is_err() || is_cap_query,
                "{flavor:?}: failing call {n} went unnoticed"
            );
            assert_eq!(
                fake.live_mappings(),
                0,
                "{flavor:?}: call {n} failed, a vCPU mapping survived"
            );
            assert_eq!(
                open_fds(),
                fds,
                "{flavor:?}: call {n} failed, an fd survived"
            );
        }
    }

    // 2. The real /dev/kvm: successful and failed runs.
    let Some(kvm) = kvm_or_skip("no_fd_or_mapping_outlives_a_vm (real /dev/kvm part)") else {
        return;
    };
    let fds = open_fds();
    let odd = (37 << 20) + 4096;
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    spec.memory_mib = 37;
    spec.vcpus = 2;
    spec.initrd = Some(vec![7; 1000]);
    // Booted and run to reset.
    let mut m = Machine::boot(&kvm, &spec, Box::new(Captured::default())).unwrap();
    m.run(Some(Duration::from_secs(30))).unwrap();
    drop(m);
    // Timed out.
    spec.cmdline = "hull.spin".into();
    let mut m = Machine::boot(&kvm, &spec, Box::new(Captured::default())).unwrap();
    assert!(m.run(Some(Duration::from_millis(200))).is_err());
    drop(m);
    // Confined (the vCPU threads may not close fds), with a disk and its
    // ioeventfds, irqfd and device thread.
    let disk = std::env::temp_dir().join(format!("hull-fds-{}", std::process::id()));
    std::fs::write(&disk, vec![0u8; 4096]).unwrap();
    spec.cmdline = "hull.blk hull.blkread=1".into();
    spec.disks = vec![hull::vm::DiskSpec::new(&disk)];
    spec.confine = true;
    let mut m = Machine::boot(&kvm, &spec, Box::new(Captured::default())).unwrap();
    m.run(Some(Duration::from_secs(30))).unwrap();
    drop(m);
    assert_eq!(open_fds(), fds, "an fd outlived a confined machine");
    std::fs::remove_file(&disk).ok();
    spec.disks.clear();
    spec.confine = false;
    // Failed after the VM was built: memory too small, initrd too large.
    spec.memory_mib = 1;
    assert!(Machine::boot(&kvm, &spec, Box::new(Captured::default())).is_err());
    spec.memory_mib = 2;
    spec.initrd = Some(vec![0; 3 << 20]);
    assert!(Machine::boot(&kvm, &spec, Box::new(Captured::default())).is_err());
    // A raw VM, built and dropped.
    let (_, mapped_before) = kvm_mappings();
    let vm = Vm::builder()
        .memory_bytes(odd)
        .vcpus(3)
        .build(&kvm)
        .unwrap();
    let (vcpus, mapped) = kvm_mappings();
    assert_eq!(vcpus, 3, "while it lives, its vCPU pages are mapped");
    assert!(
        mapped >= mapped_before + odd,
        "while it lives, its guest memory is mapped"
    );
    drop(vm);

    assert_eq!(open_fds(), fds, "an fd outlived its VM");
    let (vcpus, mapped) = kvm_mappings();
    assert_eq!(vcpus, 0, "a vCPU page outlived its VM");
    assert!(
        mapped < mapped_before + odd / 2,
        "guest memory outlived its VM: {mapped} bytes mapped, {mapped_before} before"
    );
}
