//! Boots a kernel through the Linux x86 64-bit boot protocol on KVM.
//!
//! ```text
//! boot_vm [--kernel PATH] [--initrd PATH] [--cmdline STRING] [--mem MIB]
//!         [--vcpus N] [--timeout SECS] [--kvm PATH] [--no-irqchip]
//!         [--console-in] [--disk PATH[,ro][,serial=ID]]...
//!         [--net NAME[,mac=MAC][,over=LINK]]... [--confine]
//! ```
//!
//! `--confine` runs the vCPU and device threads under hull's VMM seccomp
//! filter (`hull::vm::confine`).
//!
//! Each `--disk` is a virtio-blk disk backed by a file or block device,
//! announced on the command line (`virtio_mmio.device=...`; Linux names
//! them vda, vdb, ... in order), read-only with `ro`. Each `--net` is a
//! virtio-net NIC on tap `NAME` (made if missing), with the given or a
//! random MAC; with `over=LINK`, on a macvtap link `NAME` that hull makes
//! over `LINK` (a VNIC, say) and deletes when the machine ends.
//!
//! `--console-in` passes standard input to the guest's serial port (COM1):
//! `echo 'hi.' | boot_vm --cmdline hull.echo` has the test kernel echo it.
//!
//! With no `--kernel` it boots hull's embedded test kernel. The guest's
//! serial output goes to stdout as it arrives; timing and diagnostics go to
//! stderr. Exit status 0 when the guest asks for a reset through the i8042
//! or halts with interrupts disabled; 1 with a one-line reason otherwise;
//! 2 for bad usage.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hull::vm::{BootSpec, Kvm, Machine, Outcome, TEST_KERNEL};

const USAGE: &str =
    "usage: boot_vm [--kernel PATH] [--initrd PATH] [--cmdline STRING] [--mem MIB] \
[--vcpus N] [--timeout SECS] [--kvm PATH] [--no-irqchip] [--console-in] \
[--disk PATH[,ro][,serial=ID]]... [--net NAME[,mac=MAC][,over=LINK]]... [--confine]";

