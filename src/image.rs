//! Machine images on a pool, as SmartOS's `imgadm` keeps them: a ZFS send
//! stream (compressed or not) plus a JSON manifest, received as
//! `<root>/<uuid>@final`, which machines are cloned from.
//!
//! [`Images::import`] copies the file into a private scratch file (created
//! and unlinked at once, so no one else can reach it) while taking its
//! SHA-1, and checks size and SHA-1 against the manifest before anything
//! reaches ZFS; what is received is that verified copy, so a file changed
//! after the check changes nothing. The copy is decompressed (none, gzip,
//! bzip2, xz with a 256 MiB decoder memory limit) and received with
//! `lzc_receive` in one call, with the manifest as the received user
//! property `hull:manifest` and the image kept inert on the host:
//! `canmount=noauto`, `setuid=off`, `devices=off`, `readonly=on` (a file
//! system image; a volume gets `readonly=on`). The manifest is read back
//! before the import counts as done. An import either leaves a complete
//! image or nothing: a stream that is truncated or corrupt, or whose
//! process is killed part-way, is destroyed by the kernel; anything that
//! fails after the receive destroys what was received.
//!
//! ```no_run
//! use hull::image::{Images, Manifest};
//! use hull::zfs::Zfs;
//! let zfs = Zfs::open()?;
//! let images = Images::new(&zfs, "zones".parse()?);
//! let manifest = Manifest::from_json(&std::fs::read_to_string("base.json").unwrap())?;
//! let image = images.import(&manifest, "base.zfs.gz".as_ref())?;
//! println!("{} at {}", image.manifest.uuid, image.snapshot);
//! # Ok::<(), hull::Error>(())
//! ```

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::error::OsResultExt;
use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::{DatasetName, SnapshotName};
use crate::zfs::{PropSource, Props, Zfs};

/// The user property an image's manifest is kept in, on its dataset.
pub const MANIFEST_PROPERTY: &str = "hull:manifest";

/// The snapshot every image is received as, and machines are cloned from.
pub const SNAPSHOT: &str = "final";

/// An image manifest, in imgadm's format (version 2). Fields hull does not
/// use are kept in [`extra`](Manifest::extra) and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format version (`v`), 2 where given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<u32>,
    /// The image's UUID, lower-case `8-4-4-4-12` hex.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// `type`: `zone-dataset`, `lx-dataset` or `zvol` (what hull imports).
    #[serde(rename = "type")]
    pub kind: String,
    /// `os`, such as `smartos` or `linux`.
    pub os: String,
    /// The image's files: exactly one, the send stream.
    pub files: Vec<ManifestFile>,
    /// Every other field (`requirements`, `description`, `owner`, ...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One file of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// SHA-1 of the file as stored (compressed), 40 hex digits.
    pub sha1: String,
    /// Its size in bytes, as stored.
    pub size: u64,
    /// `none`, `gzip`, `bzip2` or `xz`.
    pub compression: String,
    /// Every other field.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// How an image's file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not at all.
    None,
    /// gzip (one or more members).
    Gzip,
    /// bzip2 (one or more streams).
    Bzip2,
    /// xz (one or more streams).
    Xz,
}

fn invalid(object: &str, why: impl Into<String>) -> Error {
    Error::new(
        Op::ImportImage,
        object,
        ErrorKind::InvalidArgument(why.into()),
    )
}

fn corrupt(object: &str, why: impl Into<String>) -> Error {
    Error::new(
        Op::ImportImage,
        object,
        ErrorKind::InvalidFormat(why.into()),
    )
}

/// Whether `s` is a UUID as imgadm and vmadm write them: lower-case hex in
/// groups of 8-4-4-4-12.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

impl Manifest {
    /// Parses and checks a manifest (see [`Manifest::check`]).
    pub fn from_json(text: &str) -> Result<Manifest> {
        let m: Manifest = serde_json::from_str(text)
            .map_err(|e| invalid("manifest", format!("not an image manifest: {e}")))?;
        m.check()?;
        Ok(m)
    }

