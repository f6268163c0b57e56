//! hull::vm against raw KVM ioctls, in the same run:
//!
//! * `lifecycle`: open /dev/kvm → create VM → 2 MiB memory → 1 vCPU → run a
//!   one-instruction HLT guest → tear down.
//! * `pio_exit`: one port-I/O exit round trip (guest `out` in a loop).
//! * `boot`: the embedded test kernel, booted to its reset request.
//! * `virtio_blk_read`: 32 MiB read by the test kernel from a virtio-blk
//!   disk in one request, into guest pages it has already read into once
//!   (boot with nine reads, minus boot with one, over eight: the steady state, without
//!   the first touch of guest memory), beside the host reading the same
//!   file from the page cache into a buffer with `pread`; prints host time
//!   ÷ hull time (1.0: as fast as the host).
//! * `virtio_net_tx`: 39 × 256 full-size frames sent by the test kernel
//!   through a virtio-net NIC onto a tap (boot with 40 batches, minus boot
//!   with 1), beside a host program writing the same frames to a tap of its
//!   own; prints host time ÷ hull time. The guest polls the used ring
//!   between batches (with `hull.irq`, halting until the NIC's interrupt,
//!   it measured 0.54 against 0.73 polled: each wake-up of a halted vCPU
//!   costs more than the batch here). Needs root (a private network
//!   namespace).
//! * `vm_at_scale`: the lifecycle again with 1, 100 and 1000 VMs alive
//!   (each 2 MiB, one vCPU that has run), for hull and raw, printed with
//!   each one's growth (per-op time at 1000 ÷ at 1).
//!
//! Needs /dev/kvm; without it, it says so and measures nothing.

use std::os::fd::RawFd;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hull::vm::{x86, BootSpec, Kvm, Machine, Outcome, Vcpu, VcpuExit, Vm, TEST_KERNEL};
use kvm_sys::linux as k;
use vm_memory::{Bytes, GuestAddress};

const MEM: usize = 2 << 20;
/// `1: out 0x10, al; jmp 1b` (real mode).
const PIO_LOOP: &[u8] = &[0xe6, 0x10, 0xeb, 0xfc];

// ---- the raw baseline: what a careful C program does, through libc ----

fn check(r: i32, what: &str) -> i32 {
    assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
    r
}

struct RawVm {
    kvm: RawFd,
    vm: RawFd,
    vcpu: RawFd,
    mem: *mut libc::c_void,
    run: *mut libc::c_void,
    run_len: usize,
}

