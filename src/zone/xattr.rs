//! The extended attributes of a zone's root as it is installed: read and
//! written on a descriptor or, for a symlink, on a path whose last
//! component is not followed ([`Node`]), copied all at once ([`copy_all`]),
//! and kept out of a new copy when it would only have inherited them
//! ([`clear_inherited_acls`]).
//!
//! For a user-namespaced zone the ids inside them are shifted ([`IdShift`]):
//! a file capability (`security.capability`, any revision) is rewritten as a
//! namespaced (revision 3) one rooted at the zone's root, so the kernel
//! honours it only inside the zone, and the named users and groups of a
//! POSIX ACL (`system.posix_acl_access`, `system.posix_acl_default`) are
//! mapped into the zone's range.
//!
//! Linux only (the xattr calls, the capability and ACL formats).
#![cfg(target_os = "linux")]

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;
use std::ptr;

use super::copy::{check, check_len, IdShift};

// Linux include/uapi/linux/capability.h (unchanged since v4.14): the
// `security.capability` formats, told apart by the revision in `magic_etc`.
const VFS_CAP_REVISION_MASK: u32 = 0xFF00_0000;
const VFS_CAP_REVISION_1: u32 = 0x0100_0000;
const VFS_CAP_REVISION_2: u32 = 0x0200_0000;
const VFS_CAP_REVISION_3: u32 = 0x0300_0000;
const VFS_CAP_FLAGS_EFFECTIVE: u32 = 0x0000_0001;
const XATTR_CAPS_SZ_1: usize = 12;
const XATTR_CAPS_SZ_2: usize = 20;
const XATTR_CAPS_SZ_3: usize = 24;

// Linux include/uapi/linux/posix_acl_xattr.h and posix_acl.h (v6.1+; the
// same values in include/linux before): a version word, then 8-byte
// entries {le16 tag, le16 perm, le32 id}.
const POSIX_ACL_XATTR_VERSION: u32 = 0x0002;
const ACL_USER: u16 = 0x02;
const ACL_GROUP: u16 = 0x08;

/// Copies every extended attribute of `src` to `dst`, with the ids in them
/// shifted if `shift` is given (nothing, on a file system without xattrs).
/// A failure is passed through `label` with what was being done (`list
/// xattrs`, or `xattr <name>`), so the caller can name the entry it copies.
pub(super) fn copy_all(
    src: &Node,
    dst: &Node,
    shift: Option<IdShift>,
    label: impl Fn(&str, io::Error) -> io::Error,
) -> io::Result<()> {
    let names = match src.list() {
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => return Ok(()),
        names => names.map_err(|e| label("list xattrs", e))?,
    };
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = CString::new(name)?;
        let what = format!("xattr {}", name.to_string_lossy());
        let value = match src.get(&name) {
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => continue, // gone since listed
            value => value.map_err(|e| label(&what, e))?,
        };
        let value = shift_xattr(&name, value, shift).map_err(|e| label(&what, e))?;
        dst.set(&name, &value).map_err(|e| label(&what, e))?;
    }
    Ok(())
}

/// An xattr's value with the ids in it shifted, for those that hold ids.
fn shift_xattr(name: &CStr, value: Vec<u8>, shift: Option<IdShift>) -> io::Result<Vec<u8>> {
    let Some(shift) = shift else {
        return Ok(value);
    };
    match name.to_bytes() {
        b"security.capability" => shift_capability(&value, shift),
        b"system.posix_acl_access" | b"system.posix_acl_default" => shift_acl(&value, shift),
        _ => Ok(value),
    }
}

