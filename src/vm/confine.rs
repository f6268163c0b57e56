//! Confining the VMM's own threads, as Firecracker's seccomp filters do:
//! with [`BootSpec::confine`](super::BootSpec::confine) set, every thread
//! [`Machine::run`](super::Machine::run) starts (each vCPU, each device's
//! input thread) installs a seccomp filter, built with `seccompiler`,
//! before it touches the guest. Those threads parse what the guest writes
//! (exits, device registers, descriptor chains), so a guest that found a
//! bug in that code would find itself in a thread that can do only what a
//! vCPU or device thread needs:
//!
//! | calls | why |
//! |---|---|
//! | `ioctl` with `KVM_RUN`, `KVM_GET_REGS`, `KVM_GET_MP_STATE`, `KVM_IRQ_LINE` only | running the vCPU, reading why it stopped, raising interrupts |
//! | `read`, `write`, `pread64`, `pwrite64`, `readv`, `writev`, `lseek`, `fsync`, `fdatasync` | the console, disks and taps (already open); on a device thread only on that device's own fds |
//! | `poll`, `ppoll`, `futex`, `nanosleep`, `clock_nanosleep`, `clock_gettime`, `sched_yield` | waiting, and the locks between threads |
//! | `mmap` and `mprotect` without `PROT_EXEC`, `munmap`, `mremap`, `brk`, `madvise` | the allocator (no new executable memory) |
//! | `rt_sigreturn`, `rt_sigprocmask`, `rt_sigaction`, `sigaltstack`, `exit` | the kick signal, a fault handler resetting itself, and the thread's own end |
//!
//! A device thread (the one that parses a virtio device's descriptor
//! chains) gets a stricter filter still: those I/O calls only on the fds
//! its device owns (its disk or tap, its queues' eventfds, its irqfd, the
//! wake-up), so it cannot write to any other file the caller's process has
//! open. A vCPU thread writes the console to whatever the caller gave, so
//! its I/O calls are not limited by fd.
//!
//! Anything else (`openat`, `socket`, `execve`, `clone`, `kill`, `ptrace`,
//! any other `ioctl` …) fails with `EPERM`: the filter returns an error
//! rather than killing, since hull lives in its caller's process. The
//! thread that calls `run` is the caller's and is not confined.
//! `no_new_privs` is set on the confined threads (seccomp needs it without
//! `CAP_SYS_ADMIN`).

use crate::error::{Error, ErrorKind, Op, Result};

/// The system calls a confined thread may make, by name, besides the
/// `ioctl`s named in the module docs.
pub const ALLOWED: &[&str] = &[
    "read",
    "write",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "lseek",
    "fsync",
    "fdatasync",
    "poll",
    "ppoll",
    "futex",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "sched_yield",
    "munmap",
    "mremap",
    "brk",
    "madvise",
    "rt_sigreturn",
    "rt_sigprocmask",
    "rt_sigaction",
    "sigaltstack",
    "exit",
];

/// The allowed calls whose first argument is the fd they work on: on a
/// device thread, allowed only for that device's fds.
pub const FD_CALLS: &[&str] = &[
    "read",
    "write",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "lseek",
    "fsync",
    "fdatasync",
];

/// A compiled filter, ready to install on each thread.
#[derive(Clone)]
pub(crate) struct Filter {
    #[cfg(target_os = "linux")]
    program: seccompiler::BpfProgram,
    /// The vCPU `ioctl` request numbers it allows, to build a device
    /// thread's filter from.
    ioctls: Vec<u32>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Filter")
    }
}

#[cfg(target_os = "linux")]
fn number(name: &str) -> i64 {
    match name {
        "read" => libc::SYS_read,
        "write" => libc::SYS_write,
        "pread64" => libc::SYS_pread64,
        "pwrite64" => libc::SYS_pwrite64,
        "readv" => libc::SYS_readv,
        "writev" => libc::SYS_writev,
        "lseek" => libc::SYS_lseek,
        "fsync" => libc::SYS_fsync,
        "fdatasync" => libc::SYS_fdatasync,
        "poll" => libc::SYS_poll,
        "ppoll" => libc::SYS_ppoll,
        "futex" => libc::SYS_futex,
        "nanosleep" => libc::SYS_nanosleep,
        "clock_nanosleep" => libc::SYS_clock_nanosleep,
        "clock_gettime" => libc::SYS_clock_gettime,
        "sched_yield" => libc::SYS_sched_yield,
        "munmap" => libc::SYS_munmap,
        "mremap" => libc::SYS_mremap,
        "brk" => libc::SYS_brk,
        "madvise" => libc::SYS_madvise,
        "rt_sigreturn" => libc::SYS_rt_sigreturn,
        "rt_sigprocmask" => libc::SYS_rt_sigprocmask,
        "rt_sigaction" => libc::SYS_rt_sigaction,
        "sigaltstack" => libc::SYS_sigaltstack,
        "exit" => libc::SYS_exit,
        other => unreachable!("{other} is not in ALLOWED"),
    }
}

impl Filter {
    /// The filter for a machine whose vCPU `ioctl`s are these request
    /// numbers.
    pub(crate) fn new(ioctls: &[u32]) -> Result<Filter> {
        Filter::build(ioctls, None)
    }

