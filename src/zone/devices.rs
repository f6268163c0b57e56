//! Which devices a zone may use: the devices of its private /dev and no
//! others.
//!
//! On cgroup v1 the `devices` controller holds the allow-list
//! ([`apply_v1`]); on cgroup v2 a `BPF_PROG_TYPE_CGROUP_DEVICE` program
//! attached to the zone's cgroup decides ([`v2_program`], [`apply_v2`]), as
//! crun and runc do. On a hybrid host both are enforced: the kernel runs the
//! BPF programs of the process's v2 cgroup and then checks the v1 controller
//! (linux security/device_cgroup.c, `devcgroup_check_permission`).
//!
//! ```text
//! // Crate-private (rustdoc cannot compile it); what cgroup.rs does:
//! use crate::zone::devices::{apply_v1, apply_v2, ZONE_DEVICES};
//! apply_v2(Path::new("/sys/fs/cgroup/hull/zone7"), ZONE_DEVICES)?;
//! apply_v1(Path::new("/sys/fs/cgroup/devices/hull/zone7"), ZONE_DEVICES)?;
//! ```

use std::ffi::{c_int, c_long, c_uint, CStr};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// One allowed device: character or block, major, minor (None = any), access.
///
/// A rule with none of `read`, `write` and `mknod` allows nothing, and is
/// left out of both the v1 allow-list and the v2 program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DevRule {
    /// Character or block device.
    pub kind: DevKind,
    /// The device's major number.
    pub major: u32,
    /// The device's minor number; `None` matches every minor of `major`.
    pub minor: Option<u32>,
    /// Whether the device may be opened for reading.
    pub read: bool,
    /// Whether the device may be opened for writing.
    pub write: bool,
    /// Whether a node for the device may be created with mknod(2).
    pub mknod: bool,
}

/// The two kinds of device node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DevKind {
    /// A character device (`c` in devices.allow).
    Char,
    /// A block device (`b` in devices.allow).
    #[cfg_attr(not(test), allow(dead_code))]
    Block,
}

/// A character device the zone may read, write and create a node for.
const fn char_rwm(major: u32, minor: Option<u32>) -> DevRule {
    DevRule {
        kind: DevKind::Char,
        major,
        minor,
        read: true,
        write: true,
        mknod: true,
    }
}

/// The devices every zone gets (its /dev): null 1:3, zero 1:5, full 1:7,
/// random 1:8, urandom 1:9, tty 5:0, ptmx 5:2, and the pty slaves 136:* —
/// each read+write+mknod, char.
pub(crate) const ZONE_DEVICES: &[DevRule] = &[
    char_rwm(1, Some(3)),
    char_rwm(1, Some(5)),
    char_rwm(1, Some(7)),
    char_rwm(1, Some(8)),
    char_rwm(1, Some(9)),
    char_rwm(5, Some(0)),
    char_rwm(5, Some(2)),
    char_rwm(136, None),
];

impl DevRule {
    /// The cgroup v1 `devices.allow` line for this rule, e.g. "c 1:3 rwm",
    /// "c 136:* rw".
    pub(crate) fn v1_line(&self) -> String {
        let kind = match self.kind {
            DevKind::Char => 'c',
            DevKind::Block => 'b',
        };
        let minor = self.minor.map_or("*".to_string(), |m| m.to_string());
        let access: String = [(self.read, 'r'), (self.write, 'w'), (self.mknod, 'm')]
            .iter()
            .filter_map(|&(on, c)| on.then_some(c))
            .collect();
        format!("{kind} {}:{minor} {access}", self.major)
    }

    /// The access this rule grants, as `BPF_DEVCG_ACC_*` bits.
    fn access_bits(&self) -> u32 {
        [
            (self.read, BPF_DEVCG_ACC_READ),
            (self.write, BPF_DEVCG_ACC_WRITE),
            (self.mknod, BPF_DEVCG_ACC_MKNOD),
        ]
        .iter()
        .filter_map(|&(on, bit)| on.then_some(bit))
        .sum()
    }
}

/// Writes the v1 allow-list into a `devices` controller cgroup dir: "a" to
/// devices.deny, then one devices.allow write per rule.
pub(crate) fn apply_v1(cgroup_dir: &Path, rules: &[DevRule]) -> io::Result<()> {
    write_control(&cgroup_dir.join("devices.deny"), "a")?;
    let allow = cgroup_dir.join("devices.allow");
    for rule in rules.iter().filter(|r| r.access_bits() != 0) {
        write_control(&allow, &rule.v1_line())?;
    }
    Ok(())
}

/// Writes `line` to a cgroup control file in a single write(2), which is how
/// the kernel parses it.
fn write_control(path: &Path, line: &str) -> io::Result<()> {
    let what = || format!("write {line:?} to {}", path.display());
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| failed(what(), e))?;
    match file.write(line.as_bytes()) {
        Ok(n) if n == line.len() => Ok(()),
        Ok(n) => Err(failed(
            what(),
            io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write of {n} bytes"),
            ),
        )),
        Err(e) => Err(failed(what(), e)),
    }
}

