//! Machines from JSON payloads, in the manner of SmartOS's `vmadm`.
//!
//! ```text
//! vmadm [--pool POOL] [--node FILE] [--state DIR] create -f PAYLOAD
//! vmadm [...] get UUID | list | start UUID | stop UUID | reboot UUID | delete UUID
//! ```
//!
//! Images come from `POOL/<uuid>@final` (see the `imgadm` example; default
//! pool `zones`, as on SmartOS); the node file maps NIC tags to host links,
//! `{"nic_tags": {"TAG": "LINK", ...}}` (default `/etc/hull/node.json`);
//! machine and zone records live in the state directory (default
//! `/var/lib/hull`). `create` prints `Successfully created VM <uuid>`,
//! `get` the machine as JSON, `list` a table. Exit status 0 on success, 1
//! with a one-line reason on any error (a failed create leaves nothing),
//! 2 on bad usage.

use std::process::ExitCode;
use std::time::Duration;

use hull::machine::{Machines, NodeConfig, Payload};

const USAGE: &str = "usage: vmadm [--pool POOL] [--node FILE] [--state DIR] create -f PAYLOAD | get UUID | list | start UUID | stop UUID | reboot UUID | delete UUID";

/// How long `stop` and `reboot` give INIT to exit on SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

struct Args {
    pool: String,
    node: String,
    state: String,
    cmd: String,
    arg: String,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut a = Args {
        pool: "zones".into(),
        node: "/etc/hull/node.json".into(),
        state: "/var/lib/hull".into(),
        cmd: String::new(),
        arg: String::new(),
    };
    while let Some(x) = args.next() {
        let mut value = |what: &str| args.next().ok_or(format!("{what} needs a value"));
        match x.as_str() {
            "--pool" => a.pool = value("--pool")?,
            "--node" => a.node = value("--node")?,
            "--state" => a.state = value("--state")?,
            _ => {
                a.cmd = x;
                break;
            }
        }
    }
    let rest: Vec<String> = args.collect();
    a.arg = match (a.cmd.as_str(), rest.as_slice()) {
        ("", _) => return Err("no command".into()),
        ("create", [f, file]) if f == "-f" => file.clone(),
        ("create", _) => return Err("create takes -f PAYLOAD".into()),
        ("list", []) => String::new(),
        ("list", _) => return Err("list takes no arguments".into()),
        ("get" | "start" | "stop" | "reboot" | "delete", [uuid]) => uuid.clone(),
        ("get" | "start" | "stop" | "reboot" | "delete", _) => {
            return Err(format!("{} takes one VM UUID", a.cmd))
        }
        (other, _) => return Err(format!("unknown command {other:?}")),
    };
    Ok(a)
}

fn run(a: &Args) -> hull::Result<()> {
    let node = NodeConfig::load(a.node.as_ref())?;
    let mut machines = Machines::open(&a.state, a.pool.parse()?, node)?;
    match a.cmd.as_str() {
        "create" => {
            let text = std::fs::read_to_string(&a.arg)
                .map_err(|e| hull::Error::os(hull::error::Op::CreateMachine, a.arg.clone(), e))?;
            let uuid = machines.create(Payload::from_json(&text)?)?;
            println!("Successfully created VM {uuid}");
        }
        "get" => {
            let m = machines.get(&a.arg)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&m).expect("plain JSON values")
            );
        }
        "list" => {
            let all = machines.list()?;
            println!(
                "{:<36}  {:<7}  {:<7}  {:<10}  ALIAS",
                "UUID", "TYPE", "RAM", "STATE"
            );
            for m in all {
                let ram = m
                    .payload
                    .max_physical_memory
                    .map_or("-".to_string(), |r| r.to_string());
                println!(
                    "{:<36}  {:<7}  {:<7}  {:<10}  {}",
                    m.payload.uuid,
                    "OS",
                    ram,
                    m.state,
                    m.payload.alias.as_deref().unwrap_or("-")
                );
            }
        }
        "start" => {
            machines.start(&a.arg)?;
            println!("Successfully started VM {}", a.arg);
        }
        "stop" => {
            machines.stop(&a.arg, STOP_TIMEOUT)?;
            println!("Successfully completed stop for VM {}", a.arg);
        }
        "reboot" => {
            machines.reboot(&a.arg, STOP_TIMEOUT)?;
            println!("Successfully completed reboot for VM {}", a.arg);
        }
        "delete" => {
            machines.delete(&a.arg)?;
            println!("Successfully deleted VM {}", a.arg);
        }
        _ => unreachable!("parse() admits only the commands above"),
    }
    Ok(())
}

fn main() -> ExitCode {
    // A closed stdout ends the program quietly instead of a panic.
    // SAFETY: resetting SIGPIPE to its default before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let a = match parse() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("vmadm: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string();
            eprintln!("vmadm: {}", text.lines().next().unwrap_or_default());
            ExitCode::FAILURE
        }
    }
}