    /// Checks what hull relies on: `v` 2 if given, a UUID, a type hull can
    /// import, and exactly one file with a 40-digit SHA-1, a size and a
    /// known compression. Returns the file and its compression.
    pub fn check(&self) -> Result<(&ManifestFile, Compression)> {
        let object = format!("manifest {}", self.uuid);
        if self.v.is_some_and(|v| v != 2) {
            return Err(invalid(&object, "v: only manifest version 2 is known"));
        }
        if !is_uuid(&self.uuid) {
            return Err(invalid(
                "manifest",
                format!("uuid {:?}: not a lower-case UUID", self.uuid),
            ));
        }
        if !matches!(self.kind.as_str(), "zone-dataset" | "lx-dataset" | "zvol") {
            return Err(invalid(
                &object,
                format!(
                    "type {:?}: hull imports zone-dataset, lx-dataset and zvol images",
                    self.kind
                ),
            ));
        }
        let [file] = self.files.as_slice() else {
            return Err(invalid(
                &object,
                format!("files: exactly one file, not {}", self.files.len()),
            ));
        };
        if file.sha1.len() != 40 || !file.sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(&object, "files[0].sha1: not 40 hex digits"));
        }
        if file.size == 0 {
            return Err(invalid(&object, "files[0].size: 0"));
        }
        let compression = match file.compression.as_str() {
            "none" => Compression::None,
            "gzip" => Compression::Gzip,
            "bzip2" => Compression::Bzip2,
            "xz" => Compression::Xz,
            other => {
                return Err(invalid(
                    &object,
                    format!("files[0].compression {other:?}: not none, gzip, bzip2 or xz"),
                ))
            }
        };
        Ok((file, compression))
    }
}

/// An image on the pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Its manifest, as imported.
    pub manifest: Manifest,
    /// `<root>/<uuid>`.
    pub dataset: DatasetName,
    /// `<root>/<uuid>@final`, what machines are cloned from.
    pub snapshot: SnapshotName,
}

/// Where an import is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Checking the file's SHA-1: bytes hashed of the total.
    Verifying {
        /// Bytes hashed so far.
        done: u64,
        /// The file's size.
        total: u64,
    },
    /// Feeding the stream to ZFS: bytes of the file read of the total.
    Receiving {
        /// Bytes of the (compressed) file read so far.
        done: u64,
        /// The file's size.
        total: u64,
    },
}

/// The images below one dataset (SmartOS: the pool, `zones`).
#[derive(Debug)]
pub struct Images<'z> {
    zfs: &'z Zfs,
    root: DatasetName,
    scratch: std::path::PathBuf,
}

impl<'z> Images<'z> {
    /// The images kept at `<root>/<uuid>`, with imports verified through a
    /// private copy in `/var/tmp` (or the temporary directory where there
    /// is none; see [`Images::scratch`]).
    pub fn new(zfs: &'z Zfs, root: DatasetName) -> Images<'z> {
        let var_tmp = Path::new("/var/tmp");
        Images {
            zfs,
            root,
            scratch: if var_tmp.is_dir() {
                var_tmp.into()
            } else {
                std::env::temp_dir()
            },
        }
    }

    /// Where an import keeps its private copy of the file while it is
    /// verified and received (as big as the file; unlinked at once). A
    /// directory on disk rather than in memory suits large images.
    pub fn scratch(mut self, dir: impl Into<std::path::PathBuf>) -> Images<'z> {
        self.scratch = dir.into();
        self
    }

    /// The dataset images live under.
    pub fn root(&self) -> &DatasetName {
        &self.root
    }

    fn dataset(&self, uuid: &str) -> Result<DatasetName> {
        if !is_uuid(uuid) {
            return Err(Error::new(
                Op::ValidateName,
                format!("image {uuid:?}"),
                ErrorKind::InvalidArgument("not a lower-case UUID".into()),
            ));
        }
        self.root.child(uuid)
    }

    /// Imports the image `manifest` describes from `file`; see the module
    /// docs for what is checked and what is left on failure.
    pub fn import(&self, manifest: &Manifest, file: &Path) -> Result<Image> {
        self.import_with_progress(manifest, file, &mut |_| {})
    }