// Opcodes and registers. libc has the classic-BPF opcodes that eBPF shares
// (BPF_LDX, BPF_W, BPF_AND, ...); the eBPF-only ones below are from
// include/uapi/linux/bpf.h, a stable kernel ABI.

/// Instruction class: jumps comparing the low 32 bits (Linux 5.1).
const BPF_JMP32: u8 = 0x06;
/// Instruction class: 64-bit ALU operations.
const BPF_ALU64: u8 = 0x07;
/// ALU operation: move.
const BPF_MOV: u8 = 0xb0;
/// Jump operation: jump if not equal.
const BPF_JNE: u8 = 0x50;
/// Jump-class operation: return r0.
const BPF_EXIT: u8 = 0x90;
/// Register 0: the program's return value.
const R0: u8 = 0;
/// Register 1: the context pointer on entry; below, the device type.
const R1: u8 = 1;
/// Register 2: holds the requested access.
const R2: u8 = 2;
/// Register 3: holds the device's major number.
const R3: u8 = 3;
/// Register 4: holds the device's minor number.
const R4: u8 = 4;

// bpf(2) commands, program and attach types, flags and the device context's
// values, from include/uapi/linux/bpf.h (enum bpf_cmd, enum bpf_prog_type,
// enum bpf_attach_type, BPF_F_ALLOW_MULTI, enum { BPF_DEVCG_* }); libc has
// none of them.

/// `enum bpf_cmd`: load a program.
const BPF_PROG_LOAD: c_int = 5;
/// `enum bpf_cmd`: attach a program to a cgroup.
const BPF_PROG_ATTACH: c_int = 8;
/// `enum bpf_cmd`: detach a program from a cgroup.
const BPF_PROG_DETACH: c_int = 9;
/// `enum bpf_cmd`: an fd for a loaded program's id.
const BPF_PROG_GET_FD_BY_ID: c_int = 13;
/// `enum bpf_cmd`: the programs attached to a cgroup.
const BPF_PROG_QUERY: c_int = 16;
/// `enum bpf_prog_type`: a cgroup device program.
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `enum bpf_attach_type`: the cgroup device hook.
const BPF_CGROUP_DEVICE: u32 = 6;
/// Attach flag: run this program in addition to those of sub-cgroups.
const BPF_F_ALLOW_MULTI: u32 = 1 << 1;
/// Device access: mknod(2).
const BPF_DEVCG_ACC_MKNOD: u32 = 1;
/// Device access: open for reading.
const BPF_DEVCG_ACC_READ: u32 = 2;
/// Device access: open for writing.
const BPF_DEVCG_ACC_WRITE: u32 = 4;
/// Device type: block.
const BPF_DEVCG_DEV_BLOCK: u32 = 1;
/// Device type: character.
const BPF_DEVCG_DEV_CHAR: u32 = 2;

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BpfInsn {
    /// Opcode: class | size or operation | source.
    code: u8,
    /// The `dst_reg:4, src_reg:4` bitfields.
    regs: u8,
    /// Signed offset: memory offset, or jump distance in instructions.
    off: i16,
    /// Signed immediate.
    imm: i32,
}

impl BpfInsn {
    /// An instruction from its fields; `code` is an OR of libc's or our
    /// opcode constants, all of which fit a byte.
    const fn new(code: u32, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
        // The bitfields are allocated from the low bit on little-endian
        // targets and from the high bit on big-endian ones.
        let regs = if cfg!(target_endian = "little") {
            dst | (src << 4)
        } else {
            (dst << 4) | src
        };
        BpfInsn {
            code: code as u8,
            regs,
            off,
            imm,
        }
    }

    /// `dst = *(u32 *)(src + off)`, zero-extended.
    const fn load_u32(dst: u8, src: u8, off: i16) -> BpfInsn {
        BpfInsn::new(
            libc::BPF_LDX | libc::BPF_W | libc::BPF_MEM,
            dst,
            src,
            off,
            0,
        )
    }

    /// `(u32) dst = (u32) dst <op> imm`.
    const fn alu32_imm(op: u32, dst: u8, imm: i32) -> BpfInsn {
        BpfInsn::new(libc::BPF_ALU | op | libc::BPF_K, dst, 0, 0, imm)
    }

    /// `if ((u32) dst <op> (u32) imm) goto pc + 1 + off`.
    const fn jmp32_imm(op: u8, dst: u8, imm: u32, off: i16) -> BpfInsn {
        let code = BPF_JMP32 as u32 | op as u32 | libc::BPF_K;
        BpfInsn::new(code, dst, 0, off, imm as i32)
    }

