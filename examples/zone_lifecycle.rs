//! A zone's whole life in one command.
//!
//! ```text
//! zone_lifecycle --name NAME --root DIR [--memory MIB] [--state-dir DIR]
//!                [--userns HOSTUID] [--console inherit|null|FILE]
//!                [--ip ADDR/PREFIX --over LINK [--gateway ADDR]]... -- INIT [ARGS...]
//! zone_lifecycle --list [--state-dir DIR]
//! ```
//!
//! The first form configures a zone, installs it from DIR (a root file
//! system), boots it with INIT as PID 1, waits for INIT to exit, then halts,
//! uninstalls and deletes it, printing each state it passes through (on
//! stderr). The zone is confined as every hull zone is (Docker's 14
//! capabilities, seccomp, device allow-list, masked `/proc`). `--userns
//! HOSTUID` runs it in a user namespace whose root is host uid and gid
//! HOSTUID (65536 ids). INIT's output appears on stdout (`--console
//! inherit`, the default here; `null` discards it, a FILE gets it appended);
//! the exit status is INIT's. Each `--ip ADDR/PREFIX --over LINK` creates
//! a VNIC over LINK for the zone, hands it over and configures the address
//! inside before INIT runs (`--gateway ADDR` adds a default route through
//! it); the VNIC goes with the zone. On
//! any error: a one-line reason, exit status 1 (2 for bad usage), and
//! nothing left behind. The second form prints one line per zone: name,
//! state, zonepath. Needs root (Linux).

use std::path::PathBuf;
use std::process::ExitCode;

use hull::name::ZoneName;
use hull::zone::{Caps, Console, UserNs, ZoneConfig, Zones, DEFAULT_STATE_DIR};

const USAGE: &str = "usage: zone_lifecycle --name NAME --root DIR [--memory MIB] [--state-dir DIR]\n                      [--userns HOSTUID] [--console inherit|null|FILE]\n                      [--ip ADDR/PREFIX --over LINK [--gateway ADDR]]... -- INIT [ARGS...]\n       zone_lifecycle --list [--state-dir DIR]";

/// One `--ip ADDR/PREFIX --over LINK [--gateway ADDR]`.
struct Nic {
    ip: hull::zone::IpCidr,
    over: Option<hull::name::LinkName>,
    gateway: Option<std::net::IpAddr>,
}

