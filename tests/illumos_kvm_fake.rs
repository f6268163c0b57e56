//! The illumos-kvm backend, which cannot run here, driven through a fake of
//! the system-call table: the exact sequence hull issues for "create a VM
//! with 2 MiB of memory and 2 vCPUs, and run vCPU 0".

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::fake::{Arg, Call, FakeKvm, RunScript, PAGE, VM_RDEV};
use hull::vm::{Cap, Flavor, Kvm, VcpuExit, Vm};
use kvm_sys::illumos as i;

fn open(fake: &Arc<FakeKvm>) -> Kvm {
    Kvm::open_with(fake.clone(), fake.flavor, "/dev/kvm").unwrap()
}

#[test]
fn create_vm_2mib_2vcpus_and_run_issues_exactly_the_illumos_sequence() {
    let fake = Arc::new(FakeKvm::new(Flavor::Illumos));
    let kvm = open(&fake);
    let mut vm = Vm::builder().memory_mib(2).vcpus(2).build(&kvm).unwrap();
    let exit = vm.vcpus_mut()[0].run().unwrap();
    assert_eq!(exit, VcpuExit::Hlt);

    let dev = PathBuf::from("/dev/kvm");
    use Arg::Value as V;
    let io = |fd, request, arg| Call::Ioctl { fd, request, arg };
    let expected = vec![
        // The system handle: fd 0.
        Call::Open(dev.clone()),
        io(0, i::KVM_GET_API_VERSION, V(0)),
        io(0, i::KVM_GET_VCPU_MMAP_SIZE, V(0)),
        io(0, i::KVM_CHECK_EXTENSION, V(i::KVM_CAP_NR_VCPUS as usize)),
        // The VM attaches to a fresh open of its own: fd 1.
        Call::Open(dev.clone()),
        io(1, i::KVM_CREATE_VM, V(0)),
        io(
            1,
            i::KVM_SET_USER_MEMORY_REGION,
            Arg::Region {
                slot: 0,
                flags: 0,
                guest_phys_addr: 0,
                memory_size: 2 << 20,
            },
        ),
        io(1, i::KVM_SET_TSS_ADDR, V(0xfffb_d000)),
        // Each vCPU: a fresh open, KVM_CLONE with the VM's dev_t, CREATE_VCPU
        // in order, and the 3-page mapping.
        Call::Open(dev.clone()),
        Call::Rdev { fd: 1 },
        io(2, i::KVM_CLONE, V(VM_RDEV as usize)),
        io(2, i::KVM_CREATE_VCPU, V(0)),
        Call::Mmap {
            fd: 2,
            len: 3 * PAGE,
        },
        Call::Open(dev.clone()),
        Call::Rdev { fd: 1 },
        io(3, i::KVM_CLONE, V(VM_RDEV as usize)),
        io(3, i::KVM_CREATE_VCPU, V(1)),
        Call::Mmap {
            fd: 3,
            len: 3 * PAGE,
        },
        // Run vCPU 0 on its own fd.
        io(2, i::KVM_RUN, V(0)),
    ];
    assert_eq!(fake.calls(), expected);

    // The request numbers are illumos's, not Linux's.
    assert_eq!(i::KVM_SET_USER_MEMORY_REGION, 0x8020ae46);
    assert_eq!(i::KVM_CLONE, 0x2000ae20);

    drop(vm);
    assert_eq!(fake.live_mappings(), 0, "every vCPU mapping released");
}

#[test]
fn illumos_exits_decode_from_the_288_byte_kvm_run() {
    let fake = Arc::new(FakeKvm::new(Flavor::Illumos));
    let kvm = open(&fake);
    let mut vm = Vm::builder().memory_mib(2).build(&kvm).unwrap();
    fake.script(RunScript::Out {
        port: 0x3f8,
        value: b'k',
    });
    fake.script(RunScript::ExitIntr);
    let vcpu = &mut vm.vcpus_mut()[0];
    assert!(matches!(
        vcpu.run().unwrap(),
        VcpuExit::IoOut {
            port: 0x3f8,
            size: 1,
            count: 1,
            data: b"k"
        }
    ));
    // illumos-kvm reports a signal as exit reason KVM_EXIT_INTR (10).
    assert_eq!(vcpu.run().unwrap(), VcpuExit::Interrupted);
}

#[test]
fn illumos_has_no_immediate_exit_so_a_kick_never_writes_the_run_page() {
    let fake = Arc::new(FakeKvm::new(Flavor::Illumos));
    let kvm = open(&fake);
    let vm = Vm::builder().memory_mib(2).build(&kvm).unwrap();
    let stopper = vm.vcpus()[0].stopper();
    stopper.kick();
    // Byte 1 is padding1[0] in the old layout, immediate_exit in Linux's.
    assert_eq!(fake.run_page_byte(2, 1), 0);
    stopper.stop();
    let mut vm = vm;
    assert_eq!(vm.vcpus_mut()[0].run().unwrap(), VcpuExit::Stopped);
}

#[test]
fn unknown_capabilities_answer_einval_on_illumos_and_read_as_absent() {
    let fake = Arc::new(FakeKvm::new(Flavor::Illumos));
    let kvm = open(&fake);
    assert_eq!(kvm.check_extension(Cap::MpState).unwrap(), 0);
    assert!(kvm.has(Cap::Irqchip));
    // immediate_exit does not exist there: no call is made for it.
    let before = fake.calls().len();
    assert_eq!(kvm.check_extension(Cap::ImmediateExit).unwrap(), 0);
    assert_eq!(fake.calls().len(), before);
    assert_eq!(kvm.max_vcpus(), 64);
}

#[test]
fn linux_flavour_through_the_same_fake_uses_linux_numbers_and_fds() {
    let fake = Arc::new(FakeKvm::new(Flavor::Linux));
    let kvm = open(&fake);
    let mut vm = Vm::builder().memory_mib(2).vcpus(2).build(&kvm).unwrap();
    assert_eq!(vm.vcpus_mut()[1].run().unwrap(), VcpuExit::Hlt);
    let calls = fake.calls();
    let opens = calls.iter().filter(|c| matches!(c, Call::Open(_))).count();
    assert_eq!(opens, 1, "Linux opens /dev/kvm once: {calls:?}");
    assert!(calls.contains(&Call::Ioctl {
        fd: 0,
        request: kvm_sys::linux::KVM_CREATE_VM,
        arg: Arg::Value(0)
    }));
    assert!(!calls
        .iter()
        .any(|c| matches!(c, Call::Ioctl { request, .. } if *request == i::KVM_CLONE)));
}
