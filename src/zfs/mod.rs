//! ZFS datasets, snapshots and copy-on-write clones, through libzfs_core
//! (and libzfs for properties, listing and mounting).
//!
//! A machine image is a snapshot; a new machine is a clone of it: instant,
//! and costing almost nothing until it diverges.
//!
//! ```no_run
//! use hull::zfs::{Props, Zfs};
//!
//! let zfs = Zfs::open()?;
//! let image = "tank/images/base@v1".parse()?;
//! let vm = "tank/vms/vm7".parse()?;
//! zfs.clone_from_snapshot(&image, &vm, &Props::new().quota(10 << 30).mountpoint("/vms/vm7")?)?;
//! let p = zfs.properties(vm.as_str())?;
//! println!("origin {:?}, used {} bytes", p.origin, p.used);
//! // Twenty more, issued together so they share transaction groups:
//! let targets: Vec<_> = (0..20).map(|i| format!("tank/vms/ci{i}").parse()).collect::<Result<_, _>>()?;
//! zfs.clone_many(&image, &targets, &Props::new())?;
//! # Ok::<(), hull::Error>(())
//! ```
//!
//! # What it needs
//! The ZFS libraries (`libnvpair`, `libzfs_core`, `libzfs`; on Debian the
//! `libzfs4linux` package), the zfs kernel module, and root. The libraries
//! are loaded at run time under each platform's sonames; a missing one is an
//! [`ErrorKind::NotFound`] error naming every soname tried.
//!
//! # Threads
//! [`Zfs`] is `Send + Sync`: libzfs_core calls are independent ioctls and
//! run concurrently. The one libzfs handle (properties, listing, mounting)
//! is not thread-safe, so hull serialises its use behind a mutex.
//!
//! # Platforms
//! Tested on OpenZFS 2.1 (Debian 12) in a qemu guest; the declarations are
//! the ones illumos and OpenZFS share (shared/reference/illumos-abi.md §1–2).

mod nvlist;

use std::ffi::{c_void, CStr, CString};
use std::io;
use std::ptr::NonNull;
use std::sync::{Mutex, OnceLock};

pub use nvlist::{NvList, NvValue};
use nvpair_sys::NvPair;
use zfs_core_sys::libzfs::{self, libzfs_handle_t, zfs_handle_t};
use zfs_core_sys::lzc::{self, ZfsCore};

use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::{DatasetName, SnapshotName};

struct CoreLibs {
    nv: NvPair,
    core: ZfsCore,
}

fn load_error(e: zfs_core_sys::LoadError) -> Error {
    let lib = e.library;
    Error::library(Op::LoadLibrary, lib, ErrorKind::NotFound, e)
}

fn core_libs() -> Result<&'static CoreLibs> {
    static LIBS: OnceLock<std::result::Result<CoreLibs, String>> = OnceLock::new();
    let r = LIBS.get_or_init(|| {
        let nv = nvpair_sys::load().map_err(|e| load_error(e).to_string())?;
        let core = zfs_core_sys::load_core().map_err(|e| load_error(e).to_string())?;
        Ok(CoreLibs { nv, core })
    });
    r.as_ref().map_err(|msg| {
        Error::new(
            Op::LoadLibrary,
            "ZFS libraries",
            ErrorKind::Unsupported("ZFS libraries not loadable"),
        )
        .with_detail(msg)
    })
}

fn libzfs_lib() -> Result<&'static libzfs::Zfs> {
    static LIB: OnceLock<std::result::Result<libzfs::Zfs, String>> = OnceLock::new();
    LIB.get_or_init(|| zfs_core_sys::load_libzfs().map_err(|e| load_error(e).to_string()))
        .as_ref()
        .map_err(|msg| {
            Error::new(
                Op::LoadLibrary,
                "libzfs",
                ErrorKind::Unsupported("libzfs not loadable"),
            )
            .with_detail(msg)
        })
}

/// The name of a ZFS error code at or above 1024 (`zfs_errno_t`).
fn zfs_code_name(code: i32) -> &'static str {
    const NAMES: &[&str] = &[
        "ZFS_ERR_CHECKPOINT_EXISTS",
        "ZFS_ERR_DISCARDING_CHECKPOINT",
        "ZFS_ERR_NO_CHECKPOINT",
        "ZFS_ERR_DEVRM_IN_PROGRESS",
        "ZFS_ERR_VDEV_TOO_BIG",
        "ZFS_ERR_IOC_CMD_UNAVAIL",
        "ZFS_ERR_IOC_ARG_UNAVAIL",
        "ZFS_ERR_IOC_ARG_REQUIRED",
        "ZFS_ERR_IOC_ARG_BADTYPE",
        "ZFS_ERR_WRONG_PARENT",
        "ZFS_ERR_FROM_IVSET_GUID_MISSING",
        "ZFS_ERR_FROM_IVSET_GUID_MISMATCH",
        "ZFS_ERR_SPILL_BLOCK_FLAG_MISSING",
        "ZFS_ERR_UNKNOWN_SEND_STREAM_FEATURE",
        "ZFS_ERR_EXPORT_IN_PROGRESS",
        "ZFS_ERR_BOOKMARK_SOURCE_NOT_ANCESTOR",
        "ZFS_ERR_STREAM_TRUNCATED",
        "ZFS_ERR_STREAM_LARGE_BLOCK_MISMATCH",
        "ZFS_ERR_RESILVER_IN_PROGRESS",
        "ZFS_ERR_REBUILD_IN_PROGRESS",
        "ZFS_ERR_BADPROP",
        "ZFS_ERR_VDEV_NOTSUP",
        "ZFS_ERR_NOT_USER_NAMESPACE",
        "ZFS_ERR_RESUME_EXISTS",
        "ZFS_ERR_CRYPTO_NOTSUP",
    ];
    usize::try_from(code - lzc::ZFS_ERR_CHECKPOINT_EXISTS as i32)
        .ok()
        .and_then(|i| NAMES.get(i).copied())
        .unwrap_or("ZFS_ERR_UNKNOWN")
}

