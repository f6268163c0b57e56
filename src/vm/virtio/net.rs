//! virtio-net (virtio 1.1, 5.1) backed by a tap device that hull creates
//! through `/dev/net/tun` (`IFF_TAP | IFF_NO_PI | IFF_VNET_HDR`, with the
//! 12-byte `virtio_net_hdr_v1`, so the header passes between guest and tap
//! unchanged). The caller names the tap and may put it on a bridge or
//! etherstub; the MAC is the caller's (or a random local one).
//!
//! Queue 0 receives, queue 1 transmits. A transmitted chain's readable
//! bytes (header and frame) are written to the tap as one packet; a packet
//! read from the tap waits until the guest has posted a receive buffer,
//! then fills it (`num_buffers` = 1). A chain too short for the header, or
//! a frame larger than the buffer, is dropped and counted, never a panic.
//! The tap is read on its own thread while the machine runs.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use virtio_bindings::virtio_ids::VIRTIO_ID_NET;
use virtio_bindings::virtio_net::VIRTIO_NET_F_MAC;
use virtio_queue::desc::split::Descriptor;
use virtio_queue::{Queue, QueueT};
use vm_memory::{Bytes, GuestMemoryMmap};

use super::VirtioDevice;
use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::MacAddr;

/// Each queue's size.
pub const QUEUE_SIZE: u16 = 256;
/// `sizeof(struct virtio_net_hdr_v1)`.
pub const HDR_LEN: usize = 12;
/// The largest packet handled: header and a 64 KiB frame.
pub const MAX_PACKET: usize = HDR_LEN + 65_550;

const RX: usize = 0;
const TX: usize = 1;

/// The header hull gives every packet it passes to the tap.
static ZERO_HDR: [u8; HDR_LEN] = [0; HDR_LEN];

/// A NIC to give a machine.
///
/// ```
/// let nic = hull::vm::NicSpec::new("tap-web01").mac("02:00:00:00:00:01".parse()?);
/// assert_eq!(nic.tap, "tap-web01");
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicSpec {
    /// The tap device's name (made if missing; at most 15 bytes), or with
    /// `macvtap_over`, the macvtap link's.
    pub tap: String,
    /// The guest's MAC (`None`: a random locally administered one).
    pub mac: Option<MacAddr>,
    /// Back the NIC with a macvtap link hull makes (named `tap`, bridge
    /// mode, the guest's MAC) over this link, a hull VNIC say, instead of a
    /// tap; deleted with the machine. Linux with macvtap only.
    pub macvtap_over: Option<crate::name::LinkName>,
}

impl NicSpec {
    /// A NIC on tap `tap` with a random MAC.
    pub fn new(tap: &str) -> NicSpec {
        NicSpec {
            tap: tap.to_string(),
            mac: None,
            macvtap_over: None,
        }
    }

    /// A NIC on a macvtap link named `name` that hull makes over `over`.
    pub fn macvtap(name: &str, over: crate::name::LinkName) -> NicSpec {
        NicSpec {
            macvtap_over: Some(over),
            ..NicSpec::new(name)
        }
    }

    /// The same NIC with this MAC.
    pub fn mac(mut self, mac: MacAddr) -> NicSpec {
        self.mac = Some(mac);
        self
    }
}

/// A virtio-net device over a tap.
pub struct Net {
    tap: OwnedFd,
    /// The macvtap link hull made for it, deleted on drop.
    link: Option<u32>,
    name: String,
    mac: [u8; 6],
    pending: Option<Vec<u8>>,
    /// Chains or packets dropped as malformed or too large.
    pub dropped: u64,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field("tap", &self.name)
            .field("mac", &MacAddr(self.mac))
            .finish()
    }
}

