//! A fake of hull's KVM system-call table: records every call, answers like
//! the kernel of the chosen flavour would, and can fail the N-th call.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Mutex;

use hull::vm::{Flavor, KvmSys};
use kvm_sys::{illumos, linux};

/// The fake VM's device number, as `fstat().st_rdev` reports it.
pub const VM_RDEV: u64 = 0x0042_0007;
pub const PAGE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Open(PathBuf),
    /// fd (as a symbolic index), request, argument (value, or for the
    /// memory region the struct's fields).
    Ioctl {
        fd: usize,
        request: u32,
        arg: Arg,
    },
    Mmap {
        fd: usize,
        len: usize,
    },
    Munmap {
        len: usize,
    },
    Rdev {
        fd: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Value(usize),
    Region {
        slot: u32,
        flags: u32,
        guest_phys_addr: u64,
        memory_size: u64,
    },
    Pointer,
}

/// What the fake's `KVM_RUN` reports next.
#[derive(Debug, Clone, Copy)]
pub enum RunScript {
    Hlt,
    /// An `out` of one byte to `port`, data placed on the PIO page.
    Out {
        port: u16,
        value: u8,
    },
    /// illumos-kvm's way of reporting a signal.
    ExitIntr,
}

#[derive(Debug)]
pub struct FakeKvm {
    pub flavor: Flavor,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    /// Real fd number -> symbolic index in order of appearance.
    fds: HashMap<RawFd, usize>,
    /// Symbolic fd -> its vCPU mapping.
    maps: HashMap<usize, (usize, usize)>,
    live_maps: usize,
    fail_at: Option<usize>,
    script: VecDeque<RunScript>,
}

impl FakeKvm {
    pub fn new(flavor: Flavor) -> FakeKvm {
        FakeKvm {
            flavor,
            state: Mutex::new(State::default()),
        }
    }

    /// Fails the `n`-th call (0-based) with EIO.
    pub fn fail_at(self, n: usize) -> FakeKvm {
        self.state.lock().unwrap().fail_at = Some(n);
        self
    }

    pub fn script(&self, s: RunScript) {
        self.state.lock().unwrap().script.push_back(s);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn live_mappings(&self) -> usize {
        self.state.lock().unwrap().live_maps
    }

    /// The byte at `offset` of the vCPU page mapped for symbolic fd `fd`.
    pub fn run_page_byte(&self, fd: usize, offset: usize) -> u8 {
        let st = self.state.lock().unwrap();
        let (ptr, _) = st.maps[&fd];
        // SAFETY: ptr is a live allocation of at least one page made by us.
        unsafe { *(ptr as *const u8).add(offset) }
    }

    fn record(&self, st: &mut State, call: Call) -> io::Result<()> {
        st.calls.push(call);
        if st.fail_at == Some(st.calls.len() - 1) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(())
    }

    fn sym(st: &mut State, fd: RawFd) -> usize {
        let n = st.fds.len();
        *st.fds.entry(fd).or_insert(n)
    }

    fn dev_null() -> OwnedFd {
        OwnedFd::from(std::fs::File::open("/dev/null").unwrap())
    }
}

// SAFETY: the fake's mappings are heap allocations of the length asked,
// freed only by munmap; its fds are fresh opens of /dev/null it hands over; its
// ioctls write only the structures their requests name.
unsafe impl KvmSys for FakeKvm {
    fn open(&self, path: &Path) -> io::Result<OwnedFd> {
        let mut st = self.state.lock().unwrap();
        self.record(&mut st, Call::Open(path.to_path_buf()))?;
        let fd = Self::dev_null();
        // A reused fd number is a new object: forget the old mapping.
        st.fds.remove(&fd.as_raw_fd());
        Self::sym(&mut st, fd.as_raw_fd());
        Ok(fd)
    }

