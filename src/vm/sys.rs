//! The narrow system interface hull's KVM layer issues every call through.
//!
//! [`HostSys`] makes the real system calls. A test substitutes its own
//! [`KvmSys`] to check the exact sequence of calls for a kernel that cannot
//! run here (illumos-kvm): see `tests/illumos_kvm_fake.rs`.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;

use kvm_sys::{illumos, linux};

/// Which KVM the calls speak: the request numbers, the `kvm_run` layout and
/// the device model differ between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Linux KVM: `KVM_CREATE_VM` and `KVM_CREATE_VCPU` return new fds.
    Linux,
    /// illumos-kvm (SmartOS): one VM or vCPU per open of `/dev/kvm`, bound
    /// with `KVM_CLONE`; the 2.6.34-era `kvm_run`; `EINVAL` for unknown
    /// ioctls; no `immediate_exit`.
    Illumos,
}

impl Flavor {
    /// The flavour of the kernel this program was built for.
    pub const HOST: Flavor = if cfg!(target_os = "illumos") {
        Flavor::Illumos
    } else {
        Flavor::Linux
    };
}

/// The request numbers of one flavour, looked up once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Requests {
    pub get_api_version: u32,
    pub create_vm: u32,
    pub check_extension: u32,
    pub get_vcpu_mmap_size: u32,
    pub get_supported_cpuid: u32,
    pub create_vcpu: u32,
    pub set_user_memory_region: u32,
    pub set_tss_addr: u32,
    pub create_irqchip: u32,
    pub irq_line: u32,
    pub create_pit2: u32,
    pub run: u32,
    pub get_regs: u32,
    pub set_regs: u32,
    pub get_sregs: u32,
    pub set_sregs: u32,
    pub set_fpu: u32,
    pub set_cpuid2: u32,
    pub get_mp_state: u32,
    /// illumos only.
    pub clone: Option<u32>,
    /// Linux only.
    pub irqfd: Option<u32>,
    /// Linux only.
    pub ioeventfd: Option<u32>,
}

macro_rules! requests {
    ($m:ident, $clone:expr, $irqfd:expr, $ioeventfd:expr) => {
        Requests {
            get_api_version: $m::KVM_GET_API_VERSION,
            create_vm: $m::KVM_CREATE_VM,
            check_extension: $m::KVM_CHECK_EXTENSION,
            get_vcpu_mmap_size: $m::KVM_GET_VCPU_MMAP_SIZE,
            get_supported_cpuid: $m::KVM_GET_SUPPORTED_CPUID,
            create_vcpu: $m::KVM_CREATE_VCPU,
            set_user_memory_region: $m::KVM_SET_USER_MEMORY_REGION,
            set_tss_addr: $m::KVM_SET_TSS_ADDR,
            create_irqchip: $m::KVM_CREATE_IRQCHIP,
            irq_line: $m::KVM_IRQ_LINE,
            create_pit2: $m::KVM_CREATE_PIT2,
            run: $m::KVM_RUN,
            get_regs: $m::KVM_GET_REGS,
            set_regs: $m::KVM_SET_REGS,
            get_sregs: $m::KVM_GET_SREGS,
            set_sregs: $m::KVM_SET_SREGS,
            set_fpu: $m::KVM_SET_FPU,
            set_cpuid2: $m::KVM_SET_CPUID2,
            get_mp_state: $m::KVM_GET_MP_STATE,
            clone: $clone,
            irqfd: $irqfd,
            ioeventfd: $ioeventfd,
        }
    };
}

const LINUX: Requests = requests!(
    linux,
    None,
    Some(linux::KVM_IRQFD),
    Some(linux::KVM_IOEVENTFD)
);
const ILLUMOS: Requests = requests!(illumos, Some(illumos::KVM_CLONE), None, None);

