//! A virtual machine: its fd, guest memory and vCPUs.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

use kvm_sys::linux::{kvm_pit_config, kvm_userspace_memory_region};
use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use super::kvm::{Cap, Kvm};
use super::sys::{Flavor, KvmSys};
use super::vcpu::Vcpu;
use crate::error::{Error, ErrorKind, Op, Result};

/// Guest RAM above this address is placed above 4 GiB, leaving room for
/// device memory below 4 GiB.
pub const MMIO_GAP_START: u64 = 0xC000_0000;
/// Where guest RAM resumes above the gap.
pub const HIGH_RAM_START: u64 = 1 << 32;
/// The largest guest memory [`VmBuilder`] accepts (the boot page tables
/// identity-map the first 16 GiB of guest-physical space).
pub const MAX_MEMORY: u64 = 15 << 30;
/// Address of the three pages Intel VMX needs for the TSS (`KVM_SET_TSS_ADDR`).
pub const TSS_ADDRESS: u64 = 0xfffb_d000;

/// The guest-physical RAM ranges `(start, length)` of a VM with `memory` bytes.
pub fn ram_ranges(memory: u64) -> Vec<(u64, u64)> {
    let low = memory.min(MMIO_GAP_START);
    let mut r = vec![(0, low)];
    if memory > low {
        r.push((HIGH_RAM_START, memory - low));
    }
    r
}

/// State shared by a VM and its vCPUs; freed when the last of them goes.
#[derive(Debug)]
pub(crate) struct VmInner {
    pub(crate) sys: Arc<dyn KvmSys>,
    pub(crate) flavor: Flavor,
    pub(crate) fd: OwnedFd,
    pub(crate) memory: GuestMemoryMmap,
    pub(crate) memory_size: u64,
    pub(crate) irqchip: bool,
    pub(crate) path: PathBuf,
}

/// How to build a [`Vm`]: memory size, vCPU count, in-kernel irqchip.
///
/// ```no_run
/// use hull::vm::{Kvm, Vm};
/// let kvm = Kvm::open()?;
/// let vm = Vm::builder().memory_mib(64).vcpus(2).irqchip(true).build(&kvm)?;
/// assert_eq!(vm.vcpus().len(), 2);
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct VmBuilder {
    memory: u64,
    vcpus: u32,
    irqchip: bool,
}

impl Default for VmBuilder {
    fn default() -> Self {
        VmBuilder {
            memory: 128 << 20,
            vcpus: 1,
            irqchip: false,
        }
    }
}

impl VmBuilder {
    /// Guest memory in bytes: a multiple of 4 KiB, at most [`MAX_MEMORY`].
    pub fn memory_bytes(mut self, bytes: u64) -> Self {
        self.memory = bytes;
        self
    }

    /// Guest memory in MiB.
    pub fn memory_mib(self, mib: u64) -> Self {
        self.memory_bytes(mib.saturating_mul(1 << 20))
    }

    /// Number of vCPUs (1 up to the kernel's maximum).
    pub fn vcpus(mut self, n: u32) -> Self {
        self.vcpus = n;
        self
    }

    /// Create the in-kernel interrupt controller (PIC, IOAPIC, LAPICs) and
    /// PIT. With it, KVM handles `HLT` itself and vCPUs other than 0 wait
    /// for a startup IPI; without it, every vCPU starts running and `HLT`
    /// exits to the caller.
    pub fn irqchip(mut self, on: bool) -> Self {
        self.irqchip = on;
        self
    }

