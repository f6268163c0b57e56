//! An Intel MultiProcessor table (MP specification 1.4), so that a stock
//! kernel finds every vCPU, the I/O APIC and how the ISA interrupts reach
//! it, without ACPI. The floating pointer goes at the start of the last
//! KiB of base memory (0x9fc00, where Linux's `smp_scan_config` looks, and
//! which hull's e820 map leaves out of RAM), the configuration table right
//! after it.
//!
//! The entries follow the specification's chapter 4 and what KVM's
//! in-kernel irqchip wires: one processor entry per vCPU (local APIC id =
//! vCPU index, vCPU 0 the bootstrap processor), one ISA bus, the I/O APIC
//! at 0xfec00000, ISA IRQ *n* on I/O APIC pin *n* for all 16 (KVM's
//! default routing, which hull does not change, sends GSI *n* to pin *n*:
//! `kvm_setup_default_irq_routing`, virt/kvm/irqchip.c), ExtINT on the
//! bootstrap processor's LINT0 and NMI on every processor's LINT1.

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::error::{Error, ErrorKind, Op, Result};

/// Where the MP floating pointer structure goes.
pub const MPTABLE_START: u64 = 0x9_fc00;
/// The most vCPUs an MP table can list: local APIC ids are 8 bits, 0xff
/// means "all", and the I/O APIC takes the id after the last vCPU.
pub const MAX_CPUS: u32 = 254;

const LAPIC_ADDR: u32 = 0xfee0_0000;
const IOAPIC_ADDR: u32 = 0xfec0_0000;
const LAPIC_VERSION: u8 = 0x14;
const IOAPIC_VERSION: u8 = 0x11;
const SPEC_REV: u8 = 4;

const ENTRY_PROCESSOR: u8 = 0;
const ENTRY_BUS: u8 = 1;
const ENTRY_IOAPIC: u8 = 2;
const ENTRY_IO_INT: u8 = 3;
const ENTRY_LOCAL_INT: u8 = 4;

const INT_TYPE_INT: u8 = 0;
const INT_TYPE_NMI: u8 = 1;
const INT_TYPE_EXTINT: u8 = 3;

const CPU_ENABLED: u8 = 1;
const CPU_BOOTSTRAP: u8 = 2;
/// Family 6 in the CPU signature; FPU and APIC in the feature flags.
const CPU_SIGNATURE: u32 = 6 << 8;
const CPU_FEATURES: u32 = 1 | (1 << 9);

fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)))
}

/// The MP floating pointer and configuration table for `cpus` vCPUs, as
/// the bytes to write at [`MPTABLE_START`].
pub fn build(cpus: u32) -> Result<Vec<u8>> {
    if cpus == 0 || cpus > MAX_CPUS {
        return Err(Error::new(
            Op::BootSetup,
            format!("MP table for {cpus} vcpus"),
            ErrorKind::InvalidArgument(format!("an MP table lists 1 to {MAX_CPUS} processors")),
        ));
    }
    let ioapic_id = cpus as u8;
    let mut entries: Vec<u8> = Vec::new();
    let mut count: u16 = 0;
    for id in 0..cpus as u8 {
        let flags = CPU_ENABLED | if id == 0 { CPU_BOOTSTRAP } else { 0 };
        entries.extend([ENTRY_PROCESSOR, id, LAPIC_VERSION, flags]);
        entries.extend(CPU_SIGNATURE.to_le_bytes());
        entries.extend(CPU_FEATURES.to_le_bytes());
        entries.extend([0u8; 8]);
        count += 1;
    }
    entries.extend([ENTRY_BUS, 0]);
    entries.extend(*b"ISA   ");
    count += 1;
    entries.extend([ENTRY_IOAPIC, ioapic_id, IOAPIC_VERSION, 1]);
    entries.extend(IOAPIC_ADDR.to_le_bytes());
    count += 1;
    for irq in 0u8..16 {
        // type, flags (conforming polarity and trigger), bus, bus irq,
        // destination I/O APIC, its pin: the same number.
        entries.extend([ENTRY_IO_INT, INT_TYPE_INT, 0, 0, 0, irq, ioapic_id, irq]);
        count += 1;
    }
    entries.extend([ENTRY_LOCAL_INT, INT_TYPE_EXTINT, 0, 0, 0, 0, 0, 0]);
    entries.extend([ENTRY_LOCAL_INT, INT_TYPE_NMI, 0, 0, 0, 0, 0xff, 1]);
    count += 2;

    let table_addr = MPTABLE_START as u32 + 16;
    let mut table = Vec::with_capacity(44 + entries.len());
    table.extend(*b"PCMP");
    table.extend(((44 + entries.len()) as u16).to_le_bytes());
    table.extend([SPEC_REV, 0]); // checksum below
    table.extend(*b"HULL    ");
    table.extend(*b"KVM MACHINE ");
    table.extend(0u32.to_le_bytes()); // no OEM table
    table.extend(0u16.to_le_bytes());
    table.extend(count.to_le_bytes());
    table.extend(LAPIC_ADDR.to_le_bytes());
    table.extend(0u16.to_le_bytes()); // no extended table
    table.extend([0, 0]);
    table.extend(entries);
    table[7] = checksum(&table);

    let mut mpf = Vec::with_capacity(16);
    mpf.extend(*b"_MP_");
    mpf.extend(table_addr.to_le_bytes());
    mpf.extend([1, SPEC_REV, 0, 0, 0, 0, 0, 0]);
    mpf[10] = checksum(&mpf);

    let mut out = mpf;
    out.extend(table);
    Ok(out)
}

