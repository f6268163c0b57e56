//! virtio devices over the virtio-mmio transport (virtio 1.x, modern
//! registers only: `Version` 2), with split virtqueues from rust-vmm's
//! `virtio-queue` and constants from `virtio-bindings`.
//!
//! Each device has a 4 KiB register window in the MMIO gap and an ISA
//! interrupt line, both allocated without overlap by [`Layout`], and is
//! announced to Linux on the kernel command line in its own
//! `virtio_mmio.device=<size>@<base>:<irq>` form, as Firecracker does.
//!
//! The guest's register accesses reach [`MmioTransport`] as MMIO exits,
//! except queue notifications: where KVM has `KVM_IOEVENTFD` and
//! `KVM_IRQFD` (Linux does), each queue's QueueNotify write signals an
//! eventfd inside KVM, served on the device's own thread, and a used
//! buffer raises the device's line by writing its irqfd, so a request
//! makes no exit to the VMM at all. Without them (illumos-kvm), the
//! notification is served on the vCPU thread that wrote it and the line is
//! raised with `KVM_IRQ_LINE`. A device with input of its own (a NIC's
//! tap) is watched on its thread too.
//!
//! A driver that breaks the rules (a feature it was not offered, a queue
//! larger than the maximum or not a power of two, rings outside guest
//! memory, a malformed descriptor chain) gets the device's
//! `DEVICE_NEEDS_RESET` status or the request's error status, never a VMM
//! panic.

pub mod block;
pub mod net;

use virtio_bindings::virtio_config::{
    VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK,
    VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_F_VERSION_1,
};
use virtio_queue::{Queue, QueueT};
use vm_memory::GuestMemoryMmap;

/// `MagicValue`: "virt".
pub const MAGIC: u32 = 0x7472_6976;
/// `Version` of the modern transport.
pub const VERSION: u32 = 2;
/// `VendorID`: "HULL".
pub const VENDOR: u32 = 0x4c4c_5548;
/// Each device's register window.
pub const WINDOW: u64 = 0x1000;
/// Where device windows start (in the MMIO gap below 4 GiB).
pub const MMIO_BASE: u64 = 0xd000_0000;
/// The interrupt lines given to devices, in order: ISA lines the MP table
/// routes to the I/O APIC and no legacy device here uses (COM1 has 4).
pub const IRQS: &[u32] = &[5, 6, 7, 9, 10, 11, 12, 14, 15];

// Register offsets (virtio 1.1, 4.2.2).
const R_MAGIC: u64 = 0x000;
const R_VERSION: u64 = 0x004;
const R_DEVICE_ID: u64 = 0x008;
const R_VENDOR_ID: u64 = 0x00c;
const R_DEVICE_FEATURES: u64 = 0x010;
const R_DEVICE_FEATURES_SEL: u64 = 0x014;
const R_DRIVER_FEATURES: u64 = 0x020;
const R_DRIVER_FEATURES_SEL: u64 = 0x024;
const R_QUEUE_SEL: u64 = 0x030;
const R_QUEUE_NUM_MAX: u64 = 0x034;
const R_QUEUE_NUM: u64 = 0x038;
const R_QUEUE_READY: u64 = 0x044;
const R_QUEUE_NOTIFY: u64 = 0x050;
/// Where a driver writes a queue's index to notify the device.
pub const NOTIFY_OFFSET: u64 = R_QUEUE_NOTIFY;
const R_INTERRUPT_STATUS: u64 = 0x060;
const R_INTERRUPT_ACK: u64 = 0x064;
const R_STATUS: u64 = 0x070;
const R_QUEUE_DESC_LOW: u64 = 0x080;
const R_QUEUE_DESC_HIGH: u64 = 0x084;
const R_QUEUE_DRIVER_LOW: u64 = 0x090;
const R_QUEUE_DRIVER_HIGH: u64 = 0x094;
const R_QUEUE_DEVICE_LOW: u64 = 0x0a0;
const R_QUEUE_DEVICE_HIGH: u64 = 0x0a4;
const R_CONFIG_GENERATION: u64 = 0x0fc;
const R_CONFIG: u64 = 0x100;

/// `InterruptStatus` bit: a used buffer was added.
pub const INT_USED_BUFFER: u32 = 1;

