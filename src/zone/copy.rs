//! Installing a zone's root: a copy of a prepared root file system that
//! keeps what a root needs (file types, owners, modes with
//! setuid/setgid/sticky, nanosecond times, extended attributes including
//! file capabilities and POSIX ACLs, hard links and holes) and that can be
//! trusted with a hostile image.
//!
//! The walk is descriptor-relative and never follows a symlink: each entry
//! is reached from its parent directory's descriptor with `O_NOFOLLOW` /
//! `AT_SYMLINK_NOFOLLOW`, so a symlink in the image is copied as a symlink
//! and can never direct a write outside the destination. A directory being
//! filled stays mode 0700 and owned by the caller until its entries are
//! done; only then does it get the image's owner, mode and times.
//!
//! For a user-namespaced zone the owners are shifted ([`IdShift`]), and so
//! are the ids inside ACLs and file capabilities: a capability is rewritten
//! as a namespaced (revision 3) one rooted at the zone's root, so the kernel
//! honours it only inside the zone. The xattrs and their translation are in
//! [`super::xattr`]; this module is the walk.
//!
//! The walk is a loop over a stack on the heap, not a recursion, so no
//! image can exhaust the thread's stack; it keeps one descriptor open per
//! directory level (the source directory being read) and refuses an image
//! deeper than [`MAX_DEPTH`], so none can exhaust the process's descriptors
//! either. The copy of the directory being filled is the only destination
//! directory open besides the root; the walk gets back to its parent
//! through `..` and checks that it is the directory it came from.
//!
//! A copy that fails removes what it made (with [`super::remove::remove_tree`],
//! which copes with any depth) and names the entry that failed:
//! `/images/base/dev/null: device nodes, FIFOs and sockets are not copied`.
//!
//! Linux only (the descriptor calls, `/proc/self/fd`, the xattr formats).
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use libc::{c_int, gid_t, off_t, uid_t};

use super::xattr::{self, Node};

/// The most one `copy_file_range` call is asked to copy.
const COPY_CHUNK: off_t = 1 << 30;
/// The buffer of the `pread`/`pwrite` fallback.
const BUFFER: usize = 1 << 17;

/// The deepest directory [`copy_tree`] copies, in levels below the image's
/// root (whose own entries are at level 1): an image with a directory
/// deeper than this is refused (`InvalidInput`) and nothing is left at the
/// destination.
///
/// The walk keeps one descriptor open per level, so the limit bounds the
/// descriptors a copy needs (`MAX_DEPTH + 10` with stdin, stdout and
/// stderr, within the common soft limit of 1024) as well as its memory. Real root file systems are a few
/// dozen levels deep.
pub(crate) const MAX_DEPTH: usize = 512;

/// How the installed tree's owners are mapped (a user-namespaced zone's root
/// is shifted so that id N in the image becomes host id `uid + N`, for
/// N < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdShift {
    /// The host uid that the zone's uid 0 maps to.
    pub uid: u32,
    /// The host gid that the zone's gid 0 maps to.
    pub gid: u32,
    /// How many consecutive ids the zone's user namespace maps.
    pub count: u32,
}

impl IdShift {
    /// The host uid of the image's uid `id`.
    pub(super) fn map_uid(&self, id: u32) -> io::Result<u32> {
        shift_id(self.uid, self.count, id, "uid")
    }

    /// The host gid of the image's gid `id`.
    pub(super) fn map_gid(&self, id: u32) -> io::Result<u32> {
        shift_id(self.gid, self.count, id, "gid")
    }
}

/// `base + id`, if `id` is one of the `count` ids the namespace maps.
fn shift_id(base: u32, count: u32, id: u32, what: &str) -> io::Result<u32> {
    let mapped = (id < count).then(|| base.checked_add(id)).flatten();
    mapped.ok_or_else(|| {
        let msg = format!("{what} {id} is outside the {count} ids from {base} the zone maps");
        io::Error::new(io::ErrorKind::InvalidInput, msg)
    })
}

/// Copies the tree at `from` to `to` (which must not exist; it is created).
///
/// `from` and the parent of `to` are opened as given (following symlinks,
/// as they are the caller's paths); nothing below them is ever followed.
/// With `shift`, owners, ACL ids and file capabilities are shifted into the
/// zone's id range. On failure whatever was created at `to` is removed and
/// the first error is returned, naming the entry of `from` that failed.
pub(crate) fn copy_tree(from: &Path, to: &Path, shift: Option<IdShift>) -> io::Result<()> {
    let src = open_at(
        libc::AT_FDCWD,
        &c_path(from)?,
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )
    .map_err(|e| at(from, "open", e))?;
    let (parent, name) = parent_and_name(to)?;
    let parent = open_at(libc::AT_FDCWD, &parent, libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(|e| at(to, "open parent", e))?;
    // SAFETY: `parent` is an open directory descriptor and `name` is
    // NUL-terminated; mkdirat reads nothing else.
    check(unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o700) })
        .map_err(|e| at(to, "mkdir", e))?;
    let result = copy_into(from, to, src, &parent, &name, shift);
    if result.is_err() {
        // Best effort: the error worth reporting is the one that got here.
        // `remove_tree` holds a few descriptors however deep the partial
        // copy is, where `remove_dir_all` would hold one per level.
        let _ = super::remove::remove_tree(to);
    }
    result
}

/// Copies the tree open at `src` into the directory `name` just made in
/// `parent` (which is `to`).
fn copy_into(
    from: &Path,
    to: &Path,
    src: OwnedFd,
    parent: &OwnedFd,
    name: &CStr,
    shift: Option<IdShift>,
) -> io::Result<()> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    let dst = open_at(parent.as_raw_fd(), name, flags, 0).map_err(|e| at(to, "open", e))?;
    xattr::clear_inherited_acls(dst.as_raw_fd()).map_err(|e| at(to, "remove inherited ACLs", e))?;
    let dst_st = stat_fd(dst.as_raw_fd()).map_err(|e| at(to, "stat", e))?;
    let mut copier = Copier {
        from,
        shift,
        dst_root: dst.as_raw_fd(),
        dst_root_id: id_of(&dst_st),
        links: HashMap::new(),
        copy_file_range_works: true,
    };
    let st = stat_fd(src.as_raw_fd()).map_err(|e| at(from, "stat", e))?;
    let root = Level {
        ids: copier.ids(&st, Path::new(""))?,
        dir: Dir::new(src).map_err(|e| at(from, "read directory", e))?,
        name: name.to_owned(),
        st,
        copy_id: id_of(&dst_st),
    };
    // The walk closes the copy it leaves, so it gets its own descriptor of
    // the root; `dst` stays open as `dst_root` until the copy is done.
    let flags = libc::O_RDONLY | libc::O_DIRECTORY;
    let cur = open_at(dst.as_raw_fd(), c".", flags, 0).map_err(|e| at(to, "open", e))?;
    copier.walk(root, cur)
}

