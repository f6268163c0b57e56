//! Running a zone on Linux, the parent's half: a [`Plan`] prepared before
//! the clone (mount points made inside the root without following links,
//! console opened, seccomp programs built, argv and environment), the
//! clone into new pid, mount, uts, ipc and net namespaces (and a user
//! namespace, opt-in), and what the parent does before it lets the child
//! go on: write the id maps, put it in its cgroups, hand over its links.
//! The child's half is in `child.rs`. INIT is tracked by pid and start
//! time so that a reused PID is never mistaken for it.
//!
//! Written directly on `libc` rather than youki's `libcontainer`: the OCI
//! runtime's bundle/spec machinery would wrap what hull does without adding
//! anything it uses, and the child half must make only async-signal-safe
//! system calls, which is easiest to see when they are written out.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::child::{self, Failure, Step};
use super::console::ConsolePlan;
use super::{caps, paths, seccomp, stat, InitProc, ZoneConfig};
use crate::error::{Error, ErrorKind, Op, OsResultExt, Result};
use crate::name::ZoneName;

/// Everything the child needs, prepared before the clone so that the child
/// allocates nothing.
pub(crate) struct Plan {
    /// `<zonepath>/root`.
    pub(super) root: CString,
    /// The zone's name, as its hostname.
    pub(super) hostname: Vec<u8>,
    /// Configured bind mounts.
    pub(super) binds: Vec<Bind>,
    /// Whether the zone has its own user namespace.
    pub(super) userns: bool,
    /// INIT's stdout and stderr, and their relay.
    pub(super) console: ConsolePlan,
    /// Capabilities kept (bit N = capability N).
    pub(super) keep_caps: u64,
    /// The kernel's highest capability number.
    pub(super) last_cap: u32,
    /// Seccomp programs to install (none when the zone turns it off).
    pub(super) seccomp: Vec<seccompiler::BpfProgram>,
    /// INIT's path.
    pub(super) init: CString,
    /// NULL-terminated pointers into `_argv` and `_env`.
    pub(super) argv_ptrs: Vec<*const libc::c_char>,
    pub(super) envp: Vec<*const libc::c_char>,
    _argv: Vec<CString>,
    _env: Vec<CString>,
}

/// One configured bind mount.
pub(super) struct Bind {
    /// Host path.
    pub(super) source: CString,
    /// Path in the zone, relative to its root.
    pub(super) target: CString,
    pub(super) readonly: bool,
    pub(super) follow: bool,
}

fn cstr(s: &[u8], what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::new(
            Op::BootZone,
            what,
            ErrorKind::InvalidArgument("contains a NUL byte".into()),
        )
    })
}

