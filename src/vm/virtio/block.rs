//! virtio-blk (virtio 1.1, 5.2): a disk backed by a regular file or a block
//! device (a zvol, in production), served with positioned I/O.
//!
//! Offered: `VIRTIO_BLK_F_FLUSH`, and `VIRTIO_BLK_F_RO` for a read-only
//! disk. Requests: `IN`, `OUT`, `FLUSH` and `GET_ID` (the serial the caller
//! chose, at most 20 bytes). The capacity is the backing size in 512-byte
//! sectors, rounded down.
//!
//! A request is a readable 16-byte header, data buffers (written by the
//! device for `IN` and `GET_ID`, read for `OUT`), and a final writable
//! status byte. A chain that does not have that shape, an access past the
//! end of the disk, or a write to a read-only disk gets
//! `VIRTIO_BLK_S_IOERR` where there is a status byte to put it in, and is
//! otherwise returned unused; an unknown type gets `VIRTIO_BLK_S_UNSUPP`.
//! Data moves between the disk and guest memory with one copy (`read` and
//! `write` straight into and out of the guest's pages); nothing a guest
//! puts in a chain makes the VMM panic or allocate.

use std::fs::File;
use std::path::{Path, PathBuf};

use virtio_bindings::virtio_blk::{
    VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK,
    VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN,
    VIRTIO_BLK_T_OUT,
};
use virtio_bindings::virtio_ids::VIRTIO_ID_BLOCK;
use virtio_queue::desc::split::Descriptor;
use virtio_queue::{Queue, QueueT};
use vm_memory::{Bytes, GuestMemoryMmap};

use super::VirtioDevice;
use crate::error::{Error, ErrorKind, Op, Result};

/// A sector, the unit of `sector` and of the capacity.
pub const SECTOR: u64 = 512;
/// The request queue's size.
pub const QUEUE_SIZE: u16 = 256;

/// A disk to give a machine.
///
/// ```
/// let disk = hull::vm::DiskSpec::new("/var/lib/images/root.img").read_only().serial("vol-1");
/// assert!(disk.read_only);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec {
    /// The backing file or block device.
    pub path: PathBuf,
    /// Offer `VIRTIO_BLK_F_RO` and refuse writes.
    pub read_only: bool,
    /// What `GET_ID` answers (at most 20 bytes; default: empty).
    pub serial: String,
}

impl DiskSpec {
    /// A writable disk backed by `path`.
    pub fn new(path: impl Into<PathBuf>) -> DiskSpec {
        DiskSpec {
            path: path.into(),
            read_only: false,
            serial: String::new(),
        }
    }

    /// The same disk, read-only.
    pub fn read_only(mut self) -> DiskSpec {
        self.read_only = true;
        self
    }

    /// The same disk with this serial.
    pub fn serial(mut self, serial: &str) -> DiskSpec {
        self.serial = serial.to_string();
        self
    }
}

/// A virtio-blk device.
pub struct Block {
    file: File,
    read_only: bool,
    id: [u8; VIRTIO_BLK_ID_BYTES as usize],
    sectors: u64,
    path: PathBuf,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .field("sectors", &self.sectors)
            .finish()
    }
}

fn invalid(path: &Path, why: impl Into<String>) -> Error {
    Error::new(
        Op::SetupDevice,
        path.display().to_string(),
        ErrorKind::InvalidArgument(why.into()),
    )
}

