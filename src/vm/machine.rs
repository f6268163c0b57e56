//! A booted machine: a VM with a kernel loaded, legacy devices, and each
//! vCPU on its own thread until the guest resets, halts or a timeout ends it.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::boot::{self, BootLayout};
use super::devices::{ConsoleInput, DeviceEvent, Devices};
use super::kvm::{Cap, Kvm};
use super::vcpu::{Fpu, MpState, Vcpu, VcpuExit};
use super::virtio::block::{Block, DiskSpec};
use super::virtio::net::{Net, NicSpec};
use super::virtio::{Layout, MmioTransport};
use super::vm::{Vm, VmBuilder};
use super::x86;
use crate::error::{Error, ErrorKind, Op, Result};

/// What to boot and on what.
///
/// ```no_run
/// use hull::vm::{BootSpec, Kvm, Machine, Outcome, TEST_KERNEL};
/// let kvm = Kvm::open()?;
/// let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
/// spec.cmdline = "console=ttyS0".into();
/// spec.memory_mib = 64;
/// let mut machine = Machine::boot(&kvm, &spec, Box::new(std::io::stdout()))?;
/// assert_eq!(machine.run(Some(std::time::Duration::from_secs(10)))?, Outcome::Reset);
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BootSpec {
    /// The kernel image (bzImage or ELF vmlinux).
    pub kernel: Vec<u8>,
    /// What to call the kernel in errors (a path, say).
    pub kernel_name: String,
    /// An initrd to load, if any.
    pub initrd: Option<Vec<u8>>,
    /// The kernel command line.
    pub cmdline: String,
    /// Guest memory in MiB.
    pub memory_mib: u64,
    /// Number of vCPUs; vCPU 0 boots the kernel, the others wait for a
    /// startup IPI in the in-kernel LAPIC.
    pub vcpus: u32,
    /// Create the in-kernel irqchip and PIT. `None`: where KVM has them.
    pub irqchip: Option<bool>,
    /// virtio-blk disks, announced on the command line in this order
    /// (Linux names them vda, vdb, ...).
    pub disks: Vec<DiskSpec>,
    /// virtio-net NICs, each on a tap, announced after the disks.
    pub nics: Vec<NicSpec>,
    /// Carry virtio queue notifications and interrupts on KVM eventfds
    /// (`KVM_IOEVENTFD`, `KVM_IRQFD`), so they make no exit to the VMM.
    /// `None`: where KVM has them; `Some(false)`: through MMIO exits and
    /// `KVM_IRQ_LINE` instead.
    pub eventfds: Option<bool>,
    /// Confine the threads [`Machine::run`] starts with a seccomp filter
    /// (see [`confine`](super::confine)): off by default.
    pub confine: bool,
}

impl BootSpec {
    /// 128 MiB, one vCPU, an empty command line, no initrd.
    pub fn new(kernel: Vec<u8>) -> BootSpec {
        BootSpec {
            kernel,
            kernel_name: "kernel".into(),
            initrd: None,
            cmdline: String::new(),
            memory_mib: 128,
            vcpus: 1,
            irqchip: None,
            disks: Vec::new(),
            nics: Vec::new(),
            eventfds: None,
            confine: false,
        }
    }

    /// Reads the kernel from `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<BootSpec> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let kernel = read_file(Op::LoadKernel, path)?;
        Ok(BootSpec {
            kernel_name: name,
            ..BootSpec::new(kernel)
        })
    }

    /// Reads the initrd from `path`.
    pub fn initrd_from_path(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.initrd = Some(read_file(Op::LoadInitrd, path.as_ref())?);
        Ok(())
    }
}