struct Args {
    kernel: Option<String>,
    initrd: Option<String>,
    cmdline: Option<String>,
    mem: u64,
    vcpus: u32,
    timeout: f64,
    kvm: String,
    irqchip: Option<bool>,
    console_in: bool,
    disks: Vec<String>,
    nics: Vec<String>,
    confine: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        kernel: None,
        initrd: None,
        cmdline: None,
        mem: 128,
        vcpus: 1,
        timeout: 30.0,
        kvm: hull::vm::DEFAULT_PATH.into(),
        irqchip: None,
        console_in: false,
        disks: Vec::new(),
        nics: Vec::new(),
        confine: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--no-irqchip" {
            a.irqchip = Some(false);
            continue;
        }
        if flag == "--console-in" {
            a.console_in = true;
            continue;
        }
        if flag == "--confine" {
            a.confine = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |what: &str| format!("{flag}: {what}, got {value:?}");
        match flag.as_str() {
            "--kernel" => a.kernel = Some(value),
            // Checked in `run`: a bad value is a one-line error, not usage.
            "--disk" => a.disks.push(value),
            "--net" => a.nics.push(value),
            "--initrd" => a.initrd = Some(value),
            "--cmdline" => a.cmdline = Some(value),
            "--mem" => a.mem = value.parse().map_err(|_| num("a whole number of MiB"))?,
            "--vcpus" => a.vcpus = value.parse().map_err(|_| num("a whole number"))?,
            "--timeout" => {
                a.timeout = value
                    .parse()
                    .ok()
                    .filter(|t: &f64| *t > 0.0 && t.is_finite())
                    .ok_or_else(|| num("seconds > 0"))?
            }
            "--kvm" => a.kvm = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

/// Copies the guest's serial output to stdout as it arrives.
struct Console;

impl Write for Console {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = std::io::stdout().lock();
        out.write_all(buf)?;
        out.flush()?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("boot_vm: {why}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("boot_vm: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `PATH[,ro][,serial=ID]`.
fn disk(value: &str) -> Result<hull::vm::DiskSpec, String> {
    let mut parts = value.split(',');
    let path = parts
        .next()
        .filter(|p| !p.is_empty())
        .ok_or("--disk needs a path")?;
    let mut d = hull::vm::DiskSpec::new(path);
    for opt in parts {
        match opt.split_once('=') {
            None if opt == "ro" => d = d.read_only(),
            Some(("serial", s)) => d = d.serial(s),
            _ => return Err(format!("--disk: unknown option {opt:?} (ro, serial=ID)")),
        }
    }
    Ok(d)
}

/// `TAP[,mac=MAC]`.
fn nic(value: &str) -> Result<hull::vm::NicSpec, String> {
    let mut parts = value.split(',');
    let tap = parts
        .next()
        .filter(|p| !p.is_empty())
        .ok_or("--net needs a tap name")?;
    let mut n = hull::vm::NicSpec::new(tap);
    for opt in parts {
        match opt.split_once('=') {
            Some(("mac", m)) => {
                n = n.mac(m.parse().map_err(|e: hull::Error| format!("--net: {e}"))?)
            }
            _ => return Err(format!("--net: unknown option {opt:?} (mac=MAC)")),
        }
    }
    Ok(n)
}

fn run(args: &Args) -> Result<(), String> {
    let t0 = Instant::now();
    let mut spec = match &args.kernel {
        Some(path) => BootSpec::from_path(path).map_err(|e| e.to_string())?,
        None => {
            let mut s = BootSpec::new(TEST_KERNEL.to_vec());
            s.kernel_name = "embedded test kernel".into();
            s.cmdline = "console=ttyS0 hull.demo".into();
            s
        }
    };
    if let Some(path) = &args.initrd {
        spec.initrd_from_path(path).map_err(|e| e.to_string())?;
    }
    if let Some(c) = &args.cmdline {
        spec.cmdline = c.clone();
    }
    spec.memory_mib = args.mem;
    spec.vcpus = args.vcpus;
    spec.irqchip = args.irqchip;
    spec.disks = args
        .disks
        .iter()
        .map(|d| disk(d))
        .collect::<Result<_, _>>()?;
    spec.nics = args.nics.iter().map(|n| nic(n)).collect::<Result<_, _>>()?;
    spec.confine = args.confine;

    let kvm = Kvm::open_path(&args.kvm).map_err(|e| e.to_string())?;
    let mut machine = Machine::boot(&kvm, &spec, Box::new(Console)).map_err(|e| e.to_string())?;
    let layout = machine.layout().clone();
    if args.console_in {
        // Standard input to COM1 until it ends or the machine is gone; the
        // thread is not joined (a read of stdin cannot be interrupted).
        let mut input = machine.console_input();
        std::thread::spawn(move || std::io::copy(&mut std::io::stdin().lock(), &mut input));
    }
    let t_ready = t0.elapsed();
    let outcome = machine
        .run(Some(Duration::from_secs_f64(args.timeout)))
        .map_err(|e| e.to_string())?;
    let t_end = t0.elapsed();
    eprintln!(
        "boot_vm: {:?} kernel {} at {:#x}, entry {:#x}, {} MiB, {} vcpu(s); set up in {:.2} ms, ended after {:.2} ms: {:?}",
        layout.format,
        spec.kernel_name,
        layout.load_addr,
        layout.entry,
        args.mem,
        args.vcpus,
        t_ready.as_secs_f64() * 1e3,
        t_end.as_secs_f64() * 1e3,
        outcome
    );
    if let Some(bytes) = machine.vmm_resident_bytes() {
        eprintln!(
            "boot_vm: resident memory outside guest RAM: {} KiB",
            bytes / 1024
        );
    }
    match outcome {
        Outcome::Reset
        | Outcome::Halted {
            interrupts_enabled: false,
        } => Ok(()),
        Outcome::Halted {
            interrupts_enabled: true,
        } => Err("guest halted with interrupts enabled and nothing to wake it".into()),
        Outcome::PowerOff => Err("guest powered off".into()),
        Outcome::TripleFault => Err("guest triple-faulted".into()),
    }
}
