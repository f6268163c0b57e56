//! Machine images on a pool, as SmartOS's `imgadm` keeps them: a ZFS send
//! stream (compressed or not) plus a JSON manifest, received as
//! `<root>/<uuid>@final`, which machines are cloned from.
//!
//! [`Images::import`] checks the file's size and SHA-1 against the
//! manifest before anything reaches ZFS, then decompresses it and receives
//! it with `lzc_receive` in one call, the manifest riding along as the
//! received user property `hull:manifest`. While the stream is fed to ZFS
//! the file is hashed again, and the stream's last bytes are held back
//! until that second hash matches: a file changed between the check and
//! the receive never completes a receive. So an import either leaves a
//! complete image or nothing — whether it fails on a checksum, on a
//! truncated or corrupt stream, or because the calling process is killed
//! part-way (the kernel destroys a receive whose stream ends early).
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

use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::{DatasetName, SnapshotName};
use crate::zfs::{Props, Zfs};

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
}

impl<'z> Images<'z> {
    /// The images kept at `<root>/<uuid>`.
    pub fn new(zfs: &'z Zfs, root: DatasetName) -> Images<'z> {
        Images { zfs, root }
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
        let props = Props::new().user(MANIFEST_PROPERTY, &json).map_err(|_| {
            invalid(
                &object,
                format!("manifest is {} bytes; at most 8191 fit", json.len()),
            )
        })?;
        if self.zfs.exists(dataset.as_str())? {
            return Err(
                Error::new(Op::ImportImage, object, ErrorKind::AlreadyExists)
                    .with_detail(&format!("{dataset} exists")),
            );
        }
        let f = open_regular(file)?;
        let len = f
            .metadata()
            .map_err(|e| Error::os(Op::ImportImage, file.display().to_string(), e))?
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
        // First pass: nothing reaches ZFS unless the file is the one named.
        let mut verify = |done| progress(Progress::Verifying { done, total: len });
        let sum = sha1_of(&f, len, &mut verify)
            .map_err(|e| Error::os(Op::ImportImage, file.display().to_string(), e))?;
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
        // Second pass, into ZFS through a pipe, fed by a thread; this one
        // reports progress while another waits in lzc_receive.
        let (rx, tx) = pipe()?;
        let want = spec.sha1.to_ascii_lowercase();
        let read = std::sync::atomic::AtomicU64::new(0);
        let (received, fed) = std::thread::scope(|s| {
            let (f, read) = (&f, &read);
            let feeder = s.spawn(move || feed(f, len, compression, &want, tx, read));
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
        let panicked = || corrupt(&object, "the import's own thread panicked");
        match (
            received.map_err(|_| panicked())?,
            fed.map_err(|_| panicked())?,
        ) {
            (Ok(()), Ok(())) => {}
            // The feeder's own reason comes first: the receive failed
            // because the stream was cut short on purpose.
            (_, Err(Cut::Bad(why))) => return Err(corrupt(&object, why)),
            (Err(e), _) => {
                let detail = e.to_string();
                let kind = match e.kind {
                    k @ (ErrorKind::AlreadyExists
                    | ErrorKind::NotFound
                    | ErrorKind::PermissionDenied
                    | ErrorKind::NoSpace(_)) => k,
                    _ => ErrorKind::InvalidFormat("ZFS refused the stream".into()),
                };
                return Err(Error::new(Op::ImportImage, object, kind).with_detail(&detail));
            }
            (Ok(()), Err(Cut::Gone)) => {
                return Err(corrupt(&object, "ZFS stopped reading the stream"));
            }
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

    /// The image `uuid`: [`ErrorKind::NotFound`] when there is none (or the
    /// dataset there is not an image).
    pub fn get(&self, uuid: &str) -> Result<Image> {
        let dataset = self.dataset(uuid)?;
        let props = self.zfs.user_properties(dataset.as_str())?;
        let object = format!("image {uuid}");
        let Some(json) = props.get(MANIFEST_PROPERTY) else {
            return Err(Error::new(Op::ZfsQuery, object, ErrorKind::NotFound)
                .with_detail(&format!("{dataset} is not an image")));
        };
        let manifest: Manifest = serde_json::from_str(json).map_err(|e| {
            Error::new(
                Op::ZfsQuery,
                &object,
                ErrorKind::InvalidFormat(format!("{MANIFEST_PROPERTY}: {e}")),
            )
        })?;
        Ok(Image {
            snapshot: dataset.snapshot(SNAPSHOT)?,
            manifest,
            dataset,
        })
    }

    /// Every image under the root, by UUID.
    pub fn list(&self) -> Result<Vec<Image>> {
        let mut out = Vec::new();
        for child in self.zfs.children(&self.root)? {
            let uuid = child.as_str().rsplit('/').next().unwrap_or_default();
            if !is_uuid(uuid) {
                continue;
            }
            match self.get(uuid) {
                Ok(image) => out.push(image),
                // A machine's dataset, or one that went meanwhile.
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Deletes the image `uuid`: refused with [`ErrorKind::Busy`], changing
    /// nothing, while machines are cloned from it.
    pub fn delete(&self, uuid: &str) -> Result<()> {
        let image = self.get(uuid)?;
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

fn open_regular(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::os(Op::ImportImage, path.display().to_string(), e))?;
    let meta = f
        .metadata()
        .map_err(|e| Error::os(Op::ImportImage, path.display().to_string(), e))?;
    if !meta.is_file() {
        return Err(invalid(
            &path.display().to_string(),
            "an image file must be a regular file",
        ));
    }
    Ok(f)
}

/// Reads `len` bytes of `f` from offset 0 (positioned reads: the file's
/// own offset is not used), passing each chunk to `each`.
struct At<'a> {
    file: &'a std::fs::File,
    pos: u64,
    len: u64,
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
        Ok(n)
    }
}

const CHUNK: usize = 1 << 20;
const PROGRESS_EVERY: u64 = 4 << 20;

fn sha1_of(f: &std::fs::File, len: u64, progress: &mut dyn FnMut(u64)) -> std::io::Result<String> {
    let mut at = At {
        file: f,
        pos: 0,
        len,
    };
    let mut h = Sha1::new();
    let mut buf = vec![0u8; CHUNK];
    let mut last = 0;
    loop {
        let n = at.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        if at.pos - last >= PROGRESS_EVERY {
            last = at.pos;
            progress(at.pos);
        }
    }
    if at.pos != len {
        return Err(std::io::Error::other("the file shrank while it was read"));
    }
    progress(len);
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The file as the decompressor reads it: hashed on the way, and counted
/// for progress.
struct Hashing<'a, 'f> {
    at: &'a mut At<'f>,
    sha1: &'a mut Sha1,
    read: &'a std::sync::atomic::AtomicU64,
}

impl Read for Hashing<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.at.read(buf)?;
        self.sha1.update(&buf[..n]);
        self.read
            .store(self.at.pos, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// How many bytes of the stream are held back until the second hash
/// matches: more than zero is what matters (a ZFS stream ends with its END
/// record, and without its last bytes the receive fails).
const HOLD_BACK: usize = 4096;

/// Why the feeder stopped short.
enum Cut {
    /// Its own reason: the file would not decompress, or changed.
    Bad(String),
    /// ZFS stopped reading (and has its own reason).
    Gone,
}

/// Feeds the decompressed file into `tx`, holding the last [`HOLD_BACK`]
/// bytes until the file's SHA-1, taken again on the way, is `want`. On
/// any failure `tx` is closed without them, so the receive fails.
fn feed(
    f: &std::fs::File,
    len: u64,
    compression: Compression,
    want: &str,
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
    let mut at = At {
        file: f,
        pos: 0,
        len,
    };
    let mut sha1 = Sha1::new();
    let name = match compression {
        Compression::None => "read",
        Compression::Gzip => "gzip",
        Compression::Bzip2 => "bzip2",
        Compression::Xz => "xz",
    };
    let mut held: Vec<u8> = Vec::with_capacity(CHUNK + HOLD_BACK);
    {
        let hashing = Hashing {
            at: &mut at,
            sha1: &mut sha1,
            read,
        };
        let mut decoder: Box<dyn Read + '_> = match compression {
            Compression::None => Box::new(hashing),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(hashing)),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(hashing)),
            Compression::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(hashing)),
        };
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = decoder
                .read(&mut buf)
                .map_err(|e| Cut::Bad(format!("{name}: {e}")))?;
            if n == 0 {
                break;
            }
            held.extend_from_slice(&buf[..n]);
            if held.len() > HOLD_BACK {
                let ready = held.len() - HOLD_BACK;
                out.write_all(&held[..ready]).map_err(|_| Cut::Gone)?;
                held.drain(..ready);
            }
        }
    }
    // Whatever the decoder left unread (bytes after the last compressed
    // member) is part of the file, and of its hash.
    let mut rest = vec![0u8; CHUNK];
    loop {
        let n = at
            .read(&mut rest)
            .map_err(|e| Cut::Bad(format!("read: {e}")))?;
        if n == 0 {
            break;
        }
        sha1.update(&rest[..n]);
    }
    let sum = hex(&sha1.finalize());
    if at.pos != len || sum != want {
        return Err(Cut::Bad(format!(
            "the file changed while it was imported (SHA-1 now {sum}, {} bytes)",
            at.pos
        )));
    }
    out.write_all(&held).map_err(|_| Cut::Gone)?;
    Ok(())
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

    /// What `feed` writes to its pipe for a file of `len` bytes: all of
    /// it when the second hash matches, all but the held-back tail when
    /// it does not.
    fn fed(data: &[u8], compression: Compression, want: &str) -> (Vec<u8>, bool) {
        let path = std::env::temp_dir().join(format!("hull-feed-{}", std::process::id()));
        std::fs::write(&path, data).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let (rx, tx) = pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            std::fs::File::from(rx).read_to_end(&mut out).unwrap();
            out
        });
        let read = std::sync::atomic::AtomicU64::new(0);
        let ok = feed(&f, data.len() as u64, compression, want, tx, &read).is_ok();
        std::fs::remove_file(path).ok();
        (reader.join().unwrap(), ok)
    }

    #[test]
    fn the_streams_tail_is_held_back_unless_the_second_hash_matches() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let sum = hex(&Sha1::digest(&data));
        assert_eq!(fed(&data, Compression::None, &sum), (data.clone(), true));
        let (got, ok) = fed(&data, Compression::None, &"0".repeat(40));
        assert!(!ok);
        assert_eq!(got, data[..data.len() - HOLD_BACK], "all but the tail");
        // Through gzip: the hash is the compressed file's.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let mut file = gz.finish().unwrap();
        let (got, ok) = fed(&file, Compression::Gzip, &hex(&Sha1::digest(&file)));
        assert!(ok && got == data);
        let (got, ok) = fed(&file, Compression::Gzip, &sum);
        assert!(!ok && got.len() == data.len() - HOLD_BACK);
        // Bytes after the last member are not a gzip member: refused, and
        // the tail is still held back.
        file.extend_from_slice(b"trailer");
        let (got, ok) = fed(&file, Compression::Gzip, &hex(&Sha1::digest(&file)));
        assert!(!ok && got.len() == data.len() - HOLD_BACK);
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