/// What a device type provides to the transport.
pub trait VirtioDevice: Send {
    /// The virtio device id (2: block, 1: network).
    fn device_type(&self) -> u32;
    /// Feature bits offered (`VIRTIO_F_VERSION_1` is added by the
    /// transport).
    fn features(&self) -> u64;
    /// Each queue's maximum size.
    fn queue_max_sizes(&self) -> &[u16];
    /// Reads device configuration space at `offset`.
    fn read_config(&self, offset: u64, data: &mut [u8]);
    /// Serves what the driver made available on queue `index`; returns
    /// whether anything was used (so the driver is to be interrupted).
    fn process_queue(&mut self, index: usize, queue: &mut Queue, memory: &GuestMemoryMmap) -> bool;
    /// The fds the device reads and writes to serve its queues (its disk
    /// or tap): a confined device thread may do I/O on these only.
    fn io_fds(&self) -> Vec<std::os::fd::RawFd>;
    /// A file descriptor that becomes readable when the device has input
    /// for the guest (a tap), watched on the device's own thread.
    fn input_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
    /// Moves input to the guest; returns whether a buffer was used.
    fn input(&mut self, _queues: &mut [Queue], _memory: &GuestMemoryMmap) -> bool {
        false
    }
    /// Whether input is waiting for the guest (so the input fd need not
    /// be watched until the guest posts buffers).
    fn input_blocked(&self) -> bool {
        false
    }
}

/// Where each device's window and interrupt line go.
#[derive(Debug, Default, Clone)]
pub struct Layout {
    next: usize,
}

impl Layout {
    /// The next device's window base and interrupt line, or `None` when
    /// every line is taken.
    pub fn allocate(&mut self) -> Option<(u64, u32)> {
        let irq = *IRQS.get(self.next)?;
        let base = MMIO_BASE + self.next as u64 * WINDOW;
        self.next += 1;
        Some((base, irq))
    }
}

/// The kernel command-line word that announces a device to Linux's
/// virtio-mmio driver.
pub fn cmdline_word(base: u64, irq: u32) -> String {
    format!("virtio_mmio.device=4K@{base:#x}:{irq}")
}

/// One device's virtio-mmio register file and queues.
pub struct MmioTransport {
    device: Box<dyn VirtioDevice>,
    queues: Vec<Queue>,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    status: u32,
    interrupt_status: u32,
    config_generation: u32,
}

impl MmioTransport {
    /// A transport over `device`, reset.
    pub fn new(device: Box<dyn VirtioDevice>) -> MmioTransport {
        let queues = device
            .queue_max_sizes()
            .iter()
            .map(|&m| Queue::new(m).expect("device queue sizes are powers of two"))
            .collect();
        MmioTransport {
            device,
            queues,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            status: 0,
            interrupt_status: 0,
            config_generation: 0,
        }
    }

    fn offered(&self) -> u64 {
        self.device.features() | (1 << VIRTIO_F_VERSION_1)
    }

    fn queue(&mut self) -> Option<&mut Queue> {
        self.queues.get_mut(self.queue_sel as usize)
    }

    /// The device status register.
    pub fn status(&self) -> u32 {
        self.status
    }

    fn reset(&mut self) {
        for q in &mut self.queues {
            q.reset();
        }
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.status = 0;
        self.interrupt_status = 0;
    }

    fn needs_reset(&mut self) {
        self.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    }

    /// A guest read of the window at `offset`.
    pub fn read(&mut self, offset: u64, data: &mut [u8]) {
        if offset >= R_CONFIG {
            self.device.read_config(offset - R_CONFIG, data);
            return;
        }
        // Registers are 32 bits wide and read whole.
        if data.len() != 4 {
            data.fill(0);
            return;
        }
        let v: u32 = match offset {
            R_MAGIC => MAGIC,
            R_VERSION => VERSION,
            R_DEVICE_ID => self.device.device_type(),
            R_VENDOR_ID => VENDOR,
            R_DEVICE_FEATURES => match self.device_features_sel {
                0 => self.offered() as u32,
                1 => (self.offered() >> 32) as u32,
                _ => 0,
            },
            R_QUEUE_NUM_MAX => self.queue().map_or(0, |q| q.max_size() as u32),
            R_QUEUE_READY => self.queue().map_or(0, |q| q.ready() as u32),
            R_INTERRUPT_STATUS => self.interrupt_status,
            R_STATUS => self.status,
            R_CONFIG_GENERATION => self.config_generation,
            _ => 0,
        };
        data.copy_from_slice(&v.to_le_bytes());
    }

