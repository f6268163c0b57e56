//! A virtual CPU: its fd, its shared `kvm_run` page, the run loop and the
//! typed exits it returns.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Once};

use kvm_sys::{illumos, linux};

use super::kvm::{CpuId, CpuidBuffer};
use super::sys::{Flavor, KvmSys};
use super::vm::VmInner;
use crate::error::{Error, ErrorKind, Op, Result};

pub use kvm_sys::linux::{
    kvm_dtable as DTable, kvm_fpu as Fpu, kvm_regs as Regs, kvm_segment as Segment,
    kvm_sregs as Sregs,
};

/// Why a vCPU returned from [`Vcpu::run`].
///
/// Data buffers borrow the vCPU's shared page: fill an `IoIn` or `MmioRead`
/// buffer before the next `run`, and the guest sees the value.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VcpuExit<'a> {
    /// The guest read `data.len()` bytes (`size` × `count`) from `port`.
    IoIn {
        /// I/O port.
        port: u16,
        /// Access width in bytes (1, 2 or 4).
        size: u8,
        /// Repetitions (`rep ins`).
        count: u32,
        /// Where to put what the guest reads.
        data: &'a mut [u8],
    },
    /// The guest wrote `data` (`size` × `count` bytes) to `port`.
    IoOut {
        /// I/O port.
        port: u16,
        /// Access width in bytes (1, 2 or 4).
        size: u8,
        /// Repetitions (`rep outs`).
        count: u32,
        /// What the guest wrote.
        data: &'a [u8],
    },
    /// The guest read `data.len()` bytes from unbacked physical address `addr`.
    MmioRead {
        /// Guest-physical address.
        addr: u64,
        /// Where to put what the guest reads.
        data: &'a mut [u8],
    },
    /// The guest wrote `data` to unbacked physical address `addr`.
    MmioWrite {
        /// Guest-physical address.
        addr: u64,
        /// What the guest wrote.
        data: &'a [u8],
    },
    /// The guest executed `HLT` (only without the in-kernel irqchip).
    Hlt,
    /// The guest triple-faulted.
    Shutdown,
    /// The guest asked for a reset (Linux `KVM_SYSTEM_EVENT_RESET`).
    SystemReset,
    /// The guest asked to power off (Linux `KVM_SYSTEM_EVENT_SHUTDOWN`).
    SystemShutdown,
    /// A signal or [`VcpuStopper::kick`] interrupted the run; run again to
    /// continue.
    Interrupted,
    /// [`VcpuStopper::stop`] was called: the vCPU will not run again.
    Stopped,
    /// An interrupt window opened (after `request_interrupt_window`).
    IrqWindowOpen,
    /// Entering the guest failed; `reason` is the hardware's code.
    FailEntry {
        /// Hardware entry failure reason.
        reason: u64,
    },
    /// KVM could not go on (e.g. an instruction it cannot emulate).
    InternalError {
        /// `KVM_INTERNAL_ERROR_*` sub-error.
        suberror: u32,
    },
    /// Any other exit reason.
    Unknown(u32),
}

/// A vCPU's multiprocessing state (`KVM_GET_MP_STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpState {
    /// Running or ready to run.
    Runnable,
    /// An application processor waiting for INIT.
    Uninitialized,
    /// INIT received, waiting for SIPI.
    InitReceived,
    /// Halted in the kernel, waiting for an interrupt.
    Halted,
    /// SIPI received.
    SipiReceived,
    /// A state this version of hull does not name.
    Other(u32),
}

/// The mapped `kvm_run` page(s) of one vCPU.
#[derive(Debug)]
struct RunMap {
    sys: Arc<dyn KvmSys>,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory. The owning `Vcpu` is the only
// one that reads or writes it outside `immediate_exit`, which other threads
// touch only through an atomic byte (`RunMap::immediate_exit`).
unsafe impl Send for RunMap {}
// SAFETY: as above; shared references only reach the atomic byte.
unsafe impl Sync for RunMap {}

impl RunMap {
    /// `kvm_run.immediate_exit` (Linux layout, offset 1).
    fn immediate_exit(&self) -> &AtomicU8 {
        // SAFETY: offset 1 is inside the mapping (len >= one page), lives as
        // long as `self`, and is only ever accessed atomically by hull.
        unsafe { &*(self.ptr.as_ptr().add(1) as *const AtomicU8) }
    }
}

impl Drop for RunMap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from `mmap_shared` and nothing uses them
        // any more: every borrow of the page is tied to the owning Vcpu.
        unsafe { self.sys.munmap(self.ptr, self.len) }
    }
}

