//! Loading a kernel with the Linux x86 64-bit boot protocol: bzImage (or an
//! ELF vmlinux), initrd, command line, and a zero page with an e820 map.
//!
//! The kernel formats are parsed by rust-vmm's `linux-loader`; hull checks
//! what it needs (a 64-bit entry point, room in guest memory) first, so bad
//! input is a typed error before anything is written.

use std::io::Cursor;

use linux_loader::loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use linux_loader::loader::{self, KernelLoader};
use vm_memory::{ByteValued, Bytes, GuestAddress, GuestMemoryMmap};

use super::vm::ram_ranges;
use super::x86::{CMDLINE_ADDR, CMDLINE_MAX, ZERO_PAGE_ADDR};
use crate::error::{Error, ErrorKind, Op, Result};

/// Where a kernel is loaded (the protocol's default `code32_start`).
pub const KERNEL_LOAD_ADDR: u64 = 0x10_0000;
/// The end of conventional memory below 1 MiB reported as usable RAM.
pub const EBDA_START: u64 = 0x9_fc00;

const HDRS_MAGIC: u32 = 0x5372_6448; // "HdrS"
const LOADED_HIGH: u8 = 0x1;
const XLF_KERNEL_64: u16 = 0x1;
const E820_RAM: u32 = 1;

/// A kernel image's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelFormat {
    /// A bzImage with the 64-bit boot protocol entry (`XLF_KERNEL_64`).
    BzImage,
    /// An ELF `vmlinux`.
    Elf,
}

impl KernelFormat {
    /// Recognises a kernel image by its magic numbers.
    pub fn detect(image: &[u8]) -> Option<KernelFormat> {
        if image.len() >= 4 && &image[..4] == b"\x7fELF" {
            Some(KernelFormat::Elf)
        } else if image.len() >= 0x206 && image[0x202..0x206] == HDRS_MAGIC.to_le_bytes() {
            Some(KernelFormat::BzImage)
        } else {
            None
        }
    }
}

/// What the boot protocol put where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootLayout {
    /// Kernel format.
    pub format: KernelFormat,
    /// Guest-physical address the kernel was loaded at.
    pub load_addr: u64,
    /// 64-bit entry point (load address + 0x200 for a bzImage).
    pub entry: u64,
    /// Guest-physical address of the zero page (RSI at entry).
    pub zero_page: u64,
    /// Guest-physical address and size of the initrd, if any.
    pub initrd: Option<(u64, u64)>,
    /// The e820 map given to the guest: `(address, size, type)`.
    pub e820: Vec<(u64, u64, u32)>,
}

/// Loads `kernel` (and `initrd`, and `cmdline`) into `memory` and writes the
/// zero page. `what` names the kernel in errors (its path, say).
pub fn load(
    memory: &GuestMemoryMmap,
    memory_size: u64,
    kernel: &[u8],
    what: &str,
    initrd: Option<&[u8]>,
    cmdline: &str,
) -> Result<BootLayout> {
    let low_end = ram_ranges(memory_size)[0].1;
    let loaded = load_kernel(memory, memory_size, low_end, kernel, what)?;
    write_cmdline(memory, &loaded.hdr, cmdline)?;
    let initrd_at = match initrd {
        Some(data) => Some(load_initrd(memory, &loaded, low_end, data)?),
        None => None,
    };
    let e820 = write_zero_page(memory, memory_size, loaded.hdr, cmdline, initrd_at)?;
    Ok(BootLayout {
        format: loaded.format,
        load_addr: loaded.load_addr,
        entry: loaded.entry,
        zero_page: ZERO_PAGE_ADDR,
        initrd: initrd_at,
        e820,
    })
}

/// What loading the kernel image gave: its header (real or made up for an
/// ELF), where it went, and the end of what it occupies.
struct Loaded {
    format: KernelFormat,
    hdr: setup_header,
    load_addr: u64,
    entry: u64,
    reserved_end: u64,
}

