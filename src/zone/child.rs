//! The child half of a zone's boot: what runs between `clone` and INIT's
//! `execve`, as PID 1 of the zone's new namespaces.
//!
//! It runs in a copy of a possibly multi-threaded process, so it makes only
//! async-signal-safe system calls on memory prepared before the clone (the
//! [`Plan`]): no allocation, no locks, no panics. Each step that can fail
//! has a [`Step`]; a failure writes the step, the item it was working on
//! and the errno to the report pipe and exits, and the parent turns that
//! back into an error that names the step.
//!
//! Paths below the zone's root are only ever opened with `openat2` and
//! `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS` from a descriptor of the root,
//! and mounted by descriptor (`/proc/self/fd/N`, or `move_mount`), so
//! nothing a tenant planted in the root can redirect a mount onto the host.

use std::ffi::{c_char, CStr};
use std::os::fd::AsRawFd;

use super::run::Plan;

/// The steps of the child, in order. The parent reads a failed step back
/// from its number.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    WaitForParent,
    CgroupNamespace,
    PrivateMounts,
    BindRoot,
    OpenRoot,
    MountSource,
    MountTarget,
    BindMount,
    MountProc,
    MountSys,
    MaskPath,
    ReadOnlyPath,
    BecomeRoot,
    MountDev,
    MakeDevice,
    MountDevpts,
    MountShm,
    DevLinks,
    PivotRoot,
    DetachOldRoot,
    SetHostname,
    NewSession,
    SessionKeyring,
    Console,
    ResetSignals,
    DropBounding,
    Seccomp,
    SetCapabilities,
    CloseFds,
    FindInit,
    WaitToExec,
    ExecInit,
}

impl Step {
    const ALL: [Step; 32] = [
        Step::WaitForParent,
        Step::CgroupNamespace,
        Step::PrivateMounts,
        Step::BindRoot,
        Step::OpenRoot,
        Step::MountSource,
        Step::MountTarget,
        Step::BindMount,
        Step::MountProc,
        Step::MountSys,
        Step::MaskPath,
        Step::ReadOnlyPath,
        Step::BecomeRoot,
        Step::MountDev,
        Step::MakeDevice,
        Step::MountDevpts,
        Step::MountShm,
        Step::DevLinks,
        Step::PivotRoot,
        Step::DetachOldRoot,
        Step::SetHostname,
        Step::NewSession,
        Step::SessionKeyring,
        Step::Console,
        Step::ResetSignals,
        Step::DropBounding,
        Step::Seccomp,
        Step::SetCapabilities,
        Step::CloseFds,
        Step::FindInit,
        Step::WaitToExec,
        Step::ExecInit,
    ];

    /// The step a reported byte names.
    pub(crate) fn from_u8(b: u8) -> Option<Step> {
        Step::ALL.get(b as usize).copied()
    }

    /// What the step does, for error messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Step::WaitForParent => "wait for the parent",
            Step::CgroupNamespace => "enter a new cgroup namespace",
            Step::PrivateMounts => "make mounts private",
            Step::BindRoot => "bind the root",
            Step::OpenRoot => "open the root",
            Step::MountSource => "open mount source",
            Step::MountTarget => "open mount target in the zone's root",
            Step::BindMount => "bind mount",
            Step::MountProc => "mount /proc",
            Step::MountSys => "mount /sys read-only",
            Step::MaskPath => "mask",
            Step::ReadOnlyPath => "make read-only",
            Step::BecomeRoot => "become the user namespace's root",
            Step::MountDev => "mount /dev",
            Step::MakeDevice => "make device",
            Step::MountDevpts => "mount /dev/pts",
            Step::MountShm => "mount /dev/shm",
            Step::DevLinks => "link /dev/fd, stdin, stdout, stderr, ptmx",
            Step::PivotRoot => "pivot_root",
            Step::DetachOldRoot => "detach the old root",
            Step::SetHostname => "set the hostname",
            Step::NewSession => "start a new session",
            Step::SessionKeyring => "join a new session keyring",
            Step::Console => "connect the console",
            Step::ResetSignals => "reset signal dispositions",
            Step::DropBounding => "drop capabilities from the bounding set",
            Step::Seccomp => "install the seccomp filter",
            Step::SetCapabilities => "set capabilities",
            Step::CloseFds => "close inherited file descriptors",
            Step::FindInit => "find INIT",
            Step::WaitToExec => "wait for the links",
            Step::ExecInit => "exec INIT",
        }
    }
}