/// What a stopper shares with its vCPU.
#[derive(Debug, Default)]
struct Kick {
    stop: AtomicBool,
    /// The thread inside `KVM_RUN`, while it is there.
    thread: Mutex<Option<libc::pthread_t>>,
}

/// A virtual CPU. `Send`: move it to the thread that runs it.
#[derive(Debug)]
pub struct Vcpu {
    vm: Arc<VmInner>,
    index: u32,
    fd: OwnedFd,
    run: Arc<RunMap>,
    kick: Arc<Kick>,
}

impl Vcpu {
    pub(crate) fn create(vm: &Arc<VmInner>, index: u32, mmap_size: usize) -> Result<Vcpu> {
        let sys = &vm.sys;
        let req = vm.flavor.requests();
        let object = format!("vcpu {index}");
        let fd = match vm.flavor {
            Flavor::Linux => {
                // SAFETY: KVM_CREATE_VCPU takes the vCPU id by value.
                let raw = unsafe { sys.ioctl(vm.fd.as_raw_fd(), req.create_vcpu, index as usize) }
                    .map_err(|e| Error::os(Op::CreateVcpu, &object, e))?;
                // SAFETY: KVM_CREATE_VCPU returned a new fd that nothing else owns.
                unsafe { OwnedFd::from_raw_fd(raw) }
            }
            Flavor::Illumos => {
                // One vCPU per open: a fresh fd, cloned onto the VM by its dev_t.
                let fd = sys
                    .open(&vm.path)
                    .map_err(|e| Error::os(Op::CreateVcpu, &object, e))?;
                let rdev = sys
                    .rdev(vm.fd.as_raw_fd())
                    .map_err(|e| Error::os(Op::CreateVcpu, &object, e))?;
                let clone = req.clone.expect("illumos has KVM_CLONE");
                // SAFETY: KVM_CLONE takes the parent's dev_t by value.
                unsafe { sys.ioctl(fd.as_raw_fd(), clone, rdev as usize) }
                    .map_err(|e| Error::os(Op::CreateVcpu, &object, e))?;
                // SAFETY: KVM_CREATE_VCPU takes the vCPU id by value.
                unsafe { sys.ioctl(fd.as_raw_fd(), req.create_vcpu, index as usize) }
                    .map_err(|e| Error::os(Op::CreateVcpu, &object, e))?;
                fd
            }
        };
        let min = match vm.flavor {
            Flavor::Linux => std::mem::size_of::<linux::kvm_run>(),
            Flavor::Illumos => std::mem::size_of::<illumos::kvm_run>(),
        };
        if mmap_size < min {
            return Err(Error::new(
                Op::CreateVcpu,
                object,
                ErrorKind::InvalidFormat(format!(
                    "vcpu mmap size {mmap_size} < kvm_run size {min}"
                )),
            ));
        }
        let ptr = sys
            .mmap_shared(fd.as_raw_fd(), mmap_size)
            .map_err(|e| Error::os(Op::CreateVcpu, &object, e))?;
        install_kick_handler();
        Ok(Vcpu {
            vm: vm.clone(),
            index,
            fd,
            run: Arc::new(RunMap {
                sys: sys.clone(),
                ptr,
                len: mmap_size,
            }),
            kick: Arc::new(Kick::default()),
        })
    }

    /// The vCPU's index (0 is the boot processor).
    pub fn index(&self) -> u32 {
        self.index
    }

    fn object(&self) -> String {
        format!("vcpu {}", self.index)
    }

