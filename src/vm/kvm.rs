//! The KVM system handle.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kvm_sys::linux::kvm_cpuid_entry2;

use super::sys::{Flavor, HostSys, KvmSys};
use crate::error::{Error, ErrorKind, Op, Result};

/// The KVM API version hull speaks (both kernels report 12).
pub const API_VERSION: i32 = 12;

/// Where the KVM device lives on both platforms.
pub const DEFAULT_PATH: &str = "/dev/kvm";

/// A KVM capability, as asked with `KVM_CHECK_EXTENSION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cap {
    /// In-kernel interrupt controller (`KVM_CAP_IRQCHIP`).
    Irqchip,
    /// `KVM_CAP_HLT`.
    Hlt,
    /// `KVM_SET_USER_MEMORY_REGION` (`KVM_CAP_USER_MEMORY`).
    UserMemory,
    /// `KVM_SET_TSS_ADDR`.
    SetTssAddr,
    /// `KVM_GET_SUPPORTED_CPUID` (`KVM_CAP_EXT_CPUID`).
    ExtCpuid,
    /// Recommended vCPU count (`KVM_CAP_NR_VCPUS`).
    NrVcpus,
    /// Maximum vCPU count (`KVM_CAP_MAX_VCPUS`; Linux only).
    MaxVcpus,
    /// Memory slot count (`KVM_CAP_NR_MEMSLOTS`).
    NrMemslots,
    /// `KVM_GET_MP_STATE` (`KVM_CAP_MP_STATE`).
    MpState,
    /// In-kernel PIT, second version (`KVM_CAP_PIT2`).
    Pit2,
    /// `KVM_GET_VCPU_EVENTS` (`KVM_CAP_VCPU_EVENTS`).
    VcpuEvents,
    /// `kvm_run.immediate_exit` (`KVM_CAP_IMMEDIATE_EXIT`; Linux only).
    ImmediateExit,
    /// `KVM_IRQFD` (`KVM_CAP_IRQFD`; Linux only).
    Irqfd,
    /// `KVM_IOEVENTFD` (`KVM_CAP_IOEVENTFD`; Linux only).
    Ioeventfd,
}

impl Cap {
    /// The capability's number for a flavour, if that kernel defines it.
    fn number(self, flavor: Flavor) -> Option<u32> {
        use kvm_sys::linux as l;
        let n = match self {
            Cap::Irqchip => l::KVM_CAP_IRQCHIP,
            Cap::Hlt => l::KVM_CAP_HLT,
            Cap::UserMemory => l::KVM_CAP_USER_MEMORY,
            Cap::SetTssAddr => l::KVM_CAP_SET_TSS_ADDR,
            Cap::ExtCpuid => l::KVM_CAP_EXT_CPUID,
            Cap::NrVcpus => l::KVM_CAP_NR_VCPUS,
            Cap::NrMemslots => l::KVM_CAP_NR_MEMSLOTS,
            Cap::MpState => l::KVM_CAP_MP_STATE,
            Cap::Pit2 => l::KVM_CAP_PIT2,
            Cap::VcpuEvents => l::KVM_CAP_VCPU_EVENTS,
            Cap::MaxVcpus | Cap::ImmediateExit | Cap::Irqfd | Cap::Ioeventfd
                if flavor == Flavor::Illumos =>
            {
                return None
            }
            Cap::Irqfd => l::KVM_CAP_IRQFD,
            Cap::Ioeventfd => l::KVM_CAP_IOEVENTFD,
            Cap::MaxVcpus => l::KVM_CAP_MAX_VCPUS,
            Cap::ImmediateExit => l::KVM_CAP_IMMEDIATE_EXIT,
        };
        Some(n)
    }
}

/// An open KVM device: the entry point for creating VMs.
///
/// ```no_run
/// use hull::vm::{Cap, Kvm};
/// let kvm = Kvm::open()?;
/// assert!(kvm.has(Cap::UserMemory));
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug)]
pub struct Kvm {
    pub(crate) sys: Arc<dyn KvmSys>,
    pub(crate) flavor: Flavor,
    pub(crate) path: PathBuf,
    pub(crate) fd: OwnedFd,
    pub(crate) vcpu_mmap_size: usize,
}

impl Kvm {
    /// Opens `/dev/kvm` and checks its API version.
    pub fn open() -> Result<Kvm> {
        Kvm::open_path(DEFAULT_PATH)
    }

    /// Opens the KVM device at `path` and checks its API version.
    pub fn open_path(path: impl AsRef<Path>) -> Result<Kvm> {
        Kvm::open_with(Arc::new(HostSys), Flavor::HOST, path)
    }

    /// Opens the KVM device at `path` through `sys`, speaking `flavor`.
    ///
    /// This is the seam for testing a platform that cannot run here: pass a
    /// fake [`KvmSys`] and [`Flavor::Illumos`] to see exactly which calls
    /// hull makes on illumos-kvm.
    pub fn open_with(sys: Arc<dyn KvmSys>, flavor: Flavor, path: impl AsRef<Path>) -> Result<Kvm> {
        let path = path.as_ref().to_path_buf();
        let object = path.display().to_string();
        let fd = sys
            .open(&path)
            .map_err(|e| Error::os(Op::OpenKvm, &object, e))?;
        let req = flavor.requests();
        // SAFETY: KVM_GET_API_VERSION takes no argument (0 on both kernels).
        let version = unsafe { sys.ioctl(fd.as_raw_fd(), req.get_api_version, 0) }
            .map_err(|e| Error::os(Op::CheckKvm, &object, e))?;
        if version != API_VERSION {
            return Err(Error::new(
                Op::CheckKvm,
                object,
                ErrorKind::Unsupported("KVM API version other than 12"),
            ));
        }
        // SAFETY: KVM_GET_VCPU_MMAP_SIZE takes no argument.
        let size = unsafe { sys.ioctl(fd.as_raw_fd(), req.get_vcpu_mmap_size, 0) }
            .map_err(|e| Error::os(Op::CheckKvm, &object, e))?;
        Ok(Kvm {
            sys,
            flavor,
            path,
            fd,
            vcpu_mmap_size: size as usize,
        })
    }