impl Net {
    /// Opens (or makes) the tap and sets it up for virtio headers.
    pub fn open(spec: &NicSpec) -> Result<Net> {
        let name = &spec.tap;
        let invalid = |why: &str| {
            Error::new(
                Op::SetupDevice,
                format!("tap {name}"),
                ErrorKind::InvalidArgument(why.into()),
            )
        };
        if name.is_empty() || name.len() > 15 {
            return Err(invalid("a tap name is 1 to 15 bytes"));
        }
        if name
            .bytes()
            .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace())
        {
            return Err(invalid("a tap name has no '/', NUL or space"));
        }
        let mac = spec.mac.unwrap_or_else(MacAddr::random);
        if !mac.is_unicast() {
            return Err(invalid("the NIC's MAC is a multicast address"));
        }
        let (tap, link) = match &spec.macvtap_over {
            None => (open_tap(name)?, None),
            Some(over) => {
                let (fd, index) = open_macvtap(name, over.as_str(), mac.0)?;
                (fd, Some(index))
            }
        };
        Ok(Net {
            tap,
            link,
            name: name.clone(),
            mac: mac.0,
            pending: None,
            dropped: 0,
        })
    }

    /// The guest's MAC.
    pub fn mac_addr(&self) -> MacAddr {
        MacAddr(self.mac)
    }

    fn transmit(&mut self, queue: &mut Queue, memory: &GuestMemoryMmap) -> bool {
        use vm_memory::GuestMemoryBackend;
        let mut used = false;
        let mut iov: Vec<libc::iovec> = Vec::new();
        while let Some(chain) = queue.pop_descriptor_chain(memory) {
            let head = chain.head_index();
            // The packet goes to the tap straight from guest memory, one
            // iovec per buffer (a buffer across two memory regions, or
            // outside guest memory, drops the packet).
            iov.clear();
            // The header that reaches the tap is hull's: no offloads were
            // negotiated, so flags and gso_type are 0 (virtio 1.1, 5.1.6.2),
            // whatever the guest wrote. The guest's own 12 bytes are skipped.
            iov.push(libc::iovec {
                iov_base: ZERO_HDR.as_ptr() as *mut libc::c_void,
                iov_len: HDR_LEN,
            });
            let mut skip = HDR_LEN;
            let mut total = 0usize;
            let mut ok = true;
            let mut last_has_next = false;
            for d in chain {
                last_has_next = d.has_next();
                let n = d.len() as usize;
                total += n;
                let slice = (!d.is_write_only() && total <= MAX_PACKET)
                    .then(|| memory.get_slice(d.addr(), n).ok())
                    .flatten();
                let Some(slice) = slice else {
                    ok = false;
                    break;
                };
                let cut = skip.min(n);
                skip -= cut;
                if n > cut {
                    iov.push(libc::iovec {
                        // SAFETY: `cut` <= `n`, inside the slice.
                        iov_base: unsafe { slice.ptr_guard_mut().as_ptr().add(cut) }.cast(),
                        iov_len: n - cut,
                    });
                }
            }
            if ok && !last_has_next && total > HDR_LEN {
                // SAFETY: each iovec covers `n` bytes of mapped guest memory,
                // which stays mapped while `memory` lives; the kernel only
                // reads it.
                let n =
                    unsafe { libc::writev(self.tap.as_raw_fd(), iov.as_ptr(), iov.len() as i32) };
                if n < 0 {
                    self.dropped += 1;
                }
            } else {
                self.dropped += 1;
            }
            if queue.add_used(memory, head, 0).is_err() {
                break;
            }
            used = true;
        }
        used
    }

    /// Reads a packet from the tap if none is waiting; then fills a posted
    /// receive buffer with it. Whether a buffer was used.
    fn receive(&mut self, queue: &mut Queue, memory: &GuestMemoryMmap) -> bool {
        if self.pending.is_none() {
            let mut buf = vec![0u8; MAX_PACKET];
            // SAFETY: reading into `buf`, writable for its length, from our
            // non-blocking tap fd.
            let n = unsafe { libc::read(self.tap.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= HDR_LEN as isize {
                return false;
            }
            buf.truncate(n as usize);
            // No offloads were negotiated: whatever the host put in the
            // header, the guest gets flags and gso_type 0; one buffer holds
            // the whole packet (num_buffers 1, no MRG_RXBUF).
            buf[..10].fill(0);
            buf[10..12].copy_from_slice(&1u16.to_le_bytes());
            self.pending = Some(buf);
        }
        let Some(chain) = queue.pop_descriptor_chain(memory) else {
            return false;
        };
        let head = chain.head_index();
        let packet = self.pending.take().expect("checked above");
        let descs: Vec<Descriptor> = chain.collect();
        let whole = descs.last().is_some_and(|d| !d.has_next());
        let room: u64 = descs
            .iter()
            .filter(|d| d.is_write_only())
            .map(|d| d.len() as u64)
            .sum();
        let mut written = 0usize;
        if whole && descs.iter().all(|d| d.is_write_only()) && room >= packet.len() as u64 {
            for d in &descs {
                let n = (d.len() as usize).min(packet.len() - written);
                if n == 0 {
                    break;
                }
                if memory
                    .write_slice(&packet[written..written + n], d.addr())
                    .is_err()
                {
                    written = 0;
                    break;
                }
                written += n;
            }
        }
        if written == 0 {
            self.dropped += 1;
        }
        queue.add_used(memory, head, written as u32).is_ok()
    }
}

impl VirtioDevice for Net {
    fn device_type(&self) -> u32 {
        VIRTIO_ID_NET
    }

    fn features(&self) -> u64 {
        1 << VIRTIO_NET_F_MAC
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE, QUEUE_SIZE]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        // struct virtio_net_config: mac[6] first.
        for (i, b) in data.iter_mut().enumerate() {
            *b = offset
                .checked_add(i as u64)
                .and_then(|o| self.mac.get(o as usize))
                .copied()
                .unwrap_or(0);
        }
    }

    fn process_queue(&mut self, index: usize, queue: &mut Queue, memory: &GuestMemoryMmap) -> bool {
        match index {
            TX => self.transmit(queue, memory),
            RX => {
                let mut used = false;
                while self.receive(queue, memory) {
                    used = true;
                }
                used
            }
            _ => false,
        }
    }

    fn io_fds(&self) -> Vec<RawFd> {
        vec![self.tap.as_raw_fd()]
    }

    fn input_fd(&self) -> Option<RawFd> {
        Some(self.tap.as_raw_fd())
    }

    fn input_blocked(&self) -> bool {
        // A packet waits for a receive buffer: the tap need not be watched
        // until the guest posts one (its notification wakes the thread).
        self.pending.is_some()
    }

    fn input(&mut self, queues: &mut [Queue], memory: &GuestMemoryMmap) -> bool {
        let Some(rx) = queues.get_mut(RX) else {
            return false;
        };
        if !rx.ready() {
            return false;
        }
        let mut used = false;
        while self.receive(rx, memory) {
            used = true;
        }
        used
    }
}