/// `security.capability` for a shifted root: whatever its revision, a
/// namespaced (revision 3) capability whose rootid is the host uid of the
/// zone's root, or of the rootid a revision 3 one had, so the kernel honours
/// it only inside the zone's user namespace.
fn shift_capability(value: &[u8], shift: IdShift) -> io::Result<Vec<u8>> {
    let magic = if value.len() >= 4 { le32(value, 0) } else { 0 };
    let mut data = [0u8; 16]; // {permitted, inheritable} x 2, little-endian
    let rootid = match (magic & VFS_CAP_REVISION_MASK, value.len()) {
        (VFS_CAP_REVISION_1, XATTR_CAPS_SZ_1) => {
            data[..8].copy_from_slice(&value[4..12]);
            0
        }
        (VFS_CAP_REVISION_2, XATTR_CAPS_SZ_2) => {
            data.copy_from_slice(&value[4..20]);
            0
        }
        (VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3) => {
            data.copy_from_slice(&value[4..20]);
            le32(value, 20)
        }
        (_, len) => {
            let msg = format!("not a file capability (magic {magic:#010x}, {len} bytes)");
            return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
        }
    };
    let magic = VFS_CAP_REVISION_3 | (magic & VFS_CAP_FLAGS_EFFECTIVE);
    let mut out = Vec::with_capacity(XATTR_CAPS_SZ_3);
    out.extend_from_slice(&magic.to_le_bytes());
    out.extend_from_slice(&data);
    out.extend_from_slice(&shift.map_uid(rootid)?.to_le_bytes());
    Ok(out)
}

/// A POSIX ACL xattr with its named users' and groups' ids shifted.
fn shift_acl(value: &[u8], shift: IdShift) -> io::Result<Vec<u8>> {
    if value.len() < 4 || (value.len() - 4) % 8 != 0 || le32(value, 0) != POSIX_ACL_XATTR_VERSION {
        let msg = format!("not a version 2 POSIX ACL ({} bytes)", value.len());
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    }
    let mut out = value.to_vec();
    for entry in out[4..].chunks_exact_mut(8) {
        let id = le32(entry, 4);
        let mapped = match u16::from_le_bytes([entry[0], entry[1]]) {
            ACL_USER => shift.map_uid(id)?,
            ACL_GROUP => shift.map_gid(id)?,
            _ => continue, // owner, owning group, mask, other: no id
        };
        entry[4..].copy_from_slice(&mapped.to_le_bytes());
    }
    Ok(out)
}

/// The little-endian u32 at `at` in `bytes` (which the caller has sized).
fn le32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Removes the ACLs a new directory inherited from its parent's default ACL,
/// so every ACL in the copy comes from the image. (The image's own default
/// ACLs are set after each directory's entries are made, so nothing in the
/// copy inherits them.)
pub(super) fn clear_inherited_acls(dir: RawFd) -> io::Result<()> {
    for name in [c"system.posix_acl_default", c"system.posix_acl_access"] {
        // SAFETY: `dir` is open and `name` is NUL-terminated.
        match check(unsafe { libc::fremovexattr(dir, name.as_ptr()) }) {
            Err(e) if !matches!(e.raw_os_error(), Some(libc::ENODATA | libc::EOPNOTSUPP)) => {
                return Err(e)
            }
            _ => {}
        }
    }
    Ok(())
}

/// Where an entry's extended attributes are read or written.
pub(super) enum Node {
    /// An open file or directory.
    Fd(RawFd),
    /// A path whose last component is not followed (a symlink).
    Path(CString),
}

impl Node {
    /// The NUL-separated names of the node's xattrs.
    fn list(&self) -> io::Result<Vec<u8>> {
        read_sized(|buf, len| match self {
            // SAFETY: `read_sized` passes either a null buffer of length 0
            // (a size query) or a buffer with room for `len` bytes.
            Node::Fd(fd) => unsafe { libc::flistxattr(*fd, buf.cast(), len) },
            // SAFETY: as above, and `p` is NUL-terminated.
            Node::Path(p) => unsafe { libc::llistxattr(p.as_ptr(), buf.cast(), len) },
        })
    }