/// `/proc` and `/sys` paths hidden from the zone (crun's default spec's
/// `maskedPaths`): a directory gets an empty read-only tmpfs, a file
/// `/dev/null`.
pub(crate) const MASKED: &[&CStr] = &[
    c"proc/acpi",
    c"proc/asound",
    c"proc/kcore",
    c"proc/keys",
    c"proc/latency_stats",
    c"proc/timer_list",
    c"proc/timer_stats",
    c"proc/sched_debug",
    c"proc/scsi",
    // Host physical-page and memory-cgroup maps: side channels (root-only
    // on the host, so readable by a zone's root without a user namespace).
    c"proc/kpagecount",
    c"proc/kpageflags",
    c"proc/kpagecgroup",
    c"sys/firmware",
    c"sys/devices/virtual/powercap",
];

/// `/proc` paths the zone may read but not write (crun's `readonlyPaths`).
pub(crate) const READ_ONLY: &[&CStr] = &[
    c"proc/bus",
    c"proc/fs",
    c"proc/irq",
    c"proc/sys",
    c"proc/sysrq-trigger",
];

/// The zone's devices: its name in `/dev`, and the host's node it is
/// bound from (so it works in a user namespace too, where `mknod` cannot).
pub(crate) const DEVICES: &[(&CStr, &CStr)] = &[
    (c"null", c"/dev/null"),
    (c"zero", c"/dev/zero"),
    (c"full", c"/dev/full"),
    (c"random", c"/dev/random"),
    (c"urandom", c"/dev/urandom"),
    (c"tty", c"/dev/tty"),
];

/// Symbolic links in the zone's `/dev`: (name, target).
const DEV_LINKS: &[(&CStr, &CStr)] = &[
    (c"fd", c"/proc/self/fd"),
    (c"stdin", c"/proc/self/fd/0"),
    (c"stdout", c"/proc/self/fd/1"),
    (c"stderr", c"/proc/self/fd/2"),
    (c"ptmx", c"pts/ptmx"),
];

/// Why a step failed: the step, the item (mount, path or device number)
/// and the errno. Sent to the parent as 6 bytes.
pub(crate) struct Failure {
    pub step: Step,
    pub item: u8,
    pub errno: i32,
}

impl Failure {
    pub(crate) fn encode(&self) -> [u8; 6] {
        let e = self.errno.to_le_bytes();
        [self.step as u8, self.item, e[0], e[1], e[2], e[3]]
    }

    pub(crate) fn decode(b: [u8; 6]) -> Option<Failure> {
        Some(Failure {
            step: Step::from_u8(b[0])?,
            item: b[1],
            errno: i32::from_le_bytes([b[2], b[3], b[4], b[5]]),
        })
    }
}

type Res = Result<(), (Step, u8)>;

fn errno() -> i32 {
    // SAFETY: errno is thread-local and always readable.
    unsafe { *libc::__errno_location() }
}

fn check(r: libc::c_long, step: Step, item: u8) -> Result<i32, (Step, u8)> {
    if r < 0 {
        Err((step, item))
    } else {
        Ok(r as i32)
    }
}

/// "/proc/self/fd/N" for `fd`, built without allocating.
struct FdPath([u8; 32]);

impl FdPath {
    fn new(fd: i32) -> FdPath {
        let mut b = [0u8; 32];
        let prefix = b"/proc/self/fd/";
        b[..prefix.len()].copy_from_slice(prefix);
        let mut digits = [0u8; 10];
        let (mut n, mut i) = (fd as u32, 0);
        loop {
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            i += 1;
            if n == 0 {
                break;
            }
        }
        for k in 0..i {
            b[prefix.len() + k] = digits[i - 1 - k];
        }
        FdPath(b)
    }

    fn ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
}

/// An fd the child closes when done with it.
struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the child opened this fd and closes it once.
        unsafe { libc::close(self.0) };
    }
}