    /// # Safety
    /// `arg` must be what `request` expects (see [`KvmSys::ioctl`]).
    unsafe fn ioctl(&self, request: u32, arg: usize) -> Result<i32> {
        // SAFETY: forwarded from the caller.
        unsafe { self.vm.sys.ioctl(self.fd.as_raw_fd(), request, arg) }
            .map_err(|e| Error::os(Op::VcpuState, self.object(), e))
    }

    /// General-purpose registers (`KVM_GET_REGS`).
    pub fn regs(&self) -> Result<Regs> {
        let mut r = Regs::default();
        // SAFETY: `r` is a writable kvm_regs that outlives the call.
        unsafe {
            self.ioctl(
                self.vm.flavor.requests().get_regs,
                &mut r as *mut _ as usize,
            )
        }?;
        Ok(r)
    }

    /// Sets the general-purpose registers (`KVM_SET_REGS`).
    pub fn set_regs(&self, regs: &Regs) -> Result<()> {
        // SAFETY: `regs` is a valid kvm_regs that outlives the call.
        unsafe {
            self.ioctl(
                self.vm.flavor.requests().set_regs,
                regs as *const _ as usize,
            )
        }
        .map(drop)
    }

    /// Segment, control and descriptor-table registers (`KVM_GET_SREGS`).
    pub fn sregs(&self) -> Result<Sregs> {
        let mut s = Sregs::default();
        // SAFETY: `s` is a writable kvm_sregs that outlives the call.
        unsafe {
            self.ioctl(
                self.vm.flavor.requests().get_sregs,
                &mut s as *mut _ as usize,
            )
        }?;
        Ok(s)
    }

    /// Sets the special registers (`KVM_SET_SREGS`).
    pub fn set_sregs(&self, sregs: &Sregs) -> Result<()> {
        // SAFETY: `sregs` is a valid kvm_sregs that outlives the call.
        unsafe {
            self.ioctl(
                self.vm.flavor.requests().set_sregs,
                sregs as *const _ as usize,
            )
        }
        .map(drop)
    }

    /// Sets the FPU state (`KVM_SET_FPU`).
    pub fn set_fpu(&self, fpu: &Fpu) -> Result<()> {
        // SAFETY: `fpu` is a valid kvm_fpu that outlives the call.
        unsafe { self.ioctl(self.vm.flavor.requests().set_fpu, fpu as *const _ as usize) }.map(drop)
    }

    /// Sets the CPUID leaves the guest sees (`KVM_SET_CPUID2`).
    pub fn set_cpuid(&self, cpuid: &CpuId) -> Result<()> {
        let mut buf = CpuidBuffer::from_entries(&cpuid.0);
        // SAFETY: `buf` is a kvm_cpuid2 with `nent` entries after it.
        unsafe { self.ioctl(self.vm.flavor.requests().set_cpuid2, buf.as_arg()) }.map(drop)
    }

    /// The multiprocessing state (`KVM_GET_MP_STATE`).
    pub fn mp_state(&self) -> Result<MpState> {
        let mut s = kvm_sys::linux::kvm_mp_state::default();
        // SAFETY: `s` is a writable kvm_mp_state that outlives the call.
        unsafe {
            self.ioctl(
                self.vm.flavor.requests().get_mp_state,
                &mut s as *mut _ as usize,
            )
        }?;
        Ok(match s.mp_state {
            0 => MpState::Runnable,
            1 => MpState::Uninitialized,
            2 => MpState::InitReceived,
            3 => MpState::Halted,
            4 => MpState::SipiReceived,
            n => MpState::Other(n),
        })
    }

    /// A handle that stops or interrupts this vCPU from another thread.
    pub fn stopper(&self) -> VcpuStopper {
        VcpuStopper {
            run: self.run.clone(),
            kick: self.kick.clone(),
            flavor: self.vm.flavor,
        }
    }

