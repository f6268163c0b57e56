//! INIT's console on Linux: the zone never holds a host file.
//!
//! A descriptor of a host file handed to a zone lets the zone's root
//! change that file's mode, owner and file capabilities (`fchmod`,
//! `fchown`, `fsetxattr` on its fd 1), whatever its path: a log file could
//! become a setuid-root program for every host user, the caller's terminal
//! world-readable. So INIT's stdin is the zone's own `/dev/null` (a
//! read-only bind, opened in the zone), and its stdout and stderr are the
//! write ends of two pipes. For [`Console::Inherit`], [`Console::Log`] and
//! [`Console::File`] a small relay process outside the zone's namespaces
//! but inside its cgroups (so it outlives the caller, as the zone does, and
//! is gone when the zone halts) copies the pipes to the destination, as
//! conmon and containerd-shim do; for [`Console::Null`] both are the zone's
//! `/dev/null` and there is no relay.
//!
//! A destination file is opened by hull with `openat2(RESOLVE_NO_SYMLINKS)`
//! (no link anywhere in its path) and must be a regular file: a FIFO
//! planted there cannot block a boot.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{Console, ZoneConfig};
use crate::error::{Error, ErrorKind, Op, OsResultExt, Result};

/// The console of one boot, prepared before the clone.
pub(crate) struct ConsolePlan {
    /// The write ends INIT gets as stdout and stderr; `None`: the zone's
    /// `/dev/null`.
    pub(crate) zone: Option<(OwnedFd, OwnedFd)>,
    /// What the relay copies from and to, until it is started.
    relay: Option<RelayFds>,
}

/// The relay's descriptors: the pipes' read ends and the destinations.
struct RelayFds {
    out_r: OwnedFd,
    err_r: OwnedFd,
    out_dst: OwnedFd,
    err_dst: OwnedFd,
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: a valid 2-int array; O_CLOEXEC so no exec elsewhere keeps them.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just made and are owned by no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn dup(fd: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on an fd number; a new fd or -1.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Opens a console file for appending: created 0600 if missing, through
/// no symbolic link, and only if it is a regular file.
fn open_log(path: &Path) -> std::io::Result<OwnedFd> {
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK | libc::O_NOCTTY;
    let fd = super::paths::openat2_mode(
        super::paths::cwd(),
        path,
        flags,
        0o600,
        libc::RESOLVE_NO_SYMLINKS,
    )?;
    let meta = std::fs::File::from(fd.try_clone()?).metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(fd)
}

impl ConsolePlan {
    /// Opens the destination and makes the pipes for `cfg`'s console.
    pub(crate) fn new(cfg: &ZoneConfig) -> Result<ConsolePlan> {
        let object = |p: &Path| format!("{}: console {}", cfg.name, p.display());
        let log = |p: &Path| {
            open_log(p).map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => Error::new(
                    Op::BootZone,
                    object(p),
                    ErrorKind::InvalidArgument("its path passes through a symbolic link".into()),
                ),
                // O_NONBLOCK: a FIFO with no reader is refused, not waited on.
                Some(libc::ENXIO) => Error::new(
                    Op::BootZone,
                    object(p),
                    ErrorKind::InvalidArgument("not a regular file".into()),
                ),
                None => Error::new(
                    Op::BootZone,
                    object(p),
                    ErrorKind::InvalidArgument(e.to_string()),
                ),
                _ => Error::os(Op::BootZone, object(p), e),
            })
        };
        let dsts = match &cfg.console {
            Console::Null => {
                return Ok(ConsolePlan {
                    zone: None,
                    relay: None,
                })
            }
            Console::Inherit => {
                let d = |fd| dup(fd).os(Op::BootZone, format!("{}: console", cfg.name));
                (d(1)?, d(2)?)
            }
            Console::Log => {
                let f = log(&cfg.zonepath.join("console.log"))?;
                (
                    f.try_clone().map_err(|e| {
                        Error::os(Op::BootZone, format!("{}: console", cfg.name), e)
                    })?,
                    f,
                )
            }
            Console::File(p) => {
                let f = log(p)?;
                (f.try_clone().os(Op::BootZone, object(p))?, f)
            }
        };
        let pipes = || pipe().os(Op::BootZone, format!("{}: console pipe", cfg.name));
        let ((out_r, out_w), (err_r, err_w)) = (pipes()?, pipes()?);
        Ok(ConsolePlan {
            zone: Some((out_w, err_w)),
            relay: Some(RelayFds {
                out_r,
                err_r,
                out_dst: dsts.0,
                err_dst: dsts.1,
            }),
        })
    }