    /// Creates the VM, its memory and its vCPUs. On failure nothing is left:
    /// every fd and mapping made so far is released.
    pub fn build(&self, kvm: &Kvm) -> Result<Vm> {
        self.check(kvm)?;
        let fd = create_vm_fd(kvm)?;
        let memory = self.map_memory()?;
        set_user_memory_regions(kvm, &fd, &memory)?;
        set_tss_addr(kvm, &fd)?;
        if self.irqchip {
            create_irqchip(kvm, &fd)?;
            create_pit2(kvm, &fd)?;
        }
        let inner = Arc::new(VmInner {
            sys: kvm.sys.clone(),
            flavor: kvm.flavor,
            fd,
            memory,
            memory_size: self.memory,
            irqchip: self.irqchip,
            path: kvm.path.clone(),
        });
        let vcpus = (0..self.vcpus)
            .map(|i| Vcpu::create(&inner, i, kvm.vcpu_mmap_size))
            .collect::<Result<Vec<_>>>()?;
        Ok(Vm { inner, vcpus })
    }

    /// Refuses what cannot be built before any KVM object is made.
    fn check(&self, kvm: &Kvm) -> Result<()> {
        let max = kvm.max_vcpus();
        if self.vcpus == 0 || self.vcpus > max {
            return Err(Error::new(
                Op::CreateVm,
                format!("{} vcpus", self.vcpus),
                ErrorKind::InvalidArgument(format!("vcpu count must be 1 to {max}")),
            ));
        }
        if self.memory == 0 || self.memory % 4096 != 0 || self.memory > MAX_MEMORY {
            return Err(Error::new(
                Op::CreateVm,
                format!("{} bytes of memory", self.memory),
                ErrorKind::InvalidArgument(format!(
                    "memory must be a non-zero multiple of 4 KiB, at most {} GiB",
                    MAX_MEMORY >> 30
                )),
            ));
        }
        if self.irqchip && !kvm.has(Cap::Irqchip) {
            return Err(Error::new(
                Op::SetupIrqchip,
                kvm.path.display().to_string(),
                ErrorKind::Unsupported("in-kernel irqchip"),
            ));
        }
        Ok(())
    }

    /// Guest RAM: the ranges below the MMIO gap and above 4 GiB.
    fn map_memory(&self) -> Result<GuestMemoryMmap> {
        let ranges: Vec<(GuestAddress, usize)> = ram_ranges(self.memory)
            .into_iter()
            .map(|(start, len)| (GuestAddress(start), len as usize))
            .collect();
        GuestMemoryMmap::from_ranges(&ranges).map_err(|e| {
            Error::library(
                Op::SetupMemory,
                format!("{} bytes", self.memory),
                ErrorKind::OutOfMemory,
                e,
            )
        })
    }
}

/// `KVM_SET_USER_MEMORY_REGION`, one slot per range of guest RAM.
fn set_user_memory_regions(kvm: &Kvm, fd: &OwnedFd, memory: &GuestMemoryMmap) -> Result<()> {
    let req = kvm.flavor.requests();
    for (slot, region) in memory.iter().enumerate() {
        let host = region
            .get_host_address(vm_memory::MemoryRegionAddress(0))
            .map_err(|e| {
                Error::library(Op::SetupMemory, "guest region", ErrorKind::OutOfMemory, e)
            })?;
        let r = kvm_userspace_memory_region {
            slot: slot as u32,
            flags: 0,
            guest_phys_addr: region.start_addr().0,
            memory_size: region.len(),
            userspace_addr: host as u64,
        };
        // SAFETY: `r` is a valid kvm_userspace_memory_region describing a
        // mapping owned by `memory`, which the VM keeps for its lifetime.
        unsafe {
            kvm.sys.ioctl(
                fd.as_raw_fd(),
                req.set_user_memory_region,
                &r as *const _ as usize,
            )
        }
        .map_err(|e| {
            Error::os(
                Op::SetupMemory,
                format!(
                    "slot {slot} at {:#x}, {} bytes",
                    r.guest_phys_addr, r.memory_size
                ),
                e,
            )
        })?;
    }
    Ok(())
}

/// `KVM_SET_TSS_ADDR`.
fn set_tss_addr(kvm: &Kvm, fd: &OwnedFd) -> Result<()> {
    let req = kvm.flavor.requests().set_tss_addr;
    // SAFETY: KVM_SET_TSS_ADDR takes the guest address by value.
    unsafe { kvm.sys.ioctl(fd.as_raw_fd(), req, TSS_ADDRESS as usize) }
        .map(drop)
        .map_err(|e| Error::os(Op::CreateVm, format!("tss at {TSS_ADDRESS:#x}"), e))
}