    /// `dst = imm`, all 64 bits.
    const fn mov64_imm(dst: u8, imm: i32) -> BpfInsn {
        BpfInsn::new((BPF_ALU64 | BPF_MOV) as u32 | libc::BPF_K, dst, 0, 0, imm)
    }

    /// `return r0`.
    const fn exit() -> BpfInsn {
        BpfInsn::new(libc::BPF_JMP | BPF_EXIT as u32, 0, 0, 0, 0)
    }
}

/// Unpacks `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32
/// minor; }`, at r1 on entry, where `access_type` is `access << 16 | type`.
/// r1 is free once read, so it takes the type last.
const PROLOGUE: [BpfInsn; 6] = [
    BpfInsn::load_u32(R2, R1, 0),                  // r2 = ctx->access_type
    BpfInsn::alu32_imm(libc::BPF_RSH, R2, 16),     // w2 >>= 16: access
    BpfInsn::load_u32(R3, R1, 4),                  // r3 = ctx->major
    BpfInsn::load_u32(R4, R1, 8),                  // r4 = ctx->minor
    BpfInsn::load_u32(R1, R1, 0),                  // r1 = ctx->access_type
    BpfInsn::alu32_imm(libc::BPF_AND, R1, 0xffff), // w1 &= 0xffff: type
];

/// `return verdict` (1 allows, 0 denies).
const fn verdict(allow: bool) -> [BpfInsn; 2] {
    [BpfInsn::mov64_imm(R0, allow as i32), BpfInsn::exit()]
}

/// Builds the BPF_PROG_TYPE_CGROUP_DEVICE program that allows exactly
/// `rules` and denies the rest.
///
/// The shape is systemd's and crun's (containers/crun
/// src/libcrun/ebpf.c, `bpf_program_init_dev` and `bpf_program_append_dev`):
/// the [`PROLOGUE`] unpacks the request into r1 = type, r2 = access,
/// r3 = major, r4 = minor; then each rule is a block of checks, each jumping
/// to the next block when the request falls outside the rule, and a
/// `return 1` reached only when every check passed; a final `return 0`
/// denies whatever no rule matched. Unlike crun it compares with 32-bit
/// jumps (BPF_JMP32, Linux 5.1), so a major or minor above `i32::MAX`
/// compares right, and tests access with one `JSET`.
pub(crate) fn v2_program(rules: &[DevRule]) -> Vec<BpfInsn> {
    let mut program = PROLOGUE.to_vec();
    for rule in rules.iter().filter(|r| r.access_bits() != 0) {
        push_rule(&mut program, rule);
    }
    program.extend(verdict(false));
    program
}