/// Reads a kernel or initrd: a regular file (not a FIFO or a device, which
/// could block or never end), no larger than the largest guest memory.
fn read_file(op: Op, path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let what = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| Error::os(op, &what, e))?;
    let meta = f.metadata().map_err(|e| Error::os(op, &what, e))?;
    if !meta.is_file() {
        return Err(Error::new(
            op,
            what,
            ErrorKind::InvalidArgument("not a regular file".into()),
        ));
    }
    let max = super::vm::MAX_MEMORY;
    if meta.len() > max {
        return Err(Error::new(
            op,
            what,
            ErrorKind::NoSpace(format!(
                "{} bytes, more than any guest's memory ({} GiB)",
                meta.len(),
                max >> 30
            )),
        ));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    // A file that grows while being read is cut at the largest size.
    f.take(max)
        .read_to_end(&mut data)
        .map_err(|e| Error::os(op, &what, e))?;
    Ok(data)
}

/// How a machine ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The guest asked for a reset (i8042 0xfe, or a KVM reset event).
    Reset,
    /// The boot vCPU halted and nothing can wake it: interrupts disabled, or
    /// no interrupt controller.
    Halted {
        /// Whether interrupts were enabled when it halted (possible only
        /// without the in-kernel irqchip, where nothing would deliver one).
        interrupts_enabled: bool,
    },
    /// The guest asked to power off.
    PowerOff,
    /// The guest triple-faulted.
    TripleFault,
}

/// A VM with a kernel loaded and its devices attached, ready to run.
pub struct Machine {
    vm: Vm,
    devices: Devices,
    layout: BootLayout,
    windows: Vec<(u64, u32)>,
    filter: Option<super::confine::Filter>,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("vm", &self.vm)
            .field("layout", &self.layout)
            .finish()
    }
}

