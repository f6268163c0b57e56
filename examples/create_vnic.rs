//! Creates, deletes and lists VNICs.
//!
//! ```text
//! create_vnic --over LINK [--mac MAC|random] [--vlan VID] [--mtu N] NAME
//! create_vnic --delete NAME
//! create_vnic --list
//! ```
//!
//! Prints each VNIC as `NAME PARENT MAC MTU VLAN` (VLAN `-` when none).
//! Exit status 0 on success, 1 with a one-line reason on any error (and then
//! nothing is created), 2 on bad usage.

use std::process::ExitCode;

use hull::name::{LinkName, MacAddr, VlanId};
use hull::vnic::{MacSpec, Vnic, VnicSpec, Vnics};

const USAGE: &str = "usage: create_vnic --over LINK [--mac MAC|random] [--vlan VID] [--mtu N] NAME\n       create_vnic --delete NAME\n       create_vnic --list";

enum Cmd {
    Create(VnicSpec),
    Delete(LinkName),
    List,
}

fn parse() -> Result<Cmd, String> {
    let mut args = std::env::args().skip(1);
    let (mut over, mut mac, mut vlan, mut mtu, mut name) =
        (None, MacSpec::Random, None, None, None);
    let mut delete = None;
    let mut list = false;
    let e = |x: hull::Error| x.to_string();
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match a.as_str() {
            "--over" => over = Some(value("--over")?.parse::<LinkName>().map_err(e)?),
            "--mac" => {
                let v = value("--mac")?;
                mac = if v == "random" {
                    MacSpec::Random
                } else {
                    MacSpec::Fixed(v.parse::<MacAddr>().map_err(e)?)
                };
            }
            "--vlan" => vlan = Some(value("--vlan")?.parse::<VlanId>().map_err(e)?),
            "--mtu" => {
                let v = value("--mtu")?;
                mtu = Some(
                    v.parse::<u32>()
                        .map_err(|_| format!("--mtu: not a number: {v:?}"))?,
                );
            }
            "--delete" => delete = Some(value("--delete")?.parse::<LinkName>().map_err(e)?),
            "--list" => list = true,
            f if f.starts_with('-') => return Err(format!("unknown flag {f}")),
            n if name.is_none() => name = Some(n.parse::<LinkName>().map_err(e)?),
            n => return Err(format!("unexpected argument {n:?}")),
        }
    }
    match (list, delete, over, name) {
        (true, None, None, None) => Ok(Cmd::List),
        (false, Some(d), None, None) => Ok(Cmd::Delete(d)),
        (false, None, Some(over), Some(name)) => Ok(Cmd::Create(VnicSpec {
            name,
            over,
            mac,
            vlan,
            mtu,
        })),
        _ => Err("give --over LINK NAME, --delete NAME, or --list".into()),
    }
}

fn line(v: &Vnic) -> String {
    let vlan = v.vlan.map_or("-".to_string(), |v| v.to_string());
    format!("{} {} {} {} {}", v.name, v.over, v.mac, v.mtu, vlan)
}

fn main() -> ExitCode {
    let cmd = match parse() {
        Ok(c) => c,
        Err(why) => {
            eprintln!("create_vnic: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let run = || -> hull::Result<()> {
        let mut vnics = Vnics::open()?;
        match cmd {
            Cmd::Create(spec) => println!("{}", line(&vnics.create(&spec)?)),
            Cmd::Delete(name) => vnics.delete(&name)?,
            Cmd::List => {
                for v in vnics.list()? {
                    println!("{}", line(&v));
                }
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("create_vnic: {e}");
            ExitCode::FAILURE
        }
    }
}
