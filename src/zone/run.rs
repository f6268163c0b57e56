//! Running a zone on Linux: INIT as PID 1 in new pid, mount, uts, ipc and
//! net namespaces, root pivoted into the zone's root, `/proc` mounted,
//! hostname = zone name, caps enforced by cgroups (v1 controllers, or a
//! pure v2 hierarchy), and INIT tracked by pid and start time so that a
//! reused PID is never mistaken for it.
//!
//! Written directly on `libc` rather than youki's `libcontainer`: a zone
//! needs one clone, five mounts, `pivot_root` and `execve` in the child,
//! which the OCI runtime's bundle/spec machinery would wrap without adding
//! anything hull uses, and the child half must make only async-signal-safe
//! system calls, which is easiest to see when they are written out.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Caps;
use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::ZoneName;

/// A running zone's INIT: its host PID and start time (clock ticks since
/// boot, `/proc/<pid>/stat` field 22), which together survive PID reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitProc {
    /// INIT's PID in the host's PID namespace.
    pub pid: i32,
    /// Its start time, in clock ticks since boot.
    pub start_time: u64,
}

impl InitProc {
    /// Whether this exact process is still alive (not a zombie).
    pub fn alive(&self) -> bool {
        match stat(self.pid) {
            Some((start, state)) => start == self.start_time && state != 'Z' && state != 'X',
            None => false,
        }
    }
}

/// `(start time, state)` from `/proc/<pid>/stat`.
fn stat(pid: i32) -> Option<(u64, char)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(19)?.parse().ok()?, f.first()?.chars().next()?))
}

/// The cgroup directories a zone uses.
pub(crate) fn cgroup_dirs(name: &ZoneName) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        vec![root.join("hull").join(name.as_str())]
    } else {
        ["memory", "pids", "cpu"]
            .iter()
            .map(|c| root.join(c).join("hull").join(name.as_str()))
            .filter(|d| d.parent().and_then(Path::parent).is_some_and(Path::exists))
            .collect()
    }
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    fs::write(path, value)
}

/// Creates the zone's cgroups with its caps.
pub(crate) fn make_cgroups(name: &ZoneName, caps: &Caps) -> Result<Vec<PathBuf>> {
    let dirs = cgroup_dirs(name);
    let err = |d: &Path, e| Error::os(Op::BootZone, format!("{name}: cgroup {}", d.display()), e);
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    for d in &dirs {
        if v2 {
            // Delegate the controllers down to hull/<zone>.
            let _ = write(
                Path::new("/sys/fs/cgroup/cgroup.subtree_control"),
                "+memory +pids +cpu",
            );
            fs::create_dir_all(d.parent().unwrap()).map_err(|e| err(d, e))?;
            let _ = write(
                &d.parent().unwrap().join("cgroup.subtree_control"),
                "+memory +pids +cpu",
            );
        }
        fs::create_dir_all(d).map_err(|e| err(d, e))?;
        let set = |file: &str, value: String| {
            write(&d.join(file), &value).map_err(|e| err(&d.join(file), e))
        };
        let ctrl = d
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .and_then(|s| s.to_str())
            .unwrap_or("");
        match (v2, ctrl) {
            (true, _) => {
                if let Some(m) = caps.memory_bytes {
                    set("memory.max", m.to_string())?;
                    let _ = set("memory.swap.max", "0".into());
                }
                if let Some(p) = caps.max_processes {
                    set("pids.max", p.to_string())?;
                }
                if let Some(c) = caps.cpu_percent {
                    set("cpu.max", format!("{} 100000", c as u64 * 1000))?;
                }
            }
            (false, "memory") => {
                if let Some(m) = caps.memory_bytes {
                    set("memory.limit_in_bytes", m.to_string())?;
                    // Without swap accounting this file is absent; the limit still holds RAM.
                    let _ = set("memory.memsw.limit_in_bytes", m.to_string());
                    let _ = set("memory.swappiness", "0".into());
                }
            }
            (false, "pids") => {
                if let Some(p) = caps.max_processes {
                    set("pids.max", p.to_string())?;
                }
            }
            (false, "cpu") => {
                if let Some(c) = caps.cpu_percent {
                    set("cpu.cfs_period_us", "100000".into())?;
                    set("cpu.cfs_quota_us", (c as u64 * 1000).to_string())?;
                }
            }
            _ => {}
        }
    }
    Ok(dirs)
}

/// Removes the zone's cgroups, once no process is left in them.
pub(crate) fn remove_cgroups(name: &ZoneName) -> Result<()> {
    for d in cgroup_dirs(name) {
        if !d.exists() {
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match fs::remove_dir(&d) {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => {
                    return Err(Error::os(
                        Op::HaltZone,
                        format!("{name}: cgroup {}", d.display()),
                        e,
                    ))
                }
            }
        }
    }
    Ok(())
}