struct Args {
    list: bool,
    name: Option<ZoneName>,
    root: Option<PathBuf>,
    memory_mib: Option<u64>,
    state_dir: PathBuf,
    userns: Option<u32>,
    console: Console,
    nics: Vec<Nic>,
    init: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        list: false,
        name: None,
        root: None,
        memory_mib: None,
        state_dir: DEFAULT_STATE_DIR.into(),
        userns: None,
        console: Console::Inherit,
        nics: Vec::new(),
        init: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--" {
            a.init = it.by_ref().collect();
            break;
        }
        if flag == "--list" {
            a.list = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--name" => a.name = Some(value.parse().map_err(|e: hull::Error| e.to_string())?),
            "--root" => a.root = Some(value.into()),
            "--memory" => {
                a.memory_mib =
                    Some(
                        value.parse().ok().filter(|m| *m > 0).ok_or_else(|| {
                            format!("--memory: a number of MiB > 0, got {value:?}")
                        })?,
                    )
            }
            "--state-dir" => a.state_dir = value.into(),
            "--ip" => a.nics.push(Nic {
                ip: value.parse().map_err(|e| format!("--ip: {e}"))?,
                over: None,
                gateway: None,
            }),
            "--over" => {
                let nic = a.nics.last_mut().ok_or("--over follows an --ip")?;
                nic.over = Some(
                    value
                        .parse()
                        .map_err(|e: hull::Error| format!("--over: {e}"))?,
                );
            }
            "--gateway" => {
                let nic = a.nics.last_mut().ok_or("--gateway follows an --ip")?;
                nic.gateway = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--gateway: {value:?} is not an IP address"))?,
                );
            }
            "--userns" => {
                a.userns = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|u| *u > 0)
                        .ok_or_else(|| format!("--userns: a host uid > 0, got {value:?}"))?,
                )
            }
            "--console" => {
                a.console = match value.as_str() {
                    "inherit" => Console::Inherit,
                    "null" => Console::Null,
                    file if file.starts_with('/') => Console::File(file.into()),
                    _ => {
                        return Err(format!(
                            "--console: inherit, null or an absolute FILE, got {value:?}"
                        ))
                    }
                }
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.nics.iter().any(|n| n.over.is_none()) {
        return Err("each --ip needs its --over LINK".into());
    }
    if !a.list && (a.name.is_none() || a.root.is_none() || a.init.is_empty()) {
        return Err("give --name, --root and -- INIT, or --list".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("zone_lifecycle: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(a) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("zone_lifecycle: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: Args) -> hull::Result<i32> {
    let zones = Zones::open(&a.state_dir)?;
    if a.list {
        for (name, state, zonepath) in zones.list()? {
            println!("{name} {state:?} {}", zonepath.display());
        }
        return Ok(0);
    }
    let name = a.name.expect("checked");
    let mut config: ZoneConfig = serde_json::from_value(serde_json::json!({
        "name": name,
        "zonepath": a.state_dir.join(format!("{name}.zone")),
        "init": a.init,
    }))
    .map_err(|e| {
        hull::Error::new(
            hull::Op::ConfigureZone,
            name.as_str(),
            hull::ErrorKind::InvalidArgument(e.to_string()),
        )
    })?;
    config.caps = Caps {
        memory_bytes: a.memory_mib.map(|m| m << 20),
        ..Caps::default()
    };
    config.userns = a.userns.map(|u| UserNs {
        host_uid: u,
        host_gid: u,
        count: 65536,
    });
    config.console = a.console;
    // A VNIC per --ip, over its link, named after this process.
    let mut vnics = None;
    let mut made = Vec::new();
    for (i, nic) in a.nics.iter().enumerate() {
        let v = match &mut vnics {
            Some(v) => v,
            None => vnics.insert(hull::vnic::Vnics::open()?),
        };
        let link: hull::name::LinkName =
            format!("zl{}n{i}", std::process::id() % 1_000_000).parse()?;
        let created = v.create(&hull::vnic::VnicSpec {
            name: link.clone(),
            over: nic.over.clone().expect("checked"),
            mac: hull::vnic::MacSpec::Random,
            vlan: None,
            mtu: None,
        });
        if let Err(e) = created {
            for l in &made {
                let _ = v.delete(l);
            }
            return Err(e);
        }
        made.push(link.clone());
        let mut net = hull::zone::Net::link(link);
        net.ips.push(nic.ip);
        net.gateways.extend(nic.gateway);
        config.nets.push(net);
    }
    // Called on every failure before the boot: the VNICs are still ours.
    let drop_vnics = |vnics: &mut Option<hull::vnic::Vnics>| {
        if let Some(v) = vnics {
            for l in &made {
                let _ = v.delete(l);
            }
        }
    };
    let say = |zones: &Zones| {
        if let Ok(s) = zones.state(&name) {
            eprintln!("zone {name}: {}", format!("{s:?}").to_lowercase());
        }
    };
    if let Err(e) = zones.configure(&config) {
        drop_vnics(&mut vnics);
        return Err(e);
    }
    say(&zones);
    if let Err(e) = zones.install(&name, a.root.as_ref().expect("checked")) {
        let _ = zones.delete(&name);
        drop_vnics(&mut vnics);
        return Err(e);
    }
    say(&zones);
    if let Err(e) = zones.boot(&name) {
        // A failed boot gave the VNICs back: they are ours to delete.
        let _ = zones.uninstall(&name);
        let _ = zones.delete(&name);
        drop_vnics(&mut vnics);
        return Err(e);
    }
    // Booted: running (INIT may already have finished by the time a state
    // read would happen, so say what the boot did).
    eprintln!("zone {name}: running");
    let code = zones.wait(&name);
    say(&zones);
    let halted = zones.halt(&name);
    say(&zones);
    let uninstalled = zones.uninstall(&name);
    say(&zones);
    let deleted = zones.delete(&name);
    eprintln!("zone {name}: deleted");
    let code = code?;
    halted?;
    uninstalled?;
    deleted?;
    Ok(code)
}