/// `to`'s parent directory (`.` if it has none) and last component.
pub(super) fn parent_and_name(to: &Path) -> io::Result<(CString, CString)> {
    let name = to.file_name().ok_or_else(|| {
        let msg = format!("{}: not a path a directory can be made at", to.display());
        io::Error::new(io::ErrorKind::InvalidInput, msg)
    })?;
    let parent = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((c_path(parent)?, c_path(Path::new(name))?))
}

/// One entry of the source being copied.
struct Entry<'a> {
    /// Its name in its directory.
    name: &'a CStr,
    /// Its path below the source root (empty for the root).
    rel: &'a Path,
    /// Its `fstatat` (not following symlinks), taken before anything is made.
    st: libc::stat,
    /// Its owner and group in the copy (shifted if asked).
    ids: (uid_t, gid_t),
}

/// A directory of the source whose entries are being copied, with what its
/// copy gets once they are done.
struct Level {
    /// The source directory, being read.
    dir: Dir,
    /// Its name in its parent (for the root, the name of the destination).
    name: CString,
    /// Its `fstatat` (not following symlinks), taken before its copy was made.
    st: libc::stat,
    /// The owner and group of its copy.
    ids: (uid_t, gid_t),
    /// Its copy's (device, inode), checked when the walk comes back up to it.
    copy_id: (libc::dev_t, libc::ino_t),
}

impl Level {
    /// This directory as the entry at `rel`.
    fn entry<'a>(&'a self, rel: &'a Path) -> Entry<'a> {
        Entry {
            name: &self.name,
            rel,
            st: self.st,
            ids: self.ids,
        }
    }
}

/// A regular file with more than one link, as first copied.
struct FirstCopy {
    /// Its path below the destination root.
    rel: PathBuf,
    /// Its (device, inode) in the copy.
    copy: (libc::dev_t, libc::ino_t),
}

/// The state of one copy.
struct Copier<'a> {
    /// The source root, for messages.
    from: &'a Path,
    /// How owners are shifted, if they are.
    shift: Option<IdShift>,
    /// The destination root, open while the copy runs.
    dst_root: RawFd,
    /// The destination root's (device, inode), so a source holding it is refused.
    dst_root_id: (libc::dev_t, libc::ino_t),
    /// Source (device, inode) of each multiply-linked file copied so far.
    links: HashMap<(libc::dev_t, libc::ino_t), FirstCopy>,
    /// Cleared at the first `copy_file_range` that the file systems refuse.
    copy_file_range_works: bool,
}