    /// The value of the xattr `name`.
    pub(super) fn get(&self, name: &CStr) -> io::Result<Vec<u8>> {
        read_sized(|buf, len| match self {
            // SAFETY: `read_sized` passes either a null buffer of length 0
            // (a size query) or a buffer with room for `len` bytes; `name`
            // is NUL-terminated.
            Node::Fd(fd) => unsafe { libc::fgetxattr(*fd, name.as_ptr(), buf.cast(), len) },
            // SAFETY: as above, and `p` is NUL-terminated.
            Node::Path(p) => unsafe { libc::lgetxattr(p.as_ptr(), name.as_ptr(), buf.cast(), len) },
        })
    }

    /// Sets the xattr `name` to `value`, creating or replacing it.
    pub(super) fn set(&self, name: &CStr, value: &[u8]) -> io::Result<()> {
        let (v, n) = (value.as_ptr().cast(), value.len());
        check(match self {
            // SAFETY: `v` points at `n` live bytes, only read; `name` is
            // NUL-terminated.
            Node::Fd(fd) => unsafe { libc::fsetxattr(*fd, name.as_ptr(), v, n, 0) },
            // SAFETY: as above, and `p` is NUL-terminated.
            Node::Path(p) => unsafe { libc::lsetxattr(p.as_ptr(), name.as_ptr(), v, n, 0) },
        })?;
        Ok(())
    }
}

