//! The legacy devices a booting kernel needs: a 16550 UART at 0x3f8
//! (rust-vmm `vm-superio`) and the i8042's reset line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use vm_superio::serial::NoEvents;
use vm_superio::{Serial, Trigger};

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

/// The port-I/O devices of a machine.
pub(crate) struct Devices {
    serial: Mutex<Serial<IrqTrigger, NoEvents, Box<dyn Write + Send>>>,
}

impl Devices {
    pub(crate) fn new(vm: &Arc<VmInner>, console: Box<dyn Write + Send>) -> Devices {
        let trigger = IrqTrigger(vm.irqchip.then(|| vm.clone()));
        Devices {
            serial: Mutex::new(Serial::new(trigger, console)),
        }
    }

    fn serial(
        &self,
    ) -> std::sync::MutexGuard<'_, Serial<IrqTrigger, NoEvents, Box<dyn Write + Send>>> {
        self.serial.lock().unwrap_or_else(|p| p.into_inner())
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