/// Appends one rule's block:
///
/// ```text
/// if w1 != TYPE goto next
/// if w2 & ~ACCESS goto next     (left out when ACCESS is rwm)
/// if w3 != MAJOR goto next
/// if w4 != MINOR goto next      (left out for minor *)
/// r0 = 1; exit
/// next:
/// ```
fn push_rule(program: &mut Vec<BpfInsn>, rule: &DevRule) {
    let kind = match rule.kind {
        DevKind::Char => BPF_DEVCG_DEV_CHAR,
        DevKind::Block => BPF_DEVCG_DEV_BLOCK,
    };
    let all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
    let denied = all & !rule.access_bits();
    let checks: Vec<(u8, u8, u32)> = [
        Some((BPF_JNE, R1, kind)),
        (denied != 0).then_some((libc::BPF_JSET as u8, R2, denied)),
        Some((BPF_JNE, R3, rule.major)),
        rule.minor.map(|minor| (BPF_JNE, R4, minor)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let accept = verdict(true);
    for (i, &(op, reg, imm)) in checks.iter().enumerate() {
        // From the instruction after this jump, skip the remaining checks
        // and the accept block.
        let skip = checks.len() - 1 - i + accept.len();
        program.push(BpfInsn::jmp32_imm(op, reg, imm, skip as i16));
    }
    program.extend(accept);
}

/// The license the program is loaded under, as crun loads it (containers/crun
/// src/libcrun/ebpf.c, `libcrun_ebpf_load`). The program calls no helper, so
/// no GPL-only helper makes the choice matter to the verifier.
const LICENSE: &CStr = c"GPL";

/// The program's name in `bpftool prog` (at most 15 bytes and a NUL).
const PROG_NAME: [u8; 16] = *b"hull_zone_dev\0\0\0";

/// Loads the program for `rules` and attaches it to the cgroup v2 directory
/// with BPF_PROG_ATTACH, attach type BPF_CGROUP_DEVICE.
///
/// The flags are BPF_F_ALLOW_MULTI, as crun and systemd use. The kernel then
/// runs the zone's program for every descendant cgroup too and allows a
/// request only if every program allows it (kernel/bpf/cgroup.c,
/// `compute_effective_progs`), so a sub-cgroup's program can narrow the
/// zone's devices but never widen them; flags 0 would be as safe but would
/// refuse (EPERM) any program in a sub-cgroup, such as systemd's in a zone.
///
/// Programs already attached to the directory are replaced, as crun does
/// (`ebpf_attach_program`). Ones attached with MULTI are detached after the
/// new one is attached, so meanwhile a request must pass both lists. One
/// attached without MULTI must be detached first, since the kernel refuses
/// MULTI on top of it: for that moment only the ancestors' programs apply.
/// The attachment holds the program; the fds are closed on return.
pub(crate) fn apply_v2(cgroup_dir: &Path, rules: &[DevRule]) -> io::Result<()> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(cgroup_dir)
        .map_err(|e| failed(format!("open cgroup {}", cgroup_dir.display()), e))?;
    let what = |op: &str| {
        format!(
            "{op} (BPF_CGROUP_DEVICE) on cgroup {}",
            cgroup_dir.display()
        )
    };
    let program = load_program(&v2_program(rules))?;
    let (flags, old) = attached_programs(&dir).map_err(|e| failed(what("BPF_PROG_QUERY"), e))?;
    let detach_old = || -> io::Result<()> {
        for &id in &old {
            let op = format!("BPF_PROG_DETACH of program {id}");
            detach_id(&dir, id).map_err(|e| failed(what(&op), e))?;
        }
        Ok(())
    };
    let multi = flags & BPF_F_ALLOW_MULTI != 0;
    if !multi {
        detach_old()?;
    }
    attach(&dir, &program, BPF_F_ALLOW_MULTI).map_err(|e| failed(what("BPF_PROG_ATTACH"), e))?;
    if multi {
        detach_old()?;
    }
    Ok(())
}

// The parts of `union bpf_attr` (include/uapi/linux/bpf.h) that each command
// reads, as far as the last field set here. The kernel zero-fills past the
// size passed. No struct has implicit padding: every byte is initialised.

/// `union bpf_attr` for BPF_PROG_LOAD, up to `prog_name`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// `union bpf_attr` for BPF_PROG_ATTACH and BPF_PROG_DETACH.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// `union bpf_attr` for BPF_PROG_QUERY, up to `prog_cnt`.
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    /// The hole before the 8-aligned `prog_attach_flags`.
    hole: u32,
}

/// `union bpf_attr` for BPF_PROG_GET_FD_BY_ID.
#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// A `repr(C)` prefix of `union bpf_attr` for one command, with no padding.
trait BpfAttr {}
impl BpfAttr for ProgLoadAttr {}
impl BpfAttr for AttachAttr {}
impl BpfAttr for QueryAttr {}
impl BpfAttr for GetFdByIdAttr {}

/// bpf(2): runs `cmd` with `attr`, returning the syscall's non-negative value.
///
/// # Safety
///
/// Every address inside `attr` must be valid, for the whole call, for what
/// `cmd` does with it: readable for instructions and the license, writable
/// for the log buffer and program-id array, at the lengths `attr` gives.
unsafe fn sys_bpf<A: BpfAttr>(cmd: c_int, attr: &mut A) -> io::Result<c_long> {
    // SAFETY: `attr` is an exclusive borrow of `size_of::<A>()` initialised
    // bytes laid out as the start of `union bpf_attr`; the kernel reads and
    // writes only within that size. The addresses it holds are the caller's
    // promise.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut A,
            mem::size_of::<A>() as c_uint,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

/// Wraps a file descriptor a bpf(2) command has just returned.
fn owned_fd(fd: c_long) -> OwnedFd {
    // SAFETY: bpf(2) returned this new descriptor to us and nothing else
    // holds it, so the `OwnedFd` is its only owner.
    unsafe { OwnedFd::from_raw_fd(fd as c_int) }
}

/// Loads `insns` as a cgroup device program. On failure, loads it again
/// with a verifier log and puts the log in the error.
fn load_program(insns: &[BpfInsn]) -> io::Result<OwnedFd> {
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        prog_name: PROG_NAME,
        ..ProgLoadAttr::default()
    };
    // SAFETY: `insns` points at `insn_cnt` instructions borrowed for this
    // call, `license` at a static NUL-terminated string; there is no log.
    match unsafe { sys_bpf(BPF_PROG_LOAD, &mut attr) } {
        Ok(fd) => Ok(owned_fd(fd)),
        Err(_) => load_with_log(attr),
    }
}