impl Machine {
    /// Builds the VM, loads the kernel with the 64-bit boot protocol and
    /// puts vCPU 0 at its entry point. The guest's serial output goes to
    /// `console`. On failure nothing is left behind.
    pub fn boot(kvm: &Kvm, spec: &BootSpec, console: Box<dyn Write + Send>) -> Result<Machine> {
        let irqchip = spec.irqchip.unwrap_or_else(|| kvm.has(Cap::Irqchip));
        if spec.vcpus > 1 && !irqchip {
            return Err(Error::new(
                Op::CreateVm,
                format!("{} vcpus", spec.vcpus),
                ErrorKind::InvalidArgument("more than one vCPU needs the in-kernel irqchip (to hold the others until a startup IPI)".into()),
            ));
        }
        if spec.vcpus > super::mptable::MAX_CPUS {
            return Err(Error::new(
                Op::CreateVm,
                format!("{} vcpus", spec.vcpus),
                ErrorKind::InvalidArgument(format!(
                    "a machine boots at most {} vCPUs (the MP table's limit)",
                    super::mptable::MAX_CPUS
                )),
            ));
        }
        // Reject what cannot boot before any KVM object is made.
        if boot::KernelFormat::detect(&spec.kernel).is_none() {
            return Err(Error::new(
                Op::LoadKernel,
                &spec.kernel_name,
                ErrorKind::InvalidFormat("not a bzImage or ELF kernel".into()),
            ));
        }
        // Devices are opened, and their windows and lines allocated, before
        // any KVM object is made: a bad disk fails the boot cleanly.
        let mut layout = Layout::default();
        let mut virtio = Vec::new();
        let mut cmdline = spec.cmdline.clone();
        let mut devices: Vec<(String, Box<dyn super::virtio::VirtioDevice>)> = Vec::new();
        for disk in &spec.disks {
            devices.push((
                disk.path.display().to_string(),
                Box::new(Block::open(disk)?),
            ));
        }
        for nic in &spec.nics {
            devices.push((format!("tap {}", nic.tap), Box::new(Net::open(nic)?)));
        }
        for (what, device) in devices {
            let (base, irq) = layout.allocate().ok_or_else(|| {
                Error::new(
                    Op::SetupDevice,
                    what,
                    ErrorKind::InvalidArgument(format!(
                        "at most {} virtio devices",
                        super::virtio::IRQS.len()
                    )),
                )
            })?;
            if !cmdline.is_empty() {
                cmdline.push(' ');
            }
            cmdline.push_str(&super::virtio::cmdline_word(base, irq));
            virtio.push((base, irq, MmioTransport::new(device)));
        }
        if !virtio.is_empty() && !irqchip {
            return Err(Error::new(
                Op::SetupDevice,
                "virtio devices",
                ErrorKind::InvalidArgument(
                    "virtio devices need the in-kernel irqchip (for their interrupts)".into(),
                ),
            ));
        }
        let windows: Vec<(u64, u32)> = virtio.iter().map(|(b, i, _)| (*b, *i)).collect();
        let mut vm = VmBuilder::default()
            .memory_mib(spec.memory_mib)
            .vcpus(spec.vcpus)
            .irqchip(irqchip)
            .build(kvm)?;
        let boot_layout = boot::load(
            vm.memory(),
            vm.memory_size(),
            &spec.kernel,
            &spec.kernel_name,
            spec.initrd.as_deref(),
            &cmdline,
        )?;
        x86::write_tables(vm.memory())?;
        // Every vCPU, the I/O APIC and the ISA interrupts, for a kernel
        // that looks for them in an MP table (there is no ACPI).
        if irqchip {
            super::mptable::write(vm.memory(), spec.vcpus)?;
        }
        // Give the guest the host's supported CPUID where KVM offers it; a
        // kernel without KVM_GET_SUPPORTED_CPUID boots with KVM's defaults.
        let cpuid = kvm.supported_cpuid().ok();
        let fpu = Fpu {
            fcw: 0x37f,
            mxcsr: 0x1f80,
            ..Default::default()
        };
        for vcpu in vm.vcpus_mut() {
            if let Some(cpuid) = &cpuid {
                vcpu.set_cpuid(cpuid)?;
            }
            vcpu.set_fpu(&fpu)?;
        }
        let bsp = &vm.vcpus()[0];
        x86::enter_long_mode(bsp)?;
        let mut regs = bsp.regs()?;
        regs.rip = boot_layout.entry;
        regs.rsi = boot_layout.zero_page;
        regs.rsp = x86::BOOT_STACK;
        regs.rbp = x86::BOOT_STACK;
        regs.rflags = 0x2;
        bsp.set_regs(&regs)?;
        let filter = if spec.confine {
            let r = vm.inner().flavor.requests();
            Some(super::confine::Filter::new(&[
                r.run,
                r.get_regs,
                r.get_mp_state,
                r.irq_line,
            ])?)
        } else {
            None
        };
        let eventfds = irqchip
            && spec
                .eventfds
                .unwrap_or_else(|| kvm.has(Cap::Irqfd) && kvm.has(Cap::Ioeventfd));
        let devices = Devices::new(vm.inner(), console, virtio, eventfds)?;
        Ok(Machine {
            vm,
            devices,
            layout: boot_layout,
            windows,
            filter,
        })
    }

    /// Queue notifications that reached the VMM as MMIO exits: none where
    /// KVM carries them on ioeventfds (Linux), one per request elsewhere.
    pub fn notify_exits(&self) -> u64 {
        self.devices.notify_exits()
    }

    /// The serial console's input: what is written to it the guest reads
    /// from COM1 (see [`ConsoleInput`]).
    pub fn console_input(&self) -> ConsoleInput {
        self.devices.console_input()
    }

    /// Each virtio device's register window and interrupt line: the disks
    /// in the order of [`BootSpec::disks`], then the NICs.
    pub fn virtio_devices(&self) -> &[(u64, u32)] {
        &self.windows
    }

    /// Where the kernel, initrd and zero page went.
    pub fn layout(&self) -> &BootLayout {
        &self.layout
    }

