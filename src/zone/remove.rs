//! Removing a directory tree that a zone's tenant wrote, with a bounded
//! number of open descriptors however deep it is.
//!
//! `std::fs::remove_dir_all` keeps one descriptor open per level of the
//! tree, so a tenant who nests a few thousand directories in the zone's root
//! makes it fail with `EMFILE`, and the root stays on disk. [`remove_tree`]
//! holds at most three: it is in one directory at a time, unlinks what is
//! not a directory, goes down into the first subdirectory (closing the
//! directory it leaves) and, when a directory is empty, goes back up through
//! `..`, checks that it is the directory it came down from, and removes the
//! empty one. Its memory grows with the depth (a name per level); its
//! descriptors and its stack do not.
//!
//! Nothing is followed: a symbolic link is unlinked, never resolved, and a
//! subdirectory is entered with `O_NOFOLLOW` and `RESOLVE_NO_XDEV`, so a
//! mount point inside the tree is reported (`EBUSY`, naming it) before
//! anything on the mounted file system is touched.
//!
//! Linux only (`openat2`, Linux 5.6 or later, as elsewhere in hull).
#![cfg(target_os = "linux")]

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::copy::{at, check, id_of, open_at, parent_and_name, stat_at, stat_fd, Dir};
use super::paths::{openat2, CONFINED};

/// An inode's (device, inode) pair.
type Id = (libc::dev_t, libc::ino_t);

/// Removes the directory tree at `path` (the directory itself included),
/// never following a symbolic link, with a bounded number of open
/// descriptors whatever the depth: at most three besides the caller's.
///
/// The parent directories of `path` are followed as given (they are the
/// caller's); below it nothing is: a symlink is removed, not what it points
/// to. A `path` that does not exist (or whose parent does not) is Ok: there
/// is nothing to remove. A `path` that is a symlink or not a directory is
/// refused and left alone. A mount point inside the tree is refused with
/// `ResourceBusy` before anything below it is touched, as is `path` itself
/// if it is a mount point (after it has been emptied). Errors name the path
/// of the entry that could not be removed.
///
/// The tree is expected to be still (a halted zone's root): a directory
/// that is not where the walk left it when it comes back up through `..`
/// fails the removal rather than have it continue somewhere else.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    let (parent_path, name) = parent_and_name(path)?;
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    let parent = match open_at(libc::AT_FDCWD, &parent_path, flags, 0) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        opened => opened.map_err(|e| at(path, "open parent", e))?,
    };
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    let top = match open_at(parent.as_raw_fd(), &name, flags, 0) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            let msg = format!(
                "{}: is a symbolic link, which is not followed or removed",
                path.display()
            );
            return Err(io::Error::new(io::ErrorKind::NotADirectory, msg));
        }
        opened => opened.map_err(|e| at(path, "open", e))?,
    };
    let top_id = id_of(&stat_fd(top.as_raw_fd()).map_err(|e| at(path, "stat", e))?);
    Walk {
        top: path,
        rel: PathBuf::new(),
    }
    .empty(top)?;
    let now = stat_at(parent.as_raw_fd(), &name).map_err(|e| at(path, "stat", e))?;
    if id_of(&now) != top_id {
        return Err(changed(path));
    }
    // SAFETY: `parent` is an open directory and `name` is NUL-terminated;
    // AT_REMOVEDIR removes only an empty directory.
    check(unsafe { libc::unlinkat(parent.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) })
        .map_err(|e| at(path, "remove", e))?;
    Ok(())
}

/// Where one removal is: the directory `rel` below `top`.
struct Walk<'a> {
    /// The tree being removed, as the caller named it.
    top: &'a Path,
    /// The directory the walk is in, below `top` (empty at the top).
    rel: PathBuf,
}