impl Copier<'_> {
    /// The source path of the entry at `rel`.
    fn path(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() {
            self.from.to_path_buf()
        } else {
            self.from.join(rel)
        }
    }

    /// Labels an error of `what` on the entry at `rel` with its path.
    fn fail<'b>(
        &'b self,
        rel: &'b Path,
        what: &'b str,
    ) -> impl FnOnce(io::Error) -> io::Error + 'b {
        move |e| at(&self.path(rel), what, e)
    }

    /// The owner and group the copy of an entry gets.
    fn ids(&self, st: &libc::stat, rel: &Path) -> io::Result<(uid_t, gid_t)> {
        let Some(shift) = self.shift else {
            return Ok((st.st_uid, st.st_gid));
        };
        let ids = shift
            .map_uid(st.st_uid)
            .and_then(|u| Ok((u, shift.map_gid(st.st_gid)?)));
        ids.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path(rel).display())))
    }

    /// Copies the tree below `root` into `dst`, its copy: one directory at
    /// a time from a stack on the heap, each given its metadata once its
    /// entries are done. A directory deeper than [`MAX_DEPTH`] is refused.
    fn walk(&mut self, root: Level, mut dst: OwnedFd) -> io::Result<()> {
        let mut rel = PathBuf::new();
        let mut levels = vec![root];
        while let Some(top) = levels.last_mut() {
            let next = top
                .dir
                .next_name()
                .map_err(self.fail(&rel, "read directory"))?;
            let src = top.dir.fd();
            let Some(name) = next else {
                let done = levels.pop().expect("the loop runs while a level is left");
                let parent = match levels.last() {
                    Some(p) => Some(self.open_parent_copy(&dst, p.copy_id, &rel)?),
                    None => None,
                };
                self.finish(done.dir.fd(), dst.as_raw_fd(), &done.entry(&rel))?;
                let Some(parent) = parent else {
                    return Ok(());
                };
                dst = parent;
                rel.pop();
                continue;
            };
            let child = rel.join(OsStr::from_bytes(name.to_bytes()));
            let st = stat_at(src, &name).map_err(self.fail(&child, "stat"))?;
            let entry = Entry {
                name: &name,
                rel: &child,
                ids: self.ids(&st, &child)?,
                st,
            };
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                self.copy_entry(src, dst.as_raw_fd(), &entry)?;
                continue;
            }
            // `levels` holds the root (level 0) down to this entry's parent.
            if levels.len() > MAX_DEPTH {
                let msg = format!(
                    "{}: more than {MAX_DEPTH} directory levels below {}, the most an image may have",
                    self.path(&child).display(),
                    self.from.display()
                );
                return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
            }
            let (level, copy) = self.enter_dir(src, dst.as_raw_fd(), &entry)?;
            levels.push(level);
            dst = copy;
            rel = child;
        }
        Ok(())
    }

    /// Copies one entry other than a directory of the directory `src` into
    /// `dst`, by its type.
    fn copy_entry(&mut self, src: RawFd, dst: RawFd, e: &Entry) -> io::Result<()> {
        match e.st.st_mode & libc::S_IFMT {
            libc::S_IFREG => self.copy_file(src, dst, e),
            libc::S_IFLNK => self.copy_symlink(src, dst, e),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{}: device nodes, FIFOs and sockets are not copied",
                    self.path(e.rel).display()
                ),
            )),
        }
    }

    /// Opens the source entry `e` of `dir` without following it, and checks
    /// it is still the one that was stat'ed.
    fn open_source(&self, dir: RawFd, e: &Entry, flags: c_int) -> io::Result<OwnedFd> {
        let flags = flags | libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK;
        let fd = open_at(dir, e.name, flags, 0).map_err(self.fail(e.rel, "open"))?;
        let now = stat_fd(fd.as_raw_fd()).map_err(self.fail(e.rel, "stat"))?;
        if id_of(&now) != id_of(&e.st) {
            let msg = format!(
                "{}: replaced while being copied",
                self.path(e.rel).display()
            );
            return Err(io::Error::other(msg));
        }
        Ok(fd)
    }

    /// Makes the copy of the directory `e` of `src` in `dst` and opens
    /// both: the source as the walk's next level, the copy (still mode 0700
    /// and the caller's, so it can be filled) as the directory to fill.
    fn enter_dir(&self, src: RawFd, dst: RawFd, e: &Entry) -> io::Result<(Level, OwnedFd)> {
        if id_of(&e.st) == self.dst_root_id {
            let msg = format!(
                "{}: is the destination, inside the source",
                self.path(e.rel).display()
            );
            return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        }
        let from = self.open_source(src, e, libc::O_RDONLY | libc::O_DIRECTORY)?;
        // SAFETY: `dst` is an open directory and `e.name` is NUL-terminated.
        check(unsafe { libc::mkdirat(dst, e.name.as_ptr(), 0o700) })
            .map_err(self.fail(e.rel, "mkdir"))?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let to = open_at(dst, e.name, flags, 0).map_err(self.fail(e.rel, "open copy"))?;
        let copy = stat_fd(to.as_raw_fd()).map_err(self.fail(e.rel, "stat copy"))?;
        let level = Level {
            dir: Dir::new(from).map_err(self.fail(e.rel, "read directory"))?,
            name: e.name.to_owned(),
            st: e.st,
            ids: e.ids,
            copy_id: id_of(&copy),
        };
        Ok((level, to))
    }

    /// The directory that the copy `dir` of the entry at `rel` was made in,
    /// opened through `..` and checked to be that directory, `expected`.
    fn open_parent_copy(
        &self,
        dir: &OwnedFd,
        expected: (libc::dev_t, libc::ino_t),
        rel: &Path,
    ) -> io::Result<OwnedFd> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let up = open_at(dir.as_raw_fd(), c"..", flags, 0)
            .map_err(self.fail(rel, "open parent of copy"))?;
        let st = stat_fd(up.as_raw_fd()).map_err(self.fail(rel, "stat parent of copy"))?;
        if id_of(&st) != expected {
            let msg = format!(
                "{}: its copy was moved while being made",
                self.path(rel).display()
            );
            return Err(io::Error::other(msg));
        }
        Ok(up)
    }

    /// Copies the regular file `e`, or links it to its first copy.
    fn copy_file(&mut self, src: RawFd, dst: RawFd, e: &Entry) -> io::Result<()> {
        let key = id_of(&e.st);
        if e.st.st_nlink > 1 {
            if let Some(first) = self.links.get(&key) {
                return self.link(first, dst, e);
            }
        }
        let from = File::from(self.open_source(src, e, libc::O_RDONLY)?);
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let to =
            File::from(open_at(dst, e.name, flags, 0o600).map_err(self.fail(e.rel, "create"))?);
        copy_data(&from, &to, e.st.st_size, &mut self.copy_file_range_works)
            .map_err(self.fail(e.rel, "copy data"))?;
        self.finish(from.as_raw_fd(), to.as_raw_fd(), e)?;
        if e.st.st_nlink > 1 {
            let copy = id_of(&stat_fd(to.as_raw_fd()).map_err(self.fail(e.rel, "stat copy"))?);
            self.links.insert(
                key,
                FirstCopy {
                    rel: e.rel.to_path_buf(),
                    copy,
                },
            );
        }
        Ok(())
    }

    /// Makes `e` in `dst` a hard link to `first`, reaching it from the
    /// destination root one directory at a time, refusing symlinks, and
    /// checking that the new link is that inode.
    fn link(&self, first: &FirstCopy, dst: RawFd, e: &Entry) -> io::Result<()> {
        let parent = first.rel.parent().unwrap_or(Path::new(""));
        let dir = self
            .open_copy_dir(parent)
            .map_err(self.fail(e.rel, "open first link's directory"))?;
        let old = c_path(Path::new(first.rel.file_name().unwrap_or_default()))?;
        // SAFETY: both directories are open and both names NUL-terminated;
        // flags 0 links `old` itself, never what it might point to.
        check(unsafe { libc::linkat(dir.as_raw_fd(), old.as_ptr(), dst, e.name.as_ptr(), 0) })
            .map_err(self.fail(e.rel, "link"))?;
        let made = stat_at(dst, e.name).map_err(self.fail(e.rel, "stat link"))?;
        if id_of(&made) != first.copy {
            let msg = format!(
                "{}: its first link was replaced during the copy",
                self.path(e.rel).display()
            );
            return Err(io::Error::other(msg));
        }
        Ok(())
    }

    /// Opens the copy's directory at `rel`, one component at a time.
    fn open_copy_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let mut dir = open_at(self.dst_root, c".", flags, 0)?;
        for part in rel.components() {
            dir = open_at(
                dir.as_raw_fd(),
                &c_path(Path::new(part.as_os_str()))?,
                flags,
                0,
            )?;
        }
        Ok(dir)
    }

    /// Copies the symlink `e`: its target, owner, xattrs and times. (A
    /// symlink's mode is not used by Linux and cannot be set.)
    fn copy_symlink(&self, src: RawFd, dst: RawFd, e: &Entry) -> io::Result<()> {
        let target =
            read_link_at(src, e.name, e.st.st_size).map_err(self.fail(e.rel, "readlink"))?;
        // SAFETY: `dst` is an open directory; both strings are NUL-terminated.
        check(unsafe { libc::symlinkat(target.as_ptr(), dst, e.name.as_ptr()) })
            .map_err(self.fail(e.rel, "symlink"))?;
        let (uid, gid) = e.ids;
        let nofollow = libc::AT_SYMLINK_NOFOLLOW;
        // SAFETY: as above; AT_SYMLINK_NOFOLLOW changes the link itself.
        check(unsafe { libc::fchownat(dst, e.name.as_ptr(), uid, gid, nofollow) })
            .map_err(self.fail(e.rel, "chown"))?;
        // A symlink cannot be opened for its xattrs (an O_PATH descriptor
        // refuses them), so it is named through its directory's descriptor:
        // /proc/self/fd/N is that directory and l*xattr do not follow the
        // last component.
        let (from, to) = (proc_path(src, e.name)?, proc_path(dst, e.name)?);
        self.copy_xattrs(&Node::Path(from), &Node::Path(to), e.rel)?;
        let times = times_of(&e.st);
        // SAFETY: `times` holds the two timespecs utimensat reads.
        check(unsafe { libc::utimensat(dst, e.name.as_ptr(), times.as_ptr(), nofollow) })
            .map_err(self.fail(e.rel, "set times"))?;
        Ok(())
    }

    /// Gives `dst`, the copy of `e` open at `src`, the owner, xattrs, mode
    /// and times of `e`, in that order: chown clears setuid/setgid and
    /// `security.capability`, so they are set after it.
    fn finish(&self, src: RawFd, dst: RawFd, e: &Entry) -> io::Result<()> {
        let (uid, gid) = e.ids;
        // SAFETY: `dst` is an open descriptor; fchown takes no pointers.
        check(unsafe { libc::fchown(dst, uid, gid) }).map_err(self.fail(e.rel, "chown"))?;
        self.copy_xattrs(&Node::Fd(src), &Node::Fd(dst), e.rel)?;
        // SAFETY: as for fchown.
        check(unsafe { libc::fchmod(dst, e.st.st_mode & 0o7777) })
            .map_err(self.fail(e.rel, "chmod"))?;
        let times = times_of(&e.st);
        // SAFETY: `times` holds the two timespecs futimens reads.
        check(unsafe { libc::futimens(dst, times.as_ptr()) })
            .map_err(self.fail(e.rel, "set times"))?;
        Ok(())
    }

    /// Copies every extended attribute of `src` to `dst`, shifted if asked.
    fn copy_xattrs(&self, src: &Node, dst: &Node, rel: &Path) -> io::Result<()> {
        xattr::copy_all(src, dst, self.shift, |what, e| at(&self.path(rel), what, e))
    }
}