    /// Resident memory of this process outside guest RAM, in bytes: what
    /// the VMM itself costs. Read from `/proc/self/smaps` (Linux only).
    pub fn vmm_resident_bytes(&self) -> Option<u64> {
        use vm_memory::{GuestMemoryBackend, GuestMemoryRegion};
        let guest: Vec<(u64, u64)> = self
            .vm
            .memory()
            .iter()
            .filter_map(|r| {
                let host = r.get_host_address(vm_memory::MemoryRegionAddress(0)).ok()? as u64;
                Some((host, host + r.len()))
            })
            .collect();
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut total = 0u64;
        let mut in_guest = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = first.split_once('-') {
                if let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
                    in_guest = guest.iter().any(|(s, e)| a >= *s && b <= *e);
                    continue;
                }
            }
            if let Some(kb) = line.strip_prefix("Rss:") {
                if !in_guest {
                    total += kb
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .unwrap_or(0)
                        * 1024;
                }
            }
        }
        Some(total)
    }

    /// The VM underneath.
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// Runs every vCPU, each on its own thread, until the guest resets,
    /// halts for good, powers off or triple-faults, or until `timeout`
    /// ([`ErrorKind::TimedOut`]). All vCPU threads have ended when this
    /// returns.
    pub fn run(&mut self, timeout: Option<Duration>) -> Result<Outcome> {
        let vcpus = self.vm.take_vcpus();
        if vcpus.is_empty() {
            return Err(Error::new(
                Op::RunMachine,
                "machine",
                ErrorKind::InvalidArgument("a machine runs once; this one has run".into()),
            ));
        }
        let stoppers: Vec<_> = vcpus.iter().map(Vcpu::stopper).collect();
        let irqchip = self.vm.has_irqchip();
        let devices = &self.devices;
        let (tx, rx) = mpsc::channel::<Result<Outcome>>();
        let started = Instant::now();
        let inputs_stop = std::sync::atomic::AtomicBool::new(false);
        let loops = devices.device_loops();
        let filter = self.filter.as_ref();
        // Each device thread's filter allows I/O on its own fds only.
        let device_filters = loops
            .iter()
            .map(|(fds, _)| filter.map(|f| f.only_fds(fds)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let result = std::thread::scope(|s| {
            for (i, ((_, input), filter)) in loops.iter().zip(&device_filters).enumerate() {
                let stop = &inputs_stop;
                let tx = tx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("virtio{i}"))
                    .spawn_scoped(s, move || {
                        // A thread that cannot be confined does not run,
                        // and the machine's run fails saying so.
                        if let Some(Err(e)) = filter.as_ref().map(|f| f.apply()) {
                            let _ = tx.send(Err(e));
                            return;
                        }
                        drop(tx);
                        input(stop)
                    })
                    .map_err(|e| Error::os(Op::RunMachine, "device thread", e));
                if let Err(e) = spawned {
                    inputs_stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    devices.wake();
                    return Err(e);
                }
            }
            // Each vCPU comes back from its thread, to be dropped here: a
            // confined thread may not close its fds.
            let mut handles = Vec::new();
            for mut vcpu in vcpus {
                let tx = tx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("vcpu{}", vcpu.index()))
                    .spawn_scoped(s, move || {
                        if let Some(Err(e)) = filter.map(|f| f.apply()) {
                            let _ = tx.send(Err(e));
                            return vcpu;
                        }
                        if let Some(r) = vcpu_loop(&mut vcpu, devices, irqchip) {
                            let _ = tx.send(r);
                        }
                        vcpu
                    })
                    .map_err(|e| Error::os(Op::RunMachine, "vcpu thread", e));
                match spawned {
                    Ok(h) => handles.push(h),
                    Err(e) => {
                        // The scope waits for the threads already running:
                        // stop them, or it would wait for ever.
                        for st in &stoppers {
                            st.stop();
                        }
                        inputs_stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        devices.wake();
                        drop(handles.into_iter().map(|h| h.join()).collect::<Vec<_>>());
                        return Err(e);
                    }
                }
            }
            drop(tx);
            // With the irqchip, a halt happens inside KVM: look every 100 ms.
            let poll = Duration::from_millis(100);
            let r = loop {
                let wait = match timeout {
                    Some(t) => match t.checked_sub(started.elapsed()) {
                        Some(left) => left.min(poll),
                        None => {
                            break Err(Error::new(
                                Op::RunMachine,
                                format!("guest (timeout {:.1} s)", t.as_secs_f64()),
                                ErrorKind::TimedOut,
                            ))
                        }
                    },
                    None => poll,
                };
                match rx.recv_timeout(wait) {
                    Ok(r) => break r,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        break Err(Error::new(
                            Op::RunMachine,
                            "guest",
                            ErrorKind::GuestFault("every vCPU stopped without an outcome".into()),
                        ))
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) if irqchip => stoppers[0].kick(),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
            };
            for st in &stoppers {
                st.stop();
            }
            inputs_stop.store(true, std::sync::atomic::Ordering::Relaxed);
            devices.wake();
            // Dropped on this thread, which may close them.
            drop(handles.into_iter().map(|h| h.join()).collect::<Vec<_>>());
            r
        });
        self.devices.flush();
        result
    }
}