fn cstr(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::new(
            Op::BootZone,
            what,
            ErrorKind::InvalidArgument("contains a NUL byte".into()),
        )
    })
}

/// Which step of the child failed, reported with its errno over a pipe.
const STEPS: &[&str] = &[
    "wait for the parent",
    "make mounts private",
    "bind the root",
    "mount /proc",
    "enter the root",
    "pivot_root",
    "detach the old root",
    "set the hostname",
    "exec INIT",
];

/// Starts INIT in new namespaces, inside `cgroups`. Returns once INIT has
/// been exec'd; on any failure the child is reaped and an error returned.
pub(crate) fn spawn(
    name: &ZoneName,
    root: &Path,
    init: &[String],
    mounts: &[super::FsMount],
    cgroups: &[PathBuf],
    before_start: impl FnOnce(i32) -> Result<()>,
) -> Result<InitProc> {
    let object = |what: &str| format!("{name}: {what}");
    fs::create_dir_all(root.join("proc"))
        .map_err(|e| Error::os(Op::BootZone, object("/proc"), e))?;
    let c_root = cstr(root.to_str().unwrap_or(""), "zone root")?;
    let c_proc = cstr(root.join("proc").to_str().unwrap_or(""), "zone /proc")?;
    // Bind mounts: (source, target inside the root, read-only), targets made here.
    let mut binds = Vec::new();
    for m in mounts {
        let target = root.join(m.target.strip_prefix("/").unwrap_or(&m.target));
        if !m.source.is_dir() {
            return Err(Error::new(
                Op::BootZone,
                object(&format!("mount {}", m.source.display())),
                ErrorKind::NotFound,
            ));
        }
        fs::create_dir_all(&target).map_err(|e| {
            Error::os(
                Op::BootZone,
                object(&format!("mount point {}", target.display())),
                e,
            )
        })?;
        binds.push((
            cstr(m.source.to_str().unwrap_or(""), "mount source")?,
            cstr(target.to_str().unwrap_or(""), "mount target")?,
            m.readonly,
        ));
    }
    let c_init = cstr(&init[0], "init")?;
    let c_args: Vec<CString> = init
        .iter()
        .map(|a| cstr(a, "init argument"))
        .collect::<Result<_>>()?;
    let mut argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let env = [
        CString::new("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").unwrap(),
        cstr(&format!("HOSTNAME={name}"), "hostname")?,
    ];
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let hostname = name.as_str().as_bytes();
    let (dot, proc_fs) = (c".", c"proc");

    let mut err_pipe = [0; 2];
    let mut go_pipe = [0; 2];
    // SAFETY: two valid 2-int arrays; O_CLOEXEC so exec closes them.
    let piped = unsafe {
        libc::pipe2(err_pipe.as_mut_ptr(), libc::O_CLOEXEC) == 0
            && libc::pipe2(go_pipe.as_mut_ptr(), libc::O_CLOEXEC) == 0
    };
    if !piped {
        return Err(Error::os(
            Op::BootZone,
            object("pipe"),
            std::io::Error::last_os_error(),
        ));
    }
    let flags = libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWNET
        | libc::SIGCHLD;
    // SAFETY: clone without CLONE_VM and with a NULL stack behaves like
    // fork: the child gets a copy of this address space. Everything it
    // needs was built above; it makes only raw system calls (no allocation,
    // no locks) until execve or _exit.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    } as i32;
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        // SAFETY: closing our own pipe fds.
        unsafe {
            [err_pipe[0], err_pipe[1], go_pipe[0], go_pipe[1]]
                .iter()
                .for_each(|fd| {
                    libc::close(*fd);
                })
        };
        return Err(Error::os(Op::BootZone, object("clone"), e));
    }
    if pid == 0 {
        // The child: PID 1 of the new namespaces.
        // SAFETY: only async-signal-safe system calls on memory prepared
        // before the clone; every failure ends in _exit.
        unsafe {
            let fail = |step: u8| -> ! {
                let e = *libc::__errno_location();
                let msg = [step, (e & 0xff) as u8, ((e >> 8) & 0xff) as u8];
                libc::write(err_pipe[1], msg.as_ptr().cast(), 3);
                libc::_exit(127)
            };
            libc::close(err_pipe[0]);
            libc::close(go_pipe[1]);
            let mut b = 0u8;
            if libc::read(go_pipe[0], (&mut b as *mut u8).cast(), 1) != 1 {
                fail(0)
            }
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                fail(1)
            }
            if libc::mount(
                c_root.as_ptr(),
                c_root.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ) != 0
            {
                fail(2)
            }
            for (src, dst, ro) in &binds {
                if libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ) != 0
                {
                    fail(9)
                }
                if *ro
                    && libc::mount(
                        std::ptr::null(),
                        dst.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC,
                        std::ptr::null(),
                    ) != 0
                {
                    fail(9)
                }
            }
            if libc::mount(
                proc_fs.as_ptr(),
                c_proc.as_ptr(),
                proc_fs.as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            ) != 0
            {
                fail(3)
            }
            if libc::chdir(c_root.as_ptr()) != 0 {
                fail(4)
            }
            if libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) != 0 {
                fail(5)
            }
            if libc::umount2(dot.as_ptr(), libc::MNT_DETACH) != 0 {
                fail(6)
            }
            let _ = libc::chdir(c"/".as_ptr());
            if libc::sethostname(hostname.as_ptr().cast(), hostname.len()) != 0 {
                fail(7)
            }
            // ETXTBSY: another process forked while INIT's file was open
            // for writing, and still holds that fd until it execs. Wait it out.
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 10_000_000,
            };
            for _ in 0..300 {
                libc::execve(c_init.as_ptr(), argv.as_ptr(), envp.as_ptr());
                if *libc::__errno_location() != libc::ETXTBSY {
                    break;
                }
                libc::nanosleep(&pause, std::ptr::null_mut());
            }
            fail(8)
        }
    }
    // The parent.
    // SAFETY: closing the child's ends of our pipes.
    unsafe {
        libc::close(err_pipe[1]);
        libc::close(go_pipe[0]);
    }
    let reap = |pid: i32| {
        // SAFETY: `pid` is our child; reaping it once.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    };
    for d in cgroups {
        if let Err(e) = fs::write(d.join("cgroup.procs"), pid.to_string()) {
            reap(pid);
            // SAFETY: our pipe fds, closed once.
            unsafe {
                libc::close(err_pipe[0]);
                libc::close(go_pipe[1]);
            }
            return Err(Error::os(
                Op::BootZone,
                object(&format!("cgroup {}", d.display())),
                e,
            ));
        }
    }
    if let Err(e) = before_start(pid) {
        reap(pid);
        // SAFETY: our pipe fds, closed once.
        unsafe {
            libc::close(err_pipe[0]);
            libc::close(go_pipe[1]);
        }
        return Err(e);
    }
    let start_time = stat(pid).map(|s| s.0).unwrap_or(0);
    let mut msg = [0u8; 3];
    // SAFETY: our pipe fds; `msg` is a writable 3-byte buffer.
    let n = unsafe {
        libc::write(go_pipe[1], [1u8].as_ptr().cast(), 1);
        libc::close(go_pipe[1]);
        let n = libc::read(err_pipe[0], msg.as_mut_ptr().cast(), 3);
        libc::close(err_pipe[0]);
        n
    };
    if n == 0 {
        return Ok(InitProc { pid, start_time });
    }
    reap(pid);
    let errno = msg[1] as i32 | (msg[2] as i32) << 8;
    let step = STEPS.get(msg[0] as usize).copied().unwrap_or("start");
    let mut e = Error::os(
        Op::BootZone,
        object(step),
        std::io::Error::from_raw_os_error(errno),
    );
    if msg[0] == 8 && errno == libc::ENOENT {
        e.kind = ErrorKind::NotFound;
        e.object = format!("{name}: init {} (not in the zone's root)", init[0]);
    }
    Err(e)
}

/// Kills INIT (the pid namespace takes every other zone process with it)
/// and waits until it is gone.
pub(crate) fn kill(init: &InitProc) {
    if init.alive() {
        // SAFETY: the pid was checked to be INIT itself (start time) just now.
        unsafe { libc::kill(init.pid, libc::SIGKILL) };
    }
    // Reap it if it is our child; otherwise wait for it to disappear.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // SAFETY: waitpid on a pid; ECHILD if it is not ours.
        let r = unsafe { libc::waitpid(init.pid, std::ptr::null_mut(), libc::WNOHANG) };
        if r == init.pid || !init.alive() || Instant::now() > deadline {
            if r != init.pid {
                // SAFETY: as above; reap a zombie child if it is ours.
                unsafe { libc::waitpid(init.pid, std::ptr::null_mut(), libc::WNOHANG) };
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for INIT to exit; its exit code, or 128 + the signal that killed it.
/// Only the process that booted the zone (INIT's parent) can wait.
pub(crate) fn wait(name: &ZoneName, init: &InitProc) -> Result<i32> {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    let r = unsafe { libc::waitpid(init.pid, &mut status, 0) };
    if r != init.pid {
        return Err(Error::os(
            Op::BootZone,
            format!("{name}: wait for init"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}
