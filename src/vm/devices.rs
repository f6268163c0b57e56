//! The legacy devices a booting kernel needs: a 16550 UART at 0x3f8
//! (rust-vmm `vm-superio`) and the i8042's reset line.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use vm_superio::serial::NoEvents;
use vm_superio::{Serial, Trigger};

use super::virtio::{MmioTransport, WINDOW};
use super::vm::{irq_line, VmInner};
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

/// A device's input loop (see [`Devices::input_loops`]).
pub(crate) type InputLoop<'a> = Box<dyn Fn(&AtomicBool) + Send + Sync + 'a>;

fn lock(serial: &Mutex<Uart>) -> std::sync::MutexGuard<'_, Uart> {
    serial.lock().unwrap_or_else(|p| p.into_inner())
}

/// The devices of a machine: the port-I/O ones, and virtio-mmio windows.
pub(crate) struct Devices {
    serial: Arc<Mutex<Uart>>,
    vm: Arc<VmInner>,
    /// (window base, interrupt line, transport), sorted by base.
    virtio: Vec<(u64, u32, Arc<Mutex<MmioTransport>>)>,
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
                return uart
                    .enqueue_raw_bytes(buf)
                    .map_err(|e| std::io::Error::other(e.to_string()));
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

impl Devices {
    pub(crate) fn new(
        vm: &Arc<VmInner>,
        console: Box<dyn Write + Send>,
        virtio: Vec<(u64, u32, MmioTransport)>,
    ) -> Devices {
        let trigger = IrqTrigger(vm.irqchip.then(|| vm.clone()));
        Devices {
            serial: Arc::new(Mutex::new(Serial::new(trigger, console))),
            vm: vm.clone(),
            virtio: virtio
                .into_iter()
                .map(|(b, i, t)| (b, i, Arc::new(Mutex::new(t))))
                .collect(),
        }
    }

    fn window(&self, addr: u64) -> Option<(u64, u32, &Arc<Mutex<MmioTransport>>)> {
        self.virtio
            .iter()
            .find(|(base, _, _)| (*base..*base + WINDOW).contains(&addr))
            .map(|(b, i, t)| (*b, *i, t))
    }

    /// A guest MMIO read; `false` if no device is there.
    pub(crate) fn mmio_read(&self, addr: u64, data: &mut [u8]) -> bool {
        let Some((base, _, t)) = self.window(addr) else {
            return false;
        };
        t.lock()
            .unwrap_or_else(|p| p.into_inner())
            .read(addr - base, data);
        true
    }

    /// A guest MMIO write; `false` if no device is there. A device that
    /// used a buffer raises its interrupt line.
    pub(crate) fn mmio_write(&self, addr: u64, data: &[u8]) -> bool {
        let Some((base, irq, t)) = self.window(addr) else {
            return false;
        };
        let raise =
            t.lock()
                .unwrap_or_else(|p| p.into_inner())
                .write(addr - base, data, &self.vm.memory);
        if raise {
            self.raise(irq);
        }
        true
    }

    fn raise(&self, irq: u32) {
        if self.vm.irqchip {
            let _ = irq_line(&self.vm, irq, true);
            let _ = irq_line(&self.vm, irq, false);
        }
    }

    /// One loop per device that has input of its own, to run on a thread
    /// of its own until `stop`: when its fd is readable (or every 50 ms),
    /// the input goes to the guest and the device's line is raised.
    pub(crate) fn input_loops(&self) -> Vec<InputLoop<'_>> {
        let mut out: Vec<InputLoop<'_>> = Vec::new();
        for (_, irq, t) in &self.virtio {
            let Some(fd) = t.lock().unwrap_or_else(|p| p.into_inner()).input_fd() else {
                continue;
            };
            let (irq, t) = (*irq, t.clone());
            out.push(Box::new(move |stop: &AtomicBool| {
                while !stop.load(Ordering::Relaxed) {
                    let mut p = libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd; the fd stays open while the
                    // transport (held by this closure) lives.
                    let ready = unsafe { libc::poll(&mut p, 1, 50) } > 0;
                    let used = t
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .input(&self.vm.memory);
                    if used {
                        self.raise(irq);
                    } else if ready {
                        // The input waits for the guest to post buffers.
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
            }));
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
