//! KVM virtual machines: guest memory, vCPUs, a run loop with typed exits,
//! legacy devices, and kernel boot through the Linux x86 64-bit boot
//! protocol.
//!
//! ```no_run
//! use hull::vm::{BootSpec, Kvm, Machine, Outcome, TEST_KERNEL};
//! use std::time::Duration;
//!
//! let kvm = Kvm::open()?;                          // /dev/kvm
//! let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
//! spec.cmdline = "console=ttyS0 hello".into();
//! spec.initrd = Some(vec![1, 2, 3]);
//! spec.memory_mib = 64;
//! let mut machine = Machine::boot(&kvm, &spec, Box::new(std::io::stdout()))?;
//! match machine.run(Some(Duration::from_secs(10)))? {
//!     Outcome::Reset => println!("guest asked for a reset"),
//!     other => println!("guest ended: {other:?}"),
//! }
//! # Ok::<(), hull::Error>(())
//! ```
//!
//! Lower down, drive a vCPU yourself:
//!
//! ```no_run
//! use hull::vm::{x86, Kvm, Vm, VcpuExit};
//! use vm_memory::{Bytes, GuestAddress};
//!
//! let kvm = Kvm::open()?;
//! let mut vm = Vm::builder().memory_mib(2).build(&kvm)?;
//! // mov al, 0x42; out 0x10, al; hlt
//! vm.memory().write_slice(&[0xb0, 0x42, 0xe6, 0x10, 0xf4], GuestAddress(0x1000)).unwrap();
//! let vcpu = &mut vm.vcpus_mut()[0];
//! x86::enter_real_mode_at(vcpu, 0x1000)?;
//! assert!(matches!(vcpu.run()?, VcpuExit::IoOut { port: 0x10, data: &[0x42], .. }));
//! assert_eq!(vcpu.run()?, VcpuExit::Hlt);
//! # Ok::<(), hull::Error>(())
//! ```
//!
//! # What it needs
//!
//! Read and write access to `/dev/kvm` (root, or the `kvm` group). Nothing
//! else: no qemu, no firmware.
//!
//! # Platforms
//!
//! Linux KVM is the one this is tested on, against the real `/dev/kvm`.
//! illumos-kvm (SmartOS) is behind the same API ([`Flavor::Illumos`]): one
//! `/dev/kvm` open per VM and per vCPU bound with `KVM_CLONE`, the old
//! 288-byte `kvm_run`, `int` ioctl requests, `EINVAL` for unknown
//! capabilities. It cannot run here, so it is verified only through a fake
//! [`KvmSys`] that records the calls (`tests/illumos_kvm_fake.rs`); on
//! illumos-kvm a stop request can be lost if it lands just before `KVM_RUN`
//! (there is no `immediate_exit`), and the in-kernel halt check relies on
//! `KVM_GET_MP_STATE`.
//!
//! # Signals
//!
//! [`VcpuStopper`] interrupts `KVM_RUN` with [`kick_signal`] (the first
//! real-time signal), for which hull installs an empty handler.

mod boot;
pub mod confine;
mod devices;
mod kvm;
mod machine;
pub mod mptable;
pub mod sys;
mod vcpu;
pub mod virtio;
#[allow(clippy::module_inception)]
mod vm;
pub mod x86;

pub use boot::{e820_map, load as load_kernel, BootLayout, KernelFormat, KERNEL_LOAD_ADDR};
pub use devices::{ConsoleInput, COM1, I8042_COMMAND, I8042_RESET};
pub use kvm::{Cap, CpuId, Kvm, API_VERSION, DEFAULT_PATH};
pub use machine::{BootSpec, Machine, Outcome};
pub use sys::{Flavor, HostSys, KvmSys};
pub use vcpu::{
    kick_signal, DTable, Fpu, MpState, Regs, Segment, Sregs, Vcpu, VcpuExit, VcpuStopper,
};
pub use virtio::block::DiskSpec;
pub use virtio::net::NicSpec;
pub use vm::{ram_ranges, Vm, VmBuilder, MAX_MEMORY};

/// hull's boot-protocol test kernel, a flat bzImage built from
/// `guest/testkernel.S`. It prints its command line, initrd (address, size,
/// FNV-1a 32 checksum) and e820 map over COM1, then asks for a reset
/// through the i8042; `hull.halt` on the command line makes it halt with
/// interrupts disabled instead, `hull.spin` makes it loop forever.
pub static TEST_KERNEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/testkernel.bin"));

/// The same test kernel as an ELF executable (one segment at 1 MiB, entry
/// `startup_64`), to exercise the ELF `vmlinux` path.
pub static TEST_KERNEL_ELF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/testkernel.elf"));