    unsafe fn ioctl(&self, fd: RawFd, request: u32, arg: usize) -> io::Result<i32> {
        let mut st = self.state.lock().unwrap();
        let sfd = Self::sym(&mut st, fd);
        let (set_region, unknown) = match self.flavor {
            Flavor::Linux => (linux::KVM_SET_USER_MEMORY_REGION, libc::ENOTTY),
            Flavor::Illumos => (illumos::KVM_SET_USER_MEMORY_REGION, libc::EINVAL),
        };
        let recorded = if request == set_region {
            // SAFETY: hull passes a kvm_userspace_memory_region for this request.
            let r = unsafe { &*(arg as *const linux::kvm_userspace_memory_region) };
            Arg::Region {
                slot: r.slot,
                flags: r.flags,
                guest_phys_addr: r.guest_phys_addr,
                memory_size: r.memory_size,
            }
        } else if arg > 0x1_0000_0000 && arg != VM_RDEV as usize {
            Arg::Pointer
        } else {
            Arg::Value(arg)
        };
        self.record(
            &mut st,
            Call::Ioctl {
                fd: sfd,
                request,
                arg: recorded,
            },
        )?;
        macro_rules! answer {
            ($m:ident) => {{
                match request {
                    $m::KVM_GET_API_VERSION => Ok(12),
                    $m::KVM_GET_VCPU_MMAP_SIZE => Ok((3 * PAGE) as i32),
                    $m::KVM_CHECK_EXTENSION => match arg as u32 {
                        $m::KVM_CAP_NR_VCPUS => Ok(64),
                        $m::KVM_CAP_IRQCHIP | $m::KVM_CAP_USER_MEMORY => Ok(1),
                        _ => Err(io::Error::from_raw_os_error(unknown)),
                    },
                    $m::KVM_CREATE_VM => Ok(0),
                    $m::KVM_SET_USER_MEMORY_REGION | $m::KVM_SET_TSS_ADDR => Ok(0),
                    $m::KVM_CREATE_VCPU => Ok(arg as i32),
                    $m::KVM_RUN => {
                        let (ptr, _) = st.maps[&sfd];
                        let script = st.script.pop_front().unwrap_or(RunScript::Hlt);
                        // SAFETY: ptr is our own zeroed 3-page allocation; the
                        // offsets written are those of this flavour's kvm_run.
                        unsafe { fill_run(ptr as *mut u8, script) };
                        Ok(0)
                    }
                    _ => Err(io::Error::from_raw_os_error(unknown)),
                }
            }};
        }
        match self.flavor {
            Flavor::Illumos if request == illumos::KVM_CLONE => Ok(0),
            // Linux returns new fds for a VM and a vCPU.
            Flavor::Linux
                if request == linux::KVM_CREATE_VM || request == linux::KVM_CREATE_VCPU =>
            {
                let fd = Self::dev_null().into_raw_fd();
                st.fds.remove(&fd);
                Self::sym(&mut st, fd);
                Ok(fd)
            }
            Flavor::Linux => answer!(linux),
            Flavor::Illumos => answer!(illumos),
        }
    }

    fn mmap_shared(&self, fd: RawFd, len: usize) -> io::Result<NonNull<u8>> {
        let mut st = self.state.lock().unwrap();
        let sfd = Self::sym(&mut st, fd);
        self.record(&mut st, Call::Mmap { fd: sfd, len })?;
        let layout = std::alloc::Layout::from_size_align(len, PAGE).unwrap();
        // SAFETY: a non-zero-sized layout.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        st.maps.insert(sfd, (p as usize, len));
        st.live_maps += 1;
        Ok(NonNull::new(p).unwrap())
    }

    unsafe fn munmap(&self, addr: NonNull<u8>, len: usize) {
        let mut st = self.state.lock().unwrap();
        st.calls.push(Call::Munmap { len });
        st.live_maps -= 1;
        let layout = std::alloc::Layout::from_size_align(len, PAGE).unwrap();
        // SAFETY: allocated in mmap_shared with this layout, freed once.
        unsafe { std::alloc::dealloc(addr.as_ptr(), layout) };
    }

    fn rdev(&self, fd: RawFd) -> io::Result<u64> {
        let mut st = self.state.lock().unwrap();
        let sfd = Self::sym(&mut st, fd);
        self.record(&mut st, Call::Rdev { fd: sfd })?;
        Ok(VM_RDEV)
    }
}

/// Writes an exit into a kvm_run page (either layout).
///
/// # Safety
/// `page` must point to at least 3 writable pages.
unsafe fn fill_run(page: *mut u8, script: RunScript) {
    // Offsets shared by both layouts (asserted by kvm-sys's tests):
    // exit_reason at 8, the exit union at 32.
    let put32 =
        |off: usize, v: u32| unsafe { std::ptr::write_unaligned(page.add(off) as *mut u32, v) };
    match script {
        RunScript::Hlt => put32(8, linux::KVM_EXIT_HLT),
        RunScript::ExitIntr => put32(8, linux::KVM_EXIT_INTR),
        RunScript::Out { port, value } => {
            put32(8, linux::KVM_EXIT_IO);
            unsafe {
                *page.add(32) = linux::KVM_EXIT_IO_OUT as u8; // direction
                *page.add(33) = 1; // size
                std::ptr::write_unaligned(page.add(34) as *mut u16, port);
                std::ptr::write_unaligned(page.add(36) as *mut u32, 1); // count
                std::ptr::write_unaligned(page.add(40) as *mut u64, PAGE as u64); // data_offset
                *page.add(PAGE) = value;
            }
        }
    }
}