    /// Runs the vCPU until the guest needs the VMM, and says why.
    ///
    /// Returns [`VcpuExit::Stopped`] without entering the guest once
    /// [`VcpuStopper::stop`] has been called.
    pub fn run(&mut self) -> Result<VcpuExit<'_>> {
        if self.kick.stop.load(Ordering::Acquire) {
            return Ok(VcpuExit::Stopped);
        }
        // SAFETY: pthread_self has no preconditions.
        *lock(&self.kick.thread) = Some(unsafe { libc::pthread_self() });
        let req = self.vm.flavor.requests().run;
        // SAFETY: KVM_RUN takes no argument; the kernel writes the mapped
        // kvm_run page, which this Vcpu owns.
        let r = unsafe { self.vm.sys.ioctl(self.fd.as_raw_fd(), req, 0) };
        *lock(&self.kick.thread) = None;
        match r {
            Ok(_) => self.decode_exit(),
            Err(e)
                if e.raw_os_error() == Some(libc::EINTR)
                    || e.raw_os_error() == Some(libc::EAGAIN) =>
            {
                if self.vm.flavor == Flavor::Linux {
                    self.run.immediate_exit().store(0, Ordering::Release);
                }
                if self.kick.stop.load(Ordering::Acquire) {
                    Ok(VcpuExit::Stopped)
                } else {
                    Ok(VcpuExit::Interrupted)
                }
            }
            Err(e) => Err(Error::os(Op::RunVcpu, self.object(), e)),
        }
    }

    fn decode_exit(&mut self) -> Result<VcpuExit<'_>> {
        let base = self.run.ptr.as_ptr();
        let raw = match self.vm.flavor {
            // SAFETY: the mapping holds at least one kvm_run of this
            // flavour (checked at creation) and KVM_RUN has returned on
            // this thread, so the kernel is not writing it.
            Flavor::Linux => unsafe { raw_exit_linux(base as *const linux::kvm_run) },
            // SAFETY: as above.
            Flavor::Illumos => unsafe { raw_exit_illumos(base as *const illumos::kvm_run) },
        };
        let bad = |what: String| {
            Error::new(
                Op::RunVcpu,
                format!("vcpu {}", self.index),
                ErrorKind::InvalidFormat(what),
            )
        };
        Ok(match raw {
            RawExit::Io {
                out,
                port,
                size,
                count,
                offset,
                len,
            } => {
                // The data must lie past the kvm_run header (clear of
                // immediate_exit) and inside the mapping.
                let header = std::mem::size_of::<u64>() * 4;
                if offset < header || offset.checked_add(len).is_none_or(|end| end > self.run.len) {
                    return Err(bad(format!(
                        "io data at {offset:#x}+{len} outside the run page"
                    )));
                }
                // SAFETY: [offset, offset+len) is inside the mapping, past
                // the header, and borrowed for no longer than `&mut self`.
                let data = unsafe { std::slice::from_raw_parts_mut(base.add(offset), len) };
                if out {
                    VcpuExit::IoOut {
                        port,
                        size,
                        count,
                        data,
                    }
                } else {
                    VcpuExit::IoIn {
                        port,
                        size,
                        count,
                        data,
                    }
                }
            }
            RawExit::Mmio {
                write,
                addr,
                offset,
                len,
            } => {
                // SAFETY: `offset` is the exit union's mmio.data, 8 bytes
                // inside the mapping and clear of immediate_exit; `len` is
                // at most 8; borrowed for no longer than `&mut self`.
                let data = unsafe { std::slice::from_raw_parts_mut(base.add(offset), len) };
                if write {
                    VcpuExit::MmioWrite { addr, data }
                } else {
                    VcpuExit::MmioRead { addr, data }
                }
            }
            RawExit::Plain(exit) => exit,
        })
    }
}

