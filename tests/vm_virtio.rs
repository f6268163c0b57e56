//! virtio-blk on real /dev/kvm, judged by the test kernel's own driver
//! (guest/testkernel.S, `hull.blk*`): it finds the device from the command
//! line hull wrote, checks MagicValue, Version and DeviceID, negotiates
//! VERSION_1, and reads, writes and asks for the serial through a split
//! queue, as Linux's virtio_mmio and virtio_blk drivers would.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{bytes, fnv1a32, kvm_or_skip, tempdir, Captured};
use hull::vm::{BootSpec, DiskSpec, Kvm, Machine, Outcome, TEST_KERNEL};
use hull::ErrorKind;

fn image(dir: &Path, name: &str, len: usize, seed: u64) -> (PathBuf, Vec<u8>) {
    let data = bytes(len, seed);
    let p = dir.join(name);
    std::fs::write(&p, &data).unwrap();
    (p, data)
}

/// Boots the test kernel with these disks and options; the console text.
fn boot(kvm: &Kvm, disks: Vec<DiskSpec>, options: &str) -> String {
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    spec.memory_mib = 64;
    spec.cmdline = format!("console=ttyS0 hull.blk {options}");
    spec.disks = disks;
    let log = Captured::default();
    let mut m = Machine::boot(kvm, &spec, Box::new(log.clone())).unwrap();
    assert_eq!(
        m.run(Some(Duration::from_secs(60))).unwrap(),
        Outcome::Reset,
        "{}",
        log.text()
    );
    log.text()
}