    /// This filter with the I/O calls ([`FD_CALLS`]) allowed only on these
    /// fds: a device thread's.
    pub(crate) fn only_fds(&self, fds: &[std::os::fd::RawFd]) -> Result<Filter> {
        Filter::build(&self.ioctls, Some(fds))
    }

    #[cfg(target_os = "linux")]
    fn build(ioctls: &[u32], fds: Option<&[std::os::fd::RawFd]>) -> Result<Filter> {
        use seccompiler::{
            SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
            SeccompRule, TargetArch,
        };
        let fail = |e: &dyn std::fmt::Display| {
            Error::new(
                Op::SetupDevice,
                "VMM seccomp filter",
                ErrorKind::InvalidArgument(e.to_string()),
            )
        };
        let mut rules: std::collections::BTreeMap<i64, Vec<SeccompRule>> =
            ALLOWED.iter().map(|n| (number(n), Vec::new())).collect();
        let mut ioctl_rules = Vec::new();
        for &req in ioctls {
            let cond =
                SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, req as u64)
                    .map_err(|e| fail(&e))?;
            ioctl_rules.push(SeccompRule::new(vec![cond]).map_err(|e| fail(&e))?);
        }
        rules.insert(libc::SYS_ioctl, ioctl_rules);
        if let Some(fds) = fds {
            for call in FD_CALLS {
                let mut only = Vec::new();
                for &fd in fds {
                    let cond = SeccompCondition::new(
                        0,
                        SeccompCmpArgLen::Dword,
                        SeccompCmpOp::Eq,
                        fd as u32 as u64,
                    )
                    .map_err(|e| fail(&e))?;
                    only.push(SeccompRule::new(vec![cond]).map_err(|e| fail(&e))?);
                }
                if only.is_empty() {
                    // No rule would allow the call outright: no fd, no I/O.
                    rules.remove(&number(call));
                } else {
                    rules.insert(number(call), only);
                }
            }
        }
        // mmap and mprotect, but never of executable memory (prot is the
        // third argument of both).
        for call in [libc::SYS_mmap, libc::SYS_mprotect] {
            let cond = SeccompCondition::new(
                2,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(libc::PROT_EXEC as u64),
                0,
            )
            .map_err(|e| fail(&e))?;
            rules.insert(
                call,
                vec![SeccompRule::new(vec![cond]).map_err(|e| fail(&e))?],
            );
        }
        let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| fail(&e))?;
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Errno(libc::EPERM as u32),
            SeccompAction::Allow,
            arch,
        )
        .map_err(|e| fail(&e))?;
        let program = seccompiler::BpfProgram::try_from(filter).map_err(|e| fail(&e))?;
        Ok(Filter {
            program,
            ioctls: ioctls.to_vec(),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn build(_ioctls: &[u32], _fds: Option<&[std::os::fd::RawFd]>) -> Result<Filter> {
        Err(Error::new(
            Op::SetupDevice,
            "VMM seccomp filter",
            ErrorKind::Unsupported("confining the VMM's threads on this platform"),
        ))
    }

    /// Installs the filter on the calling thread (and sets its
    /// `no_new_privs`).
    pub(crate) fn apply(&self) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            seccompiler::apply_filter(&self.program).map_err(|e| {
                Error::new(
                    Op::RunMachine,
                    "VMM seccomp filter",
                    ErrorKind::InvalidArgument(e.to_string()),
                )
            })
        }
        #[cfg(not(target_os = "linux"))]
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_filter_builds_and_allows_nothing_that_reaches_outside() {
        Filter::new(&[1, 2, 3]).unwrap();
        for name in [
            "openat",
            "open",
            "socket",
            "connect",
            "execve",
            "clone",
            "clone3",
            "fork",
            "kill",
            "ptrace",
            "mount",
            "exit_group",
        ] {
            assert!(!ALLOWED.contains(&name), "{name}");
        }
        for name in FD_CALLS {
            assert!(ALLOWED.contains(name), "{name}");
        }
        // Every allowed call is in the module's table.
        let doc = include_str!("confine.rs");
        for name in ALLOWED {
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} is not documented"
            );
        }
    }

    /// A device thread's filter, on the real kernel: I/O on its own fds
    /// works, on any other fd of the process it is EPERM, and a
    /// vCPU-style filter still allows both.
    #[test]
    fn a_device_threads_filter_allows_io_only_on_its_own_fds() {
        use std::os::fd::AsRawFd;
        let own = std::fs::File::open("/dev/null").unwrap();
        let other = std::fs::File::open("/dev/null").unwrap();
        let vcpu = Filter::new(&[1]).unwrap();
        let device = vcpu.only_fds(&[own.as_raw_fd()]).unwrap();
        let probe = |filter: Filter| {
            let (a, b) = (own.as_raw_fd(), other.as_raw_fd());
            std::thread::spawn(move || {
                filter.apply().unwrap();
                let mut buf = [0u8; 1];
                let mut w = |fd| {
                    // SAFETY: a read of 1 byte into a local buffer.
                    let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 1) };
                    (r, std::io::Error::last_os_error().raw_os_error())
                };
                (w(a), w(b))
            })
            .join()
            .unwrap()
        };
        let (mine, theirs) = probe(device);
        assert_eq!(mine.0, 0, "its own fd: {mine:?}");
        assert_eq!(theirs, (-1, Some(libc::EPERM)), "another fd");
        let (mine, theirs) = probe(vcpu);
        assert_eq!((mine.0, theirs.0), (0, 0));
    }
}