impl RawVm {
    fn new(code: &[u8]) -> RawVm {
        // SAFETY: plain KVM ioctls on fds this function owns, with argument
        // structures that outlive each call; mappings are checked.
        unsafe {
            let kvm = check(
                libc::open(c"/dev/kvm".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC),
                "open",
            );
            check(libc::ioctl(kvm, k::KVM_GET_API_VERSION as _, 0), "api");
            let vm = check(libc::ioctl(kvm, k::KVM_CREATE_VM as _, 0), "create vm");
            let mem = libc::mmap(
                std::ptr::null_mut(),
                MEM,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            assert_ne!(mem, libc::MAP_FAILED);
            std::ptr::copy_nonoverlapping(code.as_ptr(), mem as *mut u8, code.len());
            let region = k::kvm_userspace_memory_region {
                slot: 0,
                flags: 0,
                guest_phys_addr: 0,
                memory_size: MEM as u64,
                userspace_addr: mem as u64,
            };
            check(
                libc::ioctl(vm, k::KVM_SET_USER_MEMORY_REGION as _, &region),
                "memory",
            );
            let vcpu = check(libc::ioctl(vm, k::KVM_CREATE_VCPU as _, 0), "create vcpu");
            let run_len = check(
                libc::ioctl(kvm, k::KVM_GET_VCPU_MMAP_SIZE as _, 0),
                "mmap size",
            ) as usize;
            let run = libc::mmap(
                std::ptr::null_mut(),
                run_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                vcpu,
                0,
            );
            assert_ne!(run, libc::MAP_FAILED);
            let mut sregs = k::kvm_sregs::default();
            check(
                libc::ioctl(vcpu, k::KVM_GET_SREGS as _, &mut sregs),
                "get sregs",
            );
            sregs.cs.base = 0;
            sregs.cs.selector = 0;
            check(
                libc::ioctl(vcpu, k::KVM_SET_SREGS as _, &sregs),
                "set sregs",
            );
            let mut regs = k::kvm_regs::default();
            check(
                libc::ioctl(vcpu, k::KVM_GET_REGS as _, &mut regs),
                "get regs",
            );
            regs.rip = 0;
            regs.rflags = 2;
            check(libc::ioctl(vcpu, k::KVM_SET_REGS as _, &regs), "set regs");
            RawVm {
                kvm,
                vm,
                vcpu,
                mem,
                run,
                run_len,
            }
        }
    }

    /// KVM_RUN once; the exit reason.
    fn run(&mut self) -> u32 {
        // SAFETY: KVM_RUN on our vCPU fd; `run` maps its kvm_run page.
        unsafe {
            check(libc::ioctl(self.vcpu, k::KVM_RUN as _, 0), "run");
            (*(self.run as *const k::kvm_run)).exit_reason
        }
    }

    /// KVM_RUN once, expecting an `out` to 0x10; the byte written.
    fn run_pio(&mut self) -> u8 {
        assert_eq!(self.run(), k::KVM_EXIT_IO);
        // SAFETY: exit_reason is KVM_EXIT_IO, so the io member is live, and
        // data_offset points inside the mapped page(s).
        unsafe {
            let r = &*(self.run as *const k::kvm_run);
            let io = r.__bindgen_anon_1.io;
            assert_eq!(io.port, 0x10);
            *(self.run as *const u8).add(io.data_offset as usize)
        }
    }
}

impl Drop for RawVm {
    fn drop(&mut self) {
        // SAFETY: these are our own mappings and fds, released once.
        unsafe {
            libc::munmap(self.run, self.run_len);
            libc::close(self.vcpu);
            libc::close(self.vm);
            libc::munmap(self.mem, MEM);
            libc::close(self.kvm);
        }
    }
}

// ---- hull ----

fn hull_vm(kvm: &Kvm, code: &[u8]) -> (Vm, Vcpu) {
    let mut vm = Vm::builder()
        .memory_bytes(MEM as u64)
        .vcpus(1)
        .build(kvm)
        .unwrap();
    vm.memory().write_slice(code, GuestAddress(0)).unwrap();
    let vcpu = vm.take_vcpus().remove(0);
    x86::enter_real_mode_at(&vcpu, 0).unwrap();
    (vm, vcpu)
}

fn lifecycle(c: &mut Criterion) {
    let mut g = c.benchmark_group("lifecycle");
    g.bench_function("hull", |b| {
        b.iter(|| {
            let kvm = Kvm::open().unwrap();
            let (vm, mut vcpu) = hull_vm(&kvm, &[0xf4]);
            assert_eq!(vcpu.run().unwrap(), VcpuExit::Hlt);
            drop((vcpu, vm, kvm));
        })
    });
    g.bench_function("raw", |b| {
        b.iter(|| {
            let mut raw = RawVm::new(&[0xf4]);
            assert_eq!(raw.run(), k::KVM_EXIT_HLT);
        })
    });
    g.finish();
}

fn pio_exit(c: &mut Criterion) {
    let mut g = c.benchmark_group("pio_exit");
    g.throughput(Throughput::Elements(1));
    let kvm = Kvm::open().unwrap();
    let (_vm, mut vcpu) = hull_vm(&kvm, PIO_LOOP);
    g.bench_function("hull", |b| {
        b.iter(|| match vcpu.run().unwrap() {
            VcpuExit::IoOut {
                port: 0x10, data, ..
            } => data[0],
            other => panic!("{other:?}"),
        })
    });
    let mut raw = RawVm::new(PIO_LOOP);
    g.bench_function("raw", |b| b.iter(|| raw.run_pio()));
    g.finish();
}

fn boot(c: &mut Criterion) {
    let kvm = Kvm::open().unwrap();
    let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
    spec.memory_mib = 64;
    spec.cmdline = "console=ttyS0".into();
    c.bench_function("boot/test_kernel_to_reset", |b| {
        b.iter(|| {
            let mut m = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap();
            assert_eq!(
                m.run(Some(Duration::from_secs(30))).unwrap(),
                Outcome::Reset
            );
        })
    });
}

/// Time per side across criterion's calls: each `time` runs `op` `n`
/// times, timing each run, and adds the total to its side.
#[derive(Default)]
struct Totals(std::sync::Mutex<std::collections::HashMap<&'static str, (Duration, u64)>>);

impl Totals {
    fn time(&self, side: &'static str, n: u64, op: &mut dyn FnMut()) -> Duration {
        let mut t = Duration::ZERO;
        for _ in 0..n {
            let s = std::time::Instant::now();
            op();
            t += s.elapsed();
        }
        let mut tot = self.0.lock().unwrap();
        let e = tot.entry(side).or_insert((Duration::ZERO, 0));
        e.0 += t;
        e.1 += n;
        t
    }

    fn is_empty(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }

    /// Milliseconds per run of `side`.
    fn per_ms(&self, side: &str) -> f64 {
        let (t, k) = self.0.lock().unwrap()[side];
        t.as_secs_f64() * 1e3 / k.max(1) as f64
    }
}

fn virtio_blk_read(c: &mut Criterion) {
    use std::os::unix::fs::FileExt;
    const SIZE: usize = 32 << 20;
    let path = std::env::temp_dir().join(format!("hull-bench-blk-{}", std::process::id()));
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 7 + i / 4096) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mut buf = vec![0u8; SIZE];
    file.read_exact_at(&mut buf, 0).unwrap(); // into the page cache
    let kvm = Kvm::open().unwrap();
    let boot = |options: &str| {
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.memory_mib = 128;
        spec.cmdline = format!("console=ttyS0 hull.blk {options}");
        spec.disks = vec![hull::vm::DiskSpec::new(&path)];
        let mut m = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap();
        assert_eq!(
            m.run(Some(Duration::from_secs(60))).unwrap(),
            Outcome::Reset
        );
    };
    let totals = Totals::default();
    let timed = |side, n, op: &mut dyn FnMut()| totals.time(side, n, op);
    let mut g = c.benchmark_group("virtio_blk_read");
    g.sample_size(20);
    g.bench_function("hull_boot_and_read_32MiB_9_times", |b| {
        b.iter_custom(|n| {
            timed("read", n, &mut || {
                boot("hull.blkread=65536 hull.blknosum hull.blkreps=9")
            })
        })
    });
    g.bench_function("hull_boot_and_read_32MiB_once", |b| {
        b.iter_custom(|n| timed("boot", n, &mut || boot("hull.blkread=65536 hull.blknosum")))
    });
    g.bench_function("host_pread_32MiB", |b| {
        b.iter_custom(|n| timed("host", n, &mut || file.read_exact_at(&mut buf, 0).unwrap()))
    });
    g.finish();
    // A group filtered out on the command line measured nothing.
    if totals.is_empty() {
        return;
    }
    let per = |side| totals.per_ms(side);
    let read = (per("read") - per("boot")) / 8.0;
    println!(
        "virtio_blk_read 32 MiB: hull {read:.2} ms ((boot + 9 reads {:.2} - boot + 1 read {:.2}) / 8), host pread {:.2} ms; host/hull = {:.2}",
        per("read"),
        per("boot"),
        per("host"),
        per("host") / read
    );
    let _ = std::fs::remove_file(&path);
}

/// A tap of the caller's network namespace with virtio headers, as hull
/// makes them, for the host side of `virtio_net_tx`.
fn host_tap(name: &str) -> std::fs::File {
    use std::os::fd::FromRawFd;
    // SAFETY: open, then TUNSETIFF/TUNSETVNETHDRSZ with a valid ifreq / int.
    unsafe {
        let fd = libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        assert!(fd >= 0);
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as i16;
        assert_eq!(libc::ioctl(fd, libc::TUNSETIFF, &mut ifr), 0);
        let size: libc::c_int = 12;
        assert_eq!(libc::ioctl(fd, libc::TUNSETVNETHDRSZ, &size), 0);
        std::fs::File::from_raw_fd(fd)
    }
}

fn virtio_net_tx(c: &mut Criterion) {
    // SAFETY: unshare affects this thread (and the `ip` it starts) only.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        eprintln!("SKIPPED virtio_net_tx: cannot make a network namespace; run as root");
        return;
    }
    let kvm = Kvm::open().unwrap();
    let mut host = host_tap("hhost0");
    let up = |t: &str| {
        let ok = std::process::Command::new("ip")
            .args(["link", "set", t, "up"])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    up("hhost0");
    let frame = {
        let mut f = vec![0u8; 12 + 1514];
        f[12..18].fill(0xff);
        f[18..24].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[24..26].copy_from_slice(&[0x88, 0xb5]);
        f
    };
    let boot = |batches: u32| {
        let mut spec = BootSpec::new(TEST_KERNEL.to_vec());
        spec.memory_mib = 64;
        spec.cmdline = format!("console=ttyS0 hull.net hull.netflood={batches}");
        spec.nics = vec![hull::vm::NicSpec::new("hvm0")];
        let mut m = Machine::boot(&kvm, &spec, Box::new(std::io::sink())).unwrap();
        up("hvm0");
        assert_eq!(
            m.run(Some(Duration::from_secs(120))).unwrap(),
            Outcome::Reset
        );
    };
    let totals = Totals::default();
    let timed = |side, n, op: &mut dyn FnMut()| totals.time(side, n, op);
    let mut g = c.benchmark_group("virtio_net_tx");
    g.sample_size(10);
    g.bench_function("hull_40_batches", |b| {
        b.iter_custom(|n| timed("many", n, &mut || boot(40)))
    });
    g.bench_function("hull_1_batch", |b| {
        b.iter_custom(|n| timed("one", n, &mut || boot(1)))
    });
    g.bench_function("host_write_9984_frames", |b| {
        b.iter_custom(|n| {
            timed("host", n, &mut || {
                use std::io::Write;
                for _ in 0..39 * 256 {
                    host.write_all(&frame).unwrap();
                }
            })
        })
    });
    g.finish();
    if totals.is_empty() {
        return;
    }
    let per = |side| totals.per_ms(side);
    let hull = per("many") - per("one");
    println!(
        "virtio_net_tx 9984 frames of 1514 bytes: hull {hull:.2} ms (40 batches {:.2} - 1 batch {:.2}), host write {:.2} ms; host/hull = {:.2}",
        per("many"),
        per("one"),
        per("host"),
        per("host") / hull
    );
}

fn at_scale(c: &mut Criterion) {
    // Each VM alive holds a VM fd and a vCPU fd: make room for 1000.
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max.min(16384);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    let kvm = Kvm::open().unwrap();
    let mut alive: Vec<(Vm, Vcpu)> = Vec::new();
    let counts = [1usize, 100, 1000];
    let totals = std::sync::Mutex::new(std::collections::HashMap::new());
    let timed = |side: &'static str, count: usize, n: u64, op: &dyn Fn()| {
        let s = std::time::Instant::now();
        for _ in 0..n {
            op();
        }
        let t = s.elapsed();
        let mut tot = totals.lock().unwrap();
        let e = tot.entry((side, count)).or_insert((Duration::ZERO, 0u64));
        e.0 += t;
        e.1 += n;
        t
    };
    let hull_op = || {
        let kvm = Kvm::open().unwrap();
        let (vm, mut vcpu) = hull_vm(&kvm, &[0xf4]);
        assert_eq!(vcpu.run().unwrap(), VcpuExit::Hlt);
        drop((vcpu, vm, kvm));
    };
    let raw_op = || {
        let mut raw = RawVm::new(&[0xf4]);
        assert_eq!(raw.run(), k::KVM_EXIT_HLT);
    };
    let mut g = c.benchmark_group("vm_at_scale");
    let mut reached = Vec::new();
    for count in counts {
        while alive.len() < count {
            match Vm::builder().memory_bytes(MEM as u64).vcpus(1).build(&kvm) {
                Ok(mut vm) => {
                    vm.memory().write_slice(&[0xf4], GuestAddress(0)).unwrap();
                    let mut vcpu = vm.take_vcpus().remove(0);
                    x86::enter_real_mode_at(&vcpu, 0).unwrap();
                    assert_eq!(vcpu.run().unwrap(), VcpuExit::Hlt);
                    alive.push((vm, vcpu));
                }
                Err(e) => {
                    println!("vm_at_scale: stopped at {} VMs alive: {e}", alive.len());
                    break;
                }
            }
        }
        if alive.len() < count {
            break;
        }
        reached.push(count);
        g.bench_function(format!("hull/{count}"), |b| {
            b.iter_custom(|n| timed("hull", count, n, &hull_op))
        });
        g.bench_function(format!("raw/{count}"), |b| {
            b.iter_custom(|n| timed("raw", count, n, &raw_op))
        });
    }
    g.finish();
    let tot = totals.lock().unwrap();
    // A group filtered out on the command line measured nothing.
    if tot.is_empty() {
        return;
    }
    for side in ["hull", "raw"] {
        let v: Vec<String> = reached
            .iter()
            .map(|&n| {
                let (t, k): (Duration, u64) = tot[&(side, n)];
                format!("{:.3}", t.as_secs_f64() * 1e3 / k.max(1) as f64)
            })
            .collect();
        let per = |n: usize| {
            let (t, k): (Duration, u64) = tot[&(side, n)];
            t.as_secs_f64() / k.max(1) as f64
        };
        let last = *reached.last().unwrap();
        println!(
            "vm_at_scale {side}: {} ms at {} VMs alive; growth {:.2}x",
            v.join(" / "),
            reached
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" / "),
            per(last) / per(1)
        );
    }
}

fn all(c: &mut Criterion) {
    if let Err(e) = Kvm::open() {
        eprintln!("SKIPPED benches/vm.rs: /dev/kvm not usable ({e})");
        return;
    }
    lifecycle(c);
    pio_exit(c);
    boot(c);
    virtio_blk_read(c);
    virtio_net_tx(c);
    at_scale(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = all
}
criterion_main!(benches);