    /// Which KVM this is.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The device path this handle was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value `KVM_CHECK_EXTENSION` reports for `cap`: 0 when absent.
    /// illumos-kvm answers `EINVAL` for capabilities it does not know; that
    /// is reported as 0 too.
    pub fn check_extension(&self, cap: Cap) -> Result<i32> {
        let Some(n) = cap.number(self.flavor) else {
            return Ok(0);
        };
        let req = self.flavor.requests().check_extension;
        // SAFETY: KVM_CHECK_EXTENSION takes the capability number by value.
        match unsafe { self.sys.ioctl(self.fd.as_raw_fd(), req, n as usize) } {
            Ok(v) => Ok(v),
            Err(e) if self.flavor == Flavor::Illumos && e.raw_os_error() == Some(libc::EINVAL) => {
                Ok(0)
            }
            Err(e) => Err(Error::os(
                Op::CheckKvm,
                format!("{} {cap:?}", self.path.display()),
                e,
            )),
        }
    }

    /// Whether `cap` is present.
    pub fn has(&self, cap: Cap) -> bool {
        matches!(self.check_extension(cap), Ok(v) if v > 0)
    }

    /// The most vCPUs one VM may have.
    pub fn max_vcpus(&self) -> u32 {
        for cap in [Cap::MaxVcpus, Cap::NrVcpus] {
            if let Ok(n) = self.check_extension(cap) {
                if n > 0 {
                    return n as u32;
                }
            }
        }
        // KVM's documented default when neither capability answers.
        4
    }

    /// The CPUID leaves KVM supports on this host (`KVM_GET_SUPPORTED_CPUID`).
    pub fn supported_cpuid(&self) -> Result<CpuId> {
        const MAX: usize = 256;
        let mut buf = CpuidBuffer::new(MAX);
        let req = self.flavor.requests().get_supported_cpuid;
        // SAFETY: `buf` is a kvm_cpuid2 header followed by room for `nent`
        // entries, which is what the kernel fills; it outlives the call.
        unsafe { self.sys.ioctl(self.fd.as_raw_fd(), req, buf.as_arg()) }
            .map_err(|e| Error::os(Op::CheckKvm, format!("{} cpuid", self.path.display()), e))?;
        Ok(CpuId(buf.entries()))
    }
}

/// A set of CPUID leaves, for [`Kvm::supported_cpuid`] and
/// [`crate::vm::Vcpu::set_cpuid`].
#[derive(Debug, Clone, Default)]
pub struct CpuId(pub Vec<kvm_cpuid_entry2>);

/// A `struct kvm_cpuid2` with its flexible array, 4-byte aligned.
pub(crate) struct CpuidBuffer(Vec<u32>);

impl CpuidBuffer {
    const HEADER: usize = 8;
    const ENTRY: usize = std::mem::size_of::<kvm_cpuid_entry2>();

    pub(crate) fn new(nent: usize) -> CpuidBuffer {
        let mut v = vec![0u32; (Self::HEADER + nent * Self::ENTRY) / 4];
        v[0] = nent as u32;
        CpuidBuffer(v)
    }

    pub(crate) fn from_entries(entries: &[kvm_cpuid_entry2]) -> CpuidBuffer {
        let mut b = CpuidBuffer::new(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let words = [
                e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx, 0, 0, 0,
            ];
            let at = (Self::HEADER + i * Self::ENTRY) / 4;
            b.0[at..at + 10].copy_from_slice(&words);
        }
        b
    }

    pub(crate) fn as_arg(&mut self) -> usize {
        self.0.as_mut_ptr() as usize
    }

    fn entries(&self) -> Vec<kvm_cpuid_entry2> {
        let n = (self.0[0] as usize).min((self.0.len() * 4 - Self::HEADER) / Self::ENTRY);
        (0..n)
            .map(|i| {
                let w = &self.0[(Self::HEADER + i * Self::ENTRY) / 4..][..10];
                kvm_cpuid_entry2 {
                    function: w[0],
                    index: w[1],
                    flags: w[2],
                    eax: w[3],
                    ebx: w[4],
                    ecx: w[5],
                    edx: w[6],
                    padding: [0; 3],
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuid_buffer_round_trips_entries() {
        let e = kvm_cpuid_entry2 {
            function: 1,
            index: 2,
            flags: 3,
            eax: 4,
            ebx: 5,
            ecx: 6,
            edx: 7,
            padding: [0; 3],
        };
        let b = CpuidBuffer::from_entries(&[e, e]);
        let back = b.entries();
        assert_eq!(back.len(), 2);
        assert_eq!((back[1].function, back[1].edx), (1, 7));
    }
}