/// `openat2` as a raw system call: a new fd, or -1 with errno set.
fn openat2_raw(dir: i32, path: &CStr, flags: i32, resolve: u64) -> libc::c_long {
    // SAFETY: open_how is plain data; all zeroes is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = resolve;
    // SAFETY: a NUL-terminated path and an open_how on the stack, its size passed.
    unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    }
}

/// Opens `path` below `root` without leaving it or following a symlink.
fn open_in(root: i32, path: &CStr, flags: i32, step: Step, item: u8) -> Result<Fd, (Step, u8)> {
    let resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    check(openat2_raw(root, path, flags, resolve), step, item).map(Fd)
}

fn mount(
    src: *const c_char,
    dst: &FdPath,
    fstype: *const c_char,
    flags: libc::c_ulong,
    data: &CStr,
) -> i64 {
    // SAFETY: every pointer is NUL-terminated or NULL, as mount(2) allows.
    unsafe { libc::mount(src, dst.ptr(), fstype, flags, data.as_ptr().cast()) as i64 }
}

/// A copy of the mount tree at `from` (recursively), with `attrs` set on
/// every mount of it, attached onto `onto`.
fn bind_by_fd(from: i32, onto: i32, attrs: u64, step: Step, item: u8) -> Res {
    // SAFETY: `from` is an open fd; AT_EMPTY_PATH names it. Returns a new fd.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            from,
            c"".as_ptr(),
            libc::OPEN_TREE_CLONE
                | libc::OPEN_TREE_CLOEXEC
                | libc::AT_EMPTY_PATH as u32
                | libc::AT_RECURSIVE as u32,
        )
    };
    let tree = Fd(check(tree, step, item)?);
    if attrs != 0 {
        let attr = libc::mount_attr {
            attr_set: attrs,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        // SAFETY: `tree` is a detached mount; `attr` lives on the stack, its size passed.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                tree.0,
                c"".as_ptr(),
                libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
                &attr as *const libc::mount_attr,
                std::mem::size_of::<libc::mount_attr>(),
            )
        };
        check(r, step, item)?;
    }
    // SAFETY: both fds are open; the empty paths name them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.0,
            c"".as_ptr(),
            onto,
            c"".as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check(r, step, item).map(|_| ())
}

/// Runs the child's steps and execs INIT; on failure reports to `report`
/// and exits 127. Never returns.
pub(crate) fn run(plan: &Plan, go: i32, report: i32) -> ! {
    let failed = match steps(plan, go, report) {
        Ok(()) => (Step::ExecInit, 0),
        Err(f) => f,
    };
    let msg = Failure {
        step: failed.0,
        item: failed.1,
        errno: errno(),
    }
    .encode();
    // SAFETY: writing 6 bytes from the stack to our pipe, then exiting
    // without running any of the parent's atexit handlers.
    unsafe {
        libc::write(report, msg.as_ptr().cast(), msg.len());
        libc::_exit(127)
    }
}