/// Step 1: the kernel image, after checking that it fits below `low_end`.
fn load_kernel(
    memory: &GuestMemoryMmap,
    memory_size: u64,
    low_end: u64,
    kernel: &[u8],
    what: &str,
) -> Result<Loaded> {
    let format = KernelFormat::detect(kernel).ok_or_else(|| {
        Error::new(
            Op::LoadKernel,
            what,
            ErrorKind::InvalidFormat("not a bzImage or ELF kernel".into()),
        )
    })?;
    let bad_format = |e: loader::Error| {
        Error::library(
            Op::LoadKernel,
            what,
            ErrorKind::InvalidFormat(e.to_string()),
            e,
        )
    };

    let (hdr, load_addr, entry, reserved_end) = match format {
        KernelFormat::BzImage => {
            let hdr = parse_setup_header(kernel, what)?;
            // The kernel occupies init_size bytes from its load address while
            // it decompresses and runs; the payload must fit as well.
            let setup = (if hdr.setup_sects == 0 {
                4
            } else {
                hdr.setup_sects as u64
            } + 1)
                * 512;
            let payload = (kernel.len() as u64).saturating_sub(setup);
            let need = KERNEL_LOAD_ADDR + payload.max(hdr.init_size as u64);
            if need > low_end {
                return Err(Error::new(
                    Op::LoadKernel,
                    what,
                    ErrorKind::NoSpace(format!(
                        "the kernel needs guest RAM up to {need:#x} ({} KiB from {KERNEL_LOAD_ADDR:#x}); the VM has {} KiB",
                        (need - KERNEL_LOAD_ADDR).div_ceil(1024),
                        memory_size / 1024
                    )),
                ));
            }
            let r = loader::BzImage::load(
                memory,
                Some(GuestAddress(KERNEL_LOAD_ADDR)),
                &mut Cursor::new(kernel),
                None,
            )
            .map_err(bad_format)?;
            let hdr = r.setup_header.unwrap_or(hdr);
            (
                hdr,
                r.kernel_load.0,
                r.kernel_load.0 + 0x200,
                need.max(r.kernel_end),
            )
        }
        KernelFormat::Elf => {
            let r = loader::Elf::load(
                memory,
                None,
                &mut Cursor::new(kernel),
                Some(GuestAddress(KERNEL_LOAD_ADDR)),
            )
            .map_err(|e| match e {
                loader::Error::Elf(loader::elf::Error::ReadKernelImage) => Error::library(
                    Op::LoadKernel,
                    what,
                    ErrorKind::NoSpace(format!(
                        "the ELF kernel's segments do not fit in {} KiB of guest RAM",
                        memory_size / 1024
                    )),
                    e,
                ),
                e => bad_format(e),
            })?;
            let hdr = setup_header {
                header: HDRS_MAGIC,
                version: 0x020f,
                initrd_addr_max: 0x7fff_ffff,
                cmdline_size: (CMDLINE_MAX - 1) as u32,
                ..Default::default()
            };
            // The segments' memory (p_paddr + p_memsz, BSS included) must
            // be guest RAM below the MMIO gap, like a bzImage's init_size.
            if r.kernel_end > low_end {
                return Err(Error::new(
                    Op::LoadKernel,
                    what,
                    ErrorKind::NoSpace(format!(
                        "the ELF kernel's segments reach {:#x} (p_paddr + p_memsz); guest RAM ends at {low_end:#x}",
                        r.kernel_end
                    )),
                ));
            }
            (hdr, r.kernel_load.0, r.kernel_load.0, r.kernel_end)
        }
    };
    Ok(Loaded {
        format,
        hdr,
        load_addr,
        entry,
        reserved_end,
    })
}

