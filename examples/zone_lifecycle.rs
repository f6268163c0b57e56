//! A zone's whole life in one command.
//!
//! ```text
//! zone_lifecycle --name NAME --root DIR [--memory MIB] [--state-dir DIR] -- INIT [ARGS...]
//! zone_lifecycle --list [--state-dir DIR]
//! ```
//!
//! The first form configures a zone, installs it from DIR (a root file
//! system), boots it with INIT as PID 1, waits for INIT to exit, then halts,
//! uninstalls and deletes it, printing each state it passes through (on
//! stderr). INIT's output appears on stdout; the exit status is INIT's. On
//! any error: a one-line reason, exit status 1 (2 for bad usage), and
//! nothing left behind. The second form prints one line per zone: name,
//! state, zonepath. Needs root (Linux).

use std::path::PathBuf;
use std::process::ExitCode;

use hull::name::ZoneName;
use hull::zone::{Caps, ZoneConfig, Zones, DEFAULT_STATE_DIR};

const USAGE: &str = "usage: zone_lifecycle --name NAME --root DIR [--memory MIB] [--state-dir DIR] -- INIT [ARGS...]\n       zone_lifecycle --list [--state-dir DIR]";

struct Args {
    list: bool,
    name: Option<ZoneName>,
    root: Option<PathBuf>,
    memory_mib: Option<u64>,
    state_dir: PathBuf,
    init: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        list: false,
        name: None,
        root: None,
        memory_mib: None,
        state_dir: DEFAULT_STATE_DIR.into(),
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
            _ => return Err(format!("unknown flag {flag}")),
        }
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
    let config: ZoneConfig = ZoneConfig {
        name: name.clone(),
        zonepath: a.state_dir.join(format!("{name}.zone")),
        brand: "hull".into(),
        autoboot: false,
        exclusive_ip: true,
        nets: Vec::new(),
        mounts: Vec::new(),
        caps: Caps {
            memory_bytes: a.memory_mib.map(|m| m << 20),
            ..Caps::default()
        },
        init: a.init,
    };
    let say = |zones: &Zones| {
        if let Ok(s) = zones.state(&name) {
            eprintln!("zone {name}: {}", format!("{s:?}").to_lowercase());
        }
    };
    zones.configure(&config)?;
    say(&zones);
    if let Err(e) = zones.install(&name, a.root.as_ref().expect("checked")) {
        let _ = zones.delete(&name);
        return Err(e);
    }
    say(&zones);
    if let Err(e) = zones.boot(&name) {
        let _ = zones.uninstall(&name);
        let _ = zones.delete(&name);
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