fn steps(plan: &Plan, go: i32, report: i32) -> Res {
    let mut b = 0u8;
    // SAFETY: reading one byte into a stack variable.
    if unsafe { libc::read(go, (&mut b as *mut u8).cast(), 1) } != 1 {
        return Err((Step::WaitForParent, 0));
    }
    // SAFETY: a plain system call; the parent has put us in our cgroups.
    let r = unsafe { libc::unshare(libc::CLONE_NEWCGROUP) };
    check(r as i64, Step::CgroupNamespace, 0)?;
    let root = mount_root(plan)?;
    bind_mounts(plan, root.0)?;
    system_mounts(plan, root.0)?;
    if plan.userns {
        become_root()?;
    }
    make_dev(root.0)?;
    pivot(root.0)?;
    // SAFETY: hostname points to `len` bytes of the plan.
    let r = unsafe { libc::sethostname(plan.hostname.as_ptr().cast(), plan.hostname.len()) };
    check(r as i64, Step::SetHostname, 0)?;
    // A session of its own, without the caller's controlling terminal (a
    // zone opening /dev/tty would otherwise reach the operator's), and the
    // usual umask rather than the caller's.
    // SAFETY: plain system calls.
    let r = unsafe { libc::setsid() };
    check(r as i64, Step::NewSession, 0)?;
    // SAFETY: as above; umask cannot fail.
    unsafe { libc::umask(0o022) };
    // A session keyring of its own (KEYCTL_JOIN_SESSION_KEYRING with no
    // name), not the caller's, which every zone would otherwise share.
    // SAFETY: keyctl with integer arguments and a NULL name.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, 1, std::ptr::null::<c_char>()) };
    if r < 0 && errno() != libc::ENOSYS {
        return Err((Step::SessionKeyring, 0));
    }
    console(plan)?;
    reset_signals()?;
    drop_privileges(plan)?;
    // SAFETY: marks every fd from 3 up close-on-exec: the report pipe still
    // works until the exec, and nothing of the caller's reaches INIT.
    let r = unsafe { libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) };
    check(r as i64, Step::CloseFds, 0)?;
    // Everything that can fail has been done but the exec: check that it
    // has something to exec, then tell the parent, which hands the links
    // over only now, and wait for it.
    // SAFETY: a NUL-terminated path.
    let r = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            plan.init.as_ptr(),
            libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    check(r as i64, Step::FindInit, 0)?;
    let ready = READY;
    // SAFETY: writing 6 bytes from the stack to our pipe.
    if unsafe { libc::write(report, ready.as_ptr().cast(), ready.len()) } != 6 {
        return Err((Step::WaitToExec, 0));
    }
    // SAFETY: reading one byte into a stack variable.
    if unsafe { libc::read(go, (&mut b as *mut u8).cast(), 1) } != 1 {
        return Err((Step::WaitToExec, 1));
    }
    exec(plan)
}

/// What the child writes when only the exec is left: not a [`Failure`]
/// (no step has number 0xff).
pub(crate) const READY: [u8; 6] = [0xff, 0, 0, 0, 0, 0];