impl Walk<'_> {
    /// The path of the directory the walk is in.
    fn here(&self) -> PathBuf {
        if self.rel.as_os_str().is_empty() {
            self.top.to_path_buf()
        } else {
            self.top.join(&self.rel)
        }
    }

    /// The path of `name` in the directory the walk is in.
    fn path_of(&self, name: &CStr) -> PathBuf {
        self.here().join(OsStr::from_bytes(name.to_bytes()))
    }

    /// Labels an error of `what` on the directory the walk is in.
    fn fail<'b>(&'b self, what: &'b str) -> impl FnOnce(io::Error) -> io::Error + 'b {
        move |e| at(&self.here(), what, e)
    }

    /// Removes everything in the directory `top`, leaving it empty. Holds
    /// two descriptors at most: the directory it is in and, for a moment,
    /// the one it goes to.
    fn empty(&mut self, top: OwnedFd) -> io::Result<()> {
        let mut cur = Dir::new(top).map_err(self.fail("read directory"))?;
        // For each directory entered: its name and its parent's id.
        let mut entered: Vec<(CString, Id)> = Vec::new();
        loop {
            if let Some(sub) = self.unlink_up_to_subdir(&mut cur)? {
                let here = stat_fd(cur.fd()).map_err(self.fail("stat"))?;
                let child = self.open_subdir(&cur, &sub)?;
                self.rel.push(OsStr::from_bytes(sub.to_bytes()));
                cur = Dir::new(child).map_err(self.fail("read directory"))?;
                entered.push((sub, id_of(&here)));
                continue;
            }
            let Some((name, parent_id)) = entered.pop() else {
                return Ok(());
            };
            let parent = self.open_parent(&cur, parent_id)?;
            drop(cur);
            // SAFETY: `parent` is an open directory and `name` is
            // NUL-terminated; AT_REMOVEDIR removes only an empty directory.
            check(unsafe { libc::unlinkat(parent.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) })
                .map_err(self.fail("remove"))?;
            self.rel.pop();
            cur = Dir::new(parent).map_err(self.fail("read directory"))?;
        }
    }

    /// Unlinks the entries of `dir` that are not directories, in the order
    /// they are read, until its first subdirectory, whose name it returns
    /// (`None` once `dir` is empty).
    fn unlink_up_to_subdir(&self, dir: &mut Dir) -> io::Result<Option<CString>> {
        while let Some(name) = dir.next_name().map_err(self.fail("read directory"))? {
            let st = match stat_at(dir.fd(), &name) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                st => st.map_err(|e| at(&self.path_of(&name), "stat", e))?,
            };
            if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                return Ok(Some(name));
            }
            // SAFETY: `dir` is an open directory and `name` is
            // NUL-terminated; flags 0 unlink the entry itself (a symlink,
            // not its target) and refuse a directory.
            match check(unsafe { libc::unlinkat(dir.fd(), name.as_ptr(), 0) }) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(at(&self.path_of(&name), "unlink", e));
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Opens the subdirectory `name` of `dir` to read it, refusing a
    /// symlink and a mount point.
    fn open_subdir(&self, dir: &Dir, name: &CStr) -> io::Result<OwnedFd> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let resolve = CONFINED | libc::RESOLVE_NO_XDEV;
        let rel = Path::new(OsStr::from_bytes(name.to_bytes()));
        openat2(dir.as_fd(), rel, flags, resolve).map_err(|e| {
            if e.raw_os_error() == Some(libc::EXDEV) {
                let busy = io::Error::from_raw_os_error(libc::EBUSY);
                at(&self.path_of(name), "a mount point, not removed", busy)
            } else {
                at(&self.path_of(name), "open", e)
            }
        })
    }

    /// The parent of the directory `dir` (the one the walk is in), opened
    /// through `..` and checked to be the directory the walk came down
    /// from, `expected`.
    fn open_parent(&self, dir: &Dir, expected: Id) -> io::Result<OwnedFd> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let up = open_at(dir.fd(), c"..", flags, 0).map_err(self.fail("open parent"))?;
        let st = stat_fd(up.as_raw_fd()).map_err(self.fail("stat parent"))?;
        if id_of(&st) != expected {
            return Err(changed(&self.here()));
        }
        Ok(up)
    }
}