/// The kind a libzfs_core return code maps to.
pub fn kind_of(code: i32) -> ErrorKind {
    match code {
        c if c >= lzc::ZFS_ERR_CHECKPOINT_EXISTS as i32 => match zfs_code_name(c) {
            "ZFS_ERR_WRONG_PARENT" => {
                ErrorKind::InvalidArgument("the parent is not a file system".into())
            }
            "ZFS_ERR_BADPROP" => ErrorKind::InvalidArgument("bad property".into()),
            "ZFS_ERR_IOC_CMD_UNAVAIL" | "ZFS_ERR_IOC_ARG_UNAVAIL" => {
                ErrorKind::Unsupported("not supported by this ZFS")
            }
            _ => ErrorKind::Os,
        },
        libc::EDQUOT => ErrorKind::NoSpace("quota exceeded".into()),
        libc::EXDEV => ErrorKind::InvalidArgument(
            "names span more than one pool, or name one dataset twice".into(),
        ),
        libc::ENAMETOOLONG => ErrorKind::InvalidArgument("name too long".into()),
        c => ErrorKind::from_errno(c),
    }
}

/// An error from a libzfs_core return code.
fn lzc_error(op: Op, object: impl Into<String>, code: i32) -> Error {
    if code >= lzc::ZFS_ERR_CHECKPOINT_EXISTS as i32 {
        let e = ZfsCode {
            code,
            name: zfs_code_name(code),
        };
        Error::library(op, object, kind_of(code), e)
    } else {
        let mut e = Error::os(op, object, io::Error::from_raw_os_error(code));
        e.kind = kind_of(code);
        e
    }
}

/// A ZFS-specific error code (1024 and up), with its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZfsCode {
    /// The numeric code.
    pub code: i32,
    /// Its `zfs_errno_t` name.
    pub name: &'static str,
}

impl std::fmt::Display for ZfsCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.code)
    }
}

impl std::error::Error for ZfsCode {}

/// A property value to set at creation or clone time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PropValue {
    U64(u64),
    Str(String),
}

/// Properties to set in the same call that creates or clones a dataset.
///
/// ```
/// use hull::zfs::Props;
/// let p = Props::new().quota(1 << 30).mountpoint("/vms/a")?.user("com.example:owner", "ci")?;
/// assert!(Props::new().mountpoint("relative").is_err());
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props {
    entries: Vec<(String, PropValue)>,
}

impl Props {
    /// No properties.
    pub fn new() -> Props {
        Props::default()
    }

    fn set(mut self, name: &str, v: PropValue) -> Props {
        self.entries.retain(|(n, _)| n != name);
        self.entries.push((name.to_string(), v));
        self
    }

    /// `quota`, in bytes.
    pub fn quota(self, bytes: u64) -> Props {
        self.set("quota", PropValue::U64(bytes))
    }

    /// `refquota`, in bytes.
    pub fn refquota(self, bytes: u64) -> Props {
        self.set("refquota", PropValue::U64(bytes))
    }

    /// `reservation`, in bytes.
    pub fn reservation(self, bytes: u64) -> Props {
        self.set("reservation", PropValue::U64(bytes))
    }

    /// `mountpoint`: an absolute path, `none` or `legacy`.
    pub fn mountpoint(self, path: &str) -> Result<Props> {
        let ok =
            (path.starts_with('/') || path == "none" || path == "legacy") && !path.contains('\0');
        if !ok {
            return Err(Error::new(
                Op::ValidateName,
                format!("mountpoint {path:?}"),
                ErrorKind::InvalidArgument("an absolute path, \"none\" or \"legacy\"".into()),
            ));
        }
        Ok(self.set("mountpoint", PropValue::Str(path.to_string())))
    }

    /// A user property (`module:name`).
    pub fn user(self, name: &str, value: &str) -> Result<Props> {
        check_user_prop(name, value)?;
        Ok(self.set(name, PropValue::Str(value.to_string())))
    }

    /// An index property (`canmount`, `setuid`, ...) by its value's
    /// number in the property's table, which is how the kernel takes it.
    pub(crate) fn index(self, name: &str, value: u64) -> Props {
        self.set(name, PropValue::U64(value))
    }

    fn volsize(self, bytes: u64) -> Props {
        self.set("volsize", PropValue::U64(bytes))
    }

    fn to_nvlist(&self, nv: &'static NvPair) -> Option<NvList> {
        if self.entries.is_empty() {
            return None;
        }
        let mut l = NvList::new(nv);
        for (k, v) in &self.entries {
            match v {
                PropValue::U64(n) => l.add_u64(k, *n),
                PropValue::Str(s) => l.add_string(k, s),
            }
        }
        Some(l)
    }
}