impl Block {
    /// Opens the disk: a regular file or a block device, opened read-only
    /// for a read-only disk.
    pub fn open(spec: &DiskSpec) -> Result<Block> {
        let path = &spec.path;
        if spec.serial.len() > VIRTIO_BLK_ID_BYTES as usize {
            return Err(invalid(path, "a disk serial is at most 20 bytes"));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(!spec.read_only)
            .open(path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::EISDIR) {
                    invalid(path, "a disk is a regular file or a block device")
                } else {
                    Error::os(Op::SetupDevice, path.display().to_string(), e)
                }
            })?;
        let meta = file
            .metadata()
            .map_err(|e| Error::os(Op::SetupDevice, path.display().to_string(), e))?;
        use std::os::unix::fs::FileTypeExt;
        let ty = meta.file_type();
        if !ty.is_file() && !ty.is_block_device() {
            return Err(invalid(path, "a disk is a regular file or a block device"));
        }
        // A block device's size is where seeking to its end lands.
        let bytes = if ty.is_file() {
            meta.len()
        } else {
            use std::io::Seek;
            (&file)
                .seek(std::io::SeekFrom::End(0))
                .map_err(|e| Error::os(Op::SetupDevice, path.display().to_string(), e))?
        };
        let mut id = [0u8; VIRTIO_BLK_ID_BYTES as usize];
        id[..spec.serial.len()].copy_from_slice(spec.serial.as_bytes());
        Ok(Block {
            file,
            read_only: spec.read_only,
            id,
            sectors: bytes / SECTOR,
            path: path.clone(),
        })
    }

    /// The capacity in sectors.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Serves one chain; returns the bytes written into guest memory.
    fn serve(&mut self, descs: &[Descriptor], memory: &GuestMemoryMmap) -> u32 {
        // The shape: a readable header first, a writable status byte last.
        let Some((status, rest)) = descs.split_last() else {
            return 0;
        };
        // A chain virtio-queue cut short (a loop, or longer than the queue)
        // ends in a descriptor that still has a next: no status to trust.
        if status.has_next() {
            return 0;
        }
        if !status.is_write_only() || status.len() < 1 {
            return 0;
        }
        let status_addr = status.addr();
        let done = |code: u32, written: u32| {
            let _ = memory.write_obj(code as u8, status_addr);
            written + 1
        };
        let Some((header, data)) = rest.split_first() else {
            return done(VIRTIO_BLK_S_IOERR, 0);
        };
        let mut raw = [0u8; 16];
        if header.is_write_only()
            || header.len() < 16
            || memory.read_slice(&mut raw, header.addr()).is_err()
        {
            return done(VIRTIO_BLK_S_IOERR, 0);
        }
        let kind = u32::from_le_bytes(raw[0..4].try_into().unwrap());
        let sector = u64::from_le_bytes(raw[8..16].try_into().unwrap());
        match kind {
            VIRTIO_BLK_T_IN | VIRTIO_BLK_T_OUT => {
                let write = kind == VIRTIO_BLK_T_OUT;
                if write && self.read_only {
                    return done(VIRTIO_BLK_S_IOERR, 0);
                }
                // Every data buffer in the direction of the request, and
                // the whole transfer inside the disk.
                if data.iter().any(|d| d.is_write_only() == write) {
                    return done(VIRTIO_BLK_S_IOERR, 0);
                }
                let total: u64 = data.iter().map(|d| d.len() as u64).sum();
                let end = sector
                    .checked_mul(SECTOR)
                    .and_then(|start| start.checked_add(total));
                if total % SECTOR != 0 || end.is_none_or(|e| e > self.sectors * SECTOR) {
                    return done(VIRTIO_BLK_S_IOERR, 0);
                }
                // Straight between the disk and guest memory, one copy (the
                // kernel's), no bounce buffer.
                let mut offset = sector * SECTOR;
                let mut written = 0u32;
                for d in data {
                    use std::io::{Seek, SeekFrom};
                    let n = d.len() as usize;
                    let ok = self.file.seek(SeekFrom::Start(offset)).is_ok()
                        && if write {
                            memory
                                .write_all_volatile_to(d.addr(), &mut self.file, n)
                                .is_ok()
                        } else {
                            memory
                                .read_exact_volatile_from(d.addr(), &mut self.file, n)
                                .is_ok()
                        };
                    if !ok {
                        return done(VIRTIO_BLK_S_IOERR, written);
                    }
                    if !write {
                        written += d.len();
                    }
                    offset += n as u64;
                }
                done(VIRTIO_BLK_S_OK, written)
            }
            VIRTIO_BLK_T_FLUSH => {
                let ok = self.read_only || self.file.sync_data().is_ok();
                done(
                    if ok {
                        VIRTIO_BLK_S_OK
                    } else {
                        VIRTIO_BLK_S_IOERR
                    },
                    0,
                )
            }
            VIRTIO_BLK_T_GET_ID => {
                let Some(d) = data.first().filter(|d| d.is_write_only()) else {
                    return done(VIRTIO_BLK_S_IOERR, 0);
                };
                let n = (d.len() as usize).min(self.id.len());
                if memory.write_slice(&self.id[..n], d.addr()).is_err() {
                    return done(VIRTIO_BLK_S_IOERR, 0);
                }
                done(VIRTIO_BLK_S_OK, n as u32)
            }
            _ => done(VIRTIO_BLK_S_UNSUPP, 0),
        }
    }
}

