//! The seccomp filter a zone's INIT runs under.
//!
//! A zone's tenant is root inside it, with Docker's 14 default capabilities
//! and no `CAP_SYS_ADMIN`. The filter takes from that root the system calls
//! Docker's default profile takes from such a container (moby/profiles
//! `seccomp/default.json` @cd3bed8, 2026-06-30): a deny-list, default action
//! allow, answering `EPERM` (`ENOSYS` for `clone3`). Most of these calls
//! also check a capability the zone lacks; the filter is the second wall,
//! and the first for the calls an unprivileged process may make (`unshare`
//! of a user namespace, `bpf`, `perf_event_open`, `keyctl`, `userfaultfd`,
//! `io_uring_setup`, vsock sockets).
//!
//! ```
//! use hull::zone::seccomp::{self, When};
//!
//! let unshare = seccomp::RULES.iter().find(|r| r.name == "unshare").unwrap();
//! assert_eq!(unshare.when, When::Always);
//! let personality = seccomp::RULES.iter().find(|r| r.name == "personality").unwrap();
//! assert!(!personality.when.denies(0xffff_ffff)); // the query stays allowed
//! assert!(personality.when.denies(0x0040000)); // setting ADDR_NO_RANDOMIZE is not
//!
//! // The same confinement for an OCI runtime (crun, runc):
//! let profile = seccomp::oci_profile();
//! assert_eq!(profile["defaultAction"], "SCMP_ACT_ALLOW");
//! ```
//!
//! hull compiles the filter with `programs()` before it forks the zone and
//! installs it in the child with `install()`, which is async-signal-safe.
//!
//! # The deny-list
//!
//! This table is the documentation of [`RULES`], in its order, followed by
//! [`ENOSYS_CALLS`]; a unit test holds the two equal, row for row. *Compiled
//! for* names the architectures whose libc has the call's number ("glibc":
//! not with musl); a call without one is left out of the program there. Conditions read the low 32 bits of arg0, which is all the
//! kernel reads of these arguments (see [`When`]).
//!
//! | # | Call | Errno | Denied when | Compiled for | What it would let a tenant do |
//! |---|------|-------|-------------|--------------|-------------------------------|
//! | 1 | `init_module` | EPERM | always | x86_64, aarch64 | Load code into the host kernel from memory. |
//! | 2 | `finit_module` | EPERM | always | x86_64, aarch64 | Load code into the host kernel from a file. |
//! | 3 | `delete_module` | EPERM | always | x86_64, aarch64 | Unload host drivers, filesystems or netfilter modules other tenants depend on. |
//! | 4 | `create_module` | EPERM | always | — | Pre-2.6 module interface with no kernel entry point left (ENOSYS); no libc constant, so not compiled. |
//! | 5 | `query_module` | EPERM | always | — | Pre-2.6 module interface with no kernel entry point left (ENOSYS); no libc constant, so not compiled. |
//! | 6 | `get_kernel_syms` | EPERM | always | — | Pre-2.6 module interface with no kernel entry point left (ENOSYS); no libc constant, so not compiled. |
//! | 7 | `kexec_load` | EPERM | always | x86_64, aarch64 | Load a new kernel and boot the host into it. |
//! | 8 | `kexec_file_load` | EPERM | always | x86_64, aarch64 (glibc) | Load a new kernel from a file and boot the host into it. |
//! | 9 | `reboot` | EPERM | always | x86_64, aarch64 | Restart, halt or power off the host, or change its Ctrl-Alt-Del handling. |
//! | 10 | `unshare` | EPERM | always | x86_64, aarch64 | Make namespaces: a new user namespace gives full capabilities over new mount and network namespaces, the door to most container escapes. |
//! | 11 | `setns` | EPERM | always | x86_64, aarch64 | Enter another namespace, e.g. the host's through a leaked /proc/PID/ns file. |
//! | 12 | `clone` | EPERM | arg0 has a bit of 0x7E020000 (one rule per bit) | x86_64, aarch64 | Make namespaces while forking (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET), as unshare. |
//! | 13 | `mount` | EPERM | always | x86_64, aarch64 | Mount filesystems: expose host views (proc, sysfs, debugfs), remount shared mounts, feed crafted images to filesystem drivers. |
//! | 14 | `umount2` | EPERM | always | x86_64, aarch64 | Unmount the zone's mounts and uncover what they mask. |
//! | 15 | `pivot_root` | EPERM | always | x86_64, aarch64 | Replace the root mount of the zone's mount namespace. |
//! | 16 | `open_tree` | EPERM | always | x86_64, aarch64 | New mount API: clone a mount tree to attach elsewhere, as mount --bind. |
//! | 17 | `move_mount` | EPERM | always | x86_64, aarch64 | New mount API: attach or move a mount, as mount. |
//! | 18 | `fsopen` | EPERM | always | x86_64, aarch64 | New mount API: start configuring a new filesystem instance. |
//! | 19 | `fsconfig` | EPERM | always | x86_64, aarch64 | New mount API: set a filesystem's source and options, parsed by its driver. |
//! | 20 | `fsmount` | EPERM | always | x86_64, aarch64 | New mount API: make a configured filesystem mountable. |
//! | 21 | `fspick` | EPERM | always | x86_64, aarch64 | New mount API: reconfigure a mounted filesystem, as mount -o remount. |
//! | 22 | `mount_setattr` | EPERM | always | x86_64, aarch64 | New mount API: change a mount tree's flags, propagation or ID mapping. |
//! | 23 | `open_tree_attr` | EPERM | always | x86_64, aarch64 | New mount API (Linux 6.15): clone a mount tree and change its flags in one call (a read-write copy of /proc/sys, say). |
//! | 24 | `open_by_handle_at` | EPERM | always | x86_64, aarch64 | Open any file of a mounted filesystem by handle, outside the zone's root (the 2014 shocker escape). |
//! | 25 | `name_to_handle_at` | EPERM | always | x86_64, aarch64 | Get the file handles open_by_handle_at takes; Docker allows it, hull does not (systemd may log its refusal). |
//! | 26 | `bpf` | EPERM | always | x86_64, aarch64 | Load eBPF programs: verifier bugs are a standing source of kernel exploits, tracing programs read kernel memory. |
//! | 27 | `perf_event_open` | EPERM | always | x86_64, aarch64 | Sample the host kernel and other tenants sharing its CPUs; a large attack surface. |
//! | 28 | `lookup_dcookie` | EPERM | always | x86_64, aarch64 | Turn oprofile cookies into host paths (gone from recent kernels). |
//! | 29 | `fanotify_init` | EPERM | always | x86_64, aarch64 | Watch or block every access to a whole filesystem, host files on it included. |
//! | 30 | `syslog` | EPERM | always | x86_64, aarch64 | Read or clear the host kernel log (addresses that defeat KASLR, other tenants' events), set the console level. |
//! | 31 | `add_key` | EPERM | always | x86_64, aarch64 | Add keys to kernel keyrings, which are per uid and not namespaced: shared with the host's root. |
//! | 32 | `request_key` | EPERM | always | x86_64, aarch64 | Look up keys in keyrings shared with the host, or make the kernel run its key upcall. |
//! | 33 | `keyctl` | EPERM | always | x86_64, aarch64 | Read, change or revoke keys in keyrings shared with the host. |
//! | 34 | `userfaultfd` | EPERM | always | x86_64, aarch64 | Pause a kernel access to user memory at will, the usual way exploits win kernel races. |
//! | 35 | `process_vm_readv` | EPERM | always | x86_64, aarch64 | Read another process's memory; Docker allows it on Linux 4.8 and later, hull does not (ptrace stays allowed). |
//! | 36 | `process_vm_writev` | EPERM | always | x86_64, aarch64 | Write another process's memory; Docker allows it on Linux 4.8 and later, hull does not (ptrace stays allowed). |
//! | 37 | `kcmp` | EPERM | always | x86_64, aarch64 | Compare two processes' kernel objects, leaking the order of kernel pointers. |
//! | 38 | `pidfd_getfd` | EPERM | always | x86_64, aarch64 | Copy a file descriptor out of another process. |
//! | 39 | `process_madvise` | EPERM | always | x86_64, aarch64 | Reclaim or otherwise advise on another process's memory. |
//! | 40 | `mbind` | EPERM | always | x86_64, aarch64 | Bind memory to chosen NUMA nodes, against the placement the host gives tenants and VMs. |
//! | 41 | `set_mempolicy` | EPERM | always | x86_64, aarch64 | Set a NUMA policy against the placement the host gives tenants and VMs. |
//! | 42 | `get_mempolicy` | EPERM | always | x86_64, aarch64 | Read the host's NUMA layout and policies (Docker denies it with mbind). |
//! | 43 | `set_mempolicy_home_node` | EPERM | always | x86_64, aarch64 | Set the home NUMA node of memory ranges. |
//! | 44 | `migrate_pages` | EPERM | always | x86_64, aarch64 | Move a process's memory between NUMA nodes. |
//! | 45 | `move_pages` | EPERM | always | x86_64, aarch64 | Move pages of a process between NUMA nodes, or read where they are. |
//! | 46 | `io_uring_setup` | EPERM | always | x86_64, aarch64 | Open io_uring, a second system-call interface this filter cannot see into and a steady source of kernel exploits. |
//! | 47 | `io_uring_enter` | EPERM | always | x86_64, aarch64 | Submit io_uring work (see io_uring_setup). |
//! | 48 | `io_uring_register` | EPERM | always | x86_64, aarch64 | Register io_uring buffers and files (see io_uring_setup). |
//! | 49 | `settimeofday` | EPERM | always | x86_64, aarch64 | Set the host's clock, which every zone shares. |
//! | 50 | `clock_settime` | EPERM | always | x86_64, aarch64 | Set the host's clock, which every zone shares. |
//! | 51 | `stime` | EPERM | always | — | Set the host's clock; i386 only, so no x86_64 or aarch64 number. |
//! | 52 | `swapon` | EPERM | always | x86_64, aarch64 | Add swap to the host. |
//! | 53 | `swapoff` | EPERM | always | x86_64, aarch64 | Remove the host's swap. |
//! | 54 | `acct` | EPERM | always | x86_64, aarch64 | Turn the host's process accounting on or off. |
//! | 55 | `quotactl` | EPERM | always | x86_64, aarch64 | Change or turn off disk quotas of filesystems shared with others. |
//! | 56 | `quotactl_fd` | EPERM | always | x86_64, aarch64 | Change or turn off disk quotas of filesystems shared with others. |
//! | 57 | `vhangup` | EPERM | always | x86_64, aarch64 | Hang up the terminal, a console the host may also hold. |
//! | 58 | `iopl` | EPERM | always | x86_64 | Raise the I/O privilege level: every host I/O port. |
//! | 59 | `ioperm` | EPERM | always | x86_64 | Reach chosen host I/O ports. |
//! | 60 | `nfsservctl` | EPERM | always | x86_64, aarch64 | Control the kernel NFS server (removed in Linux 3.1). |
//! | 61 | `uselib` | EPERM | always | x86_64 | Load an a.out library: old, little-used kernel code. |
//! | 62 | `ustat` | EPERM | always | x86_64 | Query filesystems by device number (obsolete). |
//! | 63 | `sysfs` | EPERM | always | x86_64 | List filesystem types (obsolete). |
//! | 64 | `_sysctl` | EPERM | always | x86_64 | Binary sysctl interface, removed in Linux 5.5. |
//! | 65 | `vm86` | EPERM | always | — | Virtual-8086 mode; i386 only, so no x86_64 or aarch64 number. |
//! | 66 | `vm86old` | EPERM | always | — | Virtual-8086 mode; i386 only, so no x86_64 or aarch64 number. |
//! | 67 | `personality` | EPERM | arg0 not in {0, 0x8, 0x20000, 0x20008, 0xffffffff} | x86_64, aarch64 | Set execution domains that weaken mitigations (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE); the query and Linux personas stay. |
//! | 68 | `socket` | EPERM | arg0 in {38, 40} | x86_64, aarch64 | AF_VSOCK (40) is not namespaced: reach the host's and its VMs' vsock services; AF_ALG (38) opens the kernel crypto API. |
//! | 69 | `clone3` | ENOSYS | always | x86_64, aarch64 | Its flags are in memory the filter cannot read; ENOSYS makes glibc 2.34 and later fall back to clone. |
//!
//! Then every call numbered [`FIRST_UNKNOWN`] or above (none in Linux 6.18)
//! answers ENOSYS: a call a newer kernel adds is closed until it is
//! reviewed here.
//!
//! # Compared with Docker's profile
//!
//! Docker allows a list and denies the rest; this filter denies a list and
//! allows the rest, so a call new in a kernel is allowed until it is added
//! here. On the calls the kernel knows today (seccompiler 0.5's table for
//! Linux 6.12) the differences are:
//!
//! * Allowed by both: `sethostname` and `setdomainname` (a zone has its
//!   own UTS namespace; its root naming itself touches nothing else).
//! * Denied here, allowed by Docker: `name_to_handle_at`, `process_vm_readv`
//!   and `process_vm_writev`, and every 32-bit system call (next section).
//! * Allowed here, denied by Docker: `lsm_get_self_attr`,
//!   `lsm_set_self_attr` and `lsm_list_modules` (Linux 6.8; libc has no
//!   numbers for them yet; they expose what /proc/self/attr exposes), and
//!   the never-implemented `afs_syscall`, `getpmsg`, `putpmsg`, `security`,
//!   `tuxcall` and `vserver`, which fail with ENOSYS anyway.
//! * Allowed by both: `adjtimex` and `clock_adjtime` (glibc 2.31 and later
//!   and musl implement `adjtimex()` as `clock_adjtime(CLOCK_REALTIME)`;
//!   with `modes == 0` both only read, and setting the clock needs
//!   `CAP_SYS_TIME`, which the filter cannot check inside the struct they
//!   point to), `ptrace` (Linux 4.8 and later run the filter again after a
//!   tracer changes a call, so tracing cannot bypass it), and `chroot`.
//! * `clone` is checked for Docker's mask 0x7E020000. `CLONE_NEWTIME`
//!   (0x80) is not in it because for `clone` the kernel takes the low byte
//!   of arg0 as the exit signal (`kernel/fork.c`: `.exit_signal =
//!   lower_32_bits(clone_flags) & CSIGNAL`); time namespaces are made with
//!   `unshare` or `clone3` and joined with `setns`, all three refused.
//!
//! # Other architectures and ABIs
//!
//! seccompiler opens every program with an architecture check
//! (`build_arch_validation_sequence` in its `backend/bpf.rs`): a call whose
//! `seccomp_data.arch` is not the target's `AUDIT_ARCH` returns
//! `SECCOMP_RET_KILL_PROCESS`. An x86_64 zone's i386 calls (`int 0x80`, or
//! any 32-bit program) and an aarch64 zone's AArch32 calls therefore kill
//! the whole process with SIGSYS; 32-bit binaries do not run in a zone.
//! seccompiler 0.5 offers no other action for this, and it closes the
//! classic bypass of a filter written for one ABI through another.
//!
//! x32 calls share `AUDIT_ARCH_X86_64` and carry bit 0x4000_0000 in their
//! number. seccompiler compares numbers only for equality, so it cannot
//! deny the whole range; instead every denied call is also denied as
//! `0x4000_0000 | nr`, and, for the calls x32 numbers differently
//! (`arch/x86/entry/syscalls/syscall_64.tbl`, 512–547: here `kexec_load`
//! 528, `move_pages` 533, `process_vm_readv` 539, `process_vm_writev` 540),
//! as `0x4000_0000 | x32 nr` too, with the same argument conditions. The
//! filter runs before the kernel looks the number up, so this holds whether
//! or not the kernel was built with x32.
//!
//! # Installing without no_new_privs
//!
//! `install()` calls `seccomp(SECCOMP_SET_MODE_FILTER)` without setting
//! `PR_SET_NO_NEW_PRIVS`, so setuid programs keep working in a zone. The
//! kernel then requires `CAP_SYS_ADMIN`: hull installs the filter in the
//! zone's first process before it drops capabilities. The programs are
//! installed in the order `programs()` returns them (deny-list, then the
//! ENOSYS calls); they name disjoint calls, so the order does not change
//! any answer. Every call the filter always allows is answered from the
//! kernel's per-call cache (Linux 5.11 and later) without running it.
//!
//! # For an OCI runtime
//!
//! [`oci_profile`] writes the same list as a runtime-spec `linux.seccomp`
//! object. Conditions become `SCMP_CMP_MASKED_EQ` comparisons on the low 32
//! bits, one syscall entry per alternative: crun and runc turn several
//! conditions on one argument into alternatives rather than a conjunction,
//! so `personality`'s "not in" becomes the set of bit patterns outside the
//! allowed values. Non-native architectures meet libseccomp's bad-arch
//! action (kill thread) rather than seccompiler's (kill process).