fn check_user_prop(name: &str, value: &str) -> Result<()> {
    let valid = name.contains(':')
        && name.len() <= 255
        && !name.starts_with(':')
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '-' | '_' | '.')
        });
    if !valid {
        return Err(Error::new(
            Op::ValidateName,
            format!("property {name:?}"),
            ErrorKind::InvalidArgument(
                "a user property is module:name, in lower case letters, digits, : - _ .".into(),
            ),
        ));
    }
    if value.len() > 8191 || value.contains('\0') {
        return Err(Error::new(
            Op::ValidateName,
            format!("property {name:?}"),
            ErrorKind::InvalidArgument("values are at most 8191 bytes, without NUL".into()),
        ));
    }
    Ok(())
}

/// A user property's value and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProperty {
    /// Its value.
    pub value: String,
    /// Where it is set.
    pub source: PropSource,
}

/// Where a property's value comes from, as `zfs get` tells it (libzfs
/// `get_source`: openzfs/zfs lib/libzfs/libzfs_dataset.c
/// @be7657e3f2788c4e5edb635d0bc5c24eff9eb2db L2171-2184).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropSource {
    /// Set on the dataset itself.
    Local,
    /// Set by a `zfs receive` into it.
    Received,
    /// Inherited from this ancestor.
    Inherited(String),
    /// The default, or no source given.
    Default,
}

impl PropSource {
    fn of(source: Option<&str>, dataset: &str) -> PropSource {
        match source {
            None | Some("") => PropSource::Default,
            Some(s) if s.contains("$recvd") => PropSource::Received,
            Some(s) if s == dataset => PropSource::Local,
            Some(s) => PropSource::Inherited(s.to_string()),
        }
    }
}

/// What kind of dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    /// A file system.
    Filesystem,
    /// A volume (block device).
    Volume,
    /// A snapshot.
    Snapshot,
    /// Something else (a bookmark, a pool).
    Other,
}

/// The properties hull reads, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    /// `type`.
    pub kind: DatasetKind,
    /// `creation`, seconds since the epoch.
    pub creation: u64,
    /// `used`, bytes.
    pub used: u64,
    /// `referenced`, bytes.
    pub referenced: u64,
    /// `available`, bytes (0 for snapshots).
    pub available: u64,
    /// `origin`: the snapshot a clone was made from.
    pub origin: Option<SnapshotName>,
    /// `quota`, bytes; `None` when unlimited.
    pub quota: Option<u64>,
    /// `mountpoint` of a file system (`None` for volumes and snapshots).
    pub mountpoint: Option<String>,
}

/// The libzfs handle, owned and closed on drop.
struct LibzfsHandle {
    raw: NonNull<libzfs_handle_t>,
    lib: &'static libzfs::Zfs,
}

// SAFETY: a libzfs handle may be used from any thread, one at a time; hull
// only reaches it through `Zfs::libzfs`, a mutex.
unsafe impl Send for LibzfsHandle {}

impl Drop for LibzfsHandle {
    fn drop(&mut self) {
        // SAFETY: `raw` came from libzfs_init and is finished with exactly once.
        unsafe { self.lib.libzfs_fini(self.raw.as_ptr()) }
    }
}

/// A dataset handle from `zfs_open`, closed on drop.
struct DatasetHandle {
    raw: NonNull<zfs_handle_t>,
    lib: &'static libzfs::Zfs,
}

impl Drop for DatasetHandle {
    fn drop(&mut self) {
        // SAFETY: `raw` came from zfs_open (or an iterator that handed it
        // over) and is closed exactly once.
        unsafe { self.lib.zfs_close(self.raw.as_ptr()) }
    }
}

/// An open connection to ZFS (`/dev/zfs`). Cheap to share between threads.
pub struct Zfs {
    nv: &'static NvPair,
    core: &'static ZfsCore,
    libzfs: Mutex<Option<LibzfsHandle>>,
}

impl std::fmt::Debug for Zfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zfs").finish_non_exhaustive()
    }
}

fn cstr(name: &str) -> CString {
    CString::new(name).expect("validated names contain no NUL")
}

impl Zfs {
    /// Loads the ZFS libraries and opens `/dev/zfs`.
    pub fn open() -> Result<Zfs> {
        let libs = core_libs()?;
        // SAFETY: libzfs_core_init has no preconditions; it is paired with
        // libzfs_core_fini in Drop.
        let rc = unsafe { libs.core.libzfs_core_init() };
        if rc != 0 {
            return Err(Error::os(
                Op::OpenZfs,
                "/dev/zfs",
                io::Error::from_raw_os_error(rc),
            ));
        }
        Ok(Zfs {
            nv: &libs.nv,
            core: &libs.core,
            libzfs: Mutex::new(None),
        })
    }

    /// Whether a dataset or snapshot exists.
    pub fn exists(&self, name: &str) -> Result<bool> {
        let n = parse_any(name)?;
        // SAFETY: `n` is a valid NUL-terminated name for the duration of the call.
        Ok(unsafe { self.core.lzc_exists(n.as_ptr()) } == nvpair_sys::boolean_t_B_TRUE)
    }

    /// Creates a file system (not mounted; see [`Zfs::mount`]).
    pub fn create_filesystem(&self, name: &DatasetName, props: &Props) -> Result<()> {
        self.create(name, lzc::LZC_DATSET_TYPE_ZFS as i32, props)
    }

    /// Creates a volume of `size` bytes (a multiple of its block size).
    pub fn create_volume(&self, name: &DatasetName, size: u64, props: &Props) -> Result<()> {
        if size == 0 || size % 4096 != 0 {
            return Err(Error::new(
                Op::CreateDataset,
                name.as_str(),
                ErrorKind::InvalidArgument(format!(
                    "volume size {size} is not a non-zero multiple of 4 KiB"
                )),
            ));
        }
        self.create(
            name,
            lzc::LZC_DATSET_TYPE_ZVOL as i32,
            &props.clone().volsize(size),
        )
    }

