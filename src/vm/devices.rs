//! The legacy devices a booting kernel needs: a 16550 UART at 0x3f8
//! (rust-vmm `vm-superio`) and the i8042's reset line.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vm_superio::serial::NoEvents;
use vm_superio::{Serial, Trigger};

use super::virtio::{MmioTransport, NOTIFY_OFFSET, WINDOW};

fn lock_t(t: &Mutex<MmioTransport>) -> std::sync::MutexGuard<'_, MmioTransport> {
    t.lock().unwrap_or_else(|p| p.into_inner())
}
use super::vm::{eventfd, irq_line, register_ioeventfd, register_irqfd, VmInner};
use crate::error::Error;

/// COM1's first port.
pub const COM1: u16 = 0x3f8;
/// COM1's interrupt line.
pub const COM1_IRQ: u32 = 4;
/// The i8042 command/status port.
pub const I8042_COMMAND: u16 = 0x64;
/// The i8042 data port.
pub const I8042_DATA: u16 = 0x60;
/// The i8042 command that pulses the CPU reset line.
pub const I8042_RESET: u8 = 0xfe;

/// Raises COM1's interrupt line through the in-kernel irqchip, if there is one.
pub(crate) struct IrqTrigger(Option<Arc<VmInner>>);

impl Trigger for IrqTrigger {
    type E = Error;
    fn trigger(&self) -> Result<(), Error> {
        if let Some(vm) = &self.0 {
            irq_line(vm, COM1_IRQ, true)?;
            irq_line(vm, COM1_IRQ, false)?;
        }
        Ok(())
    }
}

/// What a port write asked of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceEvent {
    /// The guest asked for a reset through the i8042.
    Reset,
}

type Uart = Serial<IrqTrigger, NoEvents, Box<dyn Write + Send>>;

/// A device's loop (see [`Devices::device_loops`]).
pub(crate) type InputLoop<'a> = Box<dyn Fn(&AtomicBool) + Send + Sync + 'a>;

fn lock(serial: &Mutex<Uart>) -> std::sync::MutexGuard<'_, Uart> {
    serial.lock().unwrap_or_else(|p| p.into_inner())
}

/// The devices of a machine: the port-I/O ones, and virtio-mmio windows.
pub(crate) struct Devices {
    serial: Arc<Mutex<Uart>>,
    vm: Arc<VmInner>,
    virtio: Vec<Slot>,
    notify_exits: AtomicU64,
    /// Written to end the device loops at once (they also look every 50 ms).
    wake: OwnedFd,
}

/// The input side of a machine's serial console (COM1): what is written
/// here the guest reads from the UART's receive buffer, and the UART raises
/// IRQ 4 through the in-kernel irqchip when the guest has enabled the
/// received-data interrupt. A write blocks while the UART's 64-byte FIFO is
/// full, so `std::io::copy` from a reader (standard input, say) paces
/// itself to the guest.
///
/// ```no_run
/// use hull::vm::{BootSpec, Kvm, Machine, TEST_KERNEL};
/// let kvm = Kvm::open()?;
/// let machine = Machine::boot(&kvm, &BootSpec::new(TEST_KERNEL.to_vec()), Box::new(std::io::stdout()))?;
/// let mut input = machine.console_input();
/// std::thread::spawn(move || std::io::copy(&mut std::io::stdin(), &mut input));
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Clone)]
pub struct ConsoleInput {
    serial: std::sync::Weak<Mutex<Uart>>,
}

impl std::fmt::Debug for ConsoleInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleInput")
    }
}

