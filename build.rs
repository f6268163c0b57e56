//! Builds the embedded boot-protocol test kernel (`guest/testkernel.S`) into
//! a flat bzImage with the system assembler and objcopy (binutils).

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
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?} ({e}); building hull's test kernel needs binutils (as, objcopy)")
    });
    assert!(status.success(), "{cmd:?} failed with {status}");
}