    fn create(&self, name: &DatasetName, ty: i32, props: &Props) -> Result<()> {
        let n = cstr(name.as_str());
        let p = props.to_nvlist(self.nv);
        let pp = p.as_ref().map_or(std::ptr::null_mut(), NvList::as_ptr);
        // SAFETY: `n` and the props list are live for the call; no key is passed.
        let rc = unsafe {
            self.core
                .lzc_create(n.as_ptr(), ty, pp, std::ptr::null_mut(), 0)
        };
        if rc != 0 {
            return Err(lzc_error(Op::CreateDataset, name.as_str(), rc));
        }
        Ok(())
    }

    /// Takes all `snapshots` atomically (all or none), with optional user
    /// properties. They must all be in one pool, at most one per dataset.
    pub fn snapshot(&self, snapshots: &[SnapshotName], user_props: &[(&str, &str)]) -> Result<()> {
        let object = join(snapshots);
        one_pool(Op::Snapshot, &object, snapshots)?;
        let mut datasets = std::collections::HashSet::new();
        if let Some(twice) = snapshots.iter().find(|s| !datasets.insert(s.dataset())) {
            return Err(Error::new(
                Op::Snapshot,
                object,
                ErrorKind::InvalidArgument(format!(
                    "one call takes one snapshot per dataset; {} is named twice",
                    twice.dataset()
                )),
            ));
        }
        let mut props = Props::new();
        for (k, v) in user_props {
            props = props.user(k, v)?;
        }
        let mut names = NvList::new(self.nv);
        for s in snapshots {
            names.add_boolean(s.as_str());
        }
        let p = props.to_nvlist(self.nv);
        let mut errs = std::ptr::null_mut();
        // SAFETY: both lists are live for the call; `errs` is a valid out-pointer
        // whose result we take ownership of.
        let rc = unsafe {
            self.core.lzc_snapshot(
                names.as_ptr(),
                p.as_ref().map_or(std::ptr::null_mut(), NvList::as_ptr),
                &mut errs,
            )
        };
        // SAFETY: lzc_snapshot hands the error list (if any) to the caller.
        let errs = unsafe { NvList::from_raw(self.nv, errs) };
        if rc != 0 {
            return Err(per_name_error(Op::Snapshot, object, rc, errs, |c| {
                kind_of(c)
            }));
        }
        Ok(())
    }

    /// Clones `snapshot` as `target`, setting `props` in the same call. A
    /// clone whose properties cannot be set is not left behind (the kernel
    /// destroys it). The clone is not mounted; see [`Zfs::mount`].
    pub fn clone_from_snapshot(
        &self,
        snapshot: &SnapshotName,
        target: &DatasetName,
        props: &Props,
    ) -> Result<()> {
        if snapshot.pool() != target.pool() {
            return Err(Error::new(
                Op::Clone,
                format!("{snapshot} -> {target}"),
                ErrorKind::InvalidArgument("a clone lives in its snapshot's pool".into()),
            ));
        }
        let (s, t) = (cstr(snapshot.as_str()), cstr(target.as_str()));
        let p = props.to_nvlist(self.nv);
        // SAFETY: the names and the props list are live for the call.
        let rc = unsafe {
            self.core.lzc_clone(
                t.as_ptr(),
                s.as_ptr(),
                p.as_ref().map_or(std::ptr::null_mut(), NvList::as_ptr),
            )
        };
        if rc != 0 {
            return Err(lzc_error(Op::Clone, format!("{snapshot} -> {target}"), rc));
        }
        Ok(())
    }