use std::collections::btree_map::{BTreeMap, Entry};

use seccompiler::{
    BackendError, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use serde_json::{json, Value};

/// One denied system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    /// The call's name, as in the kernel's syscall tables and libseccomp.
    pub name: &'static str,
    /// What the call would let a tenant do to the host or to other tenants.
    pub why: &'static str,
    /// When the call is denied.
    pub when: When,
}

/// When a call is denied.
///
/// Conditions read the low 32 bits of arg0 (values and masks above bit 31
/// are ignored): every argument checked here is 32 bits to the kernel
/// (`personality`'s `unsigned int`, `socket`'s `int`, and the flags `clone`
/// reads with `lower_32_bits`), and comparing all 64 bits would let a caller
/// slip past an equality by setting the upper half, which the kernel drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Whatever the arguments.
    Always,
    /// When arg0 has any of these bits set.
    Arg0AnyBit(u64),
    /// When arg0 is one of these values.
    Arg0In(&'static [u64]),
    /// When arg0 is none of these values.
    Arg0NotIn(&'static [u64]),
}

impl When {
    /// Whether a call whose first argument is `arg0` is denied.
    pub fn denies(&self, arg0: u64) -> bool {
        let low = arg0 & LOW_32;
        match *self {
            When::Always => true,
            When::Arg0AnyBit(mask) => low & mask != 0,
            When::Arg0In(values) => values.iter().any(|&v| v & LOW_32 == low),
            When::Arg0NotIn(values) => values.iter().all(|&v| v & LOW_32 != low),
        }
    }
}

const LOW_32: u64 = 0xffff_ffff;

/// The namespace flags Docker refuses to `clone` without `CAP_SYS_ADMIN`:
/// 0x7E020000.
const CLONE_NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

/// `personality` values Docker allows: PER_LINUX, PER_LINUX32, UNAME26,
/// UNAME26 | PER_LINUX32, and 0xffffffff, which only queries.
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// AF_VSOCK, from `<linux/socket.h>` (libc 0.2 defines it for glibc only).
const AF_VSOCK: u64 = 40;

/// `socket` families denied: AF_ALG (38) and AF_VSOCK (40).
const SOCKET_FAMILIES: &[u64] = &[libc::AF_ALG as u64, AF_VSOCK];

const fn always(name: &'static str, why: &'static str) -> Denied {
    Denied {
        name,
        why,
        when: When::Always,
    }
}

const OLD_MODULES: &str =
    "Pre-2.6 module interface with no kernel entry point left (ENOSYS); no libc constant, so not compiled.";
const SET_CLOCK: &str = "Set the host's clock, which every zone shares.";
const QUOTAS: &str = "Change or turn off disk quotas of filesystems shared with others.";
const VM86: &str = "Virtual-8086 mode; i386 only, so no x86_64 or aarch64 number.";

/// The filter's deny-list, in the order of the module's table.
pub const RULES: &[Denied] = &[
    always("init_module", "Load code into the host kernel from memory."),
    always("finit_module", "Load code into the host kernel from a file."),
    always("delete_module", "Unload host drivers, filesystems or netfilter modules other tenants depend on."),
    always("create_module", OLD_MODULES),
    always("query_module", OLD_MODULES),
    always("get_kernel_syms", OLD_MODULES),
    always("kexec_load", "Load a new kernel and boot the host into it."),
    always("kexec_file_load", "Load a new kernel from a file and boot the host into it."),
    always("reboot", "Restart, halt or power off the host, or change its Ctrl-Alt-Del handling."),
    always("unshare", "Make namespaces: a new user namespace gives full capabilities over new mount and network namespaces, the door to most container escapes."),
    always("setns", "Enter another namespace, e.g. the host's through a leaked /proc/PID/ns file."),
    Denied {
        name: "clone",
        why: "Make namespaces while forking (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET), as unshare.",
        when: When::Arg0AnyBit(CLONE_NAMESPACE_FLAGS),
    },
    always("mount", "Mount filesystems: expose host views (proc, sysfs, debugfs), remount shared mounts, feed crafted images to filesystem drivers."),
    always("umount2", "Unmount the zone's mounts and uncover what they mask."),
    always("pivot_root", "Replace the root mount of the zone's mount namespace."),
    always("open_tree", "New mount API: clone a mount tree to attach elsewhere, as mount --bind."),
    always("move_mount", "New mount API: attach or move a mount, as mount."),
    always("fsopen", "New mount API: start configuring a new filesystem instance."),
    always("fsconfig", "New mount API: set a filesystem's source and options, parsed by its driver."),
    always("fsmount", "New mount API: make a configured filesystem mountable."),
    always("fspick", "New mount API: reconfigure a mounted filesystem, as mount -o remount."),
    always("mount_setattr", "New mount API: change a mount tree's flags, propagation or ID mapping."),
    always("open_tree_attr", "New mount API (Linux 6.15): clone a mount tree and change its flags in one call (a read-write copy of /proc/sys, say)."),
    always("open_by_handle_at", "Open any file of a mounted filesystem by handle, outside the zone's root (the 2014 shocker escape)."),
    always("name_to_handle_at", "Get the file handles open_by_handle_at takes; Docker allows it, hull does not (systemd may log its refusal)."),
    always("bpf", "Load eBPF programs: verifier bugs are a standing source of kernel exploits, tracing programs read kernel memory."),
    always("perf_event_open", "Sample the host kernel and other tenants sharing its CPUs; a large attack surface."),
    always("lookup_dcookie", "Turn oprofile cookies into host paths (gone from recent kernels)."),
    always("fanotify_init", "Watch or block every access to a whole filesystem, host files on it included."),
    always("syslog", "Read or clear the host kernel log (addresses that defeat KASLR, other tenants' events), set the console level."),
    always("add_key", "Add keys to kernel keyrings, which are per uid and not namespaced: shared with the host's root."),
    always("request_key", "Look up keys in keyrings shared with the host, or make the kernel run its key upcall."),
    always("keyctl", "Read, change or revoke keys in keyrings shared with the host."),
    always("userfaultfd", "Pause a kernel access to user memory at will, the usual way exploits win kernel races."),
    always("process_vm_readv", "Read another process's memory; Docker allows it on Linux 4.8 and later, hull does not (ptrace stays allowed)."),
    always("process_vm_writev", "Write another process's memory; Docker allows it on Linux 4.8 and later, hull does not (ptrace stays allowed)."),
    always("kcmp", "Compare two processes' kernel objects, leaking the order of kernel pointers."),
    always("pidfd_getfd", "Copy a file descriptor out of another process."),
    always("process_madvise", "Reclaim or otherwise advise on another process's memory."),
    always("mbind", "Bind memory to chosen NUMA nodes, against the placement the host gives tenants and VMs."),
    always("set_mempolicy", "Set a NUMA policy against the placement the host gives tenants and VMs."),
    always("get_mempolicy", "Read the host's NUMA layout and policies (Docker denies it with mbind)."),
    always("set_mempolicy_home_node", "Set the home NUMA node of memory ranges."),
    always("migrate_pages", "Move a process's memory between NUMA nodes."),
    always("move_pages", "Move pages of a process between NUMA nodes, or read where they are."),
    always("io_uring_setup", "Open io_uring, a second system-call interface this filter cannot see into and a steady source of kernel exploits."),
    always("io_uring_enter", "Submit io_uring work (see io_uring_setup)."),
    always("io_uring_register", "Register io_uring buffers and files (see io_uring_setup)."),
    always("settimeofday", SET_CLOCK),
    always("clock_settime", SET_CLOCK),
    always("stime", "Set the host's clock; i386 only, so no x86_64 or aarch64 number."),
    always("swapon", "Add swap to the host."),
    always("swapoff", "Remove the host's swap."),
    always("acct", "Turn the host's process accounting on or off."),
    always("quotactl", QUOTAS),
    always("quotactl_fd", QUOTAS),
    always("vhangup", "Hang up the terminal, a console the host may also hold."),
    always("iopl", "Raise the I/O privilege level: every host I/O port."),
    always("ioperm", "Reach chosen host I/O ports."),
    always("nfsservctl", "Control the kernel NFS server (removed in Linux 3.1)."),
    always("uselib", "Load an a.out library: old, little-used kernel code."),
    always("ustat", "Query filesystems by device number (obsolete)."),
    always("sysfs", "List filesystem types (obsolete)."),
    always("_sysctl", "Binary sysctl interface, removed in Linux 5.5."),
    always("vm86", VM86),
    always("vm86old", VM86),
    Denied {
        name: "personality",
        why: "Set execution domains that weaken mitigations (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE); the query and Linux personas stay.",
        when: When::Arg0NotIn(PERSONALITIES),
    },
    Denied {
        name: "socket",
        why: "AF_VSOCK (40) is not namespaced: reach the host's and its VMs' vsock services; AF_ALG (38) opens the kernel crypto API.",
        when: When::Arg0In(SOCKET_FAMILIES),
    },
];

/// Calls answered ENOSYS instead of EPERM, so that libc falls back to an
/// older call the filter can inspect: `clone3` keeps its flags in memory,
/// and glibc 2.34 and later fall back to `clone` only on ENOSYS (Docker
/// answers it the same way).
pub const ENOSYS_CALLS: &[&str] = &["clone3"];

/// This architecture's number for `name`: the libc constant, or `None`
/// where libc has none (the module table's *Compiled for* column).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn native_number(name: &str) -> Option<i64> {
    use libc::*;
    Some(match name {
        "init_module" => SYS_init_module,
        "finit_module" => SYS_finit_module,
        "delete_module" => SYS_delete_module,
        "kexec_load" => SYS_kexec_load,
        // libc 0.2 lacks it for musl on aarch64.
        #[cfg(not(all(target_arch = "aarch64", target_env = "musl")))]
        "kexec_file_load" => SYS_kexec_file_load,
        "reboot" => SYS_reboot,
        "unshare" => SYS_unshare,
        "setns" => SYS_setns,
        "clone" => SYS_clone,
        "clone3" => SYS_clone3,
        "mount" => SYS_mount,
        "umount2" => SYS_umount2,
        "pivot_root" => SYS_pivot_root,
        "open_tree" => SYS_open_tree,
        "move_mount" => SYS_move_mount,
        "fsopen" => SYS_fsopen,
        "fsconfig" => SYS_fsconfig,
        "fsmount" => SYS_fsmount,
        "fspick" => SYS_fspick,
        "mount_setattr" => SYS_mount_setattr,
        // Linux 6.15, 467 in both tables (x86_64 syscall_64.tbl and the
        // generic unistd.h aarch64 uses); libc 0.2 has no constant yet.
        "open_tree_attr" => 467,
        "open_by_handle_at" => SYS_open_by_handle_at,
        "name_to_handle_at" => SYS_name_to_handle_at,
        "bpf" => SYS_bpf,
        "perf_event_open" => SYS_perf_event_open,
        "lookup_dcookie" => SYS_lookup_dcookie,
        "fanotify_init" => SYS_fanotify_init,
        "syslog" => SYS_syslog,
        "add_key" => SYS_add_key,
        "request_key" => SYS_request_key,
        "keyctl" => SYS_keyctl,
        "userfaultfd" => SYS_userfaultfd,
        "process_vm_readv" => SYS_process_vm_readv,
        "process_vm_writev" => SYS_process_vm_writev,
        "kcmp" => SYS_kcmp,
        "pidfd_getfd" => SYS_pidfd_getfd,
        "process_madvise" => SYS_process_madvise,
        "mbind" => SYS_mbind,
        "set_mempolicy" => SYS_set_mempolicy,
        "get_mempolicy" => SYS_get_mempolicy,
        "set_mempolicy_home_node" => SYS_set_mempolicy_home_node,
        "migrate_pages" => SYS_migrate_pages,
        "move_pages" => SYS_move_pages,
        "io_uring_setup" => SYS_io_uring_setup,
        "io_uring_enter" => SYS_io_uring_enter,
        "io_uring_register" => SYS_io_uring_register,
        "settimeofday" => SYS_settimeofday,
        "clock_settime" => SYS_clock_settime,
        "swapon" => SYS_swapon,
        "swapoff" => SYS_swapoff,
        "acct" => SYS_acct,
        "quotactl" => SYS_quotactl,
        "quotactl_fd" => SYS_quotactl_fd,
        "vhangup" => SYS_vhangup,
        "nfsservctl" => SYS_nfsservctl,
        "personality" => SYS_personality,
        "socket" => SYS_socket,
        #[cfg(target_arch = "x86_64")]
        "iopl" => SYS_iopl,
        #[cfg(target_arch = "x86_64")]
        "ioperm" => SYS_ioperm,
        #[cfg(target_arch = "x86_64")]
        "uselib" => SYS_uselib,
        #[cfg(target_arch = "x86_64")]
        "ustat" => SYS_ustat,
        #[cfg(target_arch = "x86_64")]
        "sysfs" => SYS_sysfs,
        #[cfg(target_arch = "x86_64")]
        "_sysctl" => SYS__sysctl,
        _ => return None,
    })
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn native_number(_name: &str) -> Option<i64> {
    None
}

/// Bit 30 of an x32 system call's number.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: i64 = 0x4000_0000;

/// The calls x32 numbers 512 to 547 rather than like x86_64, in number
/// order (`arch/x86/entry/syscalls/syscall_64.tbl`, entries with ABI `x32`).
#[cfg(target_arch = "x86_64")]
const X32_RENUMBERED: [&str; 36] = [
    "rt_sigaction",
    "rt_sigreturn",
    "ioctl",
    "readv",
    "writev",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "execve",
    "ptrace",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "sigaltstack",
    "timer_create",
    "mq_notify",
    "kexec_load",
    "waitid",
    "set_robust_list",
    "get_robust_list",
    "vmsplice",
    "move_pages",
    "preadv",
    "pwritev",
    "rt_tgsigqueueinfo",
    "recvmmsg",
    "sendmmsg",
    "process_vm_readv",
    "process_vm_writev",
    "setsockopt",
    "getsockopt",
    "io_setup",
    "io_submit",
    "execveat",
    "preadv2",
    "pwritev2",
];

/// Every number under which the filter must catch `name` on this
/// architecture: the native one and, on x86_64, the x32 ones.
fn numbers(name: &str) -> Vec<i64> {
    let Some(native) = native_number(name) else {
        return Vec::new();
    };
    #[allow(unused_mut)] // only x86_64 adds to it
    let mut all = vec![native];
    #[cfg(target_arch = "x86_64")]
    {
        all.push(X32_SYSCALL_BIT | native);
        if let Some(i) = X32_RENUMBERED.iter().position(|&n| n == name) {
            all.push(X32_SYSCALL_BIT | (512 + i as i64));
        }
    }
    all
}

#[cfg(target_arch = "x86_64")]
const TARGET: Option<TargetArch> = Some(TargetArch::x86_64);
#[cfg(target_arch = "aarch64")]
const TARGET: Option<TargetArch> = Some(TargetArch::aarch64);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const TARGET: Option<TargetArch> = None;

/// The seccompiler rules for `when`, OR'd: an empty list matches always,
/// `None` never (a condition no value meets).
fn seccomp_rules(when: When) -> Result<Option<Vec<SeccompRule>>, BackendError> {
    let arg0 = |op, value| SeccompCondition::new(0, SeccompCmpArgLen::Dword, op, value);
    let rules = match when {
        When::Always => Vec::new(),
        When::Arg0AnyBit(mask) => (0..32)
            .map(|bit| 1u64 << bit)
            .filter(|bit| mask & bit != 0)
            .map(|bit| SeccompRule::new(vec![arg0(SeccompCmpOp::MaskedEq(bit), bit)?]))
            .collect::<Result<_, _>>()?,
        When::Arg0In(values) => values
            .iter()
            .map(|&v| SeccompRule::new(vec![arg0(SeccompCmpOp::Eq, v & LOW_32)?]))
            .collect::<Result<_, _>>()?,
        When::Arg0NotIn([]) => Vec::new(),
        When::Arg0NotIn(values) => vec![SeccompRule::new(
            values
                .iter()
                .map(|&v| arg0(SeccompCmpOp::Ne, v & LOW_32))
                .collect::<Result<_, _>>()?,
        )?],
    };
    // An empty list matches always; conditions that no rule came out of
    // (no bits, no values) match never.
    let always = matches!(when, When::Always | When::Arg0NotIn([]));
    Ok(if rules.is_empty() && !always {
        None
    } else {
        Some(rules)
    })
}

/// One program answering `errno` to `calls` and allowing everything else.
fn compile<'a>(
    arch: TargetArch,
    calls: impl Iterator<Item = (&'a str, When)>,
    errno: i32,
) -> Result<BpfProgram, BackendError> {
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (name, when) in calls {
        let Some(rules) = seccomp_rules(when)? else {
            continue;
        };
        for nr in numbers(name) {
            match map.entry(nr) {
                Entry::Vacant(e) => {
                    e.insert(rules.clone());
                }
                // Rules are OR'd, and an empty list already matches always.
                Entry::Occupied(mut e) if e.get().is_empty() || rules.is_empty() => {
                    e.get_mut().clear()
                }
                Entry::Occupied(mut e) => e.get_mut().extend(rules.iter().cloned()),
            }
        }
    }
    let action = SeccompAction::Errno(errno as u32);
    BpfProgram::try_from(SeccompFilter::new(map, SeccompAction::Allow, action, arch)?)
}

/// The compiled filters for this architecture, in the order to install
/// them: the [`RULES`] answering EPERM, then the [`ENOSYS_CALLS`].
///
/// Errors: `InvalidTargetArch` on an architecture other than x86_64 and
/// aarch64; the other seccompiler errors would mean a malformed rule here.
pub(crate) fn programs() -> Result<Vec<BpfProgram>, BackendError> {
    let arch = TARGET.ok_or_else(|| {
        BackendError::InvalidTargetArch(format!(
            "{} (hull's zone filter covers x86_64 and aarch64)",
            std::env::consts::ARCH
        ))
    })?;
    let denied = compile(arch, RULES.iter().map(|r| (r.name, r.when)), libc::EPERM)?;
    let enosys = compile(
        arch,
        ENOSYS_CALLS.iter().map(|&n| (n, When::Always)),
        libc::ENOSYS,
    )?;
    Ok(vec![denied, enosys, unknown_program()])
}

/// The first system call number hull has not reviewed: Linux 6.18 ends at
/// 469 (`file_setattr`) on x86_64 and aarch64 alike. Every call numbered
/// from here up answers ENOSYS, as on a kernel that lacks it, so a call a
/// newer kernel adds stays closed until it is reviewed and this moves;
/// x32's numbers (bit 30 set) are all above it too. Docker's allow-list
/// has the same effect.
pub const FIRST_UNKNOWN: u32 = 470;

/// A four-instruction program: ENOSYS for a call numbered
/// [`FIRST_UNKNOWN`] or above, allow otherwise. It needs no architecture
/// check of its own: the first program kills a non-native call, and the
/// kernel takes the most severe of all the filters' answers.
fn unknown_program() -> BpfProgram {
    unknown_from(FIRST_UNKNOWN)
}

/// The program of [`unknown_program`] with its threshold at `first`.
fn unknown_from(first: u32) -> BpfProgram {
    let insn = |code: u32, jt: u8, jf: u8, k: u32| seccompiler::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    vec![
        // A = seccomp_data.nr
        insn(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
        // if A >= FIRST_UNKNOWN fall through, else skip one
        insn(libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K, 0, 1, first),
        insn(
            libc::BPF_RET | libc::BPF_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        insn(libc::BPF_RET | libc::BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Installs `programs` in the calling thread, in order, without setting
/// no_new_privs; the caller needs `CAP_SYS_ADMIN`. On failure returns the
/// errno of the `seccomp` call that failed (EINVAL for a program longer
/// than a `sock_fprog` can describe); the programs before it stay
/// installed.
///
/// Async-signal-safe: it neither allocates, locks nor panics, so it may run
/// in a child forked from a multi-threaded parent.
pub(crate) fn install(programs: &[BpfProgram]) -> Result<(), i32> {
    for program in programs {
        let Ok(len) = u16::try_from(program.len()) else {
            return Err(libc::EINVAL);
        };
        let fprog = libc::sock_fprog {
            len,
            // seccompiler's `sock_filter` is `#[repr(C)]` with the fields of
            // the kernel's (u16, u8, u8, u32), as is libc's.
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `fprog` points at `len` instructions owned by `program`,
        // which outlives the call; the kernel only copies them in.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &fprog as *const libc::sock_fprog,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL));
        }
    }
    Ok(())
}

/// The same deny-list as an OCI runtime-spec `linux.seccomp` object:
/// default action `SCMP_ACT_ALLOW`, one `SCMP_ACT_ERRNO` entry per call and
/// condition alternative, `errnoRet` 1 (EPERM) or 38 (ENOSYS for
/// [`ENOSYS_CALLS`]), arguments as `SCMP_CMP_MASKED_EQ` on the low 32 bits.
/// `architectures` lists the native ABIs: x86_64 and x32, or aarch64.
pub fn oci_profile() -> Value {
    let mut syscalls = Vec::new();
    let entries = RULES.iter().map(|r| (r.name, r.when, libc::EPERM)).chain(
        ENOSYS_CALLS
            .iter()
            .map(|&n| (n, When::Always, libc::ENOSYS)),
    );
    for (name, when, errno) in entries {
        let entry = |args: Option<Value>| {
            let mut e = json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": errno});
            if let Some(args) = args {
                e["args"] = args;
            }
            e
        };
        match oci_alternatives(when) {
            None => syscalls.push(entry(None)),
            Some(cubes) => syscalls.extend(cubes.into_iter().map(|(mask, value)| {
                entry(Some(json!([{
                    "index": 0,
                    "value": mask,
                    "valueTwo": value,
                    "op": "SCMP_CMP_MASKED_EQ",
                }])))
            })),
        }
    }
    let mut profile = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls});
    if cfg!(target_arch = "x86_64") {
        profile["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]);
    } else if cfg!(target_arch = "aarch64") {
        profile["architectures"] = json!(["SCMP_ARCH_AARCH64"]);
    }
    profile
}

/// `when` as alternatives `arg0 & mask == value` (`None`: unconditional).
fn oci_alternatives(when: When) -> Option<Vec<(u64, u64)>> {
    match when {
        When::Always => None,
        When::Arg0AnyBit(mask) => Some(
            (0..32)
                .map(|bit| 1u64 << bit)
                .filter(|bit| mask & bit != 0)
                .map(|bit| (bit, bit))
                .collect(),
        ),
        When::Arg0In(values) => Some(values.iter().map(|&v| (LOW_32, v & LOW_32)).collect()),
        When::Arg0NotIn([]) => None,
        When::Arg0NotIn(values) => {
            let mut set: Vec<u64> = values.iter().map(|&v| v & LOW_32).collect();
            set.sort_unstable();
            set.dedup();
            let mut cubes = Vec::new();
            cubes_outside(&set, 32, 0, 0, &mut cubes);
            Some(cubes)
        }
    }
}

/// Covers the 32-bit values outside `set` with cubes `x & mask == value`:
/// walks the binary trie of `set` from bit 31 down, and emits each branch
/// no member of `set` takes. `set`'s members all equal `value` on `mask`;
/// `bits` bits, below those of `mask`, are left to decide.
fn cubes_outside(set: &[u64], bits: u32, mask: u64, value: u64, out: &mut Vec<(u64, u64)>) {
    if bits == 0 {
        return;
    }
    let bit = 1u64 << (bits - 1);
    for side in [0, bit] {
        let inside: Vec<u64> = set.iter().copied().filter(|v| v & bit == side).collect();
        if inside.is_empty() {
            out.push((mask | bit, value | side));
        } else {
            cubes_outside(&inside, bits - 1, mask | bit, value | side, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::c_long;

    #[test]
    fn programs_compile_for_this_architecture() {
        let programs = programs().expect("compile the zone filter");
        assert_eq!(
            programs.len(),
            3,
            "EPERM list, ENOSYS calls, unknown numbers"
        );
        for program in &programs {
            assert!(
                program.len() > 3 && program.len() < 4096,
                "{}",
                program.len()
            );
        }
    }

    /// The rows of the module table: (#, call, errno, when, compiled for, why).
    fn table() -> Vec<Vec<String>> {
        include_str!("seccomp.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! | "))
            .map(|l| {
                l.split(" | ")
                    .map(|c| c.trim_end_matches(" |").to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|cells| cells[1].starts_with('`'))
            .collect()
    }

    #[test]
    fn the_module_table_is_rules_then_enosys_calls_row_for_row() {
        let rows = table();
        let expected: Vec<(&str, &str)> = RULES
            .iter()
            .map(|r| (r.name, "EPERM"))
            .chain(ENOSYS_CALLS.iter().map(|&n| (n, "ENOSYS")))
            .collect();
        assert_eq!(rows.len(), expected.len());
        for (i, (row, (name, errno))) in rows.iter().zip(expected).enumerate() {
            assert_eq!(row.len(), 6, "{row:?}");
            assert_eq!(row[0], (i + 1).to_string());
            assert_eq!(row[1], format!("`{name}`"));
            assert_eq!(row[2], errno, "{name}");
            let arch = std::env::consts::ARCH;
            let glibc_only = format!("{arch} (glibc)");
            let compiled_here = row[4]
                .split(", ")
                .any(|a| a == arch || (cfg!(target_env = "gnu") && a == glibc_only));
            assert_eq!(
                compiled_here,
                native_number(name).is_some(),
                "{name}: {}",
                row[4]
            );
            if let Some(rule) = RULES.get(i) {
                assert_eq!(row[3] == "always", rule.when == When::Always, "{name}");
                assert_eq!(row[5], rule.why, "{name}");
            }
        }
    }

    #[test]
    fn no_two_calls_share_a_number() {
        let mut seen = BTreeMap::new();
        let names = RULES
            .iter()
            .map(|r| r.name)
            .chain(ENOSYS_CALLS.iter().copied());
        for name in names {
            for nr in numbers(name) {
                assert_eq!(
                    seen.insert(nr, name),
                    None,
                    "{name} and another share {nr:#x}"
                );
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x32_numbers_are_denied_too_with_the_renumbered_ones() {
        let x32 = |nr: i64| 0x4000_0000 | nr;
        assert_eq!(numbers("init_module"), [175, x32(175)]);
        assert_eq!(numbers("kexec_load"), [246, x32(246), x32(528)]);
        assert_eq!(numbers("move_pages"), [279, x32(279), x32(533)]);
        assert_eq!(numbers("process_vm_readv"), [310, x32(310), x32(539)]);
        assert_eq!(numbers("process_vm_writev"), [311, x32(311), x32(540)]);
        assert_eq!(numbers("create_module"), [0; 0]);
    }

    #[test]
    fn each_program_compares_the_call_number_of_each_of_its_calls() {
        let programs = programs().expect("compile the zone filter");
        let compares = |program: &BpfProgram, nr: i64| {
            // BPF_JMP | BPF_JEQ | BPF_K
            program
                .iter()
                .any(|i| i.code == 0x15 && i64::from(i.k) == nr)
        };
        for rule in RULES {
            for nr in numbers(rule.name) {
                assert!(compares(&programs[0], nr), "{} {nr:#x}", rule.name);
            }
        }
        for name in ENOSYS_CALLS {
            for nr in numbers(name) {
                assert!(compares(&programs[1], nr), "{name} {nr:#x}");
            }
        }
    }

    #[test]
    fn rule_values_fit_in_32_bits() {
        for rule in RULES {
            match rule.when {
                When::Always => {}
                When::Arg0AnyBit(mask) => assert!(mask <= LOW_32, "{}", rule.name),
                When::Arg0In(values) | When::Arg0NotIn(values) => {
                    assert!(values.iter().all(|&v| v <= LOW_32), "{}", rule.name)
                }
            }
        }
    }

    #[test]
    fn oci_profile_names_every_rule_with_its_errno() {
        let profile = oci_profile();
        assert_eq!(profile["defaultAction"], "SCMP_ACT_ALLOW");
        let entries = profile["syscalls"].as_array().expect("syscalls");
        let errno_of = |name: &str| -> Vec<i64> {
            entries
                .iter()
                .filter(|e| e["names"].as_array().unwrap().iter().any(|n| n == name))
                .map(|e| {
                    assert_eq!(e["action"], "SCMP_ACT_ERRNO");
                    e["errnoRet"].as_i64().unwrap()
                })
                .collect()
        };
        for rule in RULES {
            let errnos = errno_of(rule.name);
            assert!(!errnos.is_empty(), "{} missing", rule.name);
            assert!(errnos.iter().all(|&e| e == 1), "{}", rule.name);
        }
        for name in ENOSYS_CALLS {
            assert_eq!(errno_of(name), vec![38]);
        }
    }

    /// The OCI entries for `name` as crun and runc read them, entries and
    /// same-index arguments OR'd: alternatives `arg0 & mask == value`
    /// (mask 0 for an entry without arguments).
    fn oci_alternatives_of(profile: &Value, name: &str) -> Vec<(u64, u64)> {
        let entries = profile["syscalls"].as_array().unwrap().iter();
        let mine = entries.filter(|e| e["names"][0] == name);
        mine.flat_map(|e| match e.get("args") {
            None => vec![(0, 0)],
            Some(args) => args
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    assert_eq!(a["index"], 0);
                    assert_eq!(a["op"], "SCMP_CMP_MASKED_EQ");
                    (
                        a["value"].as_u64().unwrap(),
                        a["valueTwo"].as_u64().unwrap(),
                    )
                })
                .collect(),
        })
        .collect()
    }

    #[test]
    fn oci_conditions_deny_exactly_what_the_rules_deny() {
        let profile = oci_profile();
        let mut samples: Vec<u64> = vec![0, 1, u64::MAX, 1 << 32, (1 << 32) | 40];
        for rule in RULES {
            let values: &[u64] = match rule.when {
                When::Always => &[],
                When::Arg0AnyBit(_) => &[0, 0x11, 0x7E02_0000, 0x8000_0000],
                When::Arg0In(v) | When::Arg0NotIn(v) => v,
            };
            for &v in values {
                samples.extend([
                    v,
                    v ^ 1,
                    v.wrapping_add(1),
                    v.wrapping_sub(1),
                    v | (7 << 32),
                ]);
                samples.extend((0..32).map(|bit| v ^ (1 << bit)));
            }
        }
        samples.extend((0..32).map(|bit| 1u64 << bit));
        let mut x = 0x9E37_79B9_7F4A_7C15u64; // xorshift, for values off the patterns
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x);
        }
        for rule in RULES {
            let alternatives = oci_alternatives_of(&profile, rule.name);
            for &arg0 in &samples {
                assert_eq!(
                    alternatives
                        .iter()
                        .any(|&(mask, value)| arg0 & mask == value),
                    rule.when.denies(arg0),
                    "{} with arg0 {arg0:#x}",
                    rule.name
                );
            }
        }
    }

    #[test]
    fn a_program_too_long_for_a_sock_fprog_is_refused_before_the_kernel() {
        let nop = seccompiler::sock_filter {
            code: 0,
            jt: 0,
            jf: 0,
            k: 0,
        };
        assert_eq!(install(&[vec![nop; 70_000]]), Err(libc::EINVAL));
    }

    fn is_root() -> bool {
        // SAFETY: geteuid has no arguments and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// A raw system call with integer arguments: (return value, errno).
    fn sys(nr: c_long, args: [c_long; 5]) -> (c_long, i32) {
        // SAFETY: callers pass integers and null pointers only, so the
        // kernel writes nothing into this process's memory.
        let rc = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4]) };
        let errno = if rc == -1 {
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
        } else {
            0
        };
        (rc, errno)
    }

    /// Waits for `pid` with raw wait4; its wait status, or -1.
    fn reap(pid: c_long) -> i32 {
        let mut status: i32 = -1;
        // SAFETY: `status` is a live i32 the kernel writes the status to.
        let rc = unsafe { libc::syscall(libc::SYS_wait4, pid, &mut status as *mut i32, 0, 0) };
        if rc == pid {
            status
        } else {
            -1
        }
    }

    /// `clone(flags)` like fork: the new child exits at once, this one
    /// reaps it. Returns clone's (return value, errno).
    fn fork_with(flags: c_long) -> (c_long, i32) {
        let r = sys(libc::SYS_clone, [flags, 0, 0, 0, 0]);
        if r.0 == 0 {
            // SAFETY: _exit ends this grandchild without running anything.
            unsafe { libc::_exit(0) }
        }
        if r.0 > 0 && reap(r.0) != 0 {
            return (r.0, -1);
        }
        r
    }

    /// The checks made in the filtered child, in order; the exit status
    /// names the first that failed.
    #[repr(u8)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Step {
        AllPassed,
        Install,
        InitModule,
        Keyctl,
        UnshareUser,
        CloneNewNet,
        PlainFork,
        Clone3,
        Getpid,
        PersonalityQuery,
        PersonalityNoRandomize,
        PersonalityNoRandomizeHighBits,
        SocketVsock,
        SocketVsockHighBits,
        X32InitModule,
        OpenTreeAttr,
    }

    const STEPS: [Step; 16] = [
        Step::AllPassed,
        Step::Install,
        Step::InitModule,
        Step::Keyctl,
        Step::UnshareUser,
        Step::CloneNewNet,
        Step::PlainFork,
        Step::Clone3,
        Step::Getpid,
        Step::PersonalityQuery,
        Step::PersonalityNoRandomize,
        Step::PersonalityNoRandomizeHighBits,
        Step::SocketVsock,
        Step::SocketVsockHighBits,
        Step::X32InitModule,
        Step::OpenTreeAttr,
    ];

    /// Or'd into the exit status when x32 init_module got ENOSYS, not EPERM.
    const X32_ENOSYS: u8 = 0x40;

    /// Runs in the forked child: raw system calls only, no allocation.
    fn filtered_child(programs: &[BpfProgram]) -> u8 {
        use libc::{SYS_init_module, SYS_keyctl, SYS_personality, SYS_socket, EPERM};
        let refused = |r: (c_long, i32), errno: i32| r == (-1, errno);
        let pid = sys(libc::SYS_getpid, [0; 5]).0;
        if install(programs).is_err() {
            return Step::Install as u8;
        }
        // A null image: EFAULT or EINVAL if it ever reached the kernel.
        if !refused(sys(SYS_init_module, [0; 5]), EPERM) {
            return Step::InitModule as u8;
        }
        // open_tree_attr(-1, NULL, ...): EBADF or EFAULT if it ever reached
        // the kernel (and ENOSYS before Linux 6.15), EPERM from the filter.
        if !refused(sys(467, [-1, 0, 0, 0, 0]), EPERM) {
            return Step::OpenTreeAttr as u8;
        }
        // KEYCTL_GET_KEYRING_ID (0) of KEY_SPEC_SESSION_KEYRING (-3), no create.
        if !refused(sys(SYS_keyctl, [0, -3, 0, 0, 0]), EPERM) {
            return Step::Keyctl as u8;
        }
        if !refused(
            sys(
                libc::SYS_unshare,
                [libc::CLONE_NEWUSER as c_long, 0, 0, 0, 0],
            ),
            EPERM,
        ) {
            return Step::UnshareUser as u8;
        }
        let sigchld = libc::SIGCHLD as c_long;
        if !refused(fork_with(libc::CLONE_NEWNET as c_long | sigchld), EPERM) {
            return Step::CloneNewNet as u8;
        }
        if fork_with(sigchld).0 <= 0 {
            return Step::PlainFork as u8;
        }
        // Null args: EINVAL if it ever reached the kernel.
        if !refused(sys(libc::SYS_clone3, [0; 5]), libc::ENOSYS) {
            return Step::Clone3 as u8;
        }
        if sys(libc::SYS_getpid, [0; 5]).0 != pid {
            return Step::Getpid as u8;
        }
        if sys(SYS_personality, [0xffff_ffff, 0, 0, 0, 0]).0 < 0 {
            return Step::PersonalityQuery as u8;
        }
        let no_randomize = libc::ADDR_NO_RANDOMIZE as c_long;
        if !refused(sys(SYS_personality, [no_randomize, 0, 0, 0, 0]), EPERM) {
            return Step::PersonalityNoRandomize as u8;
        }
        // The kernel reads an unsigned int: the upper half must not matter.
        if !refused(
            sys(SYS_personality, [(1 << 32) | no_randomize, 0, 0, 0, 0]),
            EPERM,
        ) {
            return Step::PersonalityNoRandomizeHighBits as u8;
        }
        for (family, step) in [
            (AF_VSOCK as c_long, Step::SocketVsock),
            ((1 << 32) | AF_VSOCK as c_long, Step::SocketVsockHighBits),
        ] {
            let r = sys(SYS_socket, [family, libc::SOCK_STREAM as c_long, 0, 0, 0]);
            if r.0 >= 0 {
                sys(libc::SYS_close, [r.0, 0, 0, 0, 0]);
            }
            if !refused(r, EPERM) {
                return step as u8;
            }
        }
        #[cfg(target_arch = "x86_64")]
        match sys(X32_SYSCALL_BIT | SYS_init_module, [0; 5]) {
            (-1, EPERM) => {}
            (-1, libc::ENOSYS) => return X32_ENOSYS,
            _ => return Step::X32InitModule as u8,
        }
        Step::AllPassed as u8
    }

    #[test]
    fn a_filtered_process_is_refused_the_denied_calls_and_keeps_the_rest() {
        if !is_root() {
            eprintln!("SKIPPED a_filtered_process_is_refused_the_denied_calls_and_keeps_the_rest: needs root");
            return;
        }
        let programs = programs().expect("compile the zone filter");
        // SAFETY: the child runs only raw system calls, then _exit; it
        // touches no lock another thread of the test harness may hold.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let code = filtered_child(&programs);
            // SAFETY: ends the forked child without unwinding or atexit.
            unsafe { libc::_exit(i32::from(code)) }
        }
        let status = reap(c_long::from(pid));
        assert!(libc::WIFEXITED(status), "child wait status {status:#x}");
        let code = libc::WEXITSTATUS(status) as u8;
        let failed = STEPS.iter().find(|&&s| s as u8 == code & !X32_ENOSYS);
        assert_eq!(failed, Some(&Step::AllPassed), "exit status {code}");
        if cfg!(target_arch = "x86_64") {
            let x32 = if code & X32_ENOSYS != 0 {
                "ENOSYS"
            } else {
                "EPERM"
            };
            eprintln!("x32 init_module in the filtered child: {x32}");
        }
    }

    #[test]
    fn calls_numbered_from_the_threshold_up_answer_enosys() {
        if !is_root() {
            eprintln!("SKIPPED calls_numbered_from_the_threshold_up_answer_enosys: needs root");
            return;
        }
        // No call this kernel has is numbered FIRST_UNKNOWN or above, so
        // the same program is proven with the threshold at getppid:
        // getppid and everything above it answer ENOSYS, getpid (below) runs.
        const { assert!(libc::SYS_getpid < libc::SYS_getppid) };
        let program = vec![unknown_from(libc::SYS_getppid as u32)];
        // SAFETY: the child runs only raw system calls, then _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let code = if install(&program).is_err() {
                1
            } else if sys(libc::SYS_getppid, [0; 5]) != (-1, libc::ENOSYS) {
                2
            } else if sys(libc::SYS_getpid, [0; 5]).0 <= 0 {
                3
            } else if sys(libc::SYS_getppid + 100, [0; 5]) != (-1, libc::ENOSYS) {
                4
            } else {
                0
            };
            // SAFETY: ends the forked child without unwinding or atexit.
            unsafe { libc::_exit(code) }
        }
        let status = reap(c_long::from(pid));
        assert!(libc::WIFEXITED(status), "child wait status {status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0, "step that failed");
        assert_eq!(unknown_program()[1].k, FIRST_UNKNOWN);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn an_i386_system_call_kills_the_filtered_process() {
        if !is_root() {
            eprintln!("SKIPPED an_i386_system_call_kills_the_filtered_process: needs root");
            return;
        }
        let programs = programs().expect("compile the zone filter");
        // SAFETY: as in the test above: raw system calls, then _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: prlimit64 on this process, reading the rlimit above.
            unsafe {
                libc::syscall(
                    libc::SYS_prlimit64,
                    0,
                    libc::RLIMIT_CORE,
                    &no_core as *const libc::rlimit,
                    0,
                )
            };
            if install(&programs).is_err() {
                // SAFETY: ends the forked child.
                unsafe { libc::_exit(1) }
            }
            // SAFETY: i386 getpid (20) through the compat entry; it takes
            // no memory argument, and the registers it may clobber are
            // declared.
            unsafe {
                std::arch::asm!(
                    "int 0x80",
                    inlateout("eax") 20u32 => _,
                    out("r8") _, out("r9") _, out("r10") _, out("r11") _,
                    options(nostack),
                )
            };
            // SAFETY: ends the forked child.
            unsafe { libc::_exit(2) }
        }
        let status = reap(c_long::from(pid));
        if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV {
            eprintln!("SKIPPED an_i386_system_call_kills_the_filtered_process: no IA32 emulation");
            return;
        }
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
            "child wait status {status:#x}"
        );
    }
}
