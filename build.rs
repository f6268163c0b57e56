//! Builds the embedded boot-protocol test kernel (`guest/testkernel.S`) with
//! the system assembler, objcopy and ld (binutils): a flat bzImage, and the
//! same code as an ELF executable entered at `startup_64`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "guest/testkernel.S";
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let obj = out.join("testkernel.o");
    let bin = out.join("testkernel.bin");
    run(Command::new("as").args(["--64", "-o"]).arg(&obj).arg(src));
    run(Command::new("objcopy")
        .args(["-O", "binary"])
        .arg(&obj)
        .arg(&bin));

    let elf_obj = out.join("testkernel-elf.o");
    let elf = out.join("testkernel.elf");
    run(Command::new("as")
        .args(["--64", "--defsym", "ELF=1", "-o"])
        .arg(&elf_obj)
        .arg(src));
    run(Command::new("ld")
        .args(["-static", "-nostdlib", "-N", "-z", "noexecstack"])
        .args([
            "-z",
            "max-page-size=4096",
            "-Ttext=0x100000",
            "-e",
            "startup_64",
            "-o",
        ])
        .arg(&elf)
        .arg(&elf_obj));
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?} ({e}); building hull's test kernel needs binutils (as, objcopy)")
    });
    assert!(status.success(), "{cmd:?} failed with {status}");
}