    /// Clones `snapshot` once for each target, issuing the clones
    /// concurrently so they share transaction groups. All or nothing: if any
    /// clone fails, the ones made are destroyed and the first error returned.
    pub fn clone_many(
        &self,
        snapshot: &SnapshotName,
        targets: &[DatasetName],
        props: &Props,
    ) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = targets.iter().find(|t| !seen.insert(t.as_str())) {
            return Err(Error::new(
                Op::Clone,
                dup.as_str(),
                ErrorKind::InvalidArgument("named twice".into()),
            ));
        }
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = targets
                .iter()
                .map(|t| s.spawn(move || self.clone_from_snapshot(snapshot, t, props)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("clone thread panicked"))
                .collect()
        });
        let first_err = results.iter().position(Result::is_err);
        if let Some(i) = first_err {
            for (t, r) in targets.iter().zip(&results) {
                if r.is_ok() {
                    // Best effort: undo what was made; the first error is what matters.
                    let _ = self.destroy(t);
                }
            }
            return results.into_iter().nth(i).expect("index of an error");
        }
        Ok(())
    }

    /// Promotes a clone: it takes over its origin's snapshots, and the
    /// former origin becomes its clone.
    pub fn promote(&self, clone: &DatasetName) -> Result<()> {
        let n = cstr(clone.as_str());
        let mut conflict = vec![0 as std::ffi::c_char; 256];
        // SAFETY: `n` is live; `conflict` is a writable buffer of the length given.
        let rc = unsafe {
            self.core
                .lzc_promote(n.as_ptr(), conflict.as_mut_ptr(), conflict.len() as i32)
        };
        if rc != 0 {
            let mut e = lzc_error(Op::Promote, clone.as_str(), rc);
            // SAFETY: lzc_promote NUL-terminates what it writes; the buffer starts zeroed.
            let c = unsafe { CStr::from_ptr(conflict.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            if !c.is_empty() {
                e.object = format!("{clone} (conflicting snapshot {c})");
            }
            return Err(e);
        }
        Ok(())
    }

    /// Rolls a dataset back to `snapshot`, which must be its newest.
    pub fn rollback_to(&self, snapshot: &SnapshotName) -> Result<()> {
        let (d, s) = (cstr(snapshot.dataset().as_str()), cstr(snapshot.as_str()));
        // SAFETY: both names are live for the call.
        let rc = unsafe { self.core.lzc_rollback_to(d.as_ptr(), s.as_ptr()) };
        if rc != 0 {
            return Err(lzc_error(Op::Rollback, snapshot.as_str(), rc));
        }
        Ok(())
    }

    /// Receives a full send stream, read from `stream` until its end, as
    /// `snapshot`, whose file system or volume must not exist yet, with
    /// `props` set as received properties, in one call (`lzc_receive`).
    /// A stream that fails or ends early leaves nothing behind: the kernel
    /// destroys the half-received dataset (also when the caller is killed
    /// part-way, which ends the stream). An existing target is
    /// [`ErrorKind::AlreadyExists`].
    pub fn receive(
        &self,
        snapshot: &SnapshotName,
        props: &Props,
        stream: std::os::fd::BorrowedFd<'_>,
    ) -> Result<()> {
        use std::os::fd::AsRawFd;
        let n = cstr(snapshot.as_str());
        let p = props.to_nvlist(self.nv);
        // SAFETY: the name and the props list are live for the call; the
        // fd is borrowed, open for the call. origin NULL: a full stream.
        // Both booleans B_FALSE (force, raw on OpenZFS; raw, force on
        // illumos: see the vendor header).
        let rc = unsafe {
            self.core.lzc_receive(
                n.as_ptr(),
                p.as_ref().map_or(std::ptr::null_mut(), NvList::as_ptr),
                std::ptr::null(),
                nvpair_sys::boolean_t_B_FALSE,
                nvpair_sys::boolean_t_B_FALSE,
                stream.as_raw_fd(),
            )
        };
        if rc != 0 {
            return Err(lzc_error(Op::Receive, snapshot.as_str(), rc));
        }
        Ok(())
    }

    /// The user properties (`module:name`) of a dataset or snapshot: each
    /// value with where it comes from.
    pub fn user_properties(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, UserProperty>> {
        parse_any(name)?;
        self.libzfs(Op::ZfsQuery, name, |lib, h| {
            let d = self.open_dataset(Op::ZfsQuery, lib, h, name)?;
            // SAFETY: `d` is live; the list belongs to the handle and is
            // only read while `d` is alive.
            let list = unsafe { lib.zfs_get_user_props(d.raw.as_ptr()) };
            let mut out = std::collections::BTreeMap::new();
            if list.is_null() {
                return Ok(out);
            }
            let nv = self.nv;
            let mut pair = std::ptr::null_mut();
            loop {
                // SAFETY: `pair` is null or the previous pair of this list.
                pair = unsafe { nv.nvlist_next_nvpair(list, pair) };
                if pair.is_null() {
                    return Ok(out);
                }
                // SAFETY: the pair belongs to the live list.
                if unsafe { nv.nvpair_type(pair) } != nvpair_sys::data_type_t::DATA_TYPE_NVLIST {
                    continue;
                }
                let mut inner = std::ptr::null_mut();
                let (mut value, mut source) = (std::ptr::null_mut(), std::ptr::null_mut());
                // SAFETY: an nvlist pair; `inner`, `value` and `source` are
                // valid out-pointers into memory the list owns.
                let found = unsafe {
                    nv.nvpair_value_nvlist(pair, &mut inner) == 0
                        && nv.nvlist_lookup_string(inner, c"value".as_ptr(), &mut value) == 0
                };
                if found {
                    // SAFETY: as above; a missing source leaves it null.
                    unsafe { nv.nvlist_lookup_string(inner, c"source".as_ptr(), &mut source) };
                    // SAFETY: NUL-terminated strings owned by the live list.
                    let (k, v) =
                        unsafe { (CStr::from_ptr(nv.nvpair_name(pair)), CStr::from_ptr(value)) };
                    let source = if source.is_null() {
                        None
                    } else {
                        // SAFETY: a NUL-terminated string owned by the live list.
                        let c = unsafe { CStr::from_ptr(source) };
                        Some(c.to_string_lossy().into_owned())
                    };
                    out.insert(
                        k.to_string_lossy().into_owned(),
                        UserProperty {
                            value: v.to_string_lossy().into_owned(),
                            source: PropSource::of(source.as_deref(), name),
                        },
                    );
                }
            }
        })
    }

    /// Destroys a file system or volume (it must have no children or
    /// snapshots). A mounted file system is unmounted first.
    pub fn destroy(&self, dataset: &DatasetName) -> Result<()> {
        if self.is_mounted(dataset).unwrap_or(false) {
            self.unmount(dataset)?;
        }
        let n = cstr(dataset.as_str());
        // SAFETY: `n` is live for the call.
        let rc = unsafe { self.core.lzc_destroy(n.as_ptr()) };
        if rc != 0 {
            return Err(lzc_error(Op::Destroy, dataset.as_str(), rc));
        }
        Ok(())
    }

    /// Destroys snapshots atomically. One that has clones fails with
    /// [`ErrorKind::Busy`] unless `defer`, which marks it for destruction
    /// when its last clone goes.
    pub fn destroy_snapshots(&self, snapshots: &[SnapshotName], defer: bool) -> Result<()> {
        let object = join(snapshots);
        one_pool(Op::Destroy, &object, snapshots)?;
        let mut names = NvList::new(self.nv);
        for s in snapshots {
            names.add_boolean(s.as_str());
        }
        let mut errs = std::ptr::null_mut();
        let defer = if defer {
            nvpair_sys::boolean_t_B_TRUE
        } else {
            nvpair_sys::boolean_t_B_FALSE
        };
        // SAFETY: the list is live; `errs` is a valid out-pointer we take over.
        let rc = unsafe {
            self.core
                .lzc_destroy_snaps(names.as_ptr(), defer, &mut errs)
        };
        // SAFETY: lzc_destroy_snaps hands the error list (if any) to the caller.
        let errs = unsafe { NvList::from_raw(self.nv, errs) };
        if rc != 0 {
            // A snapshot with clones answers EEXIST: it is busy, not a duplicate.
            let kind = |c: i32| {
                if c == libc::EEXIST {
                    ErrorKind::Busy
                } else {
                    kind_of(c)
                }
            };
            return Err(per_name_error(Op::Destroy, object, rc, errs, kind));
        }
        Ok(())
    }

    fn libzfs<T>(
        &self,
        op: Op,
        object: &str,
        f: impl FnOnce(&'static libzfs::Zfs, *mut libzfs_handle_t) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.libzfs.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let lib = libzfs_lib()?;
            // SAFETY: libzfs_init has no preconditions; the handle is freed in Drop.
            let raw = unsafe { lib.libzfs_init() };
            let raw = NonNull::new(raw).ok_or_else(|| {
                Error::new(
                    op,
                    object,
                    ErrorKind::Unsupported("libzfs_init failed (is the zfs module loaded?)"),
                )
            })?;
            *guard = Some(LibzfsHandle { raw, lib });
        }
        let h = guard.as_ref().expect("initialised above");
        f(h.lib, h.raw.as_ptr())
    }

    fn open_dataset(
        &self,
        op: Op,
        lib: &'static libzfs::Zfs,
        h: *mut libzfs_handle_t,
        name: &str,
    ) -> Result<DatasetHandle> {
        let n = cstr(name);
        // SAFETY: `h` is the live libzfs handle (caller holds its mutex); `n` is live.
        let raw = unsafe { lib.zfs_open(h, n.as_ptr(), libzfs::ZFS_TYPE_DATASET as i32) };
        match NonNull::new(raw) {
            Some(raw) => Ok(DatasetHandle { raw, lib }),
            None => {
                let exists = self.exists(name).unwrap_or(false);
                let kind = if exists {
                    ErrorKind::Os
                } else {
                    ErrorKind::NotFound
                };
                // SAFETY: `h` is live; the description is a static or handle-owned string.
                let why = unsafe { CStr::from_ptr(lib.libzfs_error_description(h)) }
                    .to_string_lossy()
                    .into_owned();
                Err(Error::new(op, name, kind).with_detail(&why))
            }
        }
    }

    /// Typed properties of a dataset or snapshot; property ids are looked
    /// up by name at run time, so enum drift between ZFS versions cannot bite.
    pub fn properties(&self, name: &str) -> Result<Properties> {
        parse_any(name)?;
        self.libzfs(Op::ZfsQuery, name, |lib, h| {
            let d = self.open_dataset(Op::ZfsQuery, lib, h, name)?;
            let prop = |p: &str| -> Result<i32> {
                let c = cstr(p);
                // SAFETY: `c` is live; zfs_name_to_prop only reads it.
                let id = unsafe { lib.zfs_name_to_prop(c.as_ptr()) };
                if id == libzfs::ZPROP_INVAL {
                    return Err(Error::new(
                        Op::ZfsQuery,
                        p,
                        ErrorKind::Unsupported("property unknown to this libzfs"),
                    ));
                }
                Ok(id)
            };
            let int = |p: &str| -> Result<u64> {
                let id = prop(p)?;
                // SAFETY: `d` is a live dataset handle; the id came from libzfs.
                Ok(unsafe { lib.zfs_prop_get_int(d.raw.as_ptr(), id) })
            };
            let string = |p: &str| -> Result<Option<String>> {
                let id = prop(p)?;
                let mut buf = vec![0 as std::ffi::c_char; libzfs::HULL_ZFS_PROPLEN as usize];
                // SAFETY: `buf` is writable for its length; no source or stat
                // buffer is requested; literal values.
                let rc = unsafe {
                    lib.zfs_prop_get(
                        d.raw.as_ptr(),
                        id,
                        buf.as_mut_ptr(),
                        buf.len(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        0,
                        nvpair_sys::boolean_t_B_TRUE,
                    )
                };
                if rc != 0 {
                    return Ok(None);
                }
                // SAFETY: zfs_prop_get NUL-terminates within the buffer.
                let s = unsafe { CStr::from_ptr(buf.as_ptr()) }
                    .to_string_lossy()
                    .into_owned();
                Ok(Some(s).filter(|s| !s.is_empty() && s != "-"))
            };
            // SAFETY: `d` is a live dataset handle.
            let ty = unsafe { lib.zfs_get_type(d.raw.as_ptr()) } as u32;
            let kind = match ty {
                libzfs::ZFS_TYPE_FILESYSTEM => DatasetKind::Filesystem,
                libzfs::ZFS_TYPE_VOLUME => DatasetKind::Volume,
                libzfs::ZFS_TYPE_SNAPSHOT => DatasetKind::Snapshot,
                _ => DatasetKind::Other,
            };
            let quota = match kind {
                DatasetKind::Filesystem => Some(int("quota")?).filter(|q| *q != 0),
                _ => None,
            };
            Ok(Properties {
                kind,
                creation: int("creation")?,
                used: int("used")?,
                referenced: int("referenced")?,
                available: if kind == DatasetKind::Snapshot {
                    0
                } else {
                    int("available")?
                },
                origin: string("origin")?.and_then(|o| o.parse().ok()),
                quota,
                mountpoint: if kind == DatasetKind::Filesystem {
                    string("mountpoint")?
                } else {
                    None
                },
            })
        })
    }

    /// The direct children (file systems and volumes) of a dataset, sorted.
    pub fn children(&self, dataset: &DatasetName) -> Result<Vec<DatasetName>> {
        self.libzfs(Op::ZfsQuery, dataset.as_str(), |lib, h| {
            let d = self.open_dataset(Op::ZfsQuery, lib, h, dataset.as_str())?;
            struct Ctx {
                lib: &'static libzfs::Zfs,
                names: Vec<String>,
            }
            unsafe extern "C" fn each(zhp: *mut zfs_handle_t, data: *mut c_void) -> i32 {
                // SAFETY: `data` is the `Ctx` passed below, alive for the iteration.
                let ctx = unsafe { &mut *(data as *mut Ctx) };
                // SAFETY: libzfs hands the callback a live handle it now owns.
                let name = unsafe { CStr::from_ptr(ctx.lib.zfs_get_name(zhp)) }
                    .to_string_lossy()
                    .into_owned();
                ctx.names.push(name);
                // SAFETY: the callback owns the handle and closes it once.
                unsafe { ctx.lib.zfs_close(zhp) };
                0
            }
            let mut ctx = Ctx {
                lib,
                names: Vec::new(),
            };
            // SAFETY: `d` is live; `each` matches zfs_iter_f; `ctx` outlives the call.
            let rc = unsafe {
                lib.zfs_iter_filesystems(
                    d.raw.as_ptr(),
                    Some(each),
                    &mut ctx as *mut Ctx as *mut c_void,
                )
            };
            if rc != 0 {
                return Err(Error::new(Op::ZfsQuery, dataset.as_str(), ErrorKind::Os)
                    .with_detail("zfs_iter_filesystems failed"));
            }
            let mut names = ctx
                .names
                .into_iter()
                .map(|n| n.parse())
                .collect::<Result<Vec<DatasetName>>>()?;
            names.sort();
            Ok(names)
        })
    }

    fn mount_op(&self, dataset: &DatasetName, mount: bool) -> Result<()> {
        self.libzfs(Op::Mount, dataset.as_str(), |lib, h| {
            let d = self.open_dataset(Op::Mount, lib, h, dataset.as_str())?;
            // SAFETY: `d` is live; default options and flags.
            let rc = unsafe {
                if mount {
                    lib.zfs_mount(d.raw.as_ptr(), std::ptr::null(), 0)
                } else {
                    lib.zfs_unmount(d.raw.as_ptr(), std::ptr::null(), 0)
                }
            };
            if rc != 0 {
                // SAFETY: `h` is live.
                let why = unsafe { CStr::from_ptr(lib.libzfs_error_description(h)) }
                    .to_string_lossy()
                    .into_owned();
                let e = Error::os(Op::Mount, dataset.as_str(), io::Error::last_os_error());
                return Err(e.with_detail(&why));
            }
            Ok(())
        })
    }

    /// Mounts a file system at its `mountpoint`.
    pub fn mount(&self, dataset: &DatasetName) -> Result<()> {
        self.mount_op(dataset, true)
    }

    /// Unmounts a file system.
    pub fn unmount(&self, dataset: &DatasetName) -> Result<()> {
        self.mount_op(dataset, false)
    }

    /// Whether a file system is mounted (its `mounted` property).
    pub fn is_mounted(&self, dataset: &DatasetName) -> Result<bool> {
        self.libzfs(Op::ZfsQuery, dataset.as_str(), |lib, h| {
            let d = self.open_dataset(Op::ZfsQuery, lib, h, dataset.as_str())?;
            let c = cstr("mounted");
            // SAFETY: `c` is live; `d` is a live handle; the id came from libzfs.
            Ok(
                unsafe { lib.zfs_prop_get_int(d.raw.as_ptr(), lib.zfs_name_to_prop(c.as_ptr())) }
                    != 0,
            )
        })
    }
}

impl Drop for Zfs {
    fn drop(&mut self) {
        // The libzfs handle (if any) is closed by its own Drop first.
        self.libzfs.get_mut().map(Option::take).ok();
        // SAFETY: paired with the libzfs_core_init in `open`.
        unsafe { self.core.libzfs_core_fini() }
    }
}

/// Validates a dataset or snapshot name and makes it a C string.
fn parse_any(name: &str) -> Result<CString> {
    if name.contains('@') {
        name.parse::<SnapshotName>()?;
    } else {
        name.parse::<DatasetName>()?;
    }
    Ok(cstr(name))
}

fn join(snaps: &[SnapshotName]) -> String {
    snaps
        .iter()
        .map(SnapshotName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn one_pool(op: Op, object: &str, snaps: &[SnapshotName]) -> Result<()> {
    let Some(first) = snaps.first() else {
        return Err(Error::new(
            op,
            "(no snapshots)",
            ErrorKind::InvalidArgument("no snapshots named".into()),
        ));
    };
    if let Some(other) = snaps.iter().find(|s| s.pool() != first.pool()) {
        return Err(Error::new(
            op,
            object,
            ErrorKind::InvalidArgument(format!(
                "all snapshots must be in one pool ({} and {})",
                first.pool(),
                other.pool()
            )),
        ));
    }
    Ok(())
}

/// An error for a call that reports failures per name (`errlist`).
fn per_name_error(
    op: Op,
    object: String,
    rc: i32,
    errs: Option<NvList>,
    kind: impl Fn(i32) -> ErrorKind,
) -> Error {
    let per: Vec<(String, ErrorKind)> = errs
        .map(|l| {
            l.pairs()
                .into_iter()
                .filter_map(|(n, v)| match v {
                    NvValue::Int32(c) => Some((n, kind(c))),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut e = lzc_error(op, object, rc);
    match per.len() {
        0 => e.kind = kind(rc),
        1 => {
            e.object = per[0].0.clone();
            e.kind = per[0].1.clone();
        }
        _ => e.kind = ErrorKind::PerName(per),
    }
    e
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn ok<T: Send + Sync>() {}
    ok::<Zfs>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_and_zfs_codes_map_to_kinds() {
        assert_eq!(kind_of(libc::ENOENT), ErrorKind::NotFound);
        assert_eq!(kind_of(libc::EEXIST), ErrorKind::AlreadyExists);
        assert_eq!(kind_of(libc::EBUSY), ErrorKind::Busy);
        assert!(matches!(kind_of(libc::ENOSPC), ErrorKind::NoSpace(_)));
        assert!(matches!(kind_of(libc::EDQUOT), ErrorKind::NoSpace(_)));
        assert!(matches!(
            kind_of(libc::EXDEV),
            ErrorKind::InvalidArgument(_)
        ));
        assert_eq!(kind_of(libc::EPERM), ErrorKind::PermissionDenied);
        assert!(matches!(kind_of(1033), ErrorKind::InvalidArgument(_)));
        assert_eq!(zfs_code_name(1024), "ZFS_ERR_CHECKPOINT_EXISTS");
        assert_eq!(zfs_code_name(1044), "ZFS_ERR_BADPROP");
        assert_eq!(zfs_code_name(4000), "ZFS_ERR_UNKNOWN");
        let e = lzc_error(Op::Clone, "tank/a@s -> tank/b", 1044);
        assert!(e.to_string().contains("ZFS_ERR_BADPROP (1044)"), "{e}");
        let e = lzc_error(Op::Clone, "tank/a@s -> tank/b", libc::EEXIST);
        assert_eq!(
            e.to_string(),
            "clone tank/a@s -> tank/b: already exists (EEXIST: File exists)"
        );
    }

    #[test]
    fn props_validate_their_values() {
        assert!(Props::new().mountpoint("/a").is_ok());
        assert!(Props::new().mountpoint("none").is_ok());
        assert!(Props::new().mountpoint("a/b").is_err());
        assert!(Props::new().user("com.example:x", "v").is_ok());
        assert!(Props::new().user("nocolon", "v").is_err());
        assert!(Props::new().user("Upper:x", "v").is_err());
        assert!(Props::new().user("a:b", "nul\0").is_err());
        let p = Props::new().quota(1).quota(2);
        assert_eq!(p.entries, vec![("quota".to_string(), PropValue::U64(2))]);
    }

    #[test]
    fn an_errlist_decodes_into_per_name_errors() {
        let Some(lib) = nvlist::tests::nvpair_or_skip("an_errlist_decodes_into_per_name_errors")
        else {
            return;
        };
        let mut l = NvList::new(lib);
        l.add_i32("tank/a@s", libc::EEXIST);
        l.add_i32("tank/b@s", libc::ENOENT);
        let busy = |c: i32| {
            if c == libc::EEXIST {
                ErrorKind::Busy
            } else {
                kind_of(c)
            }
        };
        let e = per_name_error(
            Op::Destroy,
            "tank/a@s, tank/b@s".into(),
            libc::EEXIST,
            Some(l),
            busy,
        );
        assert_eq!(
            e.kind,
            ErrorKind::PerName(vec![
                ("tank/a@s".into(), ErrorKind::Busy),
                ("tank/b@s".into(), ErrorKind::NotFound)
            ])
        );
        assert!(
            e.to_string()
                .contains("failed for tank/a@s (busy), tank/b@s (not found)"),
            "{e}"
        );
        // One name: the error names it and takes its kind.
        let mut l = NvList::new(lib);
        l.add_i32("tank/b@s", libc::ENOENT);
        let e = per_name_error(
            Op::Snapshot,
            "tank/a@s, tank/b@s".into(),
            libc::ENOENT,
            Some(l),
            kind_of,
        );
        assert_eq!(
            (e.object.as_str(), e.kind),
            ("tank/b@s", ErrorKind::NotFound)
        );
    }

    #[test]
    fn multi_snapshot_calls_refuse_two_pools_before_any_c_call() {
        let s: Vec<SnapshotName> = ["tank/a@s", "tank2/b@s"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let e = one_pool(Op::Snapshot, "x", &s).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::InvalidArgument(ref w) if w.contains("one pool")));
        assert!(one_pool(Op::Snapshot, "x", &[]).is_err());
    }
}