    /// A guest write of the window at `offset`. Returns whether the device
    /// used a buffer (so its interrupt line is to be raised).
    pub fn write(&mut self, offset: u64, data: &[u8], memory: &GuestMemoryMmap) -> bool {
        if offset >= R_CONFIG || data.len() != 4 {
            // Configuration space is read-only for these devices.
            return false;
        }
        let v = u32::from_le_bytes(data.try_into().expect("4 bytes"));
        let features_ok = self.status & VIRTIO_CONFIG_S_FEATURES_OK != 0;
        let driver_ok = self.status & VIRTIO_CONFIG_S_DRIVER_OK != 0;
        match offset {
            R_DEVICE_FEATURES_SEL => self.device_features_sel = v,
            R_DRIVER_FEATURES_SEL => self.driver_features_sel = v,
            R_DRIVER_FEATURES if !features_ok => match self.driver_features_sel {
                0 => self.driver_features = (self.driver_features & !0xffff_ffff) | v as u64,
                1 => self.driver_features = (self.driver_features & 0xffff_ffff) | (v as u64) << 32,
                _ => {}
            },
            R_QUEUE_SEL => self.queue_sel = v,
            R_QUEUE_NUM if !driver_ok => {
                if let Some(q) = self.queue() {
                    // virtio-queue keeps a bad size and reports the queue
                    // invalid, which refuses it below.
                    q.set_size(v as u16);
                    if v > q.max_size() as u32 || !(v as u16).is_power_of_two() {
                        self.needs_reset();
                    }
                }
            }
            R_QUEUE_DESC_LOW | R_QUEUE_DESC_HIGH | R_QUEUE_DRIVER_LOW | R_QUEUE_DRIVER_HIGH
            | R_QUEUE_DEVICE_LOW | R_QUEUE_DEVICE_HIGH
                if !driver_ok =>
            {
                if let Some(q) = self.queue() {
                    let (lo, hi) = if offset & 4 == 0 {
                        (Some(v), None)
                    } else {
                        (None, Some(v))
                    };
                    match offset {
                        R_QUEUE_DESC_LOW | R_QUEUE_DESC_HIGH => q.set_desc_table_address(lo, hi),
                        R_QUEUE_DRIVER_LOW | R_QUEUE_DRIVER_HIGH => {
                            q.set_avail_ring_address(lo, hi)
                        }
                        _ => q.set_used_ring_address(lo, hi),
                    }
                }
            }
            R_QUEUE_READY if !driver_ok => {
                let ready = v == 1;
                let valid = self.queue().is_some_and(|q| {
                    q.set_ready(ready);
                    !ready || q.is_valid(memory)
                });
                if !valid {
                    if let Some(q) = self.queue() {
                        q.set_ready(false);
                    }
                    self.needs_reset();
                }
            }
            R_QUEUE_NOTIFY => return self.notify(v as usize, memory),
            R_INTERRUPT_ACK => self.interrupt_status &= !v,
            R_STATUS => self.set_status(v),
            _ => {}
        }
        false
    }