#[test]
fn the_guest_reads_a_random_disk_and_prints_the_checksum_the_test_computes() {
    let Some(kvm) = kvm_or_skip("the_guest_reads_a_random_disk") else {
        return;
    };
    let dir = tempdir("virtio");
    let (path, data) = image(&dir, "disk.img", 300 * 1024 + 100, 7);
    let log = boot(&kvm, vec![DiskSpec::new(&path)], "hull.blkread=64");
    // Capacity: whole sectors only.
    assert!(log.contains("blk: capacity=0x0000000000000258\n"), "{log}");
    let want = fnv1a32(&data[..64 * 512]);
    assert!(
        log.contains(&format!("blk: read status=0x00 fnv1a=0x{want:08x}\n")),
        "{log}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_write_lands_at_its_offset_and_a_read_only_disk_refuses_it() {
    let Some(kvm) = kvm_or_skip("a_write_lands_at_its_offset") else {
        return;
    };
    let dir = tempdir("virtio");
    let (path, data) = image(&dir, "disk.img", 64 * 1024, 11);
    let log = boot(&kvm, vec![DiskSpec::new(&path)], "hull.blkwrite=7:90");
    assert!(log.contains("blk: write status=0x00\n"), "{log}");
    let after = std::fs::read(&path).unwrap();
    assert_eq!(&after[7 * 512..8 * 512], &[90u8; 512][..]);
    assert_eq!(
        &after[..7 * 512],
        &data[..7 * 512],
        "sectors before untouched"
    );
    assert_eq!(
        &after[8 * 512..],
        &data[8 * 512..],
        "sectors after untouched"
    );
    // Read-only: VIRTIO_BLK_S_IOERR (virtio 1.1, 5.2.6.1), nothing written.
    let log = boot(
        &kvm,
        vec![DiskSpec::new(&path).read_only()],
        "hull.blkwrite=1:5",
    );
    assert!(log.contains("blk: write status=0x01\n"), "{log}");
    assert_eq!(std::fs::read(&path).unwrap(), after);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn two_disks_each_with_its_own_window_serial_and_content() {
    let Some(kvm) = kvm_or_skip("two_disks") else {
        return;
    };
    let dir = tempdir("virtio");
    let (a, _) = image(&dir, "a.img", 8192, 1);
    let (b, bdata) = image(&dir, "b.img", 16384, 2);
    let disks = vec![
        DiskSpec::new(&a).serial("disk-a"),
        DiskSpec::new(&b).read_only().serial("disk-b"),
    ];
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    spec.disks = disks.clone();
    let m = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap();
    let windows = m.virtio_devices().to_vec();
    drop(m);
    assert_eq!(windows.len(), 2);
    assert_ne!(windows[0].0, windows[1].0);
    assert_ne!(windows[0].1, windows[1].1);
    // The test kernel drives the first device named on the command line:
    // name the second one first.
    let (base, irq) = windows[1];
    let log = boot(
        &kvm,
        disks,
        &format!("virtio_mmio.device=4K@{base:#x}:{irq} hull.blkid hull.blkread=32"),
    );
    assert!(log.contains("blk: id=disk-b\n"), "{log}");
    assert!(log.contains("blk: capacity=0x0000000000000020\n"), "{log}");
    let want = fnv1a32(&bdata[..32 * 512]);
    assert!(log.contains(&format!("fnv1a=0x{want:08x}")), "{log}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_queue_is_refused_by_hull_and_an_empty_window_by_the_driver() {
    let Some(kvm) = kvm_or_skip("a_bad_queue") else {
        return;
    };
    let dir = tempdir("virtio");
    let (path, _) = image(&dir, "disk.img", 4096, 3);
    // A queue size of 3: the device sets DEVICE_NEEDS_RESET (0x40) and the
    // machine goes on.
    let log = boot(&kvm, vec![DiskSpec::new(&path)], "hull.blkbadq");
    let status = log
        .lines()
        .find_map(|l| l.strip_prefix("blk: badq status=0x"))
        .unwrap_or_else(|| panic!("{log}"));
    assert_ne!(u8::from_str_radix(status, 16).unwrap() & 0x40, 0, "{log}");
    // The driver gives the device up (FAILED, as Linux's virtio core does)
    // and still pokes the dead queue; hull keeps both bits and serves
    // nothing, and the machine goes on to its reset.
    let gave_up = log
        .lines()
        .find_map(|l| l.strip_prefix("blk: gave up status=0x"))
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(
        u8::from_str_radix(gave_up, 16).unwrap() & 0xc0,
        0xc0,
        "{log}"
    );
    // No device there: the driver refuses the window (MagicValue).
    let log = boot(
        &kvm,
        vec![DiskSpec::new(&path)],
        "virtio_mmio.device=4K@0xd0008000:9",
    );
    assert!(log.contains("blk: bad magic\n"), "{log}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_disks_are_refused_before_the_machine_is_made() {
    let Some(kvm) = kvm_or_skip("bad_disks") else {
        return;
    };
    let dir = tempdir("virtio");
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    for (disk, want) in [
        (DiskSpec::new(dir.join("missing.img")), "not found"),
        (DiskSpec::new(&dir), "regular file or a block device"),
        (DiskSpec::new("/dev/null"), "regular file or a block device"),
    ] {
        spec.disks = vec![disk];
        let e = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    let (path, _) = image(&dir, "d.img", 512, 4);
    spec.disks = vec![DiskSpec::new(&path).serial("a-serial-longer-than-twenty")];
    let e = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
    std::fs::remove_dir_all(dir).ok();
}

/// Runs `f` on a thread in a fresh network namespace; `None` (and the test
/// says it is skipped) where that is not permitted.
fn in_netns<T: Send + 'static>(test: &str, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let r = std::thread::spawn(move || {
        // SAFETY: unshare affects only this thread's network namespace.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(f())
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p));
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            if std::env::var_os("HULL_REQUIRE_ROOT").is_some() {
                panic!("{test}: cannot make a network namespace (HULL_REQUIRE_ROOT is set): {e}");
            }
            common::skipped(
                test,
                &format!("cannot make a network namespace ({e}); run as root"),
            );
            None
        }
    }
}

fn sh(cmd: &str) {
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .unwrap()
        .success();
    assert!(ok, "{cmd}");
}