/// Step 2: the command line, NUL-terminated, within the kernel's limit.
fn write_cmdline(memory: &GuestMemoryMmap, hdr: &setup_header, cmdline: &str) -> Result<()> {
    let limit = if hdr.version >= 0x0206 {
        (hdr.cmdline_size as usize).min(CMDLINE_MAX - 1)
    } else {
        255
    };
    if cmdline.len() > limit || cmdline.as_bytes().contains(&0) {
        return Err(Error::new(
            Op::BootSetup,
            "command line",
            ErrorKind::InvalidArgument(format!(
                "{} bytes; the kernel accepts at most {limit}, without NUL bytes",
                cmdline.len()
            )),
        ));
    }
    let mut bytes = cmdline.as_bytes().to_vec();
    bytes.push(0);
    memory
        .write_slice(&bytes, GuestAddress(CMDLINE_ADDR))
        .map_err(|e| {
            Error::library(
                Op::BootSetup,
                "command line",
                ErrorKind::NoSpace("guest memory too small".into()),
                e,
            )
        })?;
    Ok(())
}

/// Step 3: the initrd, as high as the kernel allows, page aligned, clear
/// of the kernel; its address and size.
fn load_initrd(
    memory: &GuestMemoryMmap,
    loaded: &Loaded,
    low_end: u64,
    data: &[u8],
) -> Result<(u64, u64)> {
    let (hdr, reserved_end) = (&loaded.hdr, loaded.reserved_end);
    let max = if hdr.version >= 0x0203 {
        hdr.initrd_addr_max as u64
    } else {
        0x37ff_ffff
    };
    let top = low_end.min(max + 1);
    // reserved_end is at most low_end (checked above), so this
    // cannot overflow; checked all the same.
    let bottom = reserved_end
        .checked_next_multiple_of(4096)
        .unwrap_or(u64::MAX);
    let size = data.len() as u64;
    let fits = top
        .checked_sub(size)
        .map(|a| a & !0xfff)
        .filter(|a| *a >= bottom);
    let Some(addr) = fits else {
        return Err(Error::new(
            Op::LoadInitrd,
            format!("initrd of {size} bytes"),
            ErrorKind::NoSpace(format!(
                "only {} bytes of guest RAM are free for it between {bottom:#x} and {top:#x}",
                top.saturating_sub(bottom)
            )),
        ));
    };
    memory.write_slice(data, GuestAddress(addr)).map_err(|e| {
        Error::library(
            Op::LoadInitrd,
            format!("initrd at {addr:#x}"),
            ErrorKind::NoSpace("guest memory".into()),
            e,
        )
    })?;
    Ok((addr, size))
}

/// Step 4: the zero page: the header as a loader fills it in, and the
/// e820 map, which it returns.
fn write_zero_page(
    memory: &GuestMemoryMmap,
    memory_size: u64,
    mut hdr: setup_header,
    cmdline: &str,
    initrd_at: Option<(u64, u64)>,
) -> Result<Vec<(u64, u64, u32)>> {
    let mut params = boot_params::default();
    hdr.type_of_loader = 0xff;
    hdr.boot_flag = 0xaa55;
    hdr.header = HDRS_MAGIC;
    hdr.loadflags |= LOADED_HIGH;
    hdr.cmd_line_ptr = CMDLINE_ADDR as u32;
    params.ext_cmd_line_ptr = (CMDLINE_ADDR >> 32) as u32;
    hdr.cmdline_size = cmdline.len() as u32;
    if let Some((addr, size)) = initrd_at {
        hdr.ramdisk_image = addr as u32;
        hdr.ramdisk_size = size as u32;
        params.ext_ramdisk_image = (addr >> 32) as u32;
        params.ext_ramdisk_size = (size >> 32) as u32;
    }
    params.hdr = hdr;
    let e820 = e820_map(memory_size);
    for (slot, (addr, size, ty)) in params.e820_table.iter_mut().zip(&e820) {
        *slot = boot_e820_entry {
            addr: *addr,
            size: *size,
            r#type: *ty,
        };
    }
    params.e820_entries = e820.len() as u8;
    memory
        .write_obj(params, GuestAddress(ZERO_PAGE_ADDR))
        .map_err(|e| {
            Error::library(
                Op::BootSetup,
                "zero page",
                ErrorKind::NoSpace("guest memory".into()),
                e,
            )
        })?;

    Ok(e820)
}

