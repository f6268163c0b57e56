//! Images on a pool, in the manner of SmartOS's `imgadm`.
//!
//! ```text
//! imgadm [--pool POOL] import -m MANIFEST -f FILE
//! imgadm [--pool POOL] list
//! imgadm [--pool POOL] get UUID
//! imgadm [--pool POOL] delete UUID
//! ```
//!
//! Images live at `POOL/<uuid>@final` (default pool `zones`, as on
//! SmartOS). `import` checks the file's size and SHA-1 against the
//! manifest, decompresses it (none, gzip, bzip2, xz) and receives it, all
//! or nothing; on a terminal it shows what it is doing (bytes, rate,
//! verification), and is quiet otherwise. `list` prints a table, `get` the
//! image as JSON. Exit status 0 on success, 1 with a one-line reason on
//! any error, 2 on bad usage.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use hull::image::{Image, Images, Manifest, Progress};
use hull::zfs::Zfs;

const USAGE: &str =
    "usage: imgadm [--pool POOL] import -m MANIFEST -f FILE | list | get UUID | delete UUID";

enum Cmd {
    Import { manifest: String, file: String },
    List,
    Get(String),
    Delete(String),
}

fn parse() -> Result<(String, Cmd), String> {
    let mut args = std::env::args().skip(1).peekable();
    let mut pool = "zones".to_string();
    if args.peek().map(String::as_str) == Some("--pool") {
        args.next();
        pool = args.next().ok_or("--pool needs a pool name")?;
    }
    let sub = args.next().ok_or("no command")?;
    let rest: Vec<String> = args.collect();
    let one = |what: &str| -> Result<String, String> {
        match rest.as_slice() {
            [uuid] => Ok(uuid.clone()),
            _ => Err(format!("{what} takes one image UUID")),
        }
    };
    let cmd = match sub.as_str() {
        "import" => {
            let (mut manifest, mut file) = (None, None);
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                match a.as_str() {
                    "-m" => manifest = Some(v.clone()),
                    "-f" => file = Some(v.clone()),
                    _ => return Err(format!("unknown import option {a}")),
                }
            }
            Cmd::Import {
                manifest: manifest.ok_or("import needs -m MANIFEST")?,
                file: file.ok_or("import needs -f FILE")?,
            }
        }
        "list" if rest.is_empty() => Cmd::List,
        "list" => return Err("list takes no arguments".into()),
        "get" => Cmd::Get(one("get")?),
        "delete" => Cmd::Delete(one("delete")?),
        other => return Err(format!("unknown command {other:?}")),
    };
    Ok((pool, cmd))
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn json(image: &Image) -> String {
    let v = serde_json::json!({
        "manifest": image.manifest,
        "zpool": image.dataset.pool(),
        "dataset": image.dataset.as_str(),
        "snapshot": image.snapshot.as_str(),
    });
    serde_json::to_string_pretty(&v).expect("plain JSON values")
}

fn run(pool: &str, cmd: Cmd) -> Result<(), String> {
    let zfs = Zfs::open().map_err(|e| e.to_string())?;
    let root = pool.parse().map_err(|e: hull::Error| e.to_string())?;
    let images = Images::new(&zfs, root);
    match cmd {
        Cmd::Import { manifest, file } => {
            let text =
                std::fs::read_to_string(&manifest).map_err(|e| format!("{manifest}: {e}"))?;
            let m = Manifest::from_json(&text).map_err(|e| e.to_string())?;
            let tty = std::io::stderr().is_terminal();
            if tty {
                eprintln!("Importing {} ({}@{})", m.uuid, m.name, m.version);
            }
            // Each phase's rate from its own start.
            let mut phase = ("verifying", Instant::now());
            let mut show = |p: Progress| {
                if !tty {
                    return;
                }
                let (what, done, total) = match p {
                    Progress::Verifying { done, total } => ("verifying", done, total),
                    Progress::Receiving { done, total } => ("receiving", done, total),
                };
                if phase.0 != what {
                    phase = (what, Instant::now());
                    eprintln!();
                }
                let rate = mib(done) / phase.1.elapsed().as_secs_f64().max(1e-3);
                eprint!(
                    "\r{what} {:.1}/{:.1} MiB ({rate:.1} MiB/s)   ",
                    mib(done),
                    mib(total)
                );
            };
            let image = images
                .import_with_progress(&m, file.as_ref(), &mut show)
                .map_err(|e| e.to_string());
            if tty {
                eprintln!();
            }
            let image = image?;
            println!(
                "Imported image {} ({}@{}) to \"{}\"",
                image.manifest.uuid, image.manifest.name, image.manifest.version, image.snapshot
            );
        }
        Cmd::List => {
            let all = images.list().map_err(|e| e.to_string())?;
            println!(
                "{:<36}  {:<24}  {:<10}  {:<8}  TYPE",
                "UUID", "NAME", "VERSION", "OS"
            );
            for i in all {
                let m = &i.manifest;
                println!(
                    "{:<36}  {:<24}  {:<10}  {:<8}  {}",
                    m.uuid, m.name, m.version, m.os, m.kind
                );
            }
        }
        Cmd::Get(uuid) => {
            let image = images.get(&uuid).map_err(|e| e.to_string())?;
            println!("{}", json(&image));
        }
        Cmd::Delete(uuid) => {
            images.delete(&uuid).map_err(|e| e.to_string())?;
            println!("Deleted image {uuid}");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    // A closed stdout (`imgadm list | head -1`) ends the program quietly,
    // as for any Unix tool, instead of a panic in println!.
    // SAFETY: resetting SIGPIPE to its default before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let (pool, cmd) = match parse() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("imgadm: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&pool, cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("imgadm: {}", why.lines().next().unwrap_or_default());
            ExitCode::FAILURE
        }
    }
}
