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