/// The PATH INIT starts with.
const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Plan {
    /// Prepares a boot of `cfg`: checks the mount sources, makes the
    /// mount points and hull's own `/proc`, `/dev` and `/sys` inside the
    /// root without following any link there, opens the console, builds
    /// the seccomp programs, argv and environment.
    pub(crate) fn new(cfg: &ZoneConfig) -> Result<Plan> {
        let name = &cfg.name;
        let object = |what: &str| format!("{name}: {what}");
        let root = cfg.zonepath.join("root");
        let owner = cfg.userns.map(|u| (u.host_uid, u.host_gid));
        check_zonepath(cfg)?;
        let rootfd = paths::open_dir(&root).os(Op::BootZone, object("root"))?;
        let refuse = |what: String, e: std::io::Error| match e.raw_os_error() {
            None if e.kind() != std::io::ErrorKind::NotFound => Error::new(
                Op::BootZone,
                object(&what),
                ErrorKind::InvalidArgument(e.to_string()),
            ),
            _ => Error::os(Op::BootZone, object(&what), e),
        };
        for dir in ["proc", "dev", "sys"] {
            paths::make_dirs_in(rootfd.as_fd(), Path::new(dir), owner)
                .map_err(|e| refuse(format!("/{dir}"), e))?;
        }
        let mut binds = Vec::new();
        for m in &cfg.mounts {
            check_source(m).map_err(|e| {
                let what = object(&format!("mount {}", m.source.display()));
                match e.raw_os_error() {
                    Some(libc::ELOOP) => Error::new(
                        Op::BootZone,
                        what,
                        ErrorKind::InvalidArgument(
                            "the source is or passes through a symbolic link (set follow_symlinks to allow it)".into(),
                        ),
                    ),
                    Some(libc::ENOTDIR) => Error::new(
                        Op::BootZone,
                        what,
                        ErrorKind::InvalidArgument("the source is not a directory".into()),
                    ),
                    _ => Error::os(Op::BootZone, what, e),
                }
            })?;
            if !m.readonly && cfg.userns.is_none() && !closed_to_others(&m.source) {
                return Err(Error::new(
                    Op::BootZone,
                    object(&format!("mount {}", m.source.display())),
                    ErrorKind::PermissionDenied,
                )
                .with_detail(
                    "a read-write source must lie below a directory of root's that no one else can enter (mode 0700), or the zone must have a user namespace: its root could leave setuid programs and file capabilities there for other host users",
                ));
            }
            let rel = m.target.strip_prefix("/").unwrap_or(&m.target);
            paths::make_dirs_in(rootfd.as_fd(), rel, owner)
                .map_err(|e| refuse(format!("mount target {}", m.target.display()), e))?;
            binds.push(Bind {
                source: cstr(m.source.as_os_str().as_bytes(), "mount source")?,
                target: cstr(rel.as_os_str().as_bytes(), "mount target")?,
                readonly: m.readonly,
                follow: m.follow_symlinks,
            });
        }
        let console = ConsolePlan::new(cfg)?;
        let keep_caps = match &cfg.limitpriv {
            Some(l) => caps::mask(l)?,
            None => caps::default_mask(),
        };
        let seccomp = if cfg.seccomp {
            seccomp::programs().map_err(|e| {
                Error::new(
                    Op::BootZone,
                    object("seccomp filter"),
                    ErrorKind::Unsupported("a seccomp filter for this architecture"),
                )
                .with_detail(&e.to_string())
            })?
        } else {
            Vec::new()
        };
        let argv: Vec<CString> = cfg
            .init
            .iter()
            .map(|a| cstr(a.as_bytes(), "init argument"))
            .collect::<Result<_>>()?;
        let mut env = vec![
            cstr(PATH.as_bytes(), "PATH")?,
            cstr(format!("HOSTNAME={name}").as_bytes(), "hostname")?,
        ];
        for (k, v) in &cfg.env {
            if k != "PATH" && k != "HOSTNAME" {
                env.push(cstr(format!("{k}={v}").as_bytes(), "env")?);
            } else {
                env.retain(|e| !e.as_bytes().starts_with(format!("{k}=").as_bytes()));
                env.push(cstr(format!("{k}={v}").as_bytes(), "env")?);
            }
        }
        let nul = |v: &[CString]| {
            v.iter()
                .map(|a| a.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        Ok(Plan {
            root: cstr(root.as_os_str().as_bytes(), "zone root")?,
            hostname: name.as_str().as_bytes().to_vec(),
            binds,
            userns: cfg.userns.is_some(),
            console,
            keep_caps,
            last_cap: caps::last_cap(),
            seccomp,
            init: cstr(cfg.init[0].as_bytes(), "init")?,
            argv_ptrs: nul(&argv),
            envp: nul(&env),
            _argv: argv,
            _env: env,
        })
    }
}

/// Checks a mount source as the child will open it: a directory, reached
/// through no symbolic link at all unless the mount allows links.
fn check_source(m: &super::FsMount) -> std::io::Result<()> {
    let resolve = if m.follow_symlinks {
        0
    } else {
        libc::RESOLVE_NO_SYMLINKS
    };
    paths::openat2(
        paths::cwd(),
        &m.source,
        libc::O_PATH | libc::O_DIRECTORY,
        resolve,
    )
    .map(drop)
}

/// Whether `p` or a directory above it is root's with no access for group
/// or others, so that no other host user can reach what lies below.
fn closed_to_others(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    p.ancestors().any(|a| {
        std::fs::symlink_metadata(a)
            .is_ok_and(|m| m.is_dir() && m.uid() == 0 && m.mode() & 0o077 == 0)
    })
}

/// Checks that a zonepath is root's and closed to everyone else: a zone's
/// root holds the tenant's setuid files and file capabilities, which other
/// host users must not be able to reach and run.
fn check_zonepath(cfg: &ZoneConfig) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let zp = &cfg.zonepath;
    let meta = std::fs::symlink_metadata(zp).map_err(|e| {
        Error::os(
            Op::BootZone,
            format!("{}: zonepath {}", cfg.name, zp.display()),
            e,
        )
    })?;
    if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o077 != 0 {
        return Err(Error::new(
            Op::BootZone,
            format!("{}: zonepath {}", cfg.name, zp.display()),
            ErrorKind::PermissionDenied,
        )
        .with_detail(&format!(
            "owned by uid {} with mode {:o}: a zonepath must be a directory of root's, mode 0700, so that no other host user reaches the zone's setuid files",
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    if let Some(a) = super::linux::swappable_ancestor(zp) {
        return Err(Error::new(
            Op::BootZone,
            format!("{}: zonepath {}", cfg.name, zp.display()),
            ErrorKind::PermissionDenied,
        )
        .with_detail(&format!(
            "{} can be written by users other than root (and is not sticky): one of them could swap the zonepath",
            a.display()
        )));
    }
    Ok(())
}

/// A child that is killed and reaped if dropped before it is handed over.
struct Child {
    pid: i32,
    /// From `CLONE_PIDFD`: signals reach this child or no one.
    pidfd: OwnedFd,
}

impl Child {
    fn into_pid(self) -> i32 {
        let pid = self.pid;
        // SAFETY: moving the pidfd out of a value that is then forgotten,
        // so it is dropped (closed) exactly once, here.
        drop(unsafe { std::ptr::read(&self.pidfd) });
        std::mem::forget(self);
        pid
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // SAFETY: our child, not yet reaped: signalled through its pidfd,
        // then reaped once here.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: a valid 2-int array; O_CLOEXEC so exec closes both ends.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just made and are owned by no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Starts INIT in new namespaces, inside `cgroups`: the child waits until
/// the parent has written its id maps (user namespace), put it in its
/// cgroups and run `before_start` (handing over links); then it confines
/// itself and execs INIT. Returns once INIT runs; on any failure the child
/// is killed and reaped and an error names the step that failed.
pub(crate) fn spawn(
    plan: &mut Plan,
    cfg: &ZoneConfig,
    cgroups: &[PathBuf],
    record: impl FnOnce(InitProc) -> Result<()>,
    hand_over: impl FnOnce(i32) -> Result<()>,
    hand_back: impl FnOnce(i32),
) -> Result<InitProc> {
    let name = &cfg.name;
    let object = |what: &str| format!("{name}: {what}");
    plan.console.start_relay(name.as_str(), cgroups)?;
    let (report_r, report_w) = pipe().os(Op::BootZone, object("pipe"))?;
    let (go_r, go_w) = pipe().os(Op::BootZone, object("pipe"))?;
    let mut flags = libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWNET
        | libc::SIGCHLD;
    if cfg.userns.is_some() {
        flags |= libc::CLONE_NEWUSER;
    }
    // SAFETY: clone without CLONE_VM and with a NULL stack behaves like
    // fork: the child gets a copy of this address space, in which it runs
    // `child::run` (async-signal-safe calls only) until execve or _exit.
    let mut pidfd: libc::c_int = -1;
    // SAFETY: as above; with CLONE_PIDFD the kernel stores the child's
    // pidfd in `pidfd` (the parent_tid argument).
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::CLONE_PIDFD) as libc::c_ulong,
            0usize,
            &mut pidfd as *mut libc::c_int,
            0usize,
            0usize,
        )
    } as i32;
    if pid < 0 {
        return Err(Error::os(
            Op::BootZone,
            object("clone"),
            std::io::Error::last_os_error(),
        ));
    }
    if pid == 0 {
        // SAFETY: closing the parent's ends in the child, once.
        unsafe {
            libc::close(report_r.as_raw_fd());
            libc::close(go_w.as_raw_fd());
        }
        child::run(plan, go_r.as_raw_fd(), report_w.as_raw_fd());
    }
    let child = Child {
        pid,
        // SAFETY: the fd the kernel just made for this child, ours alone.
        pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
    };
    drop((go_r, report_w));
    // The zone holds its own copies of its console's write ends.
    plan.console.zone = None;
    if let Some(u) = cfg.userns {
        for (file, base) in [("uid_map", u.host_uid), ("gid_map", u.host_gid)] {
            let p = format!("/proc/{pid}/{file}");
            std::fs::write(&p, format!("0 {base} {}\n", u.count)).os(Op::BootZone, object(&p))?;
        }
    }
    for d in cgroups {
        std::fs::write(d.join("cgroup.procs"), pid.to_string())
            .os(Op::BootZone, object(&format!("cgroup {}", d.display())))?;
    }
    let start_time = stat(pid).map(|s| s.0).unwrap_or(0);
    super::fault_point("boot:spawned");
    // Recorded before the child may go on: a caller killed from here on
    // leaves a record that names the process, for the next open to find.
    record(InitProc { pid, start_time })?;
    super::fault_point("boot:recorded");
    let mut go = std::fs::File::from(go_w);
    let mut report = std::fs::File::from(report_r);
    // Phase 1: every step that can fail, up to the exec.
    go.write_all(&[1]).os(Op::BootZone, object("start"))?;
    match read_report(&mut report).os(Op::BootZone, object("start"))? {
        Some(msg) if msg == child::READY => {}
        Some(msg) => return Err(failure(cfg, Failure::decode(msg))),
        None => return Err(Error::new(Op::BootZone, object("start"), ErrorKind::Os)),
    }
    // Phase 2: the links, then the exec. A failure from here on gives the
    // links back before the child is killed.
    let exec = hand_over(pid).and_then(|()| {
        super::fault_point("boot:handed-over");
        go.write_all(&[2]).os(Op::BootZone, object("start"))?;
        match read_report(&mut report).os(Op::BootZone, object("start"))? {
            None => Ok(()),
            Some(msg) => Err(failure(cfg, Failure::decode(msg))),
        }
    });
    match exec {
        Ok(()) => Ok(InitProc {
            pid: child.into_pid(),
            start_time,
        }),
        Err(e) => {
            hand_back(pid);
            drop(child);
            Err(e)
        }
    }
}

/// The child's next 6-byte report, or `None` once it has exec'd (the
/// pipe's write end closed with it).
fn read_report(report: &mut std::fs::File) -> std::io::Result<Option<[u8; 6]>> {
    let mut msg = [0u8; 6];
    match report.read_exact(&mut msg) {
        Ok(()) => Ok(Some(msg)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// The error for a step the child reported.
fn failure(cfg: &ZoneConfig, f: Option<Failure>) -> Error {
    let name = &cfg.name;
    let Some(f) = f else {
        return Error::new(Op::BootZone, format!("{name}: start"), ErrorKind::Os);
    };
    let item = match f.step {
        Step::MountSource => cfg
            .mounts
            .get(f.item as usize)
            .map(|m| format!(" {}", m.source.display())),
        Step::MountTarget | Step::BindMount => cfg
            .mounts
            .get(f.item as usize)
            .map(|m| format!(" {}", m.target.display())),
        Step::MaskPath => child::MASKED
            .get(f.item as usize)
            .map(|p| format!(" /{}", p.to_string_lossy())),
        Step::ReadOnlyPath => child::READ_ONLY
            .get(f.item as usize)
            .map(|p| format!(" /{}", p.to_string_lossy())),
        Step::MakeDevice => child::DEVICES
            .get(f.item as usize)
            .map(|p| format!(" /dev/{}", p.0.to_string_lossy())),
        _ => None,
    }
    .unwrap_or_default();
    let mut e = Error::os(
        Op::BootZone,
        format!("{name}: {}{item}", f.step.describe()),
        std::io::Error::from_raw_os_error(f.errno),
    );
    match (f.step, f.errno) {
        (Step::ExecInit | Step::FindInit, libc::ENOENT) => {
            e.kind = ErrorKind::NotFound;
            e.object = format!("{name}: init {} (not in the zone's root)", cfg.init[0]);
        }
        (Step::MountTarget, libc::ELOOP | libc::EXDEV) => {
            e.kind = ErrorKind::InvalidArgument(
                "a symbolic link in the zone's root is not followed".into(),
            );
        }
        (Step::MountSource, libc::ELOOP) => {
            e.kind = ErrorKind::InvalidArgument(
                "the source is or passes through a symbolic link".into(),
            );
        }
        _ => {}
    }
    e
}

/// Kills INIT (the pid namespace takes every other zone process with it)
/// and waits until it is gone.
pub(crate) fn kill(init: &InitProc) {
    signal_and_wait(init, libc::SIGKILL, Duration::from_secs(10));
}

/// Sends `sig` to INIT through its pidfd and waits up to `timeout` for it
/// to exit (the pidfd becomes readable), reaping it if it is our child.
/// Returns whether it is gone.
pub(crate) fn signal_and_wait(init: &InitProc, sig: i32, timeout: Duration) -> bool {
    let Some(fd) = init.pidfd() else {
        // Gone already; reap it if it is our zombie.
        // SAFETY: waitpid on a pid; ECHILD if it is not ours.
        unsafe { libc::waitpid(init.pid, std::ptr::null_mut(), libc::WNOHANG) };
        return true;
    };
    // SAFETY: pidfd_send_signal on our open pidfd, no siginfo, no flags.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // SAFETY: one pollfd on the stack.
        let r = unsafe { libc::poll(&mut p, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if r > 0 || left.is_zero() {
            break;
        }
    }
    // SAFETY: reaping INIT if it is our child (ECHILD otherwise).
    unsafe { libc::waitpid(init.pid, std::ptr::null_mut(), libc::WNOHANG) };
    p.revents & libc::POLLIN != 0
}

/// Waits for INIT to exit; its exit code, or 128 + the signal that killed it.
/// Only the process that booted the zone (INIT's parent) can wait.
pub(crate) fn wait(name: &ZoneName, init: &InitProc) -> Result<i32> {
    let object = || format!("{name}: wait for init");
    let fd = init.pidfd();
    // SAFETY: siginfo_t is plain data; all zeroes is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // INIT's pidfd (P_PIDFD = 3); gone from /proc already, a zombie of
    // ours is still waitable by pid.
    let (idtype, id) = match &fd {
        Some(fd) => (3, fd.as_raw_fd() as libc::id_t),
        None => (libc::P_PID, init.pid as libc::id_t),
    };
    // SAFETY: waitid with a valid id type and id, `info` a valid out-pointer.
    let r = unsafe { libc::waitid(idtype, id, &mut info, libc::WEXITED) };
    if r != 0 {
        return Err(Error::os(
            Op::BootZone,
            object(),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: waitid filled a CLD_* siginfo.
    let (code, status) = unsafe { (info.si_code, info.si_status()) };
    Ok(if code == libc::CLD_EXITED {
        status
    } else {
        128 + status
    })
}