    /// Starts the relay, if this console has one: a grandchild of this
    /// process (so no one needs to reap it), in its own session, that
    /// joins `cgroups` and copies the pipes to the destinations until every
    /// writer has closed them. The parent's copies of the read ends and
    /// destinations are closed here.
    pub(crate) fn start_relay(&mut self, name: &str, cgroups: &[PathBuf]) -> Result<()> {
        let Some(fds) = self.relay.take() else {
            return Ok(());
        };
        let procs: Vec<CString> = cgroups
            .iter()
            .map(|d| {
                CString::new(d.join("cgroup.procs").as_os_str().as_bytes())
                    .expect("no NUL in a cgroup path")
            })
            .collect();
        let zone_ends: Vec<i32> = self
            .zone
            .iter()
            .flat_map(|(o, e)| [o.as_raw_fd(), e.as_raw_fd()])
            .collect();
        // SAFETY: fork; the child makes only async-signal-safe calls
        // (fork, and in the grandchild `relay`) and ends in _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Error::os(
                Op::BootZone,
                format!("{name}: console relay"),
                std::io::Error::last_os_error(),
            ));
        }
        if pid == 0 {
            // SAFETY: as above.
            unsafe {
                if libc::fork() == 0 {
                    relay(&fds, &procs, &zone_ends);
                }
                libc::_exit(0);
            }
        }
        // SAFETY: reaping the intermediate child, which exits at once.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        drop(fds);
        Ok(())
    }
}

/// The relay: never returns.
fn relay(fds: &RelayFds, procs: &[CString], zone_ends: &[i32]) -> ! {
    // SAFETY: only system calls on the stack and on fds this process holds;
    // no allocation, no locks.
    unsafe {
        libc::setsid();
        // SIGPIPE ignored: a destination whose reader left is written to
        // no more, and the zone's output is still drained.
        let ign: [u64; 4] = [1, 0, 0, 0]; // SIG_IGN, no flags, no mask
        libc::syscall(
            libc::SYS_rt_sigaction,
            libc::SIGPIPE,
            ign.as_ptr(),
            std::ptr::null_mut::<u64>(),
            8usize,
        );
        for p in procs {
            let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
            }
        }
        for fd in zone_ends {
            libc::close(*fd);
        }
        let mut keep = [
            fds.out_r.as_raw_fd(),
            fds.err_r.as_raw_fd(),
            fds.out_dst.as_raw_fd(),
            fds.err_dst.as_raw_fd(),
        ];
        keep.sort_unstable();
        let mut from = 0u32;
        for k in keep {
            if (k as u32) > from {
                libc::close_range(from, k as u32 - 1, 0);
            }
            from = k as u32 + 1;
        }
        libc::close_range(from, u32::MAX, 0);
        copy_until_closed(fds);
        libc::_exit(0)
    }
}

/// Copies each pipe to its destination until both are closed.
fn copy_until_closed(fds: &RelayFds) {
    let mut polls = [
        libc::pollfd {
            fd: fds.out_r.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: fds.err_r.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let dsts = [fds.out_dst.as_raw_fd(), fds.err_dst.as_raw_fd()];
    let mut buf = [0u8; 16384];
    while polls.iter().any(|p| p.fd >= 0) {
        // SAFETY: two pollfds on the stack.
        if unsafe { libc::poll(polls.as_mut_ptr(), 2, -1) } < 0 {
            continue; // EINTR
        }
        for (p, dst) in polls.iter_mut().zip(dsts) {
            if p.fd < 0 || p.revents == 0 {
                continue;
            }
            // SAFETY: reading into a stack buffer of the length given.
            let n = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                // EOF (or an error): a negative fd is ignored by poll.
                p.fd = -1;
                continue;
            }
            write_all(dst, &buf[..n as usize]);
        }
    }
}

/// Writes all of `data`, giving up (dropping it) on an error.
fn write_all(fd: i32, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: writing from a live slice of the length given.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n <= 0 {
            return;
        }
        data = &data[n as usize..];
    }
}