fn mount_root(plan: &Plan) -> Result<Fd, (Step, u8)> {
    let null = std::ptr::null();
    // SAFETY: NULL or NUL-terminated pointers, as mount(2) takes them.
    let r = unsafe {
        libc::mount(
            null,
            c"/".as_ptr(),
            null,
            libc::MS_REC | libc::MS_PRIVATE,
            null.cast(),
        )
    };
    check(r as i64, Step::PrivateMounts, 0)?;
    let r = unsafe {
        // SAFETY: as above; the root path is the plan's.
        libc::mount(
            plan.root.as_ptr(),
            plan.root.as_ptr(),
            null,
            libc::MS_BIND | libc::MS_REC,
            null.cast(),
        )
    };
    check(r as i64, Step::BindRoot, 0)?;
    // SAFETY: a NUL-terminated path; a new fd or -1.
    let fd = unsafe {
        libc::open(
            plan.root.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    check(fd as i64, Step::OpenRoot, 0).map(Fd)
}

fn bind_mounts(plan: &Plan, root: i32) -> Res {
    for (i, m) in plan.binds.iter().enumerate() {
        let i = i as u8;
        // No symbolic link anywhere in the source's path unless allowed.
        let resolve = if m.follow {
            0
        } else {
            libc::RESOLVE_NO_SYMLINKS
        };
        let src = openat2_raw(
            libc::AT_FDCWD,
            &m.source,
            libc::O_PATH | libc::O_DIRECTORY,
            resolve,
        );
        let src = Fd(check(src as i64, Step::MountSource, i)?);
        let dst = open_in(
            root,
            &m.target,
            libc::O_PATH | libc::O_DIRECTORY,
            Step::MountTarget,
            i,
        )?;
        let mut attrs = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
        if m.readonly {
            attrs |= libc::MOUNT_ATTR_RDONLY;
        }
        bind_by_fd(src.0, dst.0, attrs, Step::BindMount, i)?;
    }
    Ok(())
}

fn system_mounts(plan: &Plan, root: i32) -> Res {
    let nosuid = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let p = open_in(
        root,
        c"proc",
        libc::O_PATH | libc::O_DIRECTORY,
        Step::MountProc,
        0,
    )?;
    let r = mount(
        c"proc".as_ptr(),
        &FdPath::new(p.0),
        c"proc".as_ptr(),
        nosuid,
        c"",
    );
    check(r, Step::MountProc, 0)?;
    let s = open_in(
        root,
        c"sys",
        libc::O_PATH | libc::O_DIRECTORY,
        Step::MountSys,
        0,
    )?;
    let r = mount(
        c"sysfs".as_ptr(),
        &FdPath::new(s.0),
        c"sysfs".as_ptr(),
        nosuid | libc::MS_RDONLY,
        c"",
    );
    // In a user namespace the kernel may refuse a new sysfs; /sys then stays empty.
    if r < 0 && !(plan.userns && errno() == libc::EPERM) {
        return Err((Step::MountSys, 0));
    }
    for (i, path) in MASKED.iter().enumerate() {
        mask(root, path, i as u8)?;
    }
    for (i, path) in READ_ONLY.iter().enumerate() {
        let fd = match open_in(root, path, libc::O_PATH, Step::ReadOnlyPath, i as u8) {
            Err(_) if errno() == libc::ENOENT => continue,
            r => r?,
        };
        bind_by_fd(
            fd.0,
            fd.0,
            libc::MOUNT_ATTR_RDONLY
                | libc::MOUNT_ATTR_NOSUID
                | libc::MOUNT_ATTR_NODEV
                | libc::MOUNT_ATTR_NOEXEC,
            Step::ReadOnlyPath,
            i as u8,
        )?;
    }
    Ok(())
}

fn mask(root: i32, path: &CStr, i: u8) -> Res {
    let fd = match open_in(root, path, libc::O_PATH, Step::MaskPath, i) {
        Err(_) if errno() == libc::ENOENT => return Ok(()),
        r => r?,
    };
    // SAFETY: stat is plain data; all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` a writable stat.
    let r = unsafe { libc::fstat(fd.0, &mut st) };
    check(r as i64, Step::MaskPath, i)?;
    let at = FdPath::new(fd.0);
    let r = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        mount(
            c"tmpfs".as_ptr(),
            &at,
            c"tmpfs".as_ptr(),
            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            c"size=0",
        )
    } else {
        // Read-only: the host's /dev/null inode must not be chmodded through it.
        let null = host_node(c"/dev/null", Step::MaskPath, i)?;
        return bind_by_fd(null.0, fd.0, DEVICE_BIND, Step::MaskPath, i);
    };
    check(r, Step::MaskPath, i).map(|_| ())
}

/// How a host device node is bound into a zone: read-only (its inode is
/// the host's: no chmod, chown or touch through it), nosuid, noexec. Reads
/// and writes of the device itself still work.
const DEVICE_BIND: u64 =
    libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NOEXEC;

/// Opens a host device node (`O_PATH`), in this child's copy of the host's
/// mounts, before the pivot.
fn host_node(path: &CStr, step: Step, item: u8) -> Result<Fd, (Step, u8)> {
    // SAFETY: a NUL-terminated path; a new fd or -1.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    check(fd as i64, step, item).map(Fd)
}

/// In a user namespace: take uid and gid 0 of the namespace (the host's
/// mapped ids), with no supplementary groups. Capabilities in the
/// namespace are kept: the old ids were not the namespace's root.
fn become_root() -> Res {
    // SAFETY: plain system calls on integers.
    unsafe {
        check(libc::setresgid(0, 0, 0) as i64, Step::BecomeRoot, 0)?;
        check(
            libc::setgroups(0, std::ptr::null()) as i64,
            Step::BecomeRoot,
            1,
        )?;
        check(libc::setresuid(0, 0, 0) as i64, Step::BecomeRoot, 2)?;
    }
    Ok(())
}

fn make_dev(root: i32) -> Res {
    let d = open_in(
        root,
        c"dev",
        libc::O_PATH | libc::O_DIRECTORY,
        Step::MountDev,
        0,
    )?;
    let r = mount(
        c"tmpfs".as_ptr(),
        &FdPath::new(d.0),
        c"tmpfs".as_ptr(),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        c"mode=755,size=65536k",
    );
    check(r, Step::MountDev, 0)?;
    // The new tmpfs, not the directory under it.
    let dev = open_in(
        root,
        c"dev",
        libc::O_DIRECTORY | libc::O_RDONLY,
        Step::MountDev,
        1,
    )?;
    for (i, (name, host)) in DEVICES.iter().enumerate() {
        let i = i as u8;
        // SAFETY: `dev` is an open directory and `name` NUL-terminated.
        let f = unsafe {
            libc::openat(
                dev.0,
                name.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                0o666,
            )
        };
        drop(Fd(check(f as i64, Step::MakeDevice, i)?));
        // SAFETY: as above; O_PATH on the placeholder just made.
        let at = unsafe {
            libc::openat(
                dev.0,
                name.as_ptr(),
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        let at = Fd(check(at as i64, Step::MakeDevice, i)?);
        let node = host_node(host, Step::MakeDevice, i)?;
        bind_by_fd(node.0, at.0, DEVICE_BIND, Step::MakeDevice, i)?;
    }
    // SAFETY: plain *at calls on our open directory with NUL-terminated names.
    unsafe {
        check(
            libc::mkdirat(dev.0, c"pts".as_ptr(), 0o755) as i64,
            Step::MountDevpts,
            0,
        )?;
        check(
            libc::mkdirat(dev.0, c"shm".as_ptr(), 0o1777) as i64,
            Step::MountShm,
            0,
        )?;
    }
    let pts = open_in(
        root,
        c"dev/pts",
        libc::O_PATH | libc::O_DIRECTORY,
        Step::MountDevpts,
        1,
    )?;
    let r = mount(
        c"devpts".as_ptr(),
        &FdPath::new(pts.0),
        c"devpts".as_ptr(),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        c"newinstance,ptmxmode=0666,mode=0620",
    );
    check(r, Step::MountDevpts, 2)?;
    let shm = open_in(
        root,
        c"dev/shm",
        libc::O_PATH | libc::O_DIRECTORY,
        Step::MountShm,
        1,
    )?;
    let r = mount(
        c"shm".as_ptr(),
        &FdPath::new(shm.0),
        c"tmpfs".as_ptr(),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        c"mode=1777,size=65536k",
    );
    check(r, Step::MountShm, 2)?;
    for (i, (name, target)) in DEV_LINKS.iter().enumerate() {
        // SAFETY: NUL-terminated strings and our open directory.
        let r = unsafe { libc::symlinkat(target.as_ptr(), dev.0, name.as_ptr()) };
        check(r as i64, Step::DevLinks, i as u8)?;
    }
    Ok(())
}

fn pivot(root: i32) -> Res {
    // SAFETY: plain system calls; "." is the zone's root after the fchdir.
    unsafe {
        check(libc::fchdir(root) as i64, Step::PivotRoot, 0)?;
        check(
            libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()),
            Step::PivotRoot,
            1,
        )?;
        check(
            libc::umount2(c".".as_ptr(), libc::MNT_DETACH) as i64,
            Step::DetachOldRoot,
            0,
        )?;
        check(libc::chdir(c"/".as_ptr()) as i64, Step::DetachOldRoot, 1)?;
    }
    Ok(())
}

/// stdin the zone's own `/dev/null` (opened now, after the pivot: its
/// read-only bind, not a host file the zone could chmod); stdout and stderr
/// the console's pipes, or that `/dev/null` too.
fn console(plan: &Plan) -> Res {
    // SAFETY: a NUL-terminated path; a new fd or -1.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    let null = Fd(check(null as i64, Step::Console, 0)?);
    let (out, err) = match &plan.console.zone {
        Some((o, e)) => (o.as_raw_fd(), e.as_raw_fd()),
        None => (null.0, null.0),
    };
    // SAFETY: dup2 onto 0, 1 and 2 of fds this process holds open.
    unsafe {
        check(libc::dup2(null.0, 0) as i64, Step::Console, 0)?;
        check(libc::dup2(out, 1) as i64, Step::Console, 1)?;
        check(libc::dup2(err, 2) as i64, Step::Console, 2)?;
    }
    if null.0 <= 2 {
        // The caller had that stdio fd closed, so /dev/null took its
        // number: it is one of INIT's now, not ours to close.
        std::mem::forget(null);
    }
    Ok(())
}

/// Every signal back to its default action and none blocked: the caller's
/// ignored signals (the Rust runtime ignores SIGPIPE) survive `execve`
/// otherwise.
fn reset_signals() -> Res {
    // SAFETY: sigaction and sigprocmask with structures on the stack.
    unsafe {
        // The kernel's struct sigaction, all zeroes: SIG_DFL, no flags, no
        // mask, whatever the architecture's field order. The raw call,
        // because the C library refuses its reserved signals (32, 33),
        // which a caller may still have ignored.
        let dfl = [0u64; 4];
        for sig in 1..=64 {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let r = libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                dfl.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            );
            check(r, Step::ResetSignals, sig as u8)?;
        }
        // The raw call: the C library's sigprocmask keeps its own reserved
        // signals (32, 33) blocked if they were.
        let none: u64 = 0;
        let r = libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &none as *const u64,
            std::ptr::null_mut::<u64>(),
            8usize,
        );
        check(r, Step::ResetSignals, 0)?;
    }
    Ok(())
}

