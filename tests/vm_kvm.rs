//! hull::vm against the real /dev/kvm: guests in real mode and long mode,
//! port I/O and MMIO in both directions, HLT, two vCPUs, stopping a vCPU,
//! and the boot-protocol test kernel. Skipped (saying so) without /dev/kvm.

mod common;

use std::time::Duration;

use common::{asm, bytes, fnv1a32, kvm_or_skip, Captured};
use hull::vm::{
    e820_map, x86, BootSpec, KernelFormat, Machine, Outcome, VcpuExit, Vm, TEST_KERNEL,
    TEST_KERNEL_ELF,
};
use hull::ErrorKind;
use vm_memory::{Bytes, GuestAddress};

macro_rules! kvm {
    () => {
        match kvm_or_skip(module_path!()) {
            Some(k) => k,
            None => return,
        }
    };
}

/// A VM with `code` at `at`, vCPU 0 set up for real mode there.
fn real_mode_vm(kvm: &hull::vm::Kvm, code: &[u8], at: u16) -> Vm {
    let mut vm = Vm::builder().memory_mib(2).build(kvm).unwrap();
    vm.memory()
        .write_slice(code, GuestAddress(at as u64))
        .unwrap();
    x86::enter_real_mode_at(&vm.vcpus_mut()[0], at).unwrap();
    vm
}

/// A VM with `code` at 1 MiB, vCPU 0 in 64-bit long mode there.
fn long_mode_vm(kvm: &hull::vm::Kvm, code: &[u8]) -> Vm {
    let vm = Vm::builder().memory_mib(4).build(kvm).unwrap();
    vm.memory()
        .write_slice(code, GuestAddress(0x10_0000))
        .unwrap();
    x86::write_tables(vm.memory()).unwrap();
    let vcpu = &vm.vcpus()[0];
    x86::enter_long_mode(vcpu).unwrap();
    let mut r = vcpu.regs().unwrap();
    r.rip = 0x10_0000;
    r.rsp = x86::BOOT_STACK;
    r.rflags = 2;
    vcpu.set_regs(&r).unwrap();
    vm
}

#[test]
fn real_mode_guest_computes_in_16_bit_registers_and_reports_it() {
    let kvm = kvm!();
    let code = asm(".code16\n mov ax, 0x1234\n add ax, 0x0101\n out 0x10, ax\n hlt");
    let mut vm = real_mode_vm(&kvm, &code, 0x1000);
    let vcpu = &mut vm.vcpus_mut()[0];
    assert_eq!(vcpu.sregs().unwrap().cr0 & 1, 0, "protected mode is off");
    match vcpu.run().unwrap() {
        VcpuExit::IoOut {
            port: 0x10,
            size: 2,
            count: 1,
            data,
        } => assert_eq!(data, &0x1335u16.to_le_bytes()),
        other => panic!("expected a 2-byte out to 0x10, got {other:?}"),
    }
    assert_eq!(vcpu.run().unwrap(), VcpuExit::Hlt);
}

#[test]
fn long_mode_guest_runs_64_bit_code() {
    let kvm = kvm!();
    let code = asm(
        ".code64\n mov rax, 0x1122334455667788\n out 0x10, eax\n shr rax, 32\n out 0x10, eax\n \
         lea rbx, [rip]\n mov eax, ebx\n out 0x11, eax\n hlt",
    );
    let mut vm = long_mode_vm(&kvm, &code);
    let vcpu = &mut vm.vcpus_mut()[0];
    let s = vcpu.sregs().unwrap();
    assert_ne!(s.efer & (1 << 10), 0, "EFER.LMA set");
    assert_eq!(s.cs.l, 1);
    let mut outs = Vec::new();
    loop {
        match vcpu.run().unwrap() {
            VcpuExit::IoOut { port, data, .. } => {
                outs.push((port, u32::from_le_bytes(data.try_into().unwrap())))
            }
            VcpuExit::Hlt => break,
            other => panic!("unexpected exit {other:?}"),
        }
    }
    assert_eq!(outs[0], (0x10, 0x5566_7788));
    assert_eq!(outs[1], (0x10, 0x1122_3344));
    // RIP-relative addressing saw the code where it was loaded.
    assert_eq!(outs[2].0, 0x11);
    assert!(
        (0x10_0000..0x10_1000).contains(&outs[2].1),
        "{:#x}",
        outs[2].1
    );
}