/// Copies the `len` bytes of `from` to `to`, data range by data range (from
/// SEEK_DATA/SEEK_HOLE), so holes stay holes; `to` is then sized to `len`.
/// `use_copy_file_range` is cleared when the file systems refuse it.
fn copy_data(from: &File, to: &File, len: off_t, use_copy_file_range: &mut bool) -> io::Result<()> {
    let mut pos = 0;
    while pos < len {
        let Some((start, end)) = next_data(from.as_raw_fd(), pos, len)? else {
            break;
        };
        copy_range(from, to, start, end, use_copy_file_range)?;
        pos = end;
    }
    to.set_len(u64::try_from(len).unwrap_or(0))
}

/// The next data range of `fd` at or after `pos`, up to `len`; `None` if
/// only a hole is left.
fn next_data(fd: RawFd, pos: off_t, len: off_t) -> io::Result<Option<(off_t, off_t)>> {
    let start = match seek(fd, pos, libc::SEEK_DATA) {
        Ok(start) => start,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => return Ok(None),
        // A file system without SEEK_DATA: the rest is data.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(Some((pos, len))),
        Err(e) => return Err(e),
    };
    if start >= len {
        return Ok(None);
    }
    Ok(Some((start, seek(fd, start, libc::SEEK_HOLE)?.min(len))))
}

/// `lseek(fd, pos, whence)`.
fn seek(fd: RawFd, pos: off_t, whence: c_int) -> io::Result<off_t> {
    // SAFETY: `fd` is open; lseek takes no pointers.
    let at = unsafe { libc::lseek(fd, pos, whence) };
    if at < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(at)
}

/// Copies bytes `start..end` of `from` to the same offsets of `to`, with
/// `copy_file_range` while it works, else with `pread`/`pwrite`.
fn copy_range(
    from: &File,
    to: &File,
    start: off_t,
    end: off_t,
    use_cfr: &mut bool,
) -> io::Result<()> {
    let mut pos = start;
    while pos < end && *use_cfr {
        let (mut off_in, mut off_out) = (pos, pos);
        let want = (end - pos).min(COPY_CHUNK) as usize;
        // SAFETY: both descriptors are open files and both offsets point at
        // locals that live across the call, which is all it reads or writes.
        let n = unsafe {
            libc::copy_file_range(
                from.as_raw_fd(),
                &mut off_in,
                to.as_raw_fd(),
                &mut off_out,
                want,
                0,
            )
        };
        match n {
            0 => return Ok(()), // the file shrank since it was stat'ed
            n if n > 0 => pos += n as off_t,
            _ => {
                let e = io::Error::last_os_error();
                if !copy_file_range_refused(&e) {
                    return Err(e);
                }
                *use_cfr = false;
            }
        }
    }
    read_write(from, to, pos, end)
}

/// Whether `copy_file_range` failed because these files cannot use it (the
/// errors GNU cp also falls back on), not because the copy cannot be made.
fn copy_file_range_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ENOSYS
                | libc::EOPNOTSUPP
                | libc::EXDEV
                | libc::EINVAL
                | libc::EBADF
                | libc::ETXTBSY
                | libc::EPERM
        )
    )
}