/// `KVM_CREATE_IRQCHIP`.
fn create_irqchip(kvm: &Kvm, fd: &OwnedFd) -> Result<()> {
    let req = kvm.flavor.requests().create_irqchip;
    // SAFETY: KVM_CREATE_IRQCHIP takes no argument.
    unsafe { kvm.sys.ioctl(fd.as_raw_fd(), req, 0) }
        .map(drop)
        .map_err(|e| Error::os(Op::SetupIrqchip, "irqchip", e))
}

/// `KVM_CREATE_PIT2`.
fn create_pit2(kvm: &Kvm, fd: &OwnedFd) -> Result<()> {
    let req = kvm.flavor.requests().create_pit2;
    let pit = kvm_pit_config::default();
    // SAFETY: `pit` is a valid kvm_pit_config that outlives the call.
    unsafe {
        kvm.sys
            .ioctl(fd.as_raw_fd(), req, &pit as *const _ as usize)
    }
    .map(drop)
    .map_err(|e| Error::os(Op::SetupIrqchip, "pit", e))
}

/// Linux: `KVM_CREATE_VM` on the system fd returns a new fd. illumos: the
/// VM attaches to the fd it is created on, so open a fresh one for it and
/// keep the [`Kvm`] handle free for further VMs.
fn create_vm_fd(kvm: &Kvm) -> Result<OwnedFd> {
    let req = kvm.flavor.requests();
    let object = kvm.path.display().to_string();
    match kvm.flavor {
        Flavor::Linux => {
            // SAFETY: KVM_CREATE_VM takes the machine type by value (0).
            let fd = unsafe { kvm.sys.ioctl(kvm.fd.as_raw_fd(), req.create_vm, 0) }
                .map_err(|e| Error::os(Op::CreateVm, &object, e))?;
            // SAFETY: KVM_CREATE_VM returned a new fd that nothing else owns.
            Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
        }
        Flavor::Illumos => {
            let fd = kvm
                .sys
                .open(&kvm.path)
                .map_err(|e| Error::os(Op::CreateVm, &object, e))?;
            // SAFETY: illumos KVM_CREATE_VM requires a 0 argument.
            unsafe { kvm.sys.ioctl(fd.as_raw_fd(), req.create_vm, 0) }
                .map_err(|e| Error::os(Op::CreateVm, &object, e))?;
            Ok(fd)
        }
    }
}

/// A virtual machine: an fd, guest memory, and its vCPUs.
///
/// Dropping the `Vm` and every [`Vcpu`] taken from it releases all fds and
/// mappings.
#[derive(Debug)]
pub struct Vm {
    inner: Arc<VmInner>,
    vcpus: Vec<Vcpu>,
}

impl Vm {
    /// A builder with 128 MiB, 1 vCPU and no in-kernel irqchip.
    pub fn builder() -> VmBuilder {
        VmBuilder::default()
    }

    /// Guest memory, for loading code and data.
    pub fn memory(&self) -> &GuestMemoryMmap {
        &self.inner.memory
    }

    /// Guest memory size in bytes.
    pub fn memory_size(&self) -> u64 {
        self.inner.memory_size
    }

    /// Whether the in-kernel irqchip was created.
    pub fn has_irqchip(&self) -> bool {
        self.inner.irqchip
    }

    /// Which KVM this VM runs on.
    pub fn flavor(&self) -> Flavor {
        self.inner.flavor
    }

    /// The vCPUs still held by the VM.
    pub fn vcpus(&self) -> &[Vcpu] {
        &self.vcpus
    }

    /// The vCPUs still held by the VM, mutably (to set registers or run).
    pub fn vcpus_mut(&mut self) -> &mut [Vcpu] {
        &mut self.vcpus
    }