#[cfg(target_os = "linux")]
fn open_tap(name: &str) -> Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    let object = format!("tap {name}");
    let os = |e: std::io::Error| Error::os(Op::SetupDevice, &object, e);
    // SAFETY: opening a device node; the fd is owned below.
    let fd = unsafe {
        libc::open(
            c"/dev/net/tun".as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        let mut err = os(e);
        if err.errno() == Some(libc::ENOENT) {
            err.kind = ErrorKind::Unsupported("tap devices (/dev/net/tun is missing)");
        }
        return Err(err);
    }
    // SAFETY: `fd` was just opened and is owned from here on.
    let tap = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid ifreq.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as i16;
    // SAFETY: TUNSETIFF reads and writes an ifreq, which `ifr` is.
    if unsafe { libc::ioctl(tap.as_raw_fd(), libc::TUNSETIFF, &mut ifr) } < 0 {
        return Err(os(std::io::Error::last_os_error()));
    }
    let size: libc::c_int = HDR_LEN as libc::c_int;
    // SAFETY: TUNSETVNETHDRSZ reads an int.
    if unsafe { libc::ioctl(tap.as_raw_fd(), libc::TUNSETVNETHDRSZ, &size) } < 0 {
        return Err(os(std::io::Error::last_os_error()));
    }
    Ok(tap)
}