/// Copies bytes `pos..end` of `from` to the same offsets of `to` through a buffer.
fn read_write(from: &File, to: &File, mut pos: off_t, end: off_t) -> io::Result<()> {
    let mut buf = vec![0u8; BUFFER];
    while pos < end {
        let want = buf.len().min((end - pos) as usize);
        let n = match from.read_at(&mut buf[..want], pos as u64) {
            Ok(0) => return Ok(()), // the file shrank since it was stat'ed
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all_at(&buf[..n], pos as u64)?;
        pos += n as off_t;
    }
    Ok(())
}

/// A directory stream over a descriptor it owns, closed on drop.
pub(super) struct Dir(NonNull<libc::DIR>);

impl Dir {
    /// A stream reading the open directory `fd`.
    pub(super) fn new(fd: OwnedFd) -> io::Result<Dir> {
        // SAFETY: `fd` is an open directory; on success the stream owns it,
        // so it is released from `OwnedFd` below, and on failure it is not
        // taken and `fd` closes it.
        let dir = NonNull::new(unsafe { libc::fdopendir(fd.as_raw_fd()) });
        let dir = dir.ok_or_else(io::Error::last_os_error)?;
        let _ = fd.into_raw_fd();
        Ok(Dir(dir))
    }

    /// The stream's descriptor, open as long as the stream is.
    pub(super) fn fd(&self) -> RawFd {
        // SAFETY: the stream is open until drop.
        unsafe { libc::dirfd(self.0.as_ptr()) }
    }

    /// The next name in the directory other than `.` and `..`.
    pub(super) fn next_name(&mut self) -> io::Result<Option<CString>> {
        loop {
            // SAFETY: errno is this thread's; clearing it tells the end of
            // the stream from an error when readdir returns null.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: the stream is open and only this `Dir` reads it.
            let entry = unsafe { libc::readdir(self.0.as_ptr()) };
            if entry.is_null() {
                let e = io::Error::last_os_error();
                return if e.raw_os_error() == Some(0) {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
            // SAFETY: `entry` is valid until the next readdir on this stream,
            // and its `d_name` is NUL-terminated; the name is copied out now.
            let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
            if name != c"." && name != c".." {
                return Ok(Some(name.to_owned()));
            }
        }
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the stream's descriptor stays open until the stream is
        // closed in drop, which cannot happen while `self` is borrowed.
        unsafe { BorrowedFd::borrow_raw(self.fd()) }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: the stream came from fdopendir and is closed only here.
        unsafe { libc::closedir(self.0.as_ptr()) };
    }
}

/// Opens `name` in the directory `dir` with `flags` and `O_CLOEXEC`.
pub(super) fn open_at(
    dir: RawFd,
    name: &CStr,
    flags: c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated; `mode` is read only with O_CREAT.
    let fd = check(unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, mode) })?;
    // SAFETY: `fd` was just opened and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstatat(dir, name)`, not following a symlink.
pub(super) fn stat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    stat_with(dir, name, libc::AT_SYMLINK_NOFOLLOW)
}

/// `fstat(fd)`.
pub(super) fn stat_fd(fd: RawFd) -> io::Result<libc::stat> {
    stat_with(fd, c"", libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW)
}

/// `fstatat(dir, name, flags)`.
fn stat_with(dir: RawFd, name: &CStr, flags: c_int) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` has room for one `stat`, which fstatat fills on success;
    // `name` is NUL-terminated.
    check(unsafe { libc::fstatat(dir, name.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: fstatat succeeded, so `st` is initialised.
    Ok(unsafe { st.assume_init() })
}

/// An inode's (device, inode) pair.
pub(super) fn id_of(st: &libc::stat) -> (libc::dev_t, libc::ino_t) {
    (st.st_dev, st.st_ino)
}

/// An entry's access and modification times, for futimens/utimensat.
fn times_of(st: &libc::stat) -> [libc::timespec; 2] {
    // SAFETY: timespec is integers (and, on some targets, padding), for
    // which all-zero bytes are a valid value.
    let mut times: [libc::timespec; 2] = unsafe { std::mem::zeroed() };
    (times[0].tv_sec, times[0].tv_nsec) = (st.st_atime, st.st_atime_nsec);
    (times[1].tv_sec, times[1].tv_nsec) = (st.st_mtime, st.st_mtime_nsec);
    times
}

/// The target of the symlink `name` in `dir` (`size` is its lstat size).
fn read_link_at(dir: RawFd, name: &CStr, size: off_t) -> io::Result<CString> {
    let mut room = usize::try_from(size).unwrap_or(0).max(64) + 1;
    loop {
        let mut buf = vec![0u8; room];
        // SAFETY: `buf` has room for `room` bytes, the most readlinkat writes.
        let n = check_len(unsafe {
            libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), room)
        })?;
        if n < room {
            buf.truncate(n);
            return Ok(CString::new(buf)?);
        }
        room *= 2; // filled: it may have been cut short
    }
}

/// `/proc/self/fd/<dir>/<name>`: `name` in the open directory `dir`.
fn proc_path(dir: RawFd, name: &CStr) -> io::Result<CString> {
    let mut path = format!("/proc/self/fd/{dir}/").into_bytes();
    path.extend_from_slice(name.to_bytes());
    Ok(CString::new(path)?)
}

/// `path` as a C string.
fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        let msg = format!("{}: contains a NUL byte", path.display());
        io::Error::new(io::ErrorKind::InvalidInput, msg)
    })
}

/// `e`, labelled with the path and the operation that failed.
pub(super) fn at(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {what}: {e}", path.display()))
}

/// The last OS error if a call returned -1.
pub(super) fn check(ret: c_int) -> io::Result<c_int> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

/// The length a call returned, or the last OS error if it returned -1.
pub(super) fn check_len(ret: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// Tests of the walk, and the scratch trees that [`super::xattr`]'s tests
/// copy too.
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::zone::remove::remove_tree;
    use crate::zone::remove::tests::{in_child, Outcome};
    use std::fs::{self, Permissions};
    use std::os::unix::fs::{chown, lchown, symlink, MetadataExt, PermissionsExt};

    /// The shift of the shifting tests: 65536 ids from 100000 and 200000.
    pub(in crate::zone) const SHIFT: IdShift = IdShift {
        uid: 100_000,
        gid: 200_000,
        count: 65_536,
    };

    /// `security.capability` v2 for cap_net_raw (bit 13), permitted and effective.
    pub(in crate::zone) const NET_RAW_EP_V2: [u8; 20] = [
        0x01, 0, 0, 0x02, // magic_etc: VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
        0, 0x20, 0, 0, // data[0].permitted: 1 << 13
        0, 0, 0, 0, // data[0].inheritable
        0, 0, 0, 0, // data[1].permitted
        0, 0, 0, 0, // data[1].inheritable
    ];

    /// A directory of one test, removed on drop: `img/` is the image and
    /// `root` the copy.
    pub(in crate::zone) struct Scratch(pub(in crate::zone) PathBuf);

    impl Scratch {
        pub(in crate::zone) fn new(tag: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("hull-copy-{tag}-{}", std::process::id()));
            let _ = remove_tree(&dir);
            fs::create_dir_all(dir.join("img")).unwrap();
            Scratch(dir)
        }

        pub(in crate::zone) fn img(&self, rel: &str) -> PathBuf {
            self.0.join("img").join(rel)
        }

        pub(in crate::zone) fn root(&self, rel: &str) -> PathBuf {
            self.0.join("root").join(rel)
        }

        pub(in crate::zone) fn copy(&self, shift: Option<IdShift>) -> io::Result<()> {
            copy_tree(&self.0.join("img"), &self.0.join("root"), shift)
        }

        fn copied(&self) -> bool {
            fs::symlink_metadata(self.0.join("root")).is_ok()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = remove_tree(&self.0);
        }
    }

    /// Makes `levels` directories named `d`, each in the one before, below
    /// the directory `base`, each made from the descriptor of the one
    /// before (so no path is longer than a name, whatever the depth), and
    /// returns the deepest, open.
    pub(in crate::zone) fn nest(base: &Path, levels: usize) -> OwnedFd {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let mut dir = open_at(libc::AT_FDCWD, &c_path(base).unwrap(), flags, 0).unwrap();
        for _ in 0..levels {
            // SAFETY: `dir` is an open directory and the name is NUL-terminated.
            check(unsafe { libc::mkdirat(dir.as_raw_fd(), c"d".as_ptr(), 0o755) }).unwrap();
            dir = open_at(dir.as_raw_fd(), c"d", flags, 0).unwrap();
        }
        dir
    }

    /// Opens the directory `levels` directories named `d` below `base`,
    /// one component at a time.
    fn descend(base: &Path, levels: usize) -> io::Result<OwnedFd> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let mut dir = open_at(libc::AT_FDCWD, &c_path(base)?, flags, 0)?;
        for _ in 0..levels {
            dir = open_at(dir.as_raw_fd(), c"d", flags, 0)?;
        }
        Ok(dir)
    }

    /// Makes the file `name` holding `data` in the open directory `dir`.
    pub(in crate::zone) fn write_in(dir: &OwnedFd, name: &CStr, data: &[u8]) {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let f = File::from(open_at(dir.as_raw_fd(), name, flags, 0o644).unwrap());
        f.write_all_at(data, 0).unwrap();
    }

    /// What the file `name` in the open directory `dir` holds.
    fn read_in(dir: &OwnedFd, name: &CStr) -> Vec<u8> {
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW;
        let mut f = File::from(open_at(dir.as_raw_fd(), name, flags, 0).unwrap());
        let mut data = Vec::new();
        io::Read::read_to_end(&mut f, &mut data).unwrap();
        data
    }

    pub(in crate::zone) fn needs_root(test: &str) -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            return true;
        }
        eprintln!("SKIPPED {test}: needs root");
        false
    }

    fn lstat(path: &Path) -> fs::Metadata {
        fs::symlink_metadata(path).unwrap()
    }

    /// The xattrs of `path` itself (not of what it may point to).
    pub(in crate::zone) fn node(path: &Path) -> Node {
        Node::Path(c_path(path).unwrap())
    }

    pub(in crate::zone) fn set_xattr(path: &Path, name: &CStr, value: &[u8]) -> io::Result<()> {
        node(path).set(name, value)
    }

    pub(in crate::zone) fn get_xattr(path: &Path, name: &CStr) -> Vec<u8> {
        node(path).get(name).unwrap()
    }

    pub(in crate::zone) fn unsupported(e: &io::Error) -> bool {
        e.raw_os_error() == Some(libc::EOPNOTSUPP)
    }

    /// Sets `path`'s (atime, mtime), each (seconds, nanoseconds), not following it.
    fn set_times(path: &Path, atime: (i64, i64), mtime: (i64, i64)) {
        // SAFETY: all-zero bytes are a valid timespec.
        let mut times: [libc::timespec; 2] = unsafe { std::mem::zeroed() };
        (times[0].tv_sec, times[0].tv_nsec) = atime;
        (times[1].tv_sec, times[1].tv_nsec) = mtime;
        let path = c_path(path).unwrap();
        let flags = libc::AT_SYMLINK_NOFOLLOW;
        // SAFETY: `path` is NUL-terminated and `times` holds two timespecs.
        check(unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), times.as_ptr(), flags) })
            .unwrap();
    }

    fn times(path: &Path) -> ((i64, i64), (i64, i64)) {
        let m = lstat(path);
        ((m.atime(), m.atime_nsec()), (m.mtime(), m.mtime_nsec()))
    }

    /// A file of `len` bytes with 4 KiB of 0xAB at 0 and of 0xCD at 32 MiB.
    fn sparse_file(path: &Path, len: u64) -> File {
        let f = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .unwrap();
        f.set_len(len).unwrap();
        f.write_all_at(&[0xAB; 4096], 0).unwrap();
        f.write_all_at(&[0xCD; 4096], 32 << 20).unwrap();
        f.sync_all().unwrap();
        f
    }

    fn read_at(path: &Path, at: u64) -> Vec<u8> {
        let mut buf = vec![0u8; 4096];
        File::open(path)
            .unwrap()
            .read_exact_at(&mut buf, at)
            .unwrap();
        buf
    }

    #[test]
    fn owners_and_modes_with_setuid_setgid_and_sticky_survive_the_copy() {
        if !needs_root("owners_and_modes_with_setuid_setgid_and_sticky_survive_the_copy") {
            return;
        }
        let s = Scratch::new("owners");
        fs::create_dir(s.img("bin")).unwrap();
        fs::write(s.img("bin/tool"), b"#!/bin/sh\n").unwrap();
        chown(s.img("bin/tool"), Some(1234), Some(5678)).unwrap();
        fs::set_permissions(s.img("bin/tool"), Permissions::from_mode(0o4755)).unwrap();
        fs::create_dir(s.img("shared")).unwrap();
        chown(s.img("shared"), Some(1234), Some(5678)).unwrap();
        fs::set_permissions(s.img("shared"), Permissions::from_mode(0o3775)).unwrap();

        s.copy(None).unwrap();

        let tool = lstat(&s.root("bin/tool"));
        assert_eq!(
            (tool.uid(), tool.gid(), tool.mode() & 0o7777),
            (1234, 5678, 0o4755)
        );
        assert!(tool.is_file());
        assert_eq!(fs::read(s.root("bin/tool")).unwrap(), b"#!/bin/sh\n");
        let shared = lstat(&s.root("shared"));
        assert_eq!(
            (shared.uid(), shared.gid(), shared.mode() & 0o7777),
            (1234, 5678, 0o3775)
        );
        assert!(shared.is_dir());
    }

    #[test]
    fn a_shift_maps_owners_into_the_zone_range() {
        if !needs_root("a_shift_maps_owners_into_the_zone_range") {
            return;
        }
        let s = Scratch::new("shift");
        fs::write(s.img("tool"), b"x").unwrap();
        chown(s.img("tool"), Some(1234), Some(5678)).unwrap();
        fs::set_permissions(s.img("tool"), Permissions::from_mode(0o2755)).unwrap();
        symlink("tool", s.img("sh")).unwrap();
        lchown(s.img("sh"), Some(1234), Some(5678)).unwrap();
        chown(s.img(""), Some(0), Some(0)).unwrap();

        s.copy(Some(SHIFT)).unwrap();

        let tool = lstat(&s.root("tool"));
        assert_eq!(
            (tool.uid(), tool.gid(), tool.mode() & 0o7777),
            (101_234, 205_678, 0o2755)
        );
        let sh = lstat(&s.root("sh"));
        assert!(sh.file_type().is_symlink());
        assert_eq!((sh.uid(), sh.gid()), (101_234, 205_678));
        let root = lstat(&s.root(""));
        assert_eq!((root.uid(), root.gid()), (100_000, 200_000));
    }

    #[test]
    fn an_id_outside_the_shift_fails_the_copy_and_leaves_nothing() {
        if !needs_root("an_id_outside_the_shift_fails_the_copy_and_leaves_nothing") {
            return;
        }
        let s = Scratch::new("outside");
        fs::create_dir_all(s.img("a/deep")).unwrap();
        fs::write(s.img("a/deep/file"), b"x").unwrap();
        chown(s.img("a/deep/file"), Some(70_000), None).unwrap();

        let e = s.copy(Some(SHIFT)).unwrap_err();

        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("img/a/deep/file") && msg.contains("70000"),
            "{msg}"
        );
        assert!(!s.copied());
    }

    #[test]
    fn xattrs_on_a_symlink_are_copied_to_the_symlink() {
        if !needs_root("xattrs_on_a_symlink_are_copied_to_the_symlink") {
            return;
        }
        let s = Scratch::new("linkxattr");
        fs::write(s.img("f"), b"x").unwrap();
        symlink("f", s.img("l")).unwrap();
        match set_xattr(&s.img("l"), c"trusted.hull", b"link") {
            Err(e) if unsupported(&e) => {
                eprintln!(
                    "NOTE: {} has no trusted xattrs; not asserted",
                    s.0.display()
                );
                return;
            }
            set => set.unwrap(),
        }

        s.copy(None).unwrap();

        assert!(lstat(&s.root("l")).file_type().is_symlink());
        assert_eq!(get_xattr(&s.root("l"), c"trusted.hull"), b"link");
        let on_target = Node::Path(c_path(&s.root("f")).unwrap()).get(c"trusted.hull");
        assert_eq!(on_target.unwrap_err().raw_os_error(), Some(libc::ENODATA));
    }

    #[test]
    fn a_file_capability_survives_the_chown_of_its_copy() {
        if !needs_root("a_file_capability_survives_the_chown_of_its_copy") {
            return;
        }
        let s = Scratch::new("caps");
        fs::write(s.img("ping"), b"x").unwrap();
        // Owned by someone else, so the copy is chowned, which clears
        // security.capability: it must be set after.
        chown(s.img("ping"), Some(1234), Some(5678)).unwrap();
        set_xattr(&s.img("ping"), c"security.capability", &NET_RAW_EP_V2).unwrap();

        s.copy(None).unwrap();

        assert_eq!(
            get_xattr(&s.root("ping"), c"security.capability"),
            NET_RAW_EP_V2
        );
        assert_eq!(lstat(&s.root("ping")).uid(), 1234);
    }

    #[test]
    fn hard_links_share_one_inode_in_the_copy() {
        let s = Scratch::new("links");
        fs::create_dir(s.img("a")).unwrap();
        fs::create_dir(s.img("b")).unwrap();
        fs::write(s.img("a/one"), b"same").unwrap();
        fs::hard_link(s.img("a/one"), s.img("b/two")).unwrap();
        fs::hard_link(s.img("a/one"), s.img("three")).unwrap();

        s.copy(None).unwrap();

        let one = lstat(&s.root("a/one"));
        assert_eq!(one.nlink(), 3);
        assert_eq!(lstat(&s.root("b/two")).ino(), one.ino());
        assert_eq!(lstat(&s.root("three")).ino(), one.ino());
        assert_ne!(lstat(&s.img("a/one")).ino(), one.ino());
        assert_eq!(fs::read(s.root("b/two")).unwrap(), b"same");
    }

    #[test]
    fn a_sparse_file_stays_sparse_with_its_data_in_place() {
        const LEN: u64 = 64 << 20;
        let s = Scratch::new("sparse");
        sparse_file(&s.img("disk"), LEN);

        s.copy(None).unwrap();

        let disk = lstat(&s.root("disk"));
        assert_eq!(disk.len(), LEN);
        if lstat(&s.img("disk")).blocks() * 512 > 1 << 20 {
            eprintln!(
                "NOTE: {} does not keep holes; sparseness not asserted",
                s.0.display()
            );
        } else {
            assert!(disk.blocks() * 512 <= 256 << 10, "{} blocks", disk.blocks());
        }
        assert_eq!(read_at(&s.root("disk"), 0), [0xAB; 4096]);
        assert_eq!(read_at(&s.root("disk"), 32 << 20), [0xCD; 4096]);
        assert_eq!(read_at(&s.root("disk"), 16 << 20), [0; 4096]);
        assert_eq!(read_at(&s.root("disk"), LEN - 4096), [0; 4096]);
    }

    #[test]
    fn without_copy_file_range_the_data_and_holes_are_the_same() {
        const LEN: u64 = 64 << 20;
        let s = Scratch::new("pread");
        let from = sparse_file(&s.img("disk"), LEN);
        let to = File::create_new(s.0.join("copy")).unwrap();
        let mut use_copy_file_range = false;

        copy_data(&from, &to, LEN as off_t, &mut use_copy_file_range).unwrap();

        assert_eq!(to.metadata().unwrap().len(), LEN);
        if lstat(&s.img("disk")).blocks() * 512 <= 1 << 20 {
            assert!(to.metadata().unwrap().blocks() * 512 <= 256 << 10);
        }
        assert_eq!(read_at(&s.0.join("copy"), 0), [0xAB; 4096]);
        assert_eq!(read_at(&s.0.join("copy"), 32 << 20), [0xCD; 4096]);
    }

    #[test]
    fn a_symlink_to_a_host_path_is_copied_as_a_symlink_and_never_followed() {
        let s = Scratch::new("escape");
        let victim = s.0.join("victim");
        fs::create_dir(&victim).unwrap();
        fs::write(victim.join("secret"), b"host").unwrap();
        fs::set_permissions(&victim, Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(victim.join("secret"), Permissions::from_mode(0o600)).unwrap();
        let old = (1_000_000_000, 5);
        set_times(&victim.join("secret"), old, old);
        set_times(&victim, old, old);
        symlink(&victim, s.img("etc")).unwrap();
        symlink(victim.join("secret"), s.img("passwd")).unwrap();

        s.copy(None).unwrap();

        // Times first: reading the victim below moves its atime.
        assert_eq!(times(&victim), (old, old));
        assert_eq!(times(&victim.join("secret")), (old, old));
        assert_eq!(fs::read_link(s.root("etc")).unwrap(), victim);
        assert_eq!(
            fs::read_link(s.root("passwd")).unwrap(),
            victim.join("secret")
        );
        let names: Vec<_> = fs::read_dir(&victim)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"]);
        assert_eq!(fs::read(victim.join("secret")).unwrap(), b"host");
        assert_eq!(lstat(&victim).mode() & 0o7777, 0o700);
        assert_eq!(lstat(&victim.join("secret")).mode() & 0o7777, 0o600);
    }

    #[test]
    fn a_fifo_in_the_image_fails_the_copy_and_leaves_nothing() {
        let s = Scratch::new("fifo");
        fs::create_dir(s.img("a")).unwrap();
        fs::write(s.img("a/file"), b"x").unwrap();
        fs::create_dir(s.img("z")).unwrap();
        let fifo = c_path(&s.img("z/pipe")).unwrap();
        // SAFETY: `fifo` is NUL-terminated.
        check(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }).unwrap();

        let e = s.copy(None).unwrap_err();

        assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
        assert!(e.to_string().contains("img/z/pipe"), "{e}");
        assert!(!s.copied());
    }

    #[test]
    fn access_and_modification_times_survive_to_the_nanosecond() {
        let s = Scratch::new("times");
        fs::write(s.img("f"), b"x").unwrap();
        fs::create_dir(s.img("d")).unwrap();
        fs::write(s.img("d/inner"), b"y").unwrap();
        symlink("f", s.img("l")).unwrap();
        let expected = [
            (
                "f",
                (1_000_000_000, 123_456_789),
                (1_100_000_000, 987_654_321),
            ),
            ("d", (1_200_000_000, 1), (1_300_000_000, 999_999_999)),
            ("l", (1_400_000_000, 42), (1_500_000_000, 24)),
            ("", (1_600_000_000, 7), (1_700_000_000, 8)),
        ];
        for (rel, atime, mtime) in expected {
            set_times(&s.img(rel), atime, mtime);
        }

        s.copy(None).unwrap();

        for (rel, atime, mtime) in expected {
            assert_eq!(times(&s.root(rel)), (atime, mtime), "{rel:?}");
        }
    }

    #[test]
    fn an_existing_destination_is_refused_and_left_alone() {
        let s = Scratch::new("exists");
        fs::write(s.img("f"), b"x").unwrap();
        fs::create_dir(s.root("")).unwrap();
        fs::write(s.root("keep"), b"mine").unwrap();

        let e = s.copy(None).unwrap_err();

        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(fs::read(s.root("keep")).unwrap(), b"mine");
        assert!(fs::symlink_metadata(s.root("f")).is_err());
    }

    #[test]
    fn an_image_max_depth_levels_deep_is_copied_to_the_bottom_with_max_depth_plus_16_descriptors() {
        let s = Scratch::new("maxdepth");
        write_in(&nest(&s.img(""), MAX_DEPTH), c"bottom", b"deep");

        let fds = MAX_DEPTH as libc::rlim_t + 16;
        assert_eq!(in_child(Some(fds), || s.copy(None)), Outcome::Ok);

        let bottom = descend(&s.root(""), MAX_DEPTH).unwrap();
        assert_eq!(read_in(&bottom, c"bottom"), b"deep");
        let below = stat_at(bottom.as_raw_fd(), c"d").unwrap_err();
        assert_eq!(below.kind(), io::ErrorKind::NotFound);
        // Every level got its image's mode back on the way up.
        assert_eq!(stat_fd(bottom.as_raw_fd()).unwrap().st_mode & 0o7777, 0o755);
        let top = descend(&s.root(""), 1).unwrap();
        assert_eq!(stat_fd(top.as_raw_fd()).unwrap().st_mode & 0o7777, 0o755);
    }

    #[test]
    fn an_image_one_level_deeper_than_max_depth_is_refused_and_leaves_nothing() {
        let s = Scratch::new("toodeep");
        write_in(&nest(&s.img(""), MAX_DEPTH + 1), c"bottom", b"deep");

        let e = s.copy(None).unwrap_err();

        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let msg = e.to_string();
        let refused = format!(
            "{}{}",
            s.0.join("img").display(),
            "/d".repeat(MAX_DEPTH + 1)
        );
        assert!(msg.starts_with(&format!("{refused}: ")), "{msg}");
        assert!(msg.contains(&format!("more than {MAX_DEPTH} ")), "{msg}");
        assert!(!s.copied());
    }

    #[test]
    fn an_image_9000_levels_deep_is_refused_on_a_small_stack() {
        let s = Scratch::new("verydeep");
        drop(nest(&s.img(""), 9000));

        // 64 KiB of stack: the walk's depth is on the heap, not the stack.
        let copy = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || (s.copy(None), s.copied(), s))
            .unwrap();
        let (result, copied, _s) = copy.join().unwrap();

        let e = result.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(!copied);
    }

    #[test]
    fn a_destination_inside_the_source_is_refused_and_removed() {
        let s = Scratch::new("inside");
        fs::write(s.img("f"), b"x").unwrap();

        let e = copy_tree(&s.img(""), &s.img("copy"), None).unwrap_err();

        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(fs::symlink_metadata(s.img("copy")).is_err());
        assert_eq!(fs::read(s.img("f")).unwrap(), b"x");
    }
}
