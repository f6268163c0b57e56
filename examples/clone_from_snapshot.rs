//! Clones a ZFS snapshot, setting properties in the same call.
//!
//! ```text
//! clone_from_snapshot <pool/fs@snap> <pool/new> [-o prop=value]...
//! ```
//!
//! Properties: `quota`, `refquota`, `reservation` (bytes, or with a K, M,
//! G or T suffix), `mountpoint`, and user properties (`module:name`).
//! Prints the new dataset's origin, used and referenced. Exit status 0 on
//! success, 1 with a one-line reason on any error (then nothing is made), 2
//! on bad usage.

use std::process::ExitCode;

use hull::name::{DatasetName, SnapshotName};
use hull::zfs::{Props, Zfs};

const USAGE: &str = "usage: clone_from_snapshot <pool/fs@snap> <pool/new> [-o prop=value]...";

fn size(v: &str) -> Result<u64, String> {
    let bad =
        || format!("size {v:?}: not a number of bytes (digits, with an optional K, M, G or T)");
    let (num, mult) = match v.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&v[..v.len() - 1], 1u64 << 10),
        Some('M') => (&v[..v.len() - 1], 1 << 20),
        Some('G') => (&v[..v.len() - 1], 1 << 30),
        Some('T') => (&v[..v.len() - 1], 1 << 40),
        _ => (v, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(bad)
}

fn parse() -> Result<(SnapshotName, DatasetName, Props), String> {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut props = Props::new();
    while let Some(a) = args.next() {
        if a == "-o" {
            let kv = args.next().ok_or("-o needs prop=value")?;
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("-o {kv:?}: expected prop=value"))?;
            props = match k {
                "quota" => props.quota(size(v)?),
                "refquota" => props.refquota(size(v)?),
                "reservation" => props.reservation(size(v)?),
                "mountpoint" => props.mountpoint(v).map_err(|e| e.to_string())?,
                k if k.contains(':') => props.user(k, v).map_err(|e| e.to_string())?,
                k => return Err(format!("property {k:?} is not one this example sets")),
            };
        } else if a.starts_with('-') {
            return Err(format!("unknown flag {a}"));
        } else {
            positional.push(a);
        }
    }
    let [snap, target] = <[String; 2]>::try_from(positional)
        .map_err(|_| "need a snapshot and a target".to_string())?;
    Ok((
        snap.parse().map_err(|e: hull::Error| e.to_string())?,
        target.parse().map_err(|e: hull::Error| e.to_string())?,
        props,
    ))
}

fn main() -> ExitCode {
    let (snap, target, props) = match parse() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("clone_from_snapshot: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let run = || -> hull::Result<()> {
        let zfs = Zfs::open()?;
        zfs.clone_from_snapshot(&snap, &target, &props)?;
        let p = zfs.properties(target.as_str())?;
        let origin = p
            .origin
            .as_ref()
            .map_or("-".to_string(), ToString::to_string);
        println!(
            "{target} origin={origin} used={} referenced={}",
            p.used, p.referenced
        );
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clone_from_snapshot: {e}");
            ExitCode::FAILURE
        }
    }
}