impl Drop for Net {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(index) = self.link {
            if let Ok(mut rtnl) = crate::vnic::linux::Rtnl::open() {
                let _ = rtnl.delete_link(index);
            }
        }
    }
}

/// Makes the macvtap link and opens its character device
/// (`/dev/tap<ifindex>`) with virtio headers; the link goes again on any
/// failure.
#[cfg(target_os = "linux")]
fn open_macvtap(name: &str, over: &str, mac: [u8; 6]) -> Result<(OwnedFd, u32)> {
    use std::os::fd::FromRawFd;
    let object = format!("macvtap {name} over {over}");
    let mut rtnl =
        crate::vnic::linux::Rtnl::open().map_err(|e| Error::os(Op::SetupDevice, &object, e))?;
    let index = rtnl.create_macvtap(name, over, mac).map_err(|e| {
        let mut err = Error::os(Op::SetupDevice, &object, e);
        match err.errno() {
            Some(libc::EOPNOTSUPP) => {
                err.kind = ErrorKind::Unsupported("macvtap links: this kernel lacks CONFIG_MACVTAP")
            }
            Some(libc::ENODEV) => err.kind = ErrorKind::NotFound,
            Some(libc::EEXIST) => err.kind = ErrorKind::AlreadyExists,
            _ => {}
        }
        err
    })?;
    let mut undo = |e: Error| {
        let _ = rtnl.delete_link(index);
        e
    };
    let path = std::ffi::CString::new(format!("/dev/tap{index}")).expect("no NUL");
    // SAFETY: opening a device node; the fd is owned below.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(undo(Error::os(
            Op::SetupDevice,
            &object,
            std::io::Error::last_os_error(),
        )));
    }
    // SAFETY: `fd` was just opened and is owned from here on.
    let tap = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid ifreq.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    // SAFETY: TUNGETIFF writes an ifreq: the device's name and flags, to
    // check that /dev/tap<index> is this namespace's link.
    if unsafe { libc::ioctl(tap.as_raw_fd(), libc::TUNGETIFF, &mut ifr) } < 0 {
        return Err(undo(Error::os(
            Op::SetupDevice,
            &object,
            std::io::Error::last_os_error(),
        )));
    }
    // SAFETY: the kernel NUL-terminates ifr_name.
    let got = unsafe { std::ffi::CStr::from_ptr(ifr.ifr_name.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    if got != name {
        return Err(undo(Error::new(
            Op::SetupDevice,
            &object,
            ErrorKind::InvalidArgument(format!(
                "/dev/tap{index} is {got}, another namespace's link"
            )),
        )));
    }
    ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as i16;
    // SAFETY: TUNSETIFF reads an ifreq (macvtap takes only its flags).
    if unsafe { libc::ioctl(tap.as_raw_fd(), libc::TUNSETIFF, &mut ifr) } < 0 {
        return Err(undo(Error::os(
            Op::SetupDevice,
            &object,
            std::io::Error::last_os_error(),
        )));
    }
    let size: libc::c_int = HDR_LEN as libc::c_int;
    // SAFETY: TUNSETVNETHDRSZ reads an int.
    if unsafe { libc::ioctl(tap.as_raw_fd(), libc::TUNSETVNETHDRSZ, &size) } < 0 {
        return Err(undo(Error::os(
            Op::SetupDevice,
            &object,
            std::io::Error::last_os_error(),
        )));
    }
    Ok((tap, index))
}

#[cfg(not(target_os = "linux"))]
fn open_macvtap(name: &str, over: &str, _mac: [u8; 6]) -> Result<(OwnedFd, u32)> {
    Err(Error::new(
        Op::SetupDevice,
        format!("macvtap {name} over {over}"),
        ErrorKind::Unsupported("macvtap links on this platform"),
    ))
}

#[cfg(not(target_os = "linux"))]
fn open_tap(name: &str) -> Result<OwnedFd> {
    Err(Error::new(
        Op::SetupDevice,
        format!("tap {name}"),
        ErrorKind::Unsupported("tap devices on this platform"),
    ))
}