    /// [`Images::import`], calling `progress` as it goes (at most every
    /// 4 MiB).
    pub fn import_with_progress(
        &self,
        manifest: &Manifest,
        file: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Image> {
        let (spec, compression) = manifest.check()?;
        let object = format!("image {}", manifest.uuid);
        let dataset = self.dataset(&manifest.uuid)?;
        let snapshot = dataset.snapshot(SNAPSHOT)?;
        let json = serde_json::to_string(manifest)
            .map_err(|e| invalid(&object, format!("manifest: {e}")))?;
        let mut props = Props::new().user(MANIFEST_PROPERTY, &json).map_err(|_| {
            invalid(
                &object,
                format!("manifest is {} bytes; at most 8191 fit", json.len()),
            )
        })?;
        // Inert on the host (index values: openzfs/zfs
        // module/zcommon/zfs_prop.c @be7657e3 boolean_table L308-310,
        // canmount_table L327-330; illumos-gate usr/src/common/zfs/zfs_prop.c
        // @bb936843 L209-211, L228-231). Machines are clones, which take
        // their parent's values, not these.
        props = props.index("readonly", 1);
        if manifest.kind != "zvol" {
            props = props
                .index("canmount", 2)
                .index("setuid", 0)
                .index("devices", 0);
        }
        if self.zfs.exists(dataset.as_str())? {
            return Err(
                Error::new(Op::ImportImage, object, ErrorKind::AlreadyExists)
                    .with_detail(&format!("{dataset} exists")),
            );
        }
        let f = open_regular(file)?;
        let len = f
            .metadata()
            .os(Op::ImportImage, file.display().to_string())?
            .len();
        if len != spec.size {
            return Err(corrupt(
                &object,
                format!(
                    "{} is {len} bytes; the manifest says {}",
                    file.display(),
                    spec.size
                ),
            ));
        }
        // The private copy, hashed on the way: nothing reaches ZFS unless
        // it is the file named, and nothing can change it after.
        let mut verify = |done| progress(Progress::Verifying { done, total: len });
        let (copy, sum) = private_copy(&f, len, &self.scratch, &mut verify).os(
            Op::ImportImage,
            format!("{} (into {})", file.display(), self.scratch.display()),
        )?;
        drop(f);
        if !sum.eq_ignore_ascii_case(&spec.sha1) {
            return Err(corrupt(
                &object,
                format!(
                    "SHA-1 of {} is {sum}; the manifest says {}",
                    file.display(),
                    spec.sha1
                ),
            ));
        }
        // Into ZFS through a pipe, fed by a thread; this one reports
        // progress while another waits in lzc_receive.
        let (rx, tx) = pipe()?;
        let read = std::sync::atomic::AtomicU64::new(0);
        let (received, fed) = std::thread::scope(|s| {
            let (copy, read) = (&copy, &read);
            let feeder = s.spawn(move || feed(copy, len, compression, tx, read));
            let receiver = s.spawn(|| {
                let r = self.zfs.receive(&snapshot, &props, rx.as_fd());
                drop(rx);
                r
            });
            let mut last = 0;
            while !receiver.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let done = read.load(std::sync::atomic::Ordering::Relaxed);
                if done - last >= PROGRESS_EVERY {
                    last = done;
                    progress(Progress::Receiving { done, total: len });
                }
            }
            (receiver.join(), feeder.join())
        });
        let received = received.unwrap_or_else(|_| {
            Err(Error::new(Op::ImportImage, &object, ErrorKind::Interrupted)
                .with_detail("the receiving thread panicked"))
        });
        let fed = fed.unwrap_or(Err(Cut::Bad("the feeding thread panicked".into())));
        match (received, fed) {
            (Ok(()), Ok(())) => {}
            // The kernel stops reading at the stream's END record: what
            // follows it (bytes that do not decompress, say) fails the
            // feeder after a receive that completed. Not an image.
            (Ok(()), Err(cut)) => {
                let why = match cut {
                    Cut::Bad(why) => why,
                    Cut::Gone => "ZFS stopped reading before the end of the file".into(),
                };
                self.undo_receive(&snapshot);
                return Err(corrupt(&object, why));
            }
            // The feeder's own reason first: the receive failed because
            // the stream was cut short.
            (Err(_), Err(Cut::Bad(why))) => return Err(corrupt(&object, why)),
            (Err(e), _) => {
                let kind = match &e.kind {
                    k @ (ErrorKind::AlreadyExists
                    | ErrorKind::NotFound
                    | ErrorKind::PermissionDenied
                    | ErrorKind::Busy
                    | ErrorKind::Interrupted
                    | ErrorKind::OutOfMemory
                    | ErrorKind::Unsupported(_)
                    | ErrorKind::NoSpace(_)) => k.clone(),
                    _ => ErrorKind::InvalidFormat("ZFS refused the stream".into()),
                };
                let mut e = e.context(Op::ImportImage, object);
                e.kind = kind;
                return Err(e);
            }
        }
        // The kernel sets received properties after the data and ignores
        // a failure to: check the manifest is there, or it is not an image.
        let stored = self.zfs.user_properties(dataset.as_str()).map(|p| {
            p.get(MANIFEST_PROPERTY)
                .is_some_and(|m| m.value == json && m.source == PropSource::Received)
        });
        if stored.as_ref().map_or(true, |ok| !ok) {
            self.undo_receive(&snapshot);
            return Err(
                Error::new(Op::ImportImage, object, ErrorKind::PermissionDenied).with_detail(
                    &format!("ZFS did not keep the {MANIFEST_PROPERTY} property ({stored:?})"),
                ),
            );
        }
        progress(Progress::Receiving {
            done: len,
            total: len,
        });
        Ok(Image {
            manifest: manifest.clone(),
            dataset,
            snapshot,
        })
    }