/// The error of a tree that changed under the walk at `path`.
fn changed(path: &Path) -> io::Error {
    let msg = format!(
        "{}: moved or replaced while the tree was being removed; stopped",
        path.display()
    );
    io::Error::other(msg)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::zone::copy::tests::{needs_root, nest, write_in};
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    /// How deep the deep trees are.
    const DEEP: usize = 5000;
    /// The soft descriptor limit the deep trees are removed under.
    const FEW_FDS: libc::rlim_t = 64;

    /// A directory of one test, removed (with [`remove_tree`]) on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        /// A fresh, empty directory for the test `tag`.
        fn new(tag: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("hull-remove-{tag}-{}", std::process::id()));
            let _ = remove_tree(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        /// `rel` in the directory.
        fn path(&self, rel: &str) -> PathBuf {
            self.0.join(rel)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = remove_tree(&self.0);
        }
    }

    /// Whether anything (a dangling symlink included) is at `path`.
    fn exists(path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok()
    }

    /// How a forked child's closure ended, as its exit code.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(i32)]
    pub(in crate::zone) enum Outcome {
        /// It returned Ok.
        Ok = 0,
        /// It failed with `EMFILE` (too many open files).
        TooManyFiles = 1,
        /// It failed otherwise (the error is on the child's stderr).
        OtherError = 2,
        /// The child could not close what it inherited or lower its limit.
        SetupFailed = 3,
        /// It panicked.
        Panicked = 4,
    }

    impl Outcome {
        /// The outcome a child's exit code stands for.
        fn of_code(code: i32) -> Option<Outcome> {
            [
                Outcome::Ok,
                Outcome::TooManyFiles,
                Outcome::OtherError,
                Outcome::SetupFailed,
                Outcome::Panicked,
            ]
            .into_iter()
            .find(|o| *o as i32 == code)
        }
    }

    /// Runs `f` in a forked child, with only descriptors 0-2 open and, if
    /// given, a soft `RLIMIT_NOFILE` of `fds`, so this process keeps its
    /// descriptors and its limit.
    pub(in crate::zone) fn in_child(
        fds: Option<libc::rlim_t>,
        f: impl FnOnce() -> io::Result<()>,
    ) -> Outcome {
        // SAFETY: the child runs only `child`: raw system calls, `f` (which
        // allocates: glibc's fork leaves the child's allocator usable, and
        // `f` takes no lock another thread could hold) and `_exit`, never
        // returning into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
        if pid == 0 {
            child(fds, f);
        }
        let mut status = 0;
        // SAFETY: `pid` is our unreaped child; `status` outlives the call.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(ret, pid, "waitpid: {}", io::Error::last_os_error());
        assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
        let code = libc::WEXITSTATUS(status);
        Outcome::of_code(code).unwrap_or_else(|| panic!("child exited {code}"))
    }

    /// The forked child of [`in_child`].
    fn child(fds: Option<libc::rlim_t>, f: impl FnOnce() -> io::Result<()>) -> ! {
        let outcome = (|| {
            // SAFETY: closes this child's descriptors from 3 up (the
            // parent's stay open): `f` works from paths, and the child
            // ends in `_exit` without dropping anything that owns one.
            if unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) } != 0 {
                return Outcome::SetupFailed;
            }
            if let Some(fds) = fds {
                let mut lim = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: `lim` is a valid rlimit for both calls to read or fill.
                let set = unsafe {
                    libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && {
                        lim.rlim_cur = fds;
                        libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0
                    }
                };
                if !set {
                    return Outcome::SetupFailed;
                }
            }
            match catch_unwind(AssertUnwindSafe(f)) {
                Ok(Ok(())) => Outcome::Ok,
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EMFILE) => Outcome::TooManyFiles,
                Ok(Err(e)) => {
                    let msg = format!("child: {e}\n");
                    // SAFETY: writes `msg`, which outlives the call, to stderr.
                    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
                    Outcome::OtherError
                }
                Err(_) => Outcome::Panicked,
            }
        })();
        // SAFETY: _exit ends this forked child without running the parent's
        // atexit handlers or destructors.
        unsafe { libc::_exit(outcome as i32) }
    }

    /// A tree `DEEP` levels deep at `path`, with a file at the bottom and
    /// one halfway down.
    fn deep_tree(path: &Path) {
        fs::create_dir(path).unwrap();
        write_in(&nest(path, DEEP), c"bottom", b"deep");
        let halfway = path.join(["d"; 10].join("/"));
        fs::write(halfway.join("middle"), b"x").unwrap();
    }

    #[test]
    fn a_tree_of_files_symlinks_fifos_and_directories_is_removed_but_not_what_its_links_point_to() {
        let s = Scratch::new("mixed");
        let outside = s.path("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("keep"), b"host").unwrap();
        let tree = s.path("tree");
        fs::create_dir_all(tree.join("a/b/c")).unwrap();
        fs::create_dir_all(tree.join("empty")).unwrap();
        fs::write(tree.join("top"), b"1").unwrap();
        fs::write(tree.join("a/b/c/low"), b"2").unwrap();
        fs::hard_link(tree.join("top"), tree.join("a/hard")).unwrap();
        symlink(&outside, tree.join("to-dir")).unwrap();
        symlink(outside.join("keep"), tree.join("a/b/to-file")).unwrap();
        symlink("../../..", tree.join("a/b/c/up")).unwrap();
        symlink("nowhere", tree.join("dangling")).unwrap();
        let fifo = CString::new(tree.join("a/pipe").as_os_str().as_bytes()).unwrap();
        // SAFETY: `fifo` is NUL-terminated.
        check(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }).unwrap();
        fs::write(tree.join(OsStr::from_bytes(b"not-utf8-\xff")), b"3").unwrap();

        remove_tree(&tree).unwrap();

        assert!(!exists(&tree));
        assert_eq!(fs::read(outside.join("keep")).unwrap(), b"host");
        let names: Vec<_> = fs::read_dir(s.path(""))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["outside"]);
    }

    #[test]
    fn a_tree_5000_levels_deep_is_removed_with_64_descriptors() {
        let s = Scratch::new("deep");
        let tree = s.path("tree");
        deep_tree(&tree);

        let outcome = in_child(Some(FEW_FDS), || remove_tree(&tree));

        assert_eq!(outcome, Outcome::Ok);
        assert!(!exists(&tree));
    }

    #[test]
    fn std_remove_dir_all_fails_on_a_tree_5000_levels_deep_with_64_descriptors() {
        let s = Scratch::new("stddeep");
        let tree = s.path("tree");
        deep_tree(&tree);

        let outcome = in_child(Some(FEW_FDS), || fs::remove_dir_all(&tree));

        assert_eq!(outcome, Outcome::TooManyFiles);
        assert!(exists(&tree), "remove_dir_all left nothing to prove");
        remove_tree(&tree).unwrap();
        assert!(!exists(&tree));
    }

    #[test]
    fn a_missing_path_is_nothing_to_remove() {
        let s = Scratch::new("missing");

        remove_tree(&s.path("absent")).unwrap();
        remove_tree(&s.path("absent/below")).unwrap();

        assert!(exists(&s.path("")));
    }

    #[test]
    fn a_symlink_at_the_path_is_refused_and_what_it_points_to_survives() {
        let s = Scratch::new("linktop");
        fs::create_dir(s.path("real")).unwrap();
        fs::write(s.path("real/keep"), b"x").unwrap();
        symlink(s.path("real"), s.path("link")).unwrap();

        let e = remove_tree(&s.path("link")).unwrap_err();

        assert_eq!(e.kind(), io::ErrorKind::NotADirectory, "{e}");
        assert!(e.to_string().contains("link: "), "{e}");
        assert!(fs::symlink_metadata(s.path("link")).unwrap().is_symlink());
        assert_eq!(fs::read(s.path("real/keep")).unwrap(), b"x");
    }

    #[test]
    fn a_mount_point_in_the_tree_is_refused_by_name_and_what_is_mounted_survives() {
        if !needs_root("a_mount_point_in_the_tree_is_refused_by_name_and_what_is_mounted_survives")
        {
            return;
        }
        let s = Scratch::new("mount");
        let tree = s.path("tree");
        let mnt = tree.join("a/mnt");
        fs::create_dir_all(&mnt).unwrap();
        fs::write(tree.join("a/file"), b"x").unwrap();

        // In a mount namespace of its own, so the mount goes with the child.
        let outcome = in_child(None, || {
            let root = CString::new("/").unwrap();
            let target = CString::new(mnt.as_os_str().as_bytes()).unwrap();
            // SAFETY: unshare takes no pointers; the mounts' strings are
            // NUL-terminated and outlive the calls.
            unsafe {
                check(libc::unshare(libc::CLONE_NEWNS))?;
                let private = libc::MS_REC | libc::MS_PRIVATE;
                check(libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    private,
                    std::ptr::null(),
                ))?;
                check(libc::mount(
                    c"tmpfs".as_ptr(),
                    target.as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                ))?;
            }
            fs::write(mnt.join("mounted"), b"y")?;
            let e = remove_tree(&tree).expect_err("a tree with a mount point was removed");
            let named = e.to_string().starts_with(&format!("{}: ", mnt.display()));
            if e.kind() != io::ErrorKind::ResourceBusy || !named {
                return Err(io::Error::other(format!("wrong error: {e}")));
            }
            if fs::read(mnt.join("mounted"))? != b"y" {
                return Err(io::Error::other("the mounted file system was touched"));
            }
            Ok(())
        });

        assert_eq!(outcome, Outcome::Ok);
        remove_tree(&tree).unwrap();
        assert!(!exists(&tree));
    }
}