impl Write for ConsoleInput {
    /// Queues as much of `buf` as the UART's FIFO has room for, waiting
    /// while it is full. Fails with `BrokenPipe` once the machine is gone.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(serial) = self.serial.upgrade() else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "the machine is gone",
                ));
            };
            let mut uart = lock(&serial);
            if uart.fifo_capacity() > 0 {
                match uart.enqueue_raw_bytes(buf) {
                    // In loopback mode (Linux's 8250 driver uses it while
                    // probing) the UART takes no input: wait it out.
                    Ok(0) => {}
                    Ok(n) => return Ok(n),
                    Err(e) => return Err(std::io::Error::other(e.to_string())),
                }
            }
            drop(uart);
            drop(serial);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One virtio device: its window, line, transport, and (where KVM has
/// them) the eventfds KVM signals for its queue notifications and the one
/// that raises its line.
struct Slot {
    base: u64,
    irq: u32,
    transport: Arc<Mutex<MmioTransport>>,
    /// One per queue, signalled by KVM_IOEVENTFD on a write of the queue's
    /// index to QueueNotify.
    notify: Vec<OwnedFd>,
    /// KVM_IRQFD: a write raises `irq`.
    irqfd: Option<OwnedFd>,
}

impl Devices {
    /// The devices; with `eventfds`, each virtio queue's notification is
    /// an ioeventfd and each device's interrupt an irqfd, so neither goes
    /// through a vCPU exit to the VMM.
    pub(crate) fn new(
        vm: &Arc<VmInner>,
        console: Box<dyn Write + Send>,
        virtio: Vec<(u64, u32, MmioTransport)>,
        eventfds: bool,
    ) -> crate::error::Result<Devices> {
        let trigger = IrqTrigger(vm.irqchip.then(|| vm.clone()));
        let mut slots = Vec::new();
        for (base, irq, transport) in virtio {
            let (mut notify, mut irqfd) = (Vec::new(), None);
            if eventfds {
                let fd = eventfd()?;
                register_irqfd(vm, fd.as_raw_fd(), irq)?;
                irqfd = Some(fd);
                for q in 0..transport.queue_count() {
                    let fd = eventfd()?;
                    register_ioeventfd(vm, fd.as_raw_fd(), base + NOTIFY_OFFSET, q as u32)?;
                    notify.push(fd);
                }
            }
            slots.push(Slot {
                base,
                irq,
                transport: Arc::new(Mutex::new(transport)),
                notify,
                irqfd,
            });
        }
        Ok(Devices {
            serial: Arc::new(Mutex::new(Serial::new(trigger, console))),
            vm: vm.clone(),
            virtio: slots,
            notify_exits: AtomicU64::new(0),
            wake: eventfd()?,
        })
    }

    fn window(&self, addr: u64) -> Option<&Slot> {
        self.virtio
            .iter()
            .find(|s| (s.base..s.base + WINDOW).contains(&addr))
    }

    /// A guest MMIO read; `false` if no device is there.
    pub(crate) fn mmio_read(&self, addr: u64, data: &mut [u8]) -> bool {
        let Some(slot) = self.window(addr) else {
            return false;
        };
        lock_t(&slot.transport).read(addr - slot.base, data);
        true
    }

    /// A guest MMIO write; `false` if no device is there. A device that
    /// used a buffer raises its interrupt line.
    pub(crate) fn mmio_write(&self, addr: u64, data: &[u8]) -> bool {
        let Some(slot) = self.window(addr) else {
            return false;
        };
        if addr - slot.base == NOTIFY_OFFSET {
            self.notify_exits.fetch_add(1, Ordering::Relaxed);
        }
        let raise = lock_t(&slot.transport).write(addr - slot.base, data, &self.vm.memory);
        if raise {
            self.raise(slot);
        }
        true
    }

    /// Ends the device loops' waits at once (after their `stop` is set).
    pub(crate) fn wake(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writing 8 bytes to our own eventfd.
        let _ = unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), 8) };
    }

    /// Queue notifications that reached the VMM as MMIO exits (none where
    /// ioeventfds carry them).
    pub(crate) fn notify_exits(&self) -> u64 {
        self.notify_exits.load(Ordering::Relaxed)
    }

    fn raise(&self, slot: &Slot) {
        match &slot.irqfd {
            Some(fd) => {
                let one = 1u64.to_ne_bytes();
                // SAFETY: writing 8 bytes to our own eventfd.
                let _ = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), 8) };
            }
            None if self.vm.irqchip => {
                let _ = irq_line(&self.vm, slot.irq, true);
                let _ = irq_line(&self.vm, slot.irq, false);
            }
            None => {}
        }
    }

    /// One loop per device that has ioeventfds or input of its own, to run
    /// on a thread of its own until `stop`: a signalled queue is served,
    /// the input (when its fd is readable, or every 50 ms) goes to the
    /// guest, and a used buffer raises the device's line. Each comes with
    /// the fds it does I/O on, for its thread's seccomp filter.
    pub(crate) fn device_loops(&self) -> Vec<(Vec<RawFd>, InputLoop<'_>)> {
        let mut out: Vec<(Vec<RawFd>, InputLoop<'_>)> = Vec::new();
        for slot in &self.virtio {
            let input = lock_t(&slot.transport).input_fd();
            if slot.notify.is_empty() && input.is_none() {
                continue;
            }
            // Every fd the loop touches: the device's own, its queues'
            // eventfds, its irqfd and the wake-up.
            let fds: Vec<RawFd> = lock_t(&slot.transport)
                .io_fds()
                .into_iter()
                .chain(input)
                .chain(slot.notify.iter().map(|f| f.as_raw_fd()))
                .chain(slot.irqfd.as_ref().map(|f| f.as_raw_fd()))
                .chain(Some(self.wake.as_raw_fd()))
                .collect();
            out.push((
                fds,
                Box::new(move |stop: &AtomicBool| {
                    // The queues' eventfds, the input fd, and the wake-up.
                    let mut fds: Vec<libc::pollfd> = slot
                        .notify
                        .iter()
                        .map(|f| f.as_raw_fd())
                        .chain(input)
                        .chain(Some(self.wake.as_raw_fd()))
                        .map(|fd| libc::pollfd {
                            fd,
                            events: libc::POLLIN,
                            revents: 0,
                        })
                        .collect();
                    let queues = slot.notify.len();
                    while !stop.load(Ordering::Relaxed) {
                        // The tap is watched only while nothing waits for a
                        // receive buffer (poll ignores a negative fd); the
                        // guest's notification wakes the thread when it posts
                        // one, or the 50 ms timeout where there are no
                        // ioeventfds.
                        if let Some(fd) = input {
                            fds[queues].fd = if lock_t(&slot.transport).input_blocked() {
                                -1
                            } else {
                                fd
                            };
                        }
                        // SAFETY: `fds` holds valid pollfds for fds owned by the
                        // slot (and the transport), alive while this runs.
                        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as u64, 50) };
                        let mut used = false;
                        let mut t = lock_t(&slot.transport);
                        for (q, p) in fds.iter_mut().enumerate().take(queues) {
                            if p.revents & libc::POLLIN != 0 {
                                let mut v = [0u8; 8];
                                // SAFETY: reading our eventfd's 8-byte counter.
                                let _ = unsafe { libc::read(p.fd, v.as_mut_ptr().cast(), 8) };
                                used |= t.notify(q, &self.vm.memory);
                            }
                            p.revents = 0;
                        }
                        for p in fds.iter_mut().skip(queues) {
                            p.revents = 0;
                        }
                        if input.is_some() {
                            used |= t.input(&self.vm.memory);
                        }
                        drop(t);
                        if used {
                            self.raise(slot);
                        }
                    }
                }),
            ));
        }
        out
    }

    fn serial(&self) -> std::sync::MutexGuard<'_, Uart> {
        lock(&self.serial)
    }

    /// The console's input side.
    pub(crate) fn console_input(&self) -> ConsoleInput {
        ConsoleInput {
            serial: Arc::downgrade(&self.serial),
        }
    }

    /// A guest `out`: returns an event when the write means more than data.
    pub(crate) fn io_out(&self, port: u16, data: &[u8]) -> Option<DeviceEvent> {
        match port {
            COM1..=0x3ff => {
                let mut serial = self.serial();
                for b in data {
                    // A console that cannot be written is the caller's
                    // problem; the guest must not stall on it.
                    let _ = serial.write((port - COM1) as u8, *b);
                }
                None
            }
            I8042_COMMAND if data.first() == Some(&I8042_RESET) => Some(DeviceEvent::Reset),
            _ => None,
        }
    }

    /// A guest `in`: fills `data`.
    pub(crate) fn io_in(&self, port: u16, data: &mut [u8]) {
        match port {
            COM1..=0x3ff => {
                let mut serial = self.serial();
                for b in data.iter_mut() {
                    *b = serial.read((port - COM1) as u8);
                }
            }
            // i8042: no data waiting, input buffer empty.
            I8042_COMMAND | I8042_DATA => data.fill(0),
            _ => data.fill(0xff),
        }
    }

    /// Flushes the console.
    pub(crate) fn flush(&self) {
        let _ = self.serial().writer_mut().flush();
    }
}
