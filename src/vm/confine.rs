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
//! | `read`, `write`, `pread64`, `pwrite64`, `readv`, `writev`, `lseek`, `fsync`, `fdatasync` | the console, disks and taps (already open) |
//! | `poll`, `ppoll`, `futex`, `nanosleep`, `clock_nanosleep`, `clock_gettime`, `sched_yield` | waiting, and the locks between threads |
//! | `mmap` and `mprotect` without `PROT_EXEC`, `munmap`, `mremap`, `brk`, `madvise` | the allocator (no new executable memory) |
//! | `rt_sigreturn`, `rt_sigprocmask`, `rt_sigaction`, `sigaltstack`, `exit` | the kick signal, a fault handler resetting itself, and the thread's own end |
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

/// A compiled filter, ready to install on each thread.
#[derive(Clone)]
pub(crate) struct Filter {
    #[cfg(target_os = "linux")]
    program: seccompiler::BpfProgram,
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
    #[cfg(target_os = "linux")]
    pub(crate) fn new(ioctls: &[u32]) -> Result<Filter> {
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
        Ok(Filter { program })
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn new(_ioctls: &[u32]) -> Result<Filter> {
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
        // Every allowed call is in the module's table.
        let doc = include_str!("confine.rs");
        for name in ALLOWED {
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} is not documented"
            );
        }
    }
}