/// Calls `call(null, 0)` for a size, then with a buffer of that size; again
/// if the value grew in between (ERANGE).
fn read_sized(call: impl Fn(*mut u8, usize) -> libc::ssize_t) -> io::Result<Vec<u8>> {
    loop {
        let len = check_len(call(ptr::null_mut(), 0))?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; len];
        match check_len(call(buf.as_mut_ptr(), len)) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) if e.raw_os_error() == Some(libc::ERANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::copy::tests::{
        get_xattr, needs_root, node, set_xattr, unsupported, Scratch, NET_RAW_EP_V2, SHIFT,
    };
    use std::fs;

    /// A POSIX ACL xattr: owner rw, owning group, mask and other r, and
    /// the named entries (tag, perm, id) given.
    fn acl(named: &[(u16, u16, u32)]) -> Vec<u8> {
        let none = u32::MAX; // ACL_UNDEFINED_ID
        let mut entries = vec![(1, 6, none)];
        entries.extend(named.iter().filter(|e| e.0 == ACL_USER));
        entries.push((4, 4, none));
        entries.extend(named.iter().filter(|e| e.0 == ACL_GROUP));
        entries.extend([(0x10, 7, none), (0x20, 4, none)]);
        let mut acl = POSIX_ACL_XATTR_VERSION.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            acl.extend_from_slice(&tag.to_le_bytes());
            acl.extend_from_slice(&perm.to_le_bytes());
            acl.extend_from_slice(&id.to_le_bytes());
        }
        acl
    }

    #[test]
    fn user_xattrs_on_files_and_directories_are_copied() {
        let s = Scratch::new("xattrs");
        fs::write(s.img("f"), b"x").unwrap();
        fs::create_dir(s.img("d")).unwrap();
        match set_xattr(&s.img("f"), c"user.hull", b"file") {
            Err(e) if unsupported(&e) => {
                eprintln!("NOTE: {} has no user xattrs; not asserted", s.0.display());
                s.copy(None).unwrap();
                return;
            }
            set => set.unwrap(),
        }
        set_xattr(&s.img("d"), c"user.hull", b"dir").unwrap();

        s.copy(None).unwrap();

        assert_eq!(get_xattr(&s.root("f"), c"user.hull"), b"file");
        assert_eq!(get_xattr(&s.root("d"), c"user.hull"), b"dir");
    }

    #[test]
    fn a_shifted_copy_roots_file_capabilities_in_the_zone() {
        if !needs_root("a_shifted_copy_roots_file_capabilities_in_the_zone") {
            return;
        }
        let s = Scratch::new("nscaps");
        fs::write(s.img("ping"), b"x").unwrap();
        set_xattr(&s.img("ping"), c"security.capability", &NET_RAW_EP_V2).unwrap();
        let mut v3 = NET_RAW_EP_V2.to_vec();
        v3[3] = 0x03;
        v3.extend_from_slice(&7u32.to_le_bytes());
        fs::write(s.img("v3"), b"x").unwrap();
        set_xattr(&s.img("v3"), c"security.capability", &v3).unwrap();

        s.copy(Some(SHIFT)).unwrap();

        let ping = get_xattr(&s.root("ping"), c"security.capability");
        assert_eq!(ping.len(), XATTR_CAPS_SZ_3);
        assert_eq!(le32(&ping, 0), VFS_CAP_REVISION_3 | VFS_CAP_FLAGS_EFFECTIVE);
        assert_eq!(ping[4..20], NET_RAW_EP_V2[4..20]);
        assert_eq!(le32(&ping, 20), SHIFT.uid);
        let v3 = get_xattr(&s.root("v3"), c"security.capability");
        assert_eq!(le32(&v3, 20), SHIFT.uid + 7);
    }

    #[test]
    fn capabilities_of_every_revision_become_v3_and_bad_ones_are_refused() {
        let v1 = [0, 0, 0, 0x01, 0, 0x20, 0, 0, 0, 0, 0, 0]; // cap_net_raw, not effective
        let v3 = shift_capability(&v1, SHIFT).unwrap();
        assert_eq!(le32(&v3, 0), VFS_CAP_REVISION_3);
        assert_eq!(
            (le32(&v3, 4), le32(&v3, 12), le32(&v3, 20)),
            (1 << 13, 0, SHIFT.uid)
        );

        let mut outside = shift_capability(&NET_RAW_EP_V2, SHIFT).unwrap();
        outside[20..].copy_from_slice(&70_000u32.to_le_bytes());
        let e = shift_capability(&outside, SHIFT).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("70000"), "{e}");

        let e = shift_capability(&NET_RAW_EP_V2[..19], SHIFT).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn named_users_and_groups_in_acls_are_shifted() {
        if !needs_root("named_users_and_groups_in_acls_are_shifted") {
            return;
        }
        let s = Scratch::new("acl");
        fs::write(s.img("f"), b"x").unwrap();
        let acl = acl(&[(2, 4, 1234), (8, 4, 5678)]);
        match set_xattr(&s.img("f"), c"system.posix_acl_access", &acl) {
            Err(e) if unsupported(&e) => {
                eprintln!("NOTE: {} has no POSIX ACLs; not asserted", s.0.display());
                return;
            }
            set => set.unwrap(),
        }

        s.copy(Some(SHIFT)).unwrap();

        let copied = get_xattr(&s.root("f"), c"system.posix_acl_access");
        assert_eq!(copied.len(), acl.len());
        assert_eq!(
            (le32(&copied, 4 + 8 + 4), le32(&copied, 4 + 24 + 4)),
            (101_234, 205_678)
        );
    }

    #[test]
    fn a_default_acl_on_the_destinations_parent_is_not_inherited() {
        // The inherited ACL can shut a non-root copier out of what it makes.
        if !needs_root("a_default_acl_on_the_destinations_parent_is_not_inherited") {
            return;
        }
        let s = Scratch::new("inherit");
        fs::write(s.img("f"), b"x").unwrap();
        fs::create_dir(s.img("d")).unwrap();
        match set_xattr(
            &s.0,
            c"system.posix_acl_default",
            &acl(&[(ACL_USER, 7, 1234)]),
        ) {
            Err(e) if unsupported(&e) => {
                eprintln!("NOTE: {} has no POSIX ACLs; not asserted", s.0.display());
                return;
            }
            set => set.unwrap(),
        }

        s.copy(None).unwrap();

        for (rel, name) in [
            ("", c"system.posix_acl_access"),
            ("", c"system.posix_acl_default"),
            ("f", c"system.posix_acl_access"),
            ("d", c"system.posix_acl_access"),
            ("d", c"system.posix_acl_default"),
        ] {
            let got = node(&s.root(rel)).get(name);
            assert_eq!(
                got.map_err(|e| e.raw_os_error()),
                Err(Some(libc::ENODATA)),
                "{rel:?} {name:?}"
            );
        }
    }
}