impl VirtioDevice for Block {
    fn io_fds(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        vec![self.file.as_raw_fd()]
    }

    fn device_type(&self) -> u32 {
        VIRTIO_ID_BLOCK
    }

    fn features(&self) -> u64 {
        let mut f = 1u64 << VIRTIO_BLK_F_FLUSH;
        if self.read_only {
            f |= 1 << VIRTIO_BLK_F_RO;
        }
        f
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        // struct virtio_blk_config: capacity (le64) at 0; the rest is for
        // features not offered.
        let cap = self.sectors.to_le_bytes();
        for (i, b) in data.iter_mut().enumerate() {
            *b = offset
                .checked_add(i as u64)
                .and_then(|o| cap.get(o as usize))
                .copied()
                .unwrap_or(0);
        }
    }

    fn process_queue(
        &mut self,
        _index: usize,
        queue: &mut Queue,
        memory: &GuestMemoryMmap,
    ) -> bool {
        let mut used = false;
        while let Some(chain) = queue.pop_descriptor_chain(memory) {
            let head = chain.head_index();
            // The chain's descriptors (at most the queue size: the crate's
            // iterator stops a loop).
            let descs: Vec<Descriptor> = chain.collect();
            let len = self.serve(&descs, memory);
            if queue.add_used(memory, head, len).is_err() {
                break;
            }
            used = true;
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use virtio_bindings::virtio_ring::VRING_DESC_F_WRITE;
    use virtio_queue::desc::RawDescriptor;
    use virtio_queue::mock::MockSplitQueue;

    const HDR: u64 = 0x10_0000;
    const DATA: u64 = 0x10_1000;
    const STATUS: u64 = 0x11_0000;
    const W: u16 = VRING_DESC_F_WRITE as u16;

    fn disk(sectors: u64, read_only: bool) -> (Block, PathBuf) {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "hull-blk-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let data: Vec<u8> = (0..sectors * SECTOR).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, data).unwrap();
        let mut spec = DiskSpec::new(&p).serial("s1");
        spec.read_only = read_only;
        (Block::open(&spec).unwrap(), p)
    }

    /// Serves one chain (descriptors as (addr, len, flags), linked in
    /// order) with header (type, sector); the status byte and used length.
    fn serve(block: &mut Block, kind: u32, sector: u64, descs: &[(u64, u32, u16)]) -> (u8, u32) {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x20_0000)]).unwrap();
        let mut hdr = [0u8; 16];
        hdr[..4].copy_from_slice(&kind.to_le_bytes());
        hdr[8..].copy_from_slice(&sector.to_le_bytes());
        mem.write_slice(&hdr, GuestAddress(HDR)).unwrap();
        mem.write_obj(0xeeu8, GuestAddress(STATUS)).unwrap();
        let vq = MockSplitQueue::new(&mem, 16);
        let raw: Vec<RawDescriptor> = descs
            .iter()
            .enumerate()
            .map(|(i, &(addr, len, flags))| {
                let next = if i + 1 < descs.len() { 1 } else { 0 };
                RawDescriptor::from(Descriptor::new(addr, len, flags | next, i as u16 + 1))
            })
            .collect();
        vq.add_desc_chains(&raw, 0).unwrap();
        let mut q: Queue = vq.create_queue().unwrap();
        assert!(block.process_queue(0, &mut q, &mem));
        let used_len: u32 = mem
            .read_obj(GuestAddress(vq.used_addr().0 + 4 + 4))
            .unwrap();
        (mem.read_obj(GuestAddress(STATUS)).unwrap(), used_len)
    }

    use vm_memory::GuestAddress;

    #[test]
    fn a_good_read_and_get_id_are_served() {
        let (mut b, p) = disk(8, false);
        let (st, len) = serve(
            &mut b,
            VIRTIO_BLK_T_IN,
            1,
            &[(HDR, 16, 0), (DATA, 1024, W), (STATUS, 1, W)],
        );
        assert_eq!((st as u32, len), (VIRTIO_BLK_S_OK, 1025));
        let (st, len) = serve(
            &mut b,
            VIRTIO_BLK_T_GET_ID,
            0,
            &[(HDR, 16, 0), (DATA, 20, W), (STATUS, 1, W)],
        );
        assert_eq!((st as u32, len), (VIRTIO_BLK_S_OK, 21));
        std::fs::remove_file(p).ok();
    }

    #[test]
    fn malformed_chains_get_an_error_status_or_are_dropped_never_a_panic() {
        let (mut b, p) = disk(8, false);
        let ioerr = VIRTIO_BLK_S_IOERR as u8;
        for (what, kind, sector, descs, want) in [
            (
                "header written by the device",
                VIRTIO_BLK_T_IN,
                0,
                vec![(HDR, 16, W), (DATA, 512, W), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "header too short",
                VIRTIO_BLK_T_IN,
                0,
                vec![(HDR, 8, 0), (DATA, 512, W), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "only a status",
                VIRTIO_BLK_T_IN,
                0,
                vec![(STATUS, 1, W)],
                ioerr,
            ),
            (
                "data not whole sectors",
                VIRTIO_BLK_T_IN,
                0,
                vec![(HDR, 16, 0), (DATA, 100, W), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "past the end",
                VIRTIO_BLK_T_IN,
                7,
                vec![(HDR, 16, 0), (DATA, 1024, W), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "sector overflow",
                VIRTIO_BLK_T_IN,
                u64::MAX / 2,
                vec![(HDR, 16, 0), (DATA, 512, W), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "4 GiB buffer",
                VIRTIO_BLK_T_IN,
                0,
                vec![(HDR, 16, 0), (DATA, !511u32, W), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "read into a readable buffer",
                VIRTIO_BLK_T_IN,
                0,
                vec![(HDR, 16, 0), (DATA, 512, 0), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "write from a writable buffer",
                VIRTIO_BLK_T_OUT,
                0,
                vec![(HDR, 16, 0), (DATA, 512, W), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "buffer outside guest memory",
                VIRTIO_BLK_T_IN,
                0,
                vec![(HDR, 16, 0), (0x7000_0000, 512, W), (STATUS, 1, W)],
                ioerr,
            ),
            (
                "unknown type",
                99,
                0,
                vec![(HDR, 16, 0), (STATUS, 1, W)],
                VIRTIO_BLK_S_UNSUPP as u8,
            ),
        ] {
            let (st, _) = serve(&mut b, kind, sector, &descs);
            assert_eq!(st, want, "{what}");
        }
        // No writable status byte: dropped, the status untouched.
        let (st, len) = serve(
            &mut b,
            VIRTIO_BLK_T_IN,
            0,
            &[(HDR, 16, 0), (DATA, 512, W), (STATUS, 1, 0)],
        );
        assert_eq!((st, len), (0xee, 0));
        // The disk is as it was.
        let data = std::fs::read(&p).unwrap();
        assert!(data.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        std::fs::remove_file(p).ok();
    }

    #[test]
    fn a_read_only_disk_refuses_writes_and_offers_ro() {
        let (mut b, p) = disk(8, true);
        assert_ne!(b.features() & (1 << VIRTIO_BLK_F_RO), 0);
        let (st, _) = serve(
            &mut b,
            VIRTIO_BLK_T_OUT,
            0,
            &[(HDR, 16, 0), (DATA, 512, 0), (STATUS, 1, W)],
        );
        assert_eq!(st as u32, VIRTIO_BLK_S_IOERR);
        std::fs::remove_file(p).ok();
    }
}