/// Writes the MP table for `cpus` vCPUs into guest memory.
pub fn write(memory: &GuestMemoryMmap, cpus: u32) -> Result<()> {
    let bytes = build(cpus)?;
    memory
        .write_slice(&bytes, GuestAddress(MPTABLE_START))
        .map_err(|e| {
            Error::library(
                Op::BootSetup,
                "MP table",
                ErrorKind::NoSpace("guest memory".into()),
                e,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_sizes_and_entries_are_what_the_specification_asks() {
        for cpus in [1, 2, 8, MAX_CPUS] {
            let b = build(cpus).unwrap();
            assert_eq!(&b[..4], b"_MP_");
            assert_eq!(b[..16].iter().fold(0u8, |a, x| a.wrapping_add(*x)), 0);
            let ptr = u32::from_le_bytes(b[4..8].try_into().unwrap()) as u64;
            assert_eq!(ptr, MPTABLE_START + 16);
            let t = &b[16..];
            assert_eq!(&t[..4], b"PCMP");
            let len = u16::from_le_bytes([t[4], t[5]]) as usize;
            assert_eq!(len, t.len());
            assert_eq!(t.iter().fold(0u8, |a, x| a.wrapping_add(*x)), 0);
            let count = u16::from_le_bytes([t[34], t[35]]) as u32;
            // cpus, bus, I/O APIC, 16 ISA interrupts, 2 local.
            assert_eq!(count, cpus + 1 + 1 + 16 + 2);
            // Walk the entries: processors first, ids 0.., the BSP first.
            let mut off = 44;
            let mut seen = 0;
            while off < len {
                let size = if t[off] == ENTRY_PROCESSOR { 20 } else { 8 };
                if t[off] == ENTRY_PROCESSOR {
                    assert_eq!(t[off + 1] as u32, seen);
                    assert_eq!(t[off + 3] & CPU_BOOTSTRAP != 0, seen == 0);
                    seen += 1;
                }
                off += size;
            }
            assert_eq!(off, len);
            assert_eq!(seen, cpus);
            // ISA IRQ n on pin n, as KVM routes GSI n.
            let ints: Vec<(u8, u8)> = t[44 + 20 * cpus as usize + 16..]
                .chunks(8)
                .filter(|e| e[0] == ENTRY_IO_INT)
                .map(|e| (e[5], e[7]))
                .collect();
            assert_eq!(ints, (0..16).map(|n| (n, n)).collect::<Vec<_>>());
        }
        assert!(build(0).is_err());
        assert!(build(MAX_CPUS + 1).is_err());
    }
}