/// Loads again with a verifier log (log_level 1), growing the buffer while
/// the kernel says it is too small (ENOSPC), and returns the log in the
/// error if the load still fails.
fn load_with_log(mut attr: ProgLoadAttr) -> io::Result<OwnedFd> {
    const MAX_LOG: usize = 16 << 20;
    let mut log = vec![0u8; 64 << 10];
    loop {
        attr.log_level = 1;
        attr.log_size = log.len() as u32;
        attr.log_buf = log.as_mut_ptr() as u64;
        // SAFETY: as in `load_program`, and `log_buf` points at `log_size`
        // writable bytes of `log`, which outlives the call.
        let err = match unsafe { sys_bpf(BPF_PROG_LOAD, &mut attr) } {
            Ok(fd) => return Ok(owned_fd(fd)),
            Err(err) => err,
        };
        if err.raw_os_error() == Some(libc::ENOSPC) && log.len() < MAX_LOG {
            log.resize(log.len() * 2, 0);
            continue;
        }
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let what = format!(
            "bpf(BPF_PROG_LOAD) of a {}-instruction cgroup device program",
            attr.insn_cnt
        );
        let log = String::from_utf8_lossy(&log[..end]).trim_end().to_string();
        let detail = format!("verifier log:\n{log}");
        return Err(io::Error::new(
            err.kind(),
            Failed {
                what,
                source: err,
                detail,
            },
        ));
    }
}

/// The attach flags and ids of the device programs attached directly to
/// `cgroup` (not those it inherits).
fn attached_programs(cgroup: &File) -> io::Result<(u32, Vec<u32>)> {
    let mut ids: Vec<u32> = Vec::new();
    loop {
        let mut attr = QueryAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: if ids.is_empty() {
                0
            } else {
                ids.as_mut_ptr() as u64
            },
            prog_cnt: ids.len() as u32,
            ..QueryAttr::default()
        };
        // SAFETY: `prog_ids` is null or points at `prog_cnt` writable u32s of
        // `ids`, which outlives the call.
        let ret = unsafe { sys_bpf(BPF_PROG_QUERY, &mut attr) };
        // Either way the kernel has written the total count to `prog_cnt`.
        match ret {
            Ok(_) if attr.prog_cnt as usize <= ids.len() => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok((attr.attach_flags, ids));
            }
            Err(e) if e.raw_os_error() != Some(libc::ENOSPC) => return Err(e),
            _ => ids.resize(attr.prog_cnt as usize, 0),
        }
    }
}

