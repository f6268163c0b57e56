//! Paths a zone's tenant can influence, resolved without ever leaving the
//! zone's root: every lookup below a zone root goes through `openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, one component at a time where
//! directories are made, so a symbolic link or `..` planted by a tenant is
//! refused instead of followed onto the host.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// `openat2(dir, path, flags, resolve)`, returning an owned fd.
pub(crate) fn openat2(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    openat2_mode(dir, path, flags, 0, resolve)
}

/// [`openat2`] with a creation mode, for `O_CREAT`.
pub(crate) fn openat2_mode(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
    mode: u64,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: open_how is plain data; all zeroes is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = mode;
    how.resolve = resolve;
    // SAFETY: `c` is a NUL-terminated path and `how` a valid open_how whose
    // size is passed; the kernel returns a new fd or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat2 and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The current directory as a `dirfd` (`AT_FDCWD`), for absolute paths.
pub(crate) fn cwd() -> BorrowedFd<'static> {
    // SAFETY: AT_FDCWD is not an fd but a value every *at call accepts in
    // an fd's place; it is not -1 and nothing closes it.
    unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) }
}

/// Resolution that never leaves `dir` and never follows a symlink.
pub(crate) const CONFINED: u64 =
    libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;

/// Opens a directory as an `O_PATH` fd, refusing a symlink in its last
/// component.
pub(crate) fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: a NUL-terminated path; the kernel returns a new fd or -1.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes the directory `rel` (relative, normal) below the directory `dir`,
/// one component at a time, creating what is missing (mode 0755, owned by
/// `owner` if given), and returns it as an `O_PATH` fd. A component that is
/// a symlink or not a directory is an error naming it (`ELOOP`/`ENOTDIR`);
/// nothing is ever created outside `dir`.
pub(crate) fn make_dirs_in(
    dir: BorrowedFd<'_>,
    rel: &Path,
    owner: Option<(u32, u32)>,
) -> io::Result<OwnedFd> {
    let mut cur: Option<OwnedFd> = None;
    for comp in rel.components() {
        let Component::Normal(name) = comp else {
            if matches!(comp, Component::RootDir | Component::CurDir) {
                continue;
            }
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: `..` is not allowed", rel.display()),
            ));
        };
        let parent = cur.as_ref().map_or(dir, |f| f_borrow(f));
        let c = CString::new(name.as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
        // SAFETY: `parent` is an open directory fd and `c` a NUL-terminated name.
        let made = unsafe { libc::mkdirat(parent.as_raw_fd(), c.as_ptr(), 0o755) } == 0;
        if !made {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(e);
            }
        }
        let next = openat2(
            parent,
            Path::new(name),
            libc::O_PATH | libc::O_DIRECTORY,
            CONFINED,
        )
        .map_err(|e| {
            let why = match e.raw_os_error() {
                Some(libc::ELOOP) => "is a symbolic link",
                Some(libc::ENOTDIR) => "is not a directory",
                _ => "cannot be opened",
            };
            io::Error::new(e.kind(), format!("{} {why} ({e})", rel.display()))
        })?;
        if let (true, Some((uid, gid))) = (made, owner) {
            // SAFETY: `next` is an open fd; AT_EMPTY_PATH changes that very
            // directory, which this call just made.
            let r = unsafe {
                libc::fchownat(
                    next.as_raw_fd(),
                    c"".as_ptr(),
                    uid,
                    gid,
                    libc::AT_EMPTY_PATH,
                )
            };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        cur = Some(next);
    }
    match cur {
        Some(f) => Ok(f),
        None => openat2(
            dir,
            Path::new("."),
            libc::O_PATH | libc::O_DIRECTORY,
            CONFINED,
        ),
    }
}

fn f_borrow(f: &OwnedFd) -> BorrowedFd<'_> {
    use std::os::fd::AsFd;
    f.as_fd()
}

/// Whether a directory has no entries (a missing one counts as empty).
pub(crate) fn is_empty_dir(p: &Path) -> io::Result<bool> {
    match std::fs::read_dir(p) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn dirs_are_made_inside_and_a_planted_symlink_is_refused() {
        let base = std::env::temp_dir().join(format!("hull-paths-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let rootfd = open_dir(&root).unwrap();
        make_dirs_in(rootfd.as_fd(), Path::new("/a/b/c"), None).unwrap();
        assert!(root.join("a/b/c").is_dir());
        std::os::unix::fs::symlink(&outside, root.join("evil")).unwrap();
        let e = make_dirs_in(rootfd.as_fd(), Path::new("/evil/x"), None).unwrap_err();
        assert_eq!(e.raw_os_error(), None, "wrapped with the path: {e}");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!outside.join("x").exists(), "nothing made through the link");
        std::os::unix::fs::symlink("../../outside", root.join("a/rel")).unwrap();
        assert!(make_dirs_in(rootfd.as_fd(), Path::new("a/rel/y"), None).is_err());
        assert!(make_dirs_in(rootfd.as_fd(), Path::new("a/../../outside/z"), None).is_err());
        assert!(!outside.join("y").exists() && !outside.join("z").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