/// The e820 map of a VM with `memory_size` bytes: conventional memory below
/// the EBDA, RAM from 1 MiB up to the MMIO gap, and RAM above 4 GiB.
pub fn e820_map(memory_size: u64) -> Vec<(u64, u64, u32)> {
    let mut map = Vec::new();
    for (start, len) in ram_ranges(memory_size) {
        if start == 0 {
            map.push((0, len.min(EBDA_START), E820_RAM));
            if len > KERNEL_LOAD_ADDR {
                map.push((KERNEL_LOAD_ADDR, len - KERNEL_LOAD_ADDR, E820_RAM));
            }
        } else {
            map.push((start, len, E820_RAM));
        }
    }
    map
}

fn parse_setup_header(kernel: &[u8], what: &str) -> Result<setup_header> {
    let size = std::mem::size_of::<setup_header>();
    let raw = kernel.get(0x1f1..0x1f1 + size).ok_or_else(|| {
        Error::new(
            Op::LoadKernel,
            what,
            ErrorKind::InvalidFormat("bzImage shorter than its setup header".into()),
        )
    })?;
    let hdr = *setup_header::from_slice(raw).expect("slice has the header's size");
    let invalid =
        |why: &str| Error::new(Op::LoadKernel, what, ErrorKind::InvalidFormat(why.into()));
    if hdr.loadflags & LOADED_HIGH == 0 {
        return Err(invalid("bzImage is not LOADED_HIGH (a zImage?)"));
    }
    if hdr.version < 0x020c || hdr.xloadflags & XLF_KERNEL_64 == 0 {
        return Err(invalid(
            "bzImage has no 64-bit entry point (needs boot protocol 2.12+ with XLF_KERNEL_64)",
        ));
    }
    Ok(hdr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_elf_kernel_whose_memsz_runs_past_guest_ram_is_refused_without_overflow() {
        use vm_memory::GuestMemoryMmap;
        let mut elf = crate::vm::TEST_KERNEL_ELF.to_vec();
        let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
        let (phoff, phentsize, phnum) = (
            u64_at(&elf, 0x20) as usize,
            u16_at(&elf, 0x36),
            u16_at(&elf, 0x38),
        );
        let seg = (0..phnum)
            .map(|i| phoff + i * phentsize)
            .find(|&o| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) == 1)
            .expect("a PT_LOAD segment");
        let paddr = u64_at(&elf, seg + 0x18);
        for memsz in [u64::MAX - paddr, 1 << 40, 64 << 20] {
            elf[seg + 0x28..seg + 0x30].copy_from_slice(&memsz.to_le_bytes());
            let size = 32u64 << 20;
            let mem =
                GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), size as usize)]).unwrap();
            let e = load(&mem, size, &elf, "elf", Some(&[1, 2, 3]), "").unwrap_err();
            assert!(matches!(e.kind, ErrorKind::NoSpace(_)), "{memsz:#x}: {e}");
        }
    }

    #[test]
    fn e820_covers_exactly_guest_ram_minus_the_legacy_hole() {
        let map = e820_map(64 << 20);
        assert_eq!(
            map,
            vec![(0, EBDA_START, 1), (0x10_0000, (64 << 20) - 0x10_0000, 1)]
        );
    }

    #[test]
    fn formats_are_recognised_by_magic() {
        assert_eq!(
            KernelFormat::detect(b"\x7fELF...."),
            Some(KernelFormat::Elf)
        );
        assert_eq!(
            KernelFormat::detect(crate::vm::TEST_KERNEL),
            Some(KernelFormat::BzImage)
        );
        assert_eq!(KernelFormat::detect(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn test_kernel_header_is_protocol_2_15_loaded_high_kernel_64() {
        let h = parse_setup_header(crate::vm::TEST_KERNEL, "test kernel").unwrap();
        assert_eq!({ h.version }, 0x020f);
        assert_eq!(h.loadflags & LOADED_HIGH, LOADED_HIGH);
        assert_eq!({ h.xloadflags } & XLF_KERNEL_64, XLF_KERNEL_64);
    }
}