/// `_LINUX_CAPABILITY_VERSION_3` (linux/capability.h).
const CAP_V3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Bounding set down to `limitpriv`, ambient set cleared, the seccomp
/// filter installed (while CAP_SYS_ADMIN still allows it without
/// no_new_privs), then effective and permitted set to `limitpriv` and
/// inheritable emptied (as Docker does since CVE-2022-24769: with it set,
/// a non-root user in the zone would gain capabilities from any program
/// carrying inheritable file capabilities).
fn drop_privileges(plan: &Plan) -> Res {
    for cap in 0..=plan.last_cap {
        if plan.keep_caps & (1u64 << cap) == 0 {
            // SAFETY: a plain prctl on integers.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            check(r as i64, Step::DropBounding, cap as u8)?;
        }
    }
    // SAFETY: as above.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    check(r as i64, Step::DropBounding, 255)?;
    if let Err(e) = super::seccomp::install(&plan.seccomp) {
        // SAFETY: errno is thread-local; set it so the report carries it.
        unsafe { *libc::__errno_location() = e };
        return Err((Step::Seccomp, 0));
    }
    let (lo, hi) = (plan.keep_caps as u32, (plan.keep_caps >> 32) as u32);
    let header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: lo,
            permitted: lo,
            inheritable: 0,
        },
        CapData {
            effective: hi,
            permitted: hi,
            inheritable: 0,
        },
    ];
    // SAFETY: capset with a v3 header and the two data words it expects.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    check(r, Step::SetCapabilities, 0).map(|_| ())
}

