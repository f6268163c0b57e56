//! x86-64 machine set-up: the low-memory layout hull uses, a GDT, identity
//! page tables over all guest RAM, and the register state for entering a
//! guest directly in 64-bit long mode.

use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

use super::vcpu::{DTable, Segment, Vcpu};
use crate::error::{Error, ErrorKind, Op, Result};

/// GDT: null, null, 64-bit code (0x10), data (0x18), TSS (0x20): the
/// selectors the Linux boot protocol requires (`__BOOT_CS`, `__BOOT_DS`).
pub const GDT_ADDR: u64 = 0x500;
/// An empty IDT: interrupts are off until the guest installs its own.
pub const IDT_ADDR: u64 = 0x520;
/// The zero page (`struct boot_params`).
pub const ZERO_PAGE_ADDR: u64 = 0x7000;
/// Initial stack pointer.
pub const BOOT_STACK: u64 = 0x8ff0;
/// The PML4 table; the PDPT follows at +0x1000 and the page directories
/// (one per GiB) after it.
pub const PML4_ADDR: u64 = 0x9000;
/// Page directories for this many GiB fit below [`CMDLINE_ADDR`].
pub const MAX_IDENTITY_GIB: u64 = 16;
/// The kernel command line.
pub const CMDLINE_ADDR: u64 = 0x20000;
/// The most command-line bytes that fit (including the NUL).
pub const CMDLINE_MAX: usize = 0x10000;

/// Code segment selector (`__BOOT_CS`).
pub const CODE_SELECTOR: u16 = 0x10;
/// Data segment selector (`__BOOT_DS`).
pub const DATA_SELECTOR: u16 = 0x18;
/// Task register selector.
pub const TSS_SELECTOR: u16 = 0x20;

const CR0_PE: u64 = 1;
const CR0_ET: u64 = 1 << 4;
const CR0_NE: u64 = 1 << 5;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;

fn code64() -> Segment {
    Segment {
        base: 0,
        limit: 0xffff_ffff,
        selector: CODE_SELECTOR,
        type_: 0xb,
        present: 1,
        dpl: 0,
        db: 0,
        s: 1,
        l: 1,
        g: 1,
        ..Default::default()
    }
}

fn data() -> Segment {
    Segment {
        base: 0,
        limit: 0xffff_ffff,
        selector: DATA_SELECTOR,
        type_: 0x3,
        present: 1,
        dpl: 0,
        db: 1,
        s: 1,
        l: 0,
        g: 1,
        ..Default::default()
    }
}

fn tss() -> Segment {
    Segment {
        base: 0,
        limit: 0x67,
        selector: TSS_SELECTOR,
        type_: 0xb,
        present: 1,
        s: 0,
        ..Default::default()
    }
}