    /// Destroys a dataset this import received (and its snapshot).
    fn undo_receive(&self, snapshot: &SnapshotName) {
        let _ = self
            .zfs
            .destroy_snapshots(std::slice::from_ref(snapshot), false);
        let _ = self.zfs.destroy(&snapshot.dataset());
    }

    /// The image `uuid`: [`ErrorKind::NotFound`] when there is none: no
    /// dataset there, or one whose manifest was not received or set on it
    /// (an inherited one does not count), names another uuid, or has no
    /// `@final`.
    pub fn get(&self, uuid: &str) -> Result<Image> {
        let dataset = self.dataset(uuid)?;
        let object = format!("image {uuid}");
        let not_image = |why: &str| {
            Error::new(Op::ZfsQuery, &object, ErrorKind::NotFound)
                .with_detail(&format!("{dataset} is not an image: {why}"))
        };
        let props = self.zfs.user_properties(dataset.as_str())?;
        let json = match props.get(MANIFEST_PROPERTY) {
            Some(p) if matches!(p.source, PropSource::Received | PropSource::Local) => &p.value,
            Some(_) => return Err(not_image("its manifest is inherited")),
            None => return Err(not_image("no manifest")),
        };
        let manifest: Manifest = serde_json::from_str(json).map_err(|e| {
            Error::new(
                Op::ZfsQuery,
                &object,
                ErrorKind::InvalidFormat(format!("{MANIFEST_PROPERTY}: {e}")),
            )
        })?;
        if manifest.uuid != uuid {
            return Err(not_image("its manifest names another uuid"));
        }
        let snapshot = dataset.snapshot(SNAPSHOT)?;
        if !self.zfs.exists(snapshot.as_str())? {
            return Err(not_image("no @final"));
        }
        Ok(Image {
            snapshot,
            manifest,
            dataset,
        })
    }