#[test]
fn port_io_in_both_directions_at_1_2_and_4_bytes() {
    let kvm = kvm!();
    let code = asm(
        ".code16\n mov dx, 0x100\n in al, dx\n add al, 1\n out dx, al\n \
         in ax, dx\n add ax, 1\n out dx, ax\n in eax, dx\n add eax, 1\n out dx, eax\n hlt",
    );
    let mut vm = real_mode_vm(&kvm, &code, 0x1000);
    let vcpu = &mut vm.vcpus_mut()[0];
    let reads: [&[u8]; 3] = [
        &[0x41],
        &0x1234u16.to_le_bytes(),
        &0xdead_beefu32.to_le_bytes(),
    ];
    let mut written = Vec::new();
    let mut next = 0;
    loop {
        match vcpu.run().unwrap() {
            VcpuExit::IoIn {
                port: 0x100,
                size,
                data,
                ..
            } => {
                assert_eq!(size as usize, reads[next].len());
                data.copy_from_slice(reads[next]);
                next += 1;
            }
            VcpuExit::IoOut {
                port: 0x100, data, ..
            } => written.push(data.to_vec()),
            VcpuExit::Hlt => break,
            other => panic!("unexpected exit {other:?}"),
        }
    }
    assert_eq!(
        written,
        vec![
            vec![0x42],
            0x1235u16.to_le_bytes().to_vec(),
            0xdead_bef0u32.to_le_bytes().to_vec()
        ]
    );
}

#[test]
fn mmio_write_is_seen_and_mmio_read_value_reaches_the_guest() {
    let kvm = kvm!();
    let code = asm(
        ".code64\n mov rbx, 0xd0000000\n mov dword ptr [rbx], 0xcafef00d\n \
         mov eax, dword ptr [rbx + 8]\n out 0x10, eax\n hlt",
    );
    let mut vm = long_mode_vm(&kvm, &code);
    let vcpu = &mut vm.vcpus_mut()[0];
    match vcpu.run().unwrap() {
        VcpuExit::MmioWrite { addr, data } => {
            assert_eq!(addr, 0xd000_0000);
            assert_eq!(data, &0xcafe_f00du32.to_le_bytes());
        }
        other => panic!("expected an MMIO write, got {other:?}"),
    }
    match vcpu.run().unwrap() {
        VcpuExit::MmioRead { addr, data } => {
            assert_eq!(addr, 0xd000_0008);
            assert_eq!(data.len(), 4);
            data.copy_from_slice(&0x600d_d00du32.to_le_bytes());
        }
        other => panic!("expected an MMIO read, got {other:?}"),
    }
    match vcpu.run().unwrap() {
        VcpuExit::IoOut {
            port: 0x10, data, ..
        } => assert_eq!(
            data,
            &0x600d_d00du32.to_le_bytes(),
            "the guest echoes what it read"
        ),
        other => panic!("expected the echo, got {other:?}"),
    }
    assert_eq!(vcpu.run().unwrap(), VcpuExit::Hlt);
}

#[test]
fn hlt_exits_to_the_caller_without_an_irqchip() {
    let kvm = kvm!();
    let mut vm = real_mode_vm(&kvm, &[0xf4], 0x1000);
    let vcpu = &mut vm.vcpus_mut()[0];
    assert_eq!(vcpu.run().unwrap(), VcpuExit::Hlt);
    assert_eq!(vcpu.regs().unwrap().rip, 0x1001);
}

#[test]
fn two_vcpus_each_run_their_own_program_on_their_own_thread() {
    let kvm = kvm!();
    let mut vm = Vm::builder().memory_mib(2).vcpus(2).build(&kvm).unwrap();
    let prog = |port: u16, base: u8| {
        asm(&format!(
            ".code16\n mov cx, 3\n mov al, {base}\n 1: out {port}, al\n add al, {base}\n loop 1b\n hlt"
        ))
    };
    vm.memory()
        .write_slice(&prog(0x10, 1), GuestAddress(0x1000))
        .unwrap();
    vm.memory()
        .write_slice(&prog(0x11, 10), GuestAddress(0x2000))
        .unwrap();
    let mut vcpus = vm.take_vcpus();
    x86::enter_real_mode_at(&vcpus[0], 0x1000).unwrap();
    x86::enter_real_mode_at(&vcpus[1], 0x2000).unwrap();
    let threads: Vec<_> = vcpus
        .drain(..)
        .map(|mut vcpu| {
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                loop {
                    match vcpu.run().unwrap() {
                        VcpuExit::IoOut { port, data, .. } => seen.push((port, data[0])),
                        VcpuExit::Hlt => return (vcpu.index(), seen),
                        other => panic!("unexpected exit {other:?}"),
                    }
                }
            })
        })
        .collect();
    let mut results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    results.sort();
    assert_eq!(results[0], (0, vec![(0x10, 1), (0x10, 2), (0x10, 3)]));
    assert_eq!(results[1], (1, vec![(0x11, 10), (0x11, 20), (0x11, 30)]));
}