    /// How many queues the device has.
    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }

    /// Serves queue `index` after a notification (a QueueNotify write, or
    /// its ioeventfd), once the driver is ready; returns whether the
    /// interrupt line is to be raised.
    pub fn notify(&mut self, index: usize, memory: &GuestMemoryMmap) -> bool {
        let ready = self.status & VIRTIO_CONFIG_S_DRIVER_OK != 0
            && self.status & VIRTIO_CONFIG_S_NEEDS_RESET == 0;
        let Some(queue) = self.queues.get_mut(index).filter(|q| ready && q.ready()) else {
            return false;
        };
        if self.device.process_queue(index, queue, memory) {
            self.interrupt_status |= INT_USED_BUFFER;
            return true;
        }
        false
    }

    /// Whether the device's input waits for the guest.
    pub fn input_blocked(&self) -> bool {
        self.device.input_blocked()
    }

    /// The fds the device does I/O on.
    pub fn io_fds(&self) -> Vec<std::os::fd::RawFd> {
        self.device.io_fds()
    }

    /// The device's input fd, if it has one.
    pub fn input_fd(&self) -> Option<std::os::fd::RawFd> {
        self.device.input_fd()
    }

    /// Moves the device's input to the guest once the driver is ready;
    /// returns whether the interrupt line is to be raised.
    pub fn input(&mut self, memory: &GuestMemoryMmap) -> bool {
        let ready = self.status & VIRTIO_CONFIG_S_DRIVER_OK != 0
            && self.status & VIRTIO_CONFIG_S_NEEDS_RESET == 0;
        if ready && self.device.input(&mut self.queues, memory) {
            self.interrupt_status |= INT_USED_BUFFER;
            return true;
        }
        false
    }

    fn set_status(&mut self, v: u32) {
        if v == 0 {
            self.reset();
            return;
        }
        // Bits are only ever added until a reset (virtio 1.1, 2.1.2): a
        // write that clears one changes nothing about it.
        let needs_reset = self.status & VIRTIO_CONFIG_S_NEEDS_RESET;
        let mut new = v | (self.status & !VIRTIO_CONFIG_S_NEEDS_RESET);
        let adding = new & !self.status;
        if adding & VIRTIO_CONFIG_S_FEATURES_OK != 0 {
            // Only offered features, and the modern interface; otherwise
            // FEATURES_OK stays clear, for the driver to read back and give
            // the device up (3.1.1).
            let ok = self.driver_features & !self.offered() == 0
                && self.driver_features & (1 << VIRTIO_F_VERSION_1) != 0;
            if !ok {
                new &= !VIRTIO_CONFIG_S_FEATURES_OK;
            }
        }
        if new & VIRTIO_CONFIG_S_DRIVER_OK != 0 && self.status & VIRTIO_CONFIG_S_DRIVER_OK == 0 {
            let order =
                VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
            if new & order != order {
                new &= !VIRTIO_CONFIG_S_DRIVER_OK;
                self.status = new | VIRTIO_CONFIG_S_NEEDS_RESET;
                return;
            }
        }
        self.status = new | needs_reset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Null;
    impl VirtioDevice for Null {
        fn io_fds(&self) -> Vec<std::os::fd::RawFd> {
            Vec::new()
        }
        fn device_type(&self) -> u32 {
            2
        }
        fn features(&self) -> u64 {
            0
        }
        fn queue_max_sizes(&self) -> &[u16] {
            &[8]
        }
        fn read_config(&self, _: u64, data: &mut [u8]) {
            data.fill(0);
        }
        fn process_queue(&mut self, _: usize, _: &mut Queue, _: &GuestMemoryMmap) -> bool {
            false
        }
    }

    fn w(t: &mut MmioTransport, m: &GuestMemoryMmap, off: u64, v: u32) {
        t.write(off, &v.to_le_bytes(), m);
    }

    #[test]
    fn the_status_register_follows_the_device_initialisation_rules() {
        let m =
            GuestMemoryMmap::<()>::from_ranges(&[(vm_memory::GuestAddress(0), 1 << 20)]).unwrap();
        // Features never offered, with FEATURES_OK and DRIVER_OK in one
        // write: neither is accepted, and the device needs a reset.
        let mut t = MmioTransport::new(Box::new(Null));
        w(&mut t, &m, R_DRIVER_FEATURES_SEL, 0);
        w(&mut t, &m, R_DRIVER_FEATURES, 1 << 7);
        w(&mut t, &m, R_STATUS, 0xf);
        assert_eq!(
            t.status() & (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK),
            0
        );
        assert_ne!(t.status() & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
        // A good negotiation; then a write that clears bits clears none.
        let mut t = MmioTransport::new(Box::new(Null));
        w(&mut t, &m, R_STATUS, 3);
        w(&mut t, &m, R_DRIVER_FEATURES_SEL, 1);
        w(&mut t, &m, R_DRIVER_FEATURES, 1);
        w(&mut t, &m, R_STATUS, 0xb);
        assert_ne!(t.status() & VIRTIO_CONFIG_S_FEATURES_OK, 0);
        w(&mut t, &m, R_STATUS, 0xf);
        w(&mut t, &m, R_STATUS, 0x1);
        assert_eq!(t.status(), 0xf);
        // Only a 0 resets.
        w(&mut t, &m, R_STATUS, 0);
        assert_eq!(t.status(), 0);
    }
}