    /// Every image under the root, by UUID. Datasets that are not images
    /// (machines, others) are left out.
    pub fn list(&self) -> Result<Vec<Image>> {
        let mut out = Vec::new();
        for child in self.zfs.children(&self.root)? {
            let uuid = child.as_str().rsplit('/').next().unwrap_or_default();
            if !is_uuid(uuid) {
                continue;
            }
            match self.get(uuid) {
                Ok(image) => out.push(image),
                // Not an image, an unreadable manifest, or one that went
                // meanwhile: not listed.
                Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::InvalidFormat(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Deletes the image `uuid`: refused with [`ErrorKind::Busy`], changing
    /// nothing, while machines are cloned from it.
    pub fn delete(&self, uuid: &str) -> Result<()> {
        let image = self.get(uuid)?;
        if self.zfs.is_mounted(&image.dataset)? {
            self.zfs.unmount(&image.dataset)?;
        }
        self.zfs
            .destroy_snapshots(std::slice::from_ref(&image.snapshot), false)
            .map_err(|e| {
                if e.kind == ErrorKind::Busy {
                    Error::new(Op::Destroy, format!("image {uuid}"), ErrorKind::Busy)
                        .with_detail("machines are cloned from it")
                } else {
                    e
                }
            })?;
        self.zfs.destroy(&image.dataset)
    }
}

/// Opens an image file: it must be a regular file before it is opened
/// (opening a device can have effects), and the same one after.
fn open_regular(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::MetadataExt;
    let object = || path.display().to_string();
    let before = std::fs::metadata(path).os(Op::ImportImage, object())?;
    if !before.is_file() {
        return Err(invalid(&object(), "an image file must be a regular file"));
    }
    let f = std::fs::File::open(path).os(Op::ImportImage, object())?;
    let after = f.metadata().os(Op::ImportImage, object())?;
    if (after.dev(), after.ino()) != (before.dev(), before.ino()) {
        return Err(invalid(
            &object(),
            "the file was replaced while it was opened",
        ));
    }
    Ok(f)
}

const CHUNK: usize = 1 << 20;
const PROGRESS_EVERY: u64 = 4 << 20;

/// Copies `len` bytes of `src` into a file in `dir` that only this process
/// can reach (made with `O_EXCL` and mode 0600, unlinked at once), taking
/// the SHA-1 of what was copied.
fn private_copy(
    src: &std::fs::File,
    len: u64,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<(std::fs::File, String)> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let path = dir.join(format!(".hull-import-{}", crate::machine::new_uuid()));
    let mut copy = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    let mut h = Sha1::new();
    let mut buf = vec![0u8; CHUNK];
    let (mut pos, mut last) = (0u64, 0u64);
    while pos < len {
        let want = (len - pos).min(CHUNK as u64) as usize;
        let n = src.read_at(&mut buf[..want], pos)?;
        if n == 0 {
            return Err(std::io::Error::other("the file shrank while it was read"));
        }
        h.update(&buf[..n]);
        copy.write_all(&buf[..n])?;
        pos += n as u64;
        if pos - last >= PROGRESS_EVERY {
            last = pos;
            progress(pos);
        }
    }
    progress(len);
    Ok((copy, hex(&h.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the private copy from offset 0 (positioned reads), counting for
/// progress.
struct At<'a> {
    file: &'a std::fs::File,
    pos: u64,
    len: u64,
    read: &'a std::sync::atomic::AtomicU64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let want = (self.len - self.pos).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        self.read
            .store(self.pos, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Why the feeder stopped short.
enum Cut {
    /// Its own reason: the file would not decompress, or could not be read.
    Bad(String),
    /// ZFS stopped reading (and has its own reason).
    Gone,
}

/// The most memory the xz decoder may use (a crafted header can ask for
/// gigabytes).
const XZ_MEMLIMIT: u64 = 256 << 20;

/// Feeds the decompressed copy into `tx`. On any failure `tx` is closed
/// early, so the receive fails.
fn feed(
    f: &std::fs::File,
    len: u64,
    compression: Compression,
    tx: OwnedFd,
    read: &std::sync::atomic::AtomicU64,
) -> std::result::Result<(), Cut> {
    // A reader that went away (ZFS refused the stream) must give this
    // thread EPIPE, not the process SIGPIPE: block it here. The signal a
    // write raises is this thread's and is discarded when it ends.
    // SAFETY: plain sigset manipulation on locals; only this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let mut out = std::fs::File::from(tx);
    let at = At {
        file: f,
        pos: 0,
        len,
        read,
    };
    let name = match compression {
        Compression::None => "read",
        Compression::Gzip => "gzip",
        Compression::Bzip2 => "bzip2",
        Compression::Xz => "xz",
    };
    let mut decoder: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(at),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(at)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(at)),
        Compression::Xz => {
            let stream =
                xz2::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, xz2::stream::CONCATENATED)
                    .map_err(|e| Cut::Bad(format!("xz: {e}")))?;
            Box::new(xz2::read::XzDecoder::new_stream(at, stream))
        }
    };
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = decoder
            .read(&mut buf)
            .map_err(|e| Cut::Bad(format!("{name}: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n]).map_err(|_| Cut::Gone)?;
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid 2-int out-array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::os(
            Op::ImportImage,
            "pipe",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: pipe2 gave us both fds, each owned once here.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::from_json(
            r#"{"v": 2, "uuid": "0a1b2c3d-0000-4000-8000-00000000abcd", "name": "base",
                "version": "1.0", "type": "zone-dataset", "os": "linux",
                "owner": "00000000-0000-0000-0000-000000000000",
                "requirements": {"min_platform": {"7.0": "20260101T000000Z"}},
                "files": [{"sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                           "size": 10, "compression": "gzip", "dataset_guid": "123"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_manifest_keeps_the_fields_hull_does_not_use() {
        let m = manifest();
        assert_eq!(m.extra["owner"], "00000000-0000-0000-0000-000000000000");
        assert!(m.extra.contains_key("requirements"));
        assert_eq!(m.files[0].extra["dataset_guid"], "123");
        let back: Manifest = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.check().unwrap().1, Compression::Gzip);
    }

    #[test]
    fn bad_manifests_are_refused_naming_the_field() {
        type Spoil = fn(&mut Manifest);
        let cases: [(&str, Spoil); 7] = [
            ("uuid", |m| {
                m.uuid = "0A1B2C3D-0000-4000-8000-00000000ABCD".into()
            }),
            ("type", |m| m.kind = "docker".into()),
            ("files", |m| m.files.clear()),
            ("sha1", |m| m.files[0].sha1 = "xyz".into()),
            ("size", |m| m.files[0].size = 0),
            ("compression", |m| m.files[0].compression = "lz4".into()),
            ("v:", |m| m.v = Some(1)),
        ];
        for (field, spoil) in cases {
            let mut m = manifest();
            spoil(&mut m);
            let e = m.check().unwrap_err();
            assert!(
                matches!(&e.kind, ErrorKind::InvalidArgument(why) if why.contains(field)),
                "{field}: {e}"
            );
        }
        assert!(Manifest::from_json("{\"uuid\": 1}").is_err());
    }

    fn tmpfile(data: &[u8]) -> (std::path::PathBuf, std::fs::File) {
        let path = std::env::temp_dir().join(format!("hull-image-{}", crate::machine::new_uuid()));
        std::fs::write(&path, data).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        (path, f)
    }

    /// What `feed` writes to its pipe from `data`, and whether it finished.
    fn fed(data: &[u8], compression: Compression) -> (Vec<u8>, bool) {
        let (path, f) = tmpfile(data);
        let (rx, tx) = pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            std::fs::File::from(rx).read_to_end(&mut out).unwrap();
            out
        });
        let read = std::sync::atomic::AtomicU64::new(0);
        let ok = feed(&f, data.len() as u64, compression, tx, &read).is_ok();
        std::fs::remove_file(path).ok();
        (reader.join().unwrap(), ok)
    }

    fn data() -> Vec<u8> {
        (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn the_private_copy_is_what_was_hashed_and_no_one_else_can_reach_it() {
        let data = data();
        let (path, f) = tmpfile(&data);
        let dir = std::env::temp_dir().join(format!("hull-scratch-{}", crate::machine::new_uuid()));
        std::fs::create_dir(&dir).unwrap();
        let (copy, sum) = private_copy(&f, data.len() as u64, &dir, &mut |_| {}).unwrap();
        assert_eq!(sum, hex(&Sha1::digest(&data)));
        // Unlinked at once: the scratch directory is empty.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        // The original changing afterwards does not change the copy.
        std::fs::write(&path, b"something else").unwrap();
        let mut back = vec![0u8; data.len()];
        std::os::unix::fs::FileExt::read_exact_at(&copy, &mut back, 0).unwrap();
        assert_eq!(back, data);
        // A file shorter than it claims is an error.
        assert!(private_copy(&f, data.len() as u64 + 1, &dir, &mut |_| {}).is_err());
        std::fs::remove_dir_all(dir).ok();
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn each_compression_decompresses_and_a_corrupt_or_foreign_one_is_cut() {
        let data = data();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&data).unwrap();
        let bz = bz.finish().unwrap();
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&data).unwrap();
        let xz = xz.finish().unwrap();
        for (file, c) in [
            (&data, Compression::None),
            (&gz, Compression::Gzip),
            (&bz, Compression::Bzip2),
            (&xz, Compression::Xz),
        ] {
            assert_eq!(fed(file, c), (data.clone(), true), "{c:?}");
        }
        // Bytes flipped in the middle of a gzip file.
        let mut bad = gz.clone();
        let mid = bad.len() / 2;
        bad[mid..mid + 32].iter_mut().for_each(|b| *b ^= 0x5a);
        assert!(!fed(&bad, Compression::Gzip).1);
        // Bytes after the last member are not a member.
        let mut trailing = gz.clone();
        trailing.extend_from_slice(b"trailer");
        assert!(!fed(&trailing, Compression::Gzip).1);
        // A legacy .lzma file labelled xz is refused (only .xz streams,
        // under the decoder's memory limit).
        let opts = xz2::stream::LzmaOptions::new_preset(1).unwrap();
        let enc = xz2::stream::Stream::new_lzma_encoder(&opts).unwrap();
        let mut lzma = xz2::write::XzEncoder::new_stream(Vec::new(), enc);
        lzma.write_all(&data).unwrap();
        assert!(!fed(&lzma.finish().unwrap(), Compression::Xz).1);
    }

    #[test]
    fn uuids_are_lower_case_8_4_4_4_12() {
        assert!(is_uuid("0a1b2c3d-0000-4000-8000-00000000abcd"));
        for bad in [
            "",
            "0a1b2c3d00004000800000000000abcd",
            "0a1b2c3d-0000-4000-8000-00000000abc",
            "../../etc-0000-4000-8000-000000000000",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