/// Runs one vCPU until it has an outcome to report or is stopped (`None`).
fn vcpu_loop(vcpu: &mut Vcpu, devices: &Devices, irqchip: bool) -> Option<Result<Outcome>> {
    let index = vcpu.index();
    let fault = |what: String| {
        Some(Err(Error::new(
            Op::RunVcpu,
            format!("vcpu {index}"),
            ErrorKind::GuestFault(what),
        )))
    };
    loop {
        let exit = match vcpu.run() {
            Ok(exit) => exit,
            Err(e) => return Some(Err(e)),
        };
        match exit {
            VcpuExit::IoOut { port, data, .. } => {
                if let Some(DeviceEvent::Reset) = devices.io_out(port, data) {
                    return Some(Ok(Outcome::Reset));
                }
            }
            VcpuExit::IoIn { port, data, .. } => devices.io_in(port, data),
            VcpuExit::MmioRead { addr, data } => {
                if !devices.mmio_read(addr, data) {
                    data.fill(0xff);
                }
            }
            VcpuExit::MmioWrite { addr, data } => {
                devices.mmio_write(addr, data);
            }
            VcpuExit::Hlt => {
                let rflags = match vcpu.regs() {
                    Ok(r) => r.rflags,
                    Err(e) => return Some(Err(e)),
                };
                return Some(Ok(Outcome::Halted {
                    interrupts_enabled: rflags & 0x200 != 0,
                }));
            }
            VcpuExit::Interrupted if irqchip && index == 0 => {
                // Halted inside KVM with interrupts off: nothing will wake it.
                if let (Ok(MpState::Halted), Ok(regs)) = (vcpu.mp_state(), vcpu.regs()) {
                    if regs.rflags & 0x200 == 0 {
                        return Some(Ok(Outcome::Halted {
                            interrupts_enabled: false,
                        }));
                    }
                }
            }
            VcpuExit::Interrupted | VcpuExit::IrqWindowOpen => {}
            VcpuExit::Stopped => return None,
            VcpuExit::Shutdown => return Some(Ok(Outcome::TripleFault)),
            VcpuExit::SystemReset => return Some(Ok(Outcome::Reset)),
            VcpuExit::SystemShutdown => return Some(Ok(Outcome::PowerOff)),
            VcpuExit::FailEntry { reason } => {
                return fault(format!("entry failed, hardware reason {reason:#x}"))
            }
            VcpuExit::InternalError { suberror } => {
                return fault(format!("KVM internal error, suberror {suberror}"))
            }
            other => return fault(format!("unhandled exit {other:?}")),
        }
    }
}