impl Flavor {
    pub(crate) fn requests(self) -> &'static Requests {
        match self {
            Flavor::Linux => &LINUX,
            Flavor::Illumos => &ILLUMOS,
        }
    }
}

/// The system calls hull's KVM layer makes, and nothing else.
///
/// Every method is a thin system call; policy lives in the callers.
///
/// # Safety
/// hull trusts what an implementation returns as the kernel's word:
/// [`KvmSys::mmap_shared`] must return a readable and writable mapping of
/// at least `len` bytes that stays valid, and is written by no one but the
/// caller and the (real or modelled) kernel, until it is passed to
/// [`KvmSys::munmap`]; [`KvmSys::open`] must return an fd the caller owns;
/// [`KvmSys::ioctl`] must, for the requests hull makes, write no more than
/// the structure `arg` points to. A bogus mapping would let safe code read
/// and write arbitrary memory, so implementing the trait is `unsafe`.
pub unsafe trait KvmSys: Send + Sync + fmt::Debug {
    /// `open(path, O_RDWR | O_CLOEXEC)`.
    fn open(&self, path: &Path) -> io::Result<OwnedFd>;

    /// `ioctl(fd, request, arg)`, returning the non-negative result.
    ///
    /// # Safety
    /// `arg` must be what `request` expects: a value, or the address of a
    /// live, correctly sized structure that the kernel may read or write for
    /// the duration of the call.
    unsafe fn ioctl(&self, fd: RawFd, request: u32, arg: usize) -> io::Result<i32>;

    /// `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)`.
    fn mmap_shared(&self, fd: RawFd, len: usize) -> io::Result<NonNull<u8>>;

    /// `munmap(addr, len)`.
    ///
    /// # Safety
    /// `addr`/`len` must be a mapping returned by [`KvmSys::mmap_shared`]
    /// that nothing uses any more.
    unsafe fn munmap(&self, addr: NonNull<u8>, len: usize);

    /// `fstat(fd).st_rdev`: the device number of an open device node.
    fn rdev(&self, fd: RawFd) -> io::Result<u64>;
}

/// The real system calls.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostSys;

// SAFETY: every method is the system call itself: the mapping is the
// kernel's, the fd the kernel's new one, the ioctl writes what the kernel
// writes for that request.
unsafe impl KvmSys for HostSys {
    fn open(&self, path: &Path) -> io::Result<OwnedFd> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by open(2) and is owned by no one else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    unsafe fn ioctl(&self, fd: RawFd, request: u32, arg: usize) -> io::Result<i32> {
        // Linux takes the request as an unsigned long, illumos as an int.
        #[cfg(not(target_os = "illumos"))]
        let request = request as libc::c_ulong;
        #[cfg(target_os = "illumos")]
        let request = request as i32 as libc::c_int;
        // SAFETY: the caller guarantees `arg` matches `request` (trait contract).
        let r = unsafe { libc::ioctl(fd, request, arg) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    fn mmap_shared(&self, fd: RawFd, len: usize) -> io::Result<NonNull<u8>> {
        // SAFETY: a fresh shared mapping of `fd` chosen by the kernel; it
        // aliases no Rust object.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        NonNull::new(p.cast()).ok_or_else(|| io::Error::from_raw_os_error(libc::EFAULT))
    }

    unsafe fn munmap(&self, addr: NonNull<u8>, len: usize) {
        // SAFETY: the caller guarantees this is an unused mapping of ours.
        unsafe { libc::munmap(addr.as_ptr().cast(), len) };
    }

    fn rdev(&self, fd: RawFd) -> io::Result<u64> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `st` is a writable stat buffer for the duration of the call.
        if unsafe { libc::fstat(fd, st.as_mut_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fstat succeeded, so it initialised `st`.
        let rdev = unsafe { st.assume_init() }.st_rdev;
        // dev_t is not 64 bits wide on every platform.
        #[allow(clippy::unnecessary_cast)]
        Ok(rdev as u64)
    }
}