    /// Takes the vCPUs out, for running each on its own thread.
    pub fn take_vcpus(&mut self) -> Vec<Vcpu> {
        std::mem::take(&mut self.vcpus)
    }

    /// Sets the level of an interrupt line of the in-kernel irqchip.
    pub fn set_irq_line(&self, irq: u32, high: bool) -> Result<()> {
        irq_line(&self.inner, irq, high)
    }

    pub(crate) fn inner(&self) -> &Arc<VmInner> {
        &self.inner
    }
}

pub(crate) fn irq_line(vm: &VmInner, irq: u32, high: bool) -> Result<()> {
    let level = kvm_sys::linux::kvm_irq_level {
        __bindgen_anon_1: kvm_sys::linux::kvm_irq_level__bindgen_ty_1 { irq },
        level: high as u32,
    };
    // SAFETY: `level` is a valid kvm_irq_level that outlives the call.
    unsafe {
        vm.sys.ioctl(
            vm.fd.as_raw_fd(),
            vm.flavor.requests().irq_line,
            &level as *const _ as usize,
        )
    }
    .map(drop)
    .map_err(|e| Error::os(Op::SetupIrqchip, format!("irq {irq}"), e))
}

/// A fresh eventfd (close-on-exec, non-blocking).
pub(crate) fn eventfd() -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: eventfd has no memory arguments; the fd is owned below.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(Error::os(
            Op::SetupDevice,
            "eventfd",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: `fd` was just made and is owned from here on.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// `KVM_IRQFD`: writing to `fd` raises `gsi` in the in-kernel irqchip.
pub(crate) fn register_irqfd(vm: &VmInner, fd: RawFdRef, gsi: u32) -> Result<()> {
    let req = vm.flavor.requests().irqfd.ok_or_else(|| {
        Error::new(
            Op::SetupIrqchip,
            "irqfd",
            ErrorKind::Unsupported("KVM_IRQFD"),
        )
    })?;
    let arg = kvm_sys::linux::kvm_irqfd {
        fd: fd as u32,
        gsi,
        ..Default::default()
    };
    // SAFETY: `arg` is a valid kvm_irqfd that outlives the call; KVM takes
    // its own reference to the eventfd.
    unsafe {
        vm.sys
            .ioctl(vm.fd.as_raw_fd(), req, &arg as *const _ as usize)
    }
    .map(drop)
    .map_err(|e| Error::os(Op::SetupIrqchip, format!("irqfd for gsi {gsi}"), e))
}

/// `KVM_IOEVENTFD`: a guest write of `value` (4 bytes) to `addr` signals
/// `fd` inside KVM instead of exiting to the VMM.
pub(crate) fn register_ioeventfd(vm: &VmInner, fd: RawFdRef, addr: u64, value: u32) -> Result<()> {
    let req = vm.flavor.requests().ioeventfd.ok_or_else(|| {
        Error::new(
            Op::SetupDevice,
            "ioeventfd",
            ErrorKind::Unsupported("KVM_IOEVENTFD"),
        )
    })?;
    let arg = kvm_sys::linux::kvm_ioeventfd {
        datamatch: value as u64,
        addr,
        len: 4,
        fd,
        flags: kvm_sys::linux::KVM_IOEVENTFD_FLAG_DATAMATCH,
        ..Default::default()
    };
    // SAFETY: as for register_irqfd.
    unsafe {
        vm.sys
            .ioctl(vm.fd.as_raw_fd(), req, &arg as *const _ as usize)
    }
    .map(drop)
    .map_err(|e| Error::os(Op::SetupDevice, format!("ioeventfd at {addr:#x}"), e))
}

/// A raw fd as the KVM structures take it.
pub(crate) type RawFdRef = i32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_below_the_gap_is_one_range() {
        assert_eq!(ram_ranges(64 << 20), vec![(0, 64 << 20)]);
    }

    #[test]
    fn memory_past_the_gap_continues_above_4_gib() {
        assert_eq!(ram_ranges(4 << 30), vec![(0, 3 << 30), (4 << 30, 1 << 30)]);
    }
}