#[test]
fn a_spinning_vcpu_is_kicked_and_stopped_from_another_thread() {
    let kvm = kvm!();
    let mut vm = real_mode_vm(&kvm, &asm(".code16\n 1: jmp 1b"), 0x1000);
    let mut vcpu = vm.take_vcpus().remove(0);
    let stopper = vcpu.stopper();
    let t = std::thread::spawn(move || {
        let mut interrupted = 0;
        loop {
            match vcpu.run().unwrap() {
                VcpuExit::Interrupted => interrupted += 1,
                VcpuExit::Stopped => return interrupted,
                other => panic!("unexpected exit {other:?}"),
            }
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    stopper.kick();
    std::thread::sleep(Duration::from_millis(50));
    stopper.stop();
    let interrupted = t.join().unwrap();
    assert!(interrupted >= 1, "the kick interrupted the run");
    assert!(stopper.is_stopped());
}

/// Parses the test kernel's report.
struct Report {
    cmdline: String,
    initrd: (u64, u64, u32),
    e820: Vec<(u64, u64, u32)>,
    last: String,
}

fn parse_report(text: &str) -> Report {
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("hull-testkernel"), "{text}");
    let cmdline = lines
        .next()
        .unwrap()
        .strip_prefix("cmdline: ")
        .unwrap()
        .to_string();
    let initrd_line = lines.next().unwrap();
    let f: Vec<&str> = initrd_line.split(['=', ' ']).collect();
    // initrd: addr=X size=Y fnv1a=Z
    let initrd = (hex(f[2]), hex(f[4]), hex(f[6]) as u32);
    let mut e820 = Vec::new();
    let mut last = String::new();
    for l in lines {
        if let Some(rest) = l.strip_prefix("e820: ") {
            let v: Vec<u64> = rest.split(' ').map(hex).collect();
            e820.push((v[0], v[1], v[2] as u32));
        } else {
            last = l.to_string();
        }
    }
    Report {
        cmdline,
        initrd,
        e820,
        last,
    }
}

fn boot_test_kernel(
    kvm: &hull::vm::Kvm,
    cmdline: &str,
    initrd: &[u8],
    mib: u64,
    vcpus: u32,
) -> (Report, hull::vm::BootLayout) {
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    spec.cmdline = cmdline.into();
    spec.initrd = Some(initrd.to_vec());
    spec.memory_mib = mib;
    spec.vcpus = vcpus;
    let console = Captured::default();
    let mut m = Machine::boot(kvm, &spec, Box::new(console.clone())).unwrap();
    let layout = m.layout().clone();
    assert_eq!(
        m.run(Some(Duration::from_secs(60))).unwrap(),
        Outcome::Reset
    );
    (parse_report(&console.text()), layout)
}

#[test]
fn test_kernel_reports_the_command_line_initrd_and_memory_it_was_given() {
    let kvm = kvm!();
    let initrd = bytes(48 * 1024 + 7, 0x5eed);
    let cmdline = "console=ttyS0 hull.test root=/dev/vda quiet x=1";
    let (r, layout) = boot_test_kernel(&kvm, cmdline, &initrd, 96, 1);
    assert_eq!(r.cmdline, cmdline);
    let (addr, size) = layout.initrd.unwrap();
    assert_eq!(r.initrd, (addr, initrd.len() as u64, fnv1a32(&initrd)));
    assert_eq!(size, initrd.len() as u64);
    assert_eq!(addr % 4096, 0);
    assert!(addr + size <= 96 << 20);
    assert_eq!(r.e820, e820_map(96 << 20));
    let ram: u64 = r.e820.iter().map(|e| e.1).sum();
    assert_eq!(
        ram + (0x10_0000 - 0x9_fc00),
        96 << 20,
        "e820 RAM is the memory size less the legacy hole"
    );
    assert_eq!(r.last, "reset");
}

#[test]
fn test_kernel_sees_ram_above_4_gib_and_boots_with_2_vcpus() {
    let kvm = kvm!();
    let initrd = bytes(4096, 7);
    let (r, _) = boot_test_kernel(&kvm, "big", &initrd, 5 * 1024, 2);
    assert_eq!(
        r.e820,
        vec![
            (0, 0x9_fc00, 1),
            (0x10_0000, (3 << 30) - 0x10_0000, 1),
            (4 << 30, 2 << 30, 1)
        ]
    );
    assert_eq!(r.initrd.2, fnv1a32(&initrd));
}

#[test]
fn the_elf_kernel_path_boots_the_same_test_kernel() {
    let kvm = kvm!();
    let initrd = bytes(3000, 11);
    let mut spec = BootSpec::new(TEST_KERNEL_ELF.to_vec());
    spec.cmdline = "via elf".into();
    spec.initrd = Some(initrd.clone());
    spec.memory_mib = 32;
    let console = Captured::default();
    let mut m = Machine::boot(&kvm, &spec, Box::new(console.clone())).unwrap();
    assert_eq!(m.layout().format, KernelFormat::Elf);
    assert_eq!(m.layout().entry, 0x10_0200);
    assert_eq!(
        m.run(Some(Duration::from_secs(30))).unwrap(),
        Outcome::Reset
    );
    let r = parse_report(&console.text());
    assert_eq!(r.cmdline, "via elf");
    assert_eq!(r.initrd.1, 3000);
    assert_eq!(r.initrd.2, fnv1a32(&initrd));
    assert_eq!(r.e820, e820_map(32 << 20));
}

#[test]
fn halting_with_interrupts_disabled_ends_the_machine_with_or_without_irqchip() {
    let kvm = kvm!();
    for irqchip in [true, false] {
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.cmdline = "hull.halt".into();
        spec.memory_mib = 16;
        spec.irqchip = Some(irqchip);
        let console = Captured::default();
        let mut m = Machine::boot(&kvm, &spec, Box::new(console.clone())).unwrap();
        assert_eq!(
            m.run(Some(Duration::from_secs(30))).unwrap(),
            Outcome::Halted {
                interrupts_enabled: false
            }
        );
        assert!(console.text().ends_with("halt\n"));
    }
}

#[test]
fn a_spinning_guest_times_out_with_a_typed_error() {
    let kvm = kvm!();
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    spec.cmdline = "hull.spin".into();
    spec.memory_mib = 16;
    let mut m = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap();
    let e = m.run(Some(Duration::from_millis(300))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TimedOut);
    // A machine runs once.
    assert!(matches!(
        m.run(None).unwrap_err().kind,
        ErrorKind::InvalidArgument(_)
    ));
}

#[test]
fn what_is_written_to_the_console_input_the_guest_reads_from_the_uart() {
    let Some(kvm) =
        kvm_or_skip("what_is_written_to_the_console_input_the_guest_reads_from_the_uart")
    else {
        return;
    };
    // Polled, then with hull.irq: the guest reads nothing until its input
    // has raised the UART's IRQ 4 through the irqchip (I/O APIC pin 4).
    for options in ["", " hull.irq"] {
        echo_through_the_uart(&kvm, options);
    }
}

fn echo_through_the_uart(kvm: &hull::vm::Kvm, options: &str) {
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    spec.memory_mib = 64;
    spec.cmdline = format!("console=ttyS0 hull.echo{options}");
    let log = Captured::default();
    let mut m = Machine::boot(kvm, &spec, Box::new(log.clone())).unwrap();
    let mut input = m.console_input();
    // More than the UART's 64-byte FIFO: the writer waits for the guest.
    let text: String = (0..40).map(|i| format!("line{i} ")).collect::<String>() + ".";
    let sent = text.clone();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        input.write_all(sent.as_bytes()).unwrap();
        input
    });
    assert_eq!(
        m.run(Some(Duration::from_secs(60))).unwrap(),
        Outcome::Reset,
        "{}",
        log.text()
    );
    let mut input = writer.join().unwrap();
    let irqs = if options.is_empty() {
        ""
    } else {
        "irq: count=0x"
    };
    assert!(
        log.text().contains(&format!("echo\n{text}\n{irqs}")),
        "{}",
        log.text()
    );
    if !options.is_empty() {
        // The guest reads only after an interrupt: at least one was taken.
        let count = log.text().split("irq: count=0x").nth(1).unwrap()[..8].to_string();
        assert!(
            u32::from_str_radix(&count, 16).unwrap() >= 1,
            "{}",
            log.text()
        );
    }
    assert!(log.text().ends_with("reset\n"), "{}", log.text());
    drop(m);
    use std::io::Write;
    assert_eq!(
        input.write(b"x").unwrap_err().kind(),
        std::io::ErrorKind::BrokenPipe,
        "the machine is gone"
    );
}