fn exec(plan: &Plan) -> Res {
    // ETXTBSY: another process forked while INIT's file was open for
    // writing, and still holds that fd until it execs. Wait it out.
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 10_000_000,
    };
    for _ in 0..300 {
        // SAFETY: NULL-terminated arrays of NUL-terminated strings, all in the plan.
        unsafe {
            libc::execve(
                plan.init.as_ptr(),
                plan.argv_ptrs.as_ptr(),
                plan.envp.as_ptr(),
            )
        };
        if errno() != libc::ETXTBSY {
            break;
        }
        // SAFETY: a timespec on the stack.
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
    }
    Err((Step::ExecInit, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_through_their_byte() {
        for (i, s) in Step::ALL.iter().enumerate() {
            assert_eq!(*s as u8 as usize, i);
            assert_eq!(Step::from_u8(i as u8), Some(*s));
        }
        assert_eq!(Step::from_u8(Step::ALL.len() as u8), None);
        let f = Failure {
            step: Step::BindMount,
            item: 3,
            errno: libc::ELOOP,
        };
        let back = Failure::decode(f.encode()).unwrap();
        assert_eq!(
            (back.step, back.item, back.errno),
            (Step::BindMount, 3, libc::ELOOP)
        );
    }

    #[test]
    fn fd_paths_are_written_without_allocating() {
        let p = FdPath::new(1234);
        // SAFETY: FdPath is NUL-terminated within its buffer.
        let s = unsafe { CStr::from_ptr(p.ptr()) };
        assert_eq!(s.to_str().unwrap(), "/proc/self/fd/1234");
        let z = FdPath::new(0);
        // SAFETY: as above.
        let s = unsafe { CStr::from_ptr(z.ptr()) };
        assert_eq!(s.to_str().unwrap(), "/proc/self/fd/0");
    }
}