/// Attaches `program` to `cgroup` at BPF_CGROUP_DEVICE with `flags`.
fn attach(cgroup: &File, program: &OwnedFd, flags: u32) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
    };
    // SAFETY: `attr` holds descriptors and numbers only, no addresses.
    unsafe { sys_bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

/// Detaches the program with id `id` from `cgroup`; one already gone is not
/// an error.
fn detach_id(cgroup: &File, id: u32) -> io::Result<()> {
    let mut by_id = GetFdByIdAttr {
        prog_id: id,
        ..GetFdByIdAttr::default()
    };
    // SAFETY: `by_id` holds numbers only, no addresses.
    let program = match unsafe { sys_bpf(BPF_PROG_GET_FD_BY_ID, &mut by_id) } {
        Ok(fd) => owned_fd(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
    };
    // SAFETY: `attr` holds descriptors and numbers only, no addresses.
    match unsafe { sys_bpf(BPF_PROG_DETACH, &mut attr) } {
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(e),
        _ => Ok(()),
    }
}

/// An OS error with what was being done when it happened.
#[derive(Debug)]
struct Failed {
    /// The operation and its object, e.g. "write \"a\" to .../devices.deny".
    what: String,
    /// The error underneath, errno included.
    source: io::Error,
    /// Lines to show after the error, such as a verifier log; may be empty.
    detail: String,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)?;
        if !self.detail.is_empty() {
            write!(f, "\n{}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for Failed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// `source` labelled with `what`, keeping its kind.
fn failed(what: String, source: io::Error) -> io::Error {
    let detail = String::new();
    io::Error::new(
        source.kind(),
        Failed {
            what,
            source,
            detail,
        },
    )
}

/// The errno underneath an error from this module: a labelled error's
/// `raw_os_error()` is `None`, so callers mapping to an errno ask here.
pub(crate) fn errno(err: &io::Error) -> Option<i32> {
    err.raw_os_error().or_else(|| {
        let inner = err.get_ref()?.downcast_ref::<Failed>()?;
        errno(&inner.source)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::fs;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::thread::sleep;
    use std::time::Duration;

    /// A char rule with the given access.
    fn char_rule(major: u32, minor: Option<u32>, access: &str) -> DevRule {
        DevRule {
            kind: DevKind::Char,
            major,
            minor,
            read: access.contains('r'),
            write: access.contains('w'),
            mknod: access.contains('m'),
        }
    }

    #[test]
    fn v1_lines_name_kind_numbers_and_access() {
        assert_eq!(ZONE_DEVICES[0].v1_line(), "c 1:3 rwm");
        assert_eq!(char_rule(136, None, "rw").v1_line(), "c 136:* rw");
        let block = DevRule {
            kind: DevKind::Block,
            ..char_rule(8, Some(0), "rm")
        };
        assert_eq!(block.v1_line(), "b 8:0 rm");
    }

    #[test]
    fn zone_program_is_prologue_rule_blocks_and_deny() {
        let program = v2_program(ZONE_DEVICES);
        // 6 to unpack, 5 per rule with a minor (7), 4 for 136:*, 2 to deny.
        assert_eq!(program.len(), 6 + 7 * 5 + 4 + 2);
        assert_eq!(program[..6], PROLOGUE);
        assert_eq!(program[program.len() - 2..], verdict(false));
        assert_eq!(mem::size_of::<BpfInsn>(), 8);
    }

    #[test]
    fn every_jump_lands_on_the_next_rule_block() {
        let rules = [char_rule(1, Some(11), "r"), char_rule(136, None, "rw")];
        let program = v2_program(&rules);
        // Checks are the JMP32 class; exit is in the JMP class.
        let jumps = |i: usize| program[i].code & 0x07 == BPF_JMP32;
        // Rule 1 is instructions 6..12 (4 checks, accept); rule 2 is 12..17.
        for i in (6..program.len()).filter(|&i| jumps(i)) {
            let target = i + 1 + program[i].off as usize;
            assert!(
                target == 12 || target == 17,
                "jump at {i} lands on {target}"
            );
        }
        assert_eq!(program.len(), 19);
    }

    #[test]
    fn rules_without_access_add_nothing() {
        let none = char_rule(1, Some(11), "");
        assert_eq!(v2_program(&[none]), v2_program(&[]));
    }

    static NEXT: AtomicU32 = AtomicU32::new(0);

    /// Whether we are root; prints the skip line for `test` if not.
    fn root_or_skip(test: &str) -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            eprintln!("SKIPPED {test}: needs root");
        }
        root
    }

    /// A unique name for this test's cgroup or directory.
    fn unique_name() -> String {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!("hull-devtest-{}-{n}", std::process::id())
    }

    /// A fresh cgroup, removed (once empty) on drop.
    struct TestCgroup(PathBuf);

    impl TestCgroup {
        /// Creates a fresh cgroup under `root`.
        fn create(root: &Path) -> TestCgroup {
            let dir = root.join(unique_name());
            fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            TestCgroup(dir)
        }
    }

    impl Drop for TestCgroup {
        fn drop(&mut self) {
            // A reaped child can leave the cgroup busy for a moment.
            for _ in 0..200 {
                match fs::remove_dir(&self.0) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        sleep(Duration::from_millis(10))
                    }
                    _ => return,
                }
            }
        }
    }

    /// A fresh directory for device nodes, removed with its contents on drop.
    struct NodeDir(PathBuf);

    impl NodeDir {
        /// Creates a fresh directory under the temp dir.
        fn create() -> NodeDir {
            let dir = std::env::temp_dir().join(unique_name());
            fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            NodeDir(dir)
        }

        /// Where the probe's kmsg node goes.
        fn node(&self) -> PathBuf {
            self.0.join("kmsg-node")
        }
    }

    impl Drop for NodeDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// How one probe came out.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Outcome {
        /// The call succeeded.
        Allowed,
        /// The call failed with EPERM.
        Denied,
        /// The call failed with another errno.
        OtherError,
    }

    impl Outcome {
        /// The outcome of a syscall that returned `ret`; only reads errno,
        /// so it is safe after fork.
        fn of(ret: c_int) -> Outcome {
            match ret {
                0.. => Outcome::Allowed,
                _ if io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) => {
                    Outcome::Denied
                }
                _ => Outcome::OtherError,
            }
        }

        /// The outcome's two bits in the child's exit code.
        fn bits(self) -> i32 {
            self as i32
        }

        /// The outcome from its two bits.
        fn from_bits(bits: i32) -> Outcome {
            [Outcome::Allowed, Outcome::Denied, Outcome::OtherError][bits as usize & 3]
        }
    }

    /// What a process in the cgroup could do.
    #[derive(Debug, PartialEq, Eq)]
    struct Probes {
        /// open("/dev/null", O_RDWR).
        null_rw: Outcome,
        /// open("/dev/kmsg", O_RDONLY).
        kmsg_read: Outcome,
        /// mknod of a char 1:11 node.
        kmsg_mknod: Outcome,
    }

    /// The exit code of a child that never heard from its parent.
    const NO_GO: i32 = 0x40;

    /// The paths the child uses, made before fork so it need not allocate.
    struct ProbePaths {
        null: CString,
        kmsg: CString,
        node: CString,
    }

    impl ProbePaths {
        fn new(node: &Path) -> ProbePaths {
            ProbePaths {
                null: CString::new("/dev/null").unwrap(),
                kmsg: CString::new("/dev/kmsg").unwrap(),
                node: CString::new(node.as_os_str().as_encoded_bytes()).unwrap(),
            }
        }

        /// Opens `path` with `flags` and closes it again; raw syscalls only.
        fn open(path: &CStr, flags: c_int) -> Outcome {
            // SAFETY: `path` is a NUL-terminated string that lives across
            // the call; open does not keep it.
            let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
            let outcome = Outcome::of(fd);
            if fd >= 0 {
                // SAFETY: `fd` was just opened here and is closed once.
                unsafe { libc::close(fd) };
            }
            outcome
        }

        /// mknod of a char 1:11 node at `node`; raw syscalls only.
        fn mknod(&self) -> Outcome {
            let mode = libc::S_IFCHR | 0o600;
            // SAFETY: `node` is a NUL-terminated string that lives across
            // the call.
            Outcome::of(unsafe { libc::mknod(self.node.as_ptr(), mode, libc::makedev(1, 11)) })
        }

        /// Runs the three probes; the child's exit code encodes them.
        fn run(&self) -> i32 {
            let null = ProbePaths::open(&self.null, libc::O_RDWR);
            let kmsg = ProbePaths::open(&self.kmsg, libc::O_RDONLY);
            let mknod = self.mknod();
            null.bits() | kmsg.bits() << 2 | mknod.bits() << 4
        }
    }

    /// In a child: waits for the parent's go byte on `go`, probes, exits.
    fn child(go: &OwnedFd, paths: &ProbePaths) -> ! {
        let mut byte = 0u8;
        // SAFETY: reads at most one byte into `byte`, which outlives the call.
        let n = unsafe { libc::read(go.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
        let code = if n == 1 { paths.run() } else { NO_GO };
        // SAFETY: _exit ends this forked child without running the parent's
        // atexit handlers or destructors.
        unsafe { libc::_exit(code) }
    }

    /// Forks a child, moves it into the cgroup whose `cgroup.procs` is
    /// `procs`, lets it probe, and returns what it could do.
    fn probe_in_cgroup(procs: &Path, node: &Path) -> Probes {
        let paths = ProbePaths::new(node);
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: pipe2 just returned both descriptors; each is owned once.
        let (go_rx, go_tx) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: the child calls only async-signal-safe syscalls (read,
        // open, close, mknod, _exit) on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
        if pid == 0 {
            child(&go_rx, &paths);
        }
        drop(go_rx);
        let moved = fs::write(procs, pid.to_string());
        if moved.is_ok() {
            let mut go = File::from(go_tx);
            go.write_all(b"g").expect("write go byte");
        } else {
            drop(go_tx); // the child reads EOF and exits NO_GO
        }
        let code = reap(pid);
        moved.unwrap_or_else(|e| panic!("write {pid} to {}: {e}", procs.display()));
        assert_ne!(code, NO_GO, "child never got the go byte");
        Probes {
            null_rw: Outcome::from_bits(code),
            kmsg_read: Outcome::from_bits(code >> 2),
            kmsg_mknod: Outcome::from_bits(code >> 4),
        }
    }

    /// Waits for child `pid` and returns its exit code.
    fn reap(pid: libc::pid_t) -> i32 {
        let mut status = 0;
        // SAFETY: `pid` is our unreaped child; `status` outlives the call.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(ret, pid, "waitpid: {}", io::Error::last_os_error());
        assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
        libc::WEXITSTATUS(status)
    }

    /// Checks that outside the test cgroup this process may read /dev/kmsg
    /// and make a 1:11 node, so a denial inside is the rules' doing.
    fn assert_host_allows_probes(node: &Path) {
        let paths = ProbePaths::new(node);
        assert_eq!(
            ProbePaths::open(&paths.kmsg, libc::O_RDONLY),
            Outcome::Allowed
        );
        assert_eq!(paths.mknod(), Outcome::Allowed, "mknod {}", node.display());
        fs::remove_file(node).unwrap();
    }

    /// The cgroup v2 hierarchy: /sys/fs/cgroup/unified on a hybrid host,
    /// /sys/fs/cgroup on a pure v2 one.
    fn v2_root() -> Option<&'static Path> {
        ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .map(Path::new)
            .find(|root| root.join("cgroup.controllers").exists())
    }

    /// Creates a v2 cgroup, applies `rules` (if any), probes from a child in
    /// it.
    fn probe_v2(test: &str, rules: Option<&[DevRule]>) -> Option<Probes> {
        if !root_or_skip(test) {
            return None;
        }
        let Some(root) = v2_root() else {
            eprintln!("SKIPPED {test}: no cgroup v2 hierarchy");
            return None;
        };
        let nodes = NodeDir::create();
        assert_host_allows_probes(&nodes.node());
        let cgroup = TestCgroup::create(root);
        if let Some(rules) = rules {
            apply_v2(&cgroup.0, rules).unwrap_or_else(|e| panic!("apply_v2: {e}"));
        }
        Some(probe_in_cgroup(
            &cgroup.0.join("cgroup.procs"),
            &nodes.node(),
        ))
    }

    #[test]
    fn without_a_program_a_fresh_v2_cgroup_denies_nothing() {
        let test = "without_a_program_a_fresh_v2_cgroup_denies_nothing";
        let Some(got) = probe_v2(test, None) else {
            return;
        };
        let want = Probes {
            null_rw: Outcome::Allowed,
            kmsg_read: Outcome::Allowed,
            kmsg_mknod: Outcome::Allowed,
        };
        assert_eq!(got, want);
    }

    #[test]
    fn v2_program_lets_a_zone_use_its_devices_and_no_others() {
        let test = "v2_program_lets_a_zone_use_its_devices_and_no_others";
        let Some(got) = probe_v2(test, Some(ZONE_DEVICES)) else {
            return;
        };
        let want = Probes {
            null_rw: Outcome::Allowed,
            kmsg_read: Outcome::Denied,
            kmsg_mknod: Outcome::Denied,
        };
        assert_eq!(got, want);
    }

    #[test]
    fn v2_read_only_rule_allows_reading_but_not_mknod() {
        let mut rules = ZONE_DEVICES.to_vec();
        rules.push(char_rule(1, Some(11), "r"));
        let test = "v2_read_only_rule_allows_reading_but_not_mknod";
        let Some(got) = probe_v2(test, Some(&rules)) else {
            return;
        };
        let want = Probes {
            null_rw: Outcome::Allowed,
            kmsg_read: Outcome::Allowed,
            kmsg_mknod: Outcome::Denied,
        };
        assert_eq!(got, want);
    }

    #[test]
    fn applying_v2_again_replaces_the_program() {
        let test = "applying_v2_again_replaces_the_program";
        if !root_or_skip(test) {
            return;
        }
        let Some(root) = v2_root() else {
            return eprintln!("SKIPPED {test}: no cgroup v2 hierarchy");
        };
        let cgroup = TestCgroup::create(root);
        let dir = File::open(&cgroup.0).unwrap();
        let only_ours = |dir: &File| {
            let (flags, ids) = attached_programs(dir).unwrap();
            assert_eq!((flags, ids.len()), (BPF_F_ALLOW_MULTI, 1));
        };
        apply_v2(&cgroup.0, &[]).unwrap();
        only_ours(&dir);
        apply_v2(&cgroup.0, ZONE_DEVICES).unwrap();
        only_ours(&dir);
        // Someone else's program, attached without MULTI.
        let theirs = load_program(&v2_program(&[])).unwrap();
        let other_cgroup = TestCgroup::create(root);
        let other = File::open(&other_cgroup.0).unwrap();
        attach(&other, &theirs, 0).unwrap();
        apply_v2(&other_cgroup.0, ZONE_DEVICES).unwrap();
        only_ours(&other);
    }

    #[test]
    fn a_rejected_program_reports_the_verifier_log() {
        if !root_or_skip("a_rejected_program_reports_the_verifier_log") {
            return;
        }
        // Returns without setting r0, which the verifier refuses.
        let err = load_program(&[BpfInsn::exit()]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("verifier log:") && text.contains("R0"),
            "{text}"
        );
        assert_eq!(errno(&err), Some(libc::EACCES), "{text}");
    }

    #[test]
    fn v1_allow_list_lets_a_zone_use_its_devices_and_no_others() {
        let test = "v1_allow_list_lets_a_zone_use_its_devices_and_no_others";
        if !root_or_skip(test) {
            return;
        }
        let root = Path::new("/sys/fs/cgroup/devices");
        if !root.join("devices.allow").exists() {
            return eprintln!("SKIPPED {test}: no cgroup v1 devices controller");
        }
        let nodes = NodeDir::create();
        assert_host_allows_probes(&nodes.node());
        let cgroup = TestCgroup::create(root);
        apply_v1(&cgroup.0, ZONE_DEVICES).unwrap_or_else(|e| panic!("apply_v1: {e}"));
        let list = fs::read_to_string(cgroup.0.join("devices.list")).unwrap();
        assert!(list.lines().any(|l| l == "c 136:* rwm"), "{list}");
        let got = probe_in_cgroup(&cgroup.0.join("cgroup.procs"), &nodes.node());
        let want = Probes {
            null_rw: Outcome::Allowed,
            kmsg_read: Outcome::Denied,
            kmsg_mknod: Outcome::Denied,
        };
        assert_eq!(got, want);
    }

    #[test]
    fn v1_errors_name_the_file_and_line() {
        let missing = Path::new("/nonexistent/hull-devtest");
        let err = apply_v1(missing, ZONE_DEVICES).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("\"a\"") && text.contains("devices.deny"),
            "{text}"
        );
        assert_eq!(errno(&err), Some(libc::ENOENT));
    }
}