/// An exit as either flavour's `kvm_run` describes it, with the place of
/// its data (an offset into the run page) rather than a borrow of it.
enum RawExit {
    Io {
        out: bool,
        port: u16,
        size: u8,
        count: u32,
        offset: usize,
        len: usize,
    },
    Mmio {
        write: bool,
        addr: u64,
        offset: usize,
        len: usize,
    },
    /// An exit that carries no data.
    Plain(VcpuExit<'static>),
}

/// Reads the exit of a Linux `kvm_run`. The page is read through raw
/// pointers, never as a `&kvm_run` over the whole of it: a VcpuStopper on
/// another thread may store into `immediate_exit` at any time.
///
/// # Safety
/// `run` points to a mapped `kvm_run` the kernel is not writing.
unsafe fn raw_exit_linux(run: *const linux::kvm_run) -> RawExit {
    use std::ptr::addr_of;
    // SAFETY: the caller's promise; plain field reads.
    let (reason, u) = unsafe {
        (
            addr_of!((*run).exit_reason).read(),
            addr_of!((*run).__bindgen_anon_1),
        )
    };
    let at = |p: *const u8| p as usize - run as usize;
    match reason {
        linux::KVM_EXIT_IO => {
            // SAFETY: exit_reason says the io member is the live one.
            let io = unsafe { (*u).io };
            RawExit::Io {
                out: io.direction as u32 == linux::KVM_EXIT_IO_OUT,
                port: io.port,
                size: io.size,
                count: io.count,
                offset: io.data_offset as usize,
                len: io.size as usize * io.count as usize,
            }
        }
        linux::KVM_EXIT_MMIO => {
            // SAFETY: exit_reason says the mmio member is the live one.
            let m = unsafe { addr_of!((*u).mmio) };
            // SAFETY: as above; plain field reads.
            let (write, addr, len) = unsafe { ((*m).is_write != 0, (*m).phys_addr, (*m).len) };
            RawExit::Mmio {
                write,
                addr,
                // SAFETY: a field address inside the live member.
                offset: at(unsafe { addr_of!((*m).data) } as *const u8),
                len: (len as usize).min(8),
            }
        }
        linux::KVM_EXIT_SYSTEM_EVENT => RawExit::Plain(
            // SAFETY: exit_reason says the system_event member is live.
            match unsafe { (*u).system_event.type_ } {
                linux::KVM_SYSTEM_EVENT_RESET => VcpuExit::SystemReset,
                linux::KVM_SYSTEM_EVENT_SHUTDOWN => VcpuExit::SystemShutdown,
                _ => VcpuExit::Unknown(reason),
            },
        ),
        linux::KVM_EXIT_FAIL_ENTRY => RawExit::Plain(VcpuExit::FailEntry {
            // SAFETY: exit_reason says the fail_entry member is live.
            reason: unsafe { (*u).fail_entry.hardware_entry_failure_reason },
        }),
        linux::KVM_EXIT_INTERNAL_ERROR => RawExit::Plain(VcpuExit::InternalError {
            // SAFETY: exit_reason says the internal member is live.
            suberror: unsafe { (*u).internal.suberror },
        }),
        other => RawExit::Plain(plain(
            other,
            [
                linux::KVM_EXIT_HLT,
                linux::KVM_EXIT_SHUTDOWN,
                linux::KVM_EXIT_INTR,
                linux::KVM_EXIT_IRQ_WINDOW_OPEN,
            ],
        )),
    }
}

/// Reads the exit of an illumos-kvm `kvm_run` (Linux 2.6.34's layout).
///
/// # Safety
/// `run` points to a mapped `kvm_run` the kernel is not writing.
unsafe fn raw_exit_illumos(run: *const illumos::kvm_run) -> RawExit {
    use std::ptr::addr_of;
    // SAFETY: the caller's promise; plain field reads.
    let (reason, u) = unsafe {
        (
            addr_of!((*run).exit_reason).read(),
            addr_of!((*run).__bindgen_anon_1),
        )
    };
    let at = |p: *const u8| p as usize - run as usize;
    match reason {
        illumos::KVM_EXIT_IO => {
            // SAFETY: exit_reason says the io member is the live one.
            let io = unsafe { (*u).io };
            RawExit::Io {
                out: io.direction as u32 == illumos::KVM_EXIT_IO_OUT,
                port: io.port,
                size: io.size,
                count: io.count,
                offset: io.data_offset as usize,
                len: io.size as usize * io.count as usize,
            }
        }
        illumos::KVM_EXIT_MMIO => {
            // SAFETY: exit_reason says the mmio member is the live one.
            let m = unsafe { addr_of!((*u).mmio) };
            // SAFETY: as above; plain field reads.
            let (write, addr, len) = unsafe { ((*m).is_write != 0, (*m).phys_addr, (*m).len) };
            RawExit::Mmio {
                write,
                addr,
                // SAFETY: a field address inside the live member.
                offset: at(unsafe { addr_of!((*m).data) } as *const u8),
                len: (len as usize).min(8),
            }
        }
        illumos::KVM_EXIT_FAIL_ENTRY => RawExit::Plain(VcpuExit::FailEntry {
            // SAFETY: exit_reason says the fail_entry member is live.
            reason: unsafe { (*u).fail_entry.hardware_entry_failure_reason },
        }),
        illumos::KVM_EXIT_INTERNAL_ERROR => RawExit::Plain(VcpuExit::InternalError {
            // SAFETY: exit_reason says the internal member is live.
            suberror: unsafe { (*u).internal.suberror },
        }),
        other => RawExit::Plain(plain(
            other,
            [
                illumos::KVM_EXIT_HLT,
                illumos::KVM_EXIT_SHUTDOWN,
                illumos::KVM_EXIT_INTR,
                illumos::KVM_EXIT_IRQ_WINDOW_OPEN,
            ],
        )),
    }
}

/// The data-less exits, given the flavour's numbers for HLT, SHUTDOWN,
/// INTR and IRQ_WINDOW_OPEN.
fn plain(reason: u32, [hlt, shutdown, intr, window]: [u32; 4]) -> VcpuExit<'static> {
    match reason {
        r if r == hlt => VcpuExit::Hlt,
        r if r == shutdown => VcpuExit::Shutdown,
        r if r == intr => VcpuExit::Interrupted,
        r if r == window => VcpuExit::IrqWindowOpen,
        r => VcpuExit::Unknown(r),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stops or interrupts a [`Vcpu`] from another thread. Cheap to clone.
///
/// ```no_run
/// # use hull::vm::{Kvm, Vm, VcpuExit};
/// # let kvm = Kvm::open()?;
/// # let mut vm = Vm::builder().memory_mib(2).build(&kvm)?;
/// let mut vcpu = vm.take_vcpus().remove(0);
/// let stopper = vcpu.stopper();
/// let t = std::thread::spawn(move || loop {
///     if let Ok(VcpuExit::Stopped) = vcpu.run() { break; }
/// });
/// stopper.stop();
/// t.join().unwrap();
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct VcpuStopper {
    run: Arc<RunMap>,
    kick: Arc<Kick>,
    flavor: Flavor,
}

impl VcpuStopper {
    /// Stops the vCPU for good: a `run` in progress returns
    /// [`VcpuExit::Stopped`] promptly, and so does every later one.
    pub fn stop(&self) {
        self.kick.stop.store(true, Ordering::Release);
        self.interrupt();
    }

    /// Interrupts the vCPU once: the `run` in progress (or, on Linux, the
    /// next one) returns [`VcpuExit::Interrupted`].
    pub fn kick(&self) {
        self.interrupt();
    }

    /// Whether [`VcpuStopper::stop`] has been called.
    pub fn is_stopped(&self) -> bool {
        self.kick.stop.load(Ordering::Acquire)
    }

    fn interrupt(&self) {
        // Linux: make KVM_RUN return at once even if the signal lands before
        // the thread enters the guest. illumos-kvm has no such field.
        if self.flavor == Flavor::Linux {
            self.run.immediate_exit().store(1, Ordering::Release);
        }
        // Hold the lock while signalling: the thread cannot leave `run` (and
        // perhaps exit) between the check and the kill.
        let t = lock(&self.kick.thread);
        if let Some(thread) = *t {
            // SAFETY: `thread` is alive: it is inside `Vcpu::run`, which
            // cannot return before it takes this lock to deregister.
            unsafe { libc::pthread_kill(thread, kick_signal()) };
        }
    }
}

/// The signal that interrupts `KVM_RUN`: the first real-time signal. hull
/// installs an empty handler for it (without `SA_RESTART`).
pub fn kick_signal() -> libc::c_int {
    libc::SIGRTMIN()
}

extern "C" fn on_kick(_: libc::c_int) {}

fn install_kick_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler
        // is async-signal-safe (it does nothing) and lives for the program.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_kick as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(kick_signal(), &sa, std::ptr::null_mut());
        }
    });
}