/// An AF_PACKET socket on `ifname`, with a receive timeout.
fn packet_socket(ifname: &str) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
    // SAFETY: plain socket/bind/setsockopt calls on an fd owned here.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto);
        assert!(fd >= 0, "{}", std::io::Error::last_os_error());
        let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
        let name = std::ffi::CString::new(ifname).unwrap();
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto as u16;
        sll.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
        use std::os::fd::AsRawFd;
        assert_eq!(
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32
            ),
            0
        );
        let tv = libc::timeval {
            tv_sec: 30,
            tv_usec: 0,
        };
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as u32,
        );
        fd
    }
}

/// The first frame of the test kernel's ethertype (0x88b5) that arrives
/// on `sock`.
fn guest_frame(sock: &std::os::fd::OwnedFd, log: &Captured) -> Vec<u8> {
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 2048];
    loop {
        // SAFETY: receiving into `buf`, writable for its length.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        assert!(
            n > 0,
            "no frame from the guest: {} ({})",
            std::io::Error::last_os_error(),
            log.text()
        );
        let f = &buf[..n as usize];
        if f.len() >= 14 && f[12..14] == [0x88, 0xb5] {
            return f.to_vec();
        }
    }
}

/// Sends a minimum-size frame of ethertype 0x88b5 carrying `payload` on
/// `sock`.
fn send_frame(sock: &std::os::fd::OwnedFd, dst: [u8; 6], src: [u8; 6], payload: &[u8]) {
    use std::os::fd::AsRawFd;
    let mut frame = [0u8; 60];
    frame[0..6].copy_from_slice(&dst);
    frame[6..12].copy_from_slice(&src);
    frame[12..14].copy_from_slice(&[0x88, 0xb5]);
    frame[14..14 + payload.len()].copy_from_slice(payload);
    // SAFETY: sending `frame` on the bound packet socket.
    let n = unsafe { libc::send(sock.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    assert_eq!(n, 60, "{}", std::io::Error::last_os_error());
}

#[test]
fn a_frame_the_guest_sends_is_captured_on_the_tap_and_one_injected_is_printed() {
    let test = "a_frame_the_guest_sends_is_captured_on_the_tap_and_one_injected_is_printed";
    let Some(kvm) = kvm_or_skip(test) else {
        return;
    };
    in_netns(test, move || {
        // No IPv6 chatter from the host side into the guest's one buffer.
        std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1").ok();
        let mac: hull::name::MacAddr = "02:00:00:aa:bb:01".parse().unwrap();
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.memory_mib = 64;
        // hull.irq: the guest waits for its send and its receive halted,
        // woken by the NIC's interrupt.
        spec.cmdline = "console=ttyS0 hull.net hull.irq hull.netsend=ping-from-guest".into();
        spec.nics = vec![hull::vm::NicSpec::new("hulltap0").mac(mac)];
        // The NIC's receive thread and the vCPU confined, as in production.
        spec.confine = true;
        let log = Captured::default();
        let mut m = Machine::boot(&kvm, &spec, Box::new(log.clone())).unwrap();
        sh("ip link set hulltap0 up");
        let sock = packet_socket("hulltap0");
        std::thread::scope(|s| {
            let run = s.spawn(|| m.run(Some(Duration::from_secs(60))));
            // The guest's frame, as the host sees it on the tap.
            let frame = guest_frame(&sock, &log);
            assert_eq!(&frame[0..6], &[0xff; 6], "broadcast");
            assert_eq!(&frame[6..12], &mac.0, "from the NIC's MAC");
            assert!(frame[14..].starts_with(b"ping-from-guest"), "{frame:?}");
            // A frame for the guest.
            send_frame(
                &sock,
                mac.0,
                [0x02, 0, 0, 0xaa, 0xbb, 0x02],
                b"pong-from-test",
            );
            assert_eq!(
                run.join().unwrap().unwrap(),
                Outcome::Reset,
                "{}",
                log.text()
            );
        });
        let text = log.text();
        assert!(
            text.contains("net: sent\nnet: recv pong-from-test\n"),
            "{text}"
        );
        // The send's and the receive's interrupts may arrive as one edge.
        let (count, status) = irq_report(&text);
        assert!((1..=2).contains(&count) && status == 1, "{text}");
    });
}

#[test]
fn two_nics_and_two_disks_at_once_each_with_its_own_tap_window_and_line() {
    let test = "two_nics_and_two_disks_at_once";
    let Some(kvm) = kvm_or_skip(test) else {
        return;
    };
    in_netns(test, move || {
        use std::os::fd::AsRawFd;
        std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1").ok();
        let dir = tempdir("virtio");
        let (a, _) = image(&dir, "a.img", 4096, 1);
        let (b, _) = image(&dir, "b.img", 4096, 2);
        let macs: [hull::name::MacAddr; 2] = [
            "02:00:00:00:0a:01".parse().unwrap(),
            "02:00:00:00:0b:01".parse().unwrap(),
        ];
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.memory_mib = 64;
        spec.disks = vec![DiskSpec::new(&a), DiskSpec::new(&b)];
        spec.nics = vec![
            hull::vm::NicSpec::new("hulltapa").mac(macs[0]),
            hull::vm::NicSpec::new("hulltapb").mac(macs[1]),
        ];
        let m = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap();
        let windows = m.virtio_devices().to_vec();
        drop(m);
        assert_eq!(windows.len(), 4);
        let mut bases: Vec<u64> = windows.iter().map(|w| w.0).collect();
        let mut irqs: Vec<u32> = windows.iter().map(|w| w.1).collect();
        bases.dedup();
        irqs.sort();
        irqs.dedup();
        assert_eq!((bases.len(), irqs.len()), (4, 4), "{windows:?}");
        // The guest drives the second NIC: it sends from that NIC's MAC,
        // and the frame comes out of that NIC's tap only.
        let (base, irq) = windows[3];
        spec.cmdline = format!(
            "console=ttyS0 virtio_mmio.device=4K@{base:#x}:{irq} hull.net hull.netsend=to-b"
        );
        let log = Captured::default();
        let mut m = Machine::boot(&kvm, &spec, Box::new(log.clone())).unwrap();
        sh("ip link set hulltapa up && ip link set hulltapb up");
        let (sa, sb) = (packet_socket("hulltapa"), packet_socket("hulltapb"));
        std::thread::scope(|s| {
            let run = s.spawn(|| m.run(Some(Duration::from_secs(60))));
            let frame = guest_frame(&sb, &log);
            assert_eq!(&frame[6..12], &macs[1].0);
            send_frame(&sb, macs[1].0, [0; 6], b"to-g");
            assert_eq!(
                run.join().unwrap().unwrap(),
                Outcome::Reset,
                "{}",
                log.text()
            );
        });
        assert!(log.text().contains("net: recv to-g\n"), "{}", log.text());
        // Nothing of ethertype 0x88b5 came out of tap a.
        // SAFETY: a non-blocking peek on our own socket.
        let n = unsafe {
            let mut buf = [0u8; 2048];
            let mut got = 0;
            loop {
                let n = libc::recv(
                    sa.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                );
                if n <= 0 {
                    break got;
                }
                if buf[12..14] == [0x88, 0xb5] {
                    got += 1;
                }
            }
        };
        assert_eq!(n, 0, "a frame left through the other NIC");
        std::fs::remove_dir_all(dir).ok();
    });
}

#[test]
fn bad_nics_are_refused_with_a_reason() {
    let Some(kvm) = kvm_or_skip("bad_nics") else {
        return;
    };
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    for (nic, want) in [
        (
            hull::vm::NicSpec::new("a-tap-name-longer-than-15"),
            "1 to 15 bytes",
        ),
        (hull::vm::NicSpec::new("bad/name"), "no '/'"),
        (
            hull::vm::NicSpec::new("tap9").mac("01:00:5e:00:00:01".parse().unwrap()),
            "multicast",
        ),
    ] {
        spec.nics = vec![nic];
        let e = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
        assert!(e.to_string().contains(want), "{e}");
    }
}

/// A console that, the first time the guest writes to it, tries what a
/// hostile guest that took over the VMM's thread would: open a file.
#[derive(Clone, Default)]
struct Probe {
    log: Captured,
    opened: std::sync::Arc<std::sync::Mutex<Option<std::io::ErrorKind>>>,
    tried: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl std::io::Write for Probe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.tried.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let r = std::fs::File::open("/proc/self/status");
            *self.opened.lock().unwrap() = r.err().map(|e| e.kind());
        }
        self.log.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_confined_machine_runs_its_devices_but_its_threads_cannot_open_files() {
    let Some(kvm) = kvm_or_skip("a_confined_machine") else {
        return;
    };
    let dir = tempdir("virtio");
    let (path, data) = image(&dir, "disk.img", 64 * 1024, 9);
    for confine in [false, true] {
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.memory_mib = 64;
        spec.cmdline = "console=ttyS0 hull.blk hull.blkread=16".into();
        spec.disks = vec![DiskSpec::new(&path)];
        spec.confine = confine;
        let probe = Probe::default();
        let mut m = Machine::boot(&kvm, &spec, Box::new(probe.clone())).unwrap();
        assert_eq!(
            m.run(Some(Duration::from_secs(60))).unwrap(),
            Outcome::Reset,
            "{}",
            probe.log.text()
        );
        let want = fnv1a32(&data[..16 * 512]);
        assert!(
            probe.log.text().contains(&format!("fnv1a=0x{want:08x}")),
            "confine={confine}: {}",
            probe.log.text()
        );
        let opened = *probe.opened.lock().unwrap();
        if confine {
            assert_eq!(
                opened,
                Some(std::io::ErrorKind::PermissionDenied),
                "the vCPU thread opened a file"
            );
        } else {
            assert_eq!(opened, None, "unconfined, the open works");
        }
    }
    // The caller's own thread is not confined.
    assert!(std::fs::File::open("/proc/self/status").is_ok());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn queue_notifications_make_no_exit_where_kvm_has_ioeventfd_and_work_either_way() {
    let Some(kvm) = kvm_or_skip("queue_notifications") else {
        return;
    };
    if !kvm.has(hull::vm::Cap::Ioeventfd) || !kvm.has(hull::vm::Cap::Irqfd) {
        common::skipped("queue_notifications", "this KVM has no ioeventfd/irqfd");
        return;
    }
    let dir = tempdir("virtio");
    let (path, data) = image(&dir, "disk.img", 64 * 1024, 13);
    for (eventfds, exits) in [(Some(true), 0), (Some(false), 2)] {
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.memory_mib = 64;
        spec.cmdline = "console=ttyS0 hull.blk hull.blkread=8 hull.blkid".into();
        spec.disks = vec![DiskSpec::new(&path).serial("evt")];
        spec.eventfds = eventfds;
        let log = Captured::default();
        let mut m = Machine::boot(&kvm, &spec, Box::new(log.clone())).unwrap();
        assert_eq!(
            m.run(Some(Duration::from_secs(60))).unwrap(),
            Outcome::Reset
        );
        let text = log.text();
        let want = fnv1a32(&data[..8 * 512]);
        assert!(text.contains(&format!("fnv1a=0x{want:08x}")), "{text}");
        assert!(text.contains("blk: id=evt\n"), "{text}");
        assert_eq!(m.notify_exits(), exits, "eventfds {eventfds:?}");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// The `irq: count=0x.. status=0x..` line `hull.irq` makes the test kernel
/// print: interrupts taken, and the InterruptStatus bits its handler saw.
fn irq_report(log: &str) -> (u32, u32) {
    let line = log
        .lines()
        .find_map(|l| l.strip_prefix("irq: count=0x"))
        .unwrap_or_else(|| panic!("no irq report: {log}"));
    let (count, status) = line.split_once(" status=0x").unwrap();
    (
        u32::from_str_radix(count, 16).unwrap(),
        u32::from_str_radix(status, 16).unwrap(),
    )
}

#[test]
fn the_guest_takes_each_completion_as_an_interrupt_through_irqfd_and_through_irq_line() {
    let test = "the_guest_takes_each_completion_as_an_interrupt";
    let Some(kvm) = kvm_or_skip(test) else {
        return;
    };
    let dir = tempdir("virtio");
    let (path, data) = image(&dir, "disk.img", 64 * 1024, 17);
    // With hull.irq the driver halts until an interrupt moves it on: a used
    // buffer that raised nothing would leave it halted until the timeout.
    let mut modes = vec![Some(false)];
    if kvm.has(hull::vm::Cap::Irqfd) {
        modes.push(Some(true));
    } else {
        common::skipped(test, "irqfd half: this KVM has no irqfd");
    }
    for eventfds in modes {
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.memory_mib = 64;
        spec.cmdline = "console=ttyS0 hull.blk hull.irq hull.blkread=8 hull.blkid".into();
        spec.disks = vec![DiskSpec::new(&path).serial("irq")];
        spec.eventfds = eventfds;
        let log = Captured::default();
        let mut m = Machine::boot(&kvm, &spec, Box::new(log.clone())).unwrap();
        assert_eq!(
            m.run(Some(Duration::from_secs(60))).unwrap(),
            Outcome::Reset,
            "eventfds {eventfds:?}: {}",
            log.text()
        );
        let text = log.text();
        let want = fnv1a32(&data[..8 * 512]);
        assert!(text.contains(&format!("fnv1a=0x{want:08x}")), "{text}");
        assert!(text.contains("blk: id=irq\n"), "{text}");
        // One request at a time, one interrupt each, each a used buffer.
        assert_eq!(irq_report(&text), (2, 1), "eventfds {eventfds:?}: {text}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_nic_on_a_macvtap_over_a_hull_vnic_sends_and_receives_and_goes_with_the_machine() {
    let test = "a_nic_on_a_macvtap_over_a_hull_vnic";
    let Some(kvm) = kvm_or_skip(test) else {
        return;
    };
    in_netns(test, move || {
        std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1").ok();
        sh("ip link add p0 type veth peer name p1 && ip link set p0 up && ip link set p1 up");
        let mut vnics = hull::vnic::Vnics::open().unwrap();
        vnics
            .create(&hull::vnic::VnicSpec {
                name: "vn0".parse().unwrap(),
                over: "p0".parse().unwrap(),
                mac: hull::vnic::MacSpec::Random,
                vlan: None,
                mtu: None,
            })
            .unwrap();
        let mac: hull::name::MacAddr = "02:00:00:00:0c:01".parse().unwrap();
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.memory_mib = 64;
        spec.cmdline = "console=ttyS0 hull.net hull.netsend=via-macvtap".into();
        spec.nics = vec![hull::vm::NicSpec::macvtap("mvt0", "vn0".parse().unwrap()).mac(mac)];
        spec.confine = true;
        let log = Captured::default();
        let mut m = Machine::boot(&kvm, &spec, Box::new(log.clone())).unwrap();
        // The guest's frames leave through the VNIC's parent: the veth's
        // other end sees them.
        let sock = packet_socket("p1");
        std::thread::scope(|s| {
            let run = s.spawn(|| m.run(Some(Duration::from_secs(60))));
            let frame = guest_frame(&sock, &log);
            assert_eq!(&frame[6..12], &mac.0);
            assert!(frame[14..].starts_with(b"via-macvtap"));
            send_frame(&sock, mac.0, [2, 0, 0, 0, 0x0c, 2], b"to-mvt");
            assert_eq!(
                run.join().unwrap().unwrap(),
                Outcome::Reset,
                "{}",
                log.text()
            );
        });
        assert!(log.text().contains("net: recv to-mvt\n"), "{}", log.text());
        drop(m);
        let gone = !std::process::Command::new("ip")
            .args(["link", "show", "mvt0"])
            .output()
            .unwrap()
            .status
            .success();
        assert!(gone, "the macvtap link outlived its machine");
        vnics.delete(&"vn0".parse().unwrap()).unwrap();
    });
}