/// The 8-byte GDT descriptor for a segment.
fn descriptor(s: &Segment) -> u64 {
    let limit = if s.g != 0 { s.limit >> 12 } else { s.limit } as u64;
    let base = s.base;
    let access = (s.type_ as u64 & 0xf)
        | ((s.s as u64) << 4)
        | ((s.dpl as u64 & 3) << 5)
        | ((s.present as u64) << 7);
    let flags = (s.avl as u64) | ((s.l as u64) << 1) | ((s.db as u64) << 2) | ((s.g as u64) << 3);
    (limit & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | (access << 40)
        | (((limit >> 16) & 0xf) << 48)
        | (flags << 52)
        | (((base >> 24) & 0xff) << 56)
}

/// The top of guest-physical RAM (exclusive).
fn ram_top(memory: &GuestMemoryMmap) -> u64 {
    memory.last_addr().0 + 1
}

/// Writes the GDT and identity page tables (2 MiB pages) covering every
/// byte of guest RAM and at least the first 4 GiB (so device memory below
/// 4 GiB is reachable), into the low-memory layout above.
pub fn write_tables(memory: &GuestMemoryMmap) -> Result<()> {
    let err = |what: &str, e: vm_memory::GuestMemoryError| {
        Error::library(
            Op::BootSetup,
            what.to_string(),
            ErrorKind::NoSpace("guest memory too small for the boot tables".into()),
            e,
        )
    };
    let gdt: [u64; 6] = [
        0,
        0,
        descriptor(&code64()),
        descriptor(&data()),
        descriptor(&tss()),
        0,
    ];
    for (i, d) in gdt.iter().enumerate() {
        memory
            .write_obj(*d, GuestAddress(GDT_ADDR + 8 * i as u64))
            .map_err(|e| err("gdt", e))?;
    }
    memory
        .write_obj(0u64, GuestAddress(IDT_ADDR))
        .map_err(|e| err("idt", e))?;

    let gib = ram_top(memory).max(1 << 32).div_ceil(1 << 30);
    if gib > MAX_IDENTITY_GIB {
        return Err(Error::new(
            Op::BootSetup,
            "page tables",
            ErrorKind::InvalidArgument(format!("guest RAM ends above {MAX_IDENTITY_GIB} GiB")),
        ));
    }
    let pdpt = PML4_ADDR + 0x1000;
    memory
        .write_obj(pdpt | 0x3, GuestAddress(PML4_ADDR))
        .map_err(|e| err("pml4", e))?;
    for i in 0..gib {
        let pd = pdpt + 0x1000 * (i + 1);
        memory
            .write_obj(pd | 0x3, GuestAddress(pdpt + 8 * i))
            .map_err(|e| err("pdpt", e))?;
        let mut table = [0u64; 512];
        for (j, e) in table.iter_mut().enumerate() {
            *e = ((i << 30) + ((j as u64) << 21)) | 0x83; // present, writable, 2 MiB
        }
        let bytes: Vec<u8> = table.iter().flat_map(|e| e.to_le_bytes()).collect();
        memory
            .write_slice(&bytes, GuestAddress(pd))
            .map_err(|e| err("page directory", e))?;
    }
    Ok(())
}

/// Puts `vcpu` in 64-bit long mode with the tables [`write_tables`] wrote:
/// paging on, CS = 0x10, data segments = 0x18, interrupts off. Registers
/// other than the segments and control registers are left as they are.
pub fn enter_long_mode(vcpu: &Vcpu) -> Result<()> {
    let mut s = vcpu.sregs()?;
    s.cs = code64();
    s.ds = data();
    s.es = data();
    s.fs = data();
    s.gs = data();
    s.ss = data();
    s.tr = tss();
    s.gdt = DTable {
        base: GDT_ADDR,
        limit: 6 * 8 - 1,
        ..Default::default()
    };
    s.idt = DTable {
        base: IDT_ADDR,
        limit: 0,
        ..Default::default()
    };
    s.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
    s.cr3 = PML4_ADDR;
    s.cr4 = CR4_PAE;
    s.efer = EFER_LME | EFER_LMA;
    vcpu.set_sregs(&s)
}

/// Sets up `vcpu` to run 16-bit real-mode code at physical `addr` (below
/// 64 KiB): CS base and selector 0, IP = `addr`.
pub fn enter_real_mode_at(vcpu: &Vcpu, addr: u16) -> Result<()> {
    let mut s = vcpu.sregs()?;
    s.cs.base = 0;
    s.cs.selector = 0;
    vcpu.set_sregs(&s)?;
    let mut r = vcpu.regs()?;
    r.rip = addr as u64;
    r.rflags = 0x2;
    vcpu.set_regs(&r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_match_the_usual_boot_gdt() {
        assert_eq!(descriptor(&code64()), 0x00af_9b00_0000_ffff);
        assert_eq!(descriptor(&data()), 0x00cf_9300_0000_ffff);
    }

    #[test]
    fn page_tables_identity_map_all_ram() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 3 << 30)]).unwrap();
        write_tables(&mem).unwrap();
        let pdpt: u64 = mem.read_obj(GuestAddress(PML4_ADDR)).unwrap();
        assert_eq!(pdpt, (PML4_ADDR + 0x1000) | 3);
        // The last 2 MiB page below 3 GiB maps itself.
        let pd2: u64 = mem.read_obj(GuestAddress(PML4_ADDR + 0x1000 + 16)).unwrap();
        let last: u64 = mem
            .read_obj(GuestAddress((pd2 & !0xfff) + 511 * 8))
            .unwrap();
        assert_eq!(last & !0xfff, (3 << 30) - (2 << 20));
    }
}
