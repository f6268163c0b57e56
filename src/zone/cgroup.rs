//! A zone's cgroups on Linux: `hull/<zone>` in every cgroup hierarchy the
//! host has mounted, so INIT leaves all of the caller's cgroups (on a
//! hybrid host that includes `name=systemd` and the unified v2 hierarchy:
//! restarting the service that booted a zone does not take the zone with
//! it), with the zone's caps and its device allow-list.
//!
//! * **v1** (legacy or hybrid, as on this project's hosts): the `memory`,
//!   `pids` and `cpu` controllers carry the caps, `devices` the allow-list
//!   ([`super::devices::ZONE_DEVICES`]); every other hierarchy is joined so
//!   that the caller's cgroup there can be removed.
//! * **pure v2**: one `hull/<zone>` with `memory.max`, `pids.max`,
//!   `cpu.max` and a BPF device program. hull never writes the root's
//!   `cgroup.subtree_control`: the controllers a zone's caps need must be
//!   delegated to the root's children by whoever owns the host (systemd:
//!   `Delegate=yes`), and a missing one is a typed error that says so.
//!
//! A cap whose controller is not there is always an error
//! ([`ErrorKind::Unsupported`]), never silently skipped.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::devices::{self, ZONE_DEVICES};
use super::Caps;
use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::ZoneName;

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hierarchy {
    /// Where it is mounted.
    dir: PathBuf,
    /// Its controllers (v1; `name=systemd` counts as one), empty for v2.
    controllers: Vec<String>,
    /// A cgroup2 hierarchy.
    v2: bool,
}

impl Hierarchy {
    fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// Every cgroup hierarchy mounted in this mount namespace, once each.
fn hierarchies() -> io::Result<Vec<Hierarchy>> {
    let text = fs::read_to_string("/proc/thread-self/mountinfo")?;
    let mut out: Vec<Hierarchy> = Vec::new();
    for line in text.lines() {
        // id parent dev root mountpoint opts [optional...] - fstype source superopts
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        let (fstype, _source, superopts) = (r.next(), r.next(), r.next().unwrap_or(""));
        let v2 = match fstype {
            Some("cgroup2") => true,
            Some("cgroup") => false,
            _ => continue,
        };
        let l: Vec<&str> = left.split(' ').collect();
        if l.get(3) != Some(&"/") {
            continue; // a bind of a sub-cgroup, not the hierarchy's root
        }
        let Some(dir) = l.get(4).map(|d| PathBuf::from(unescape(d))) else {
            continue;
        };
        let controllers: Vec<String> = if v2 {
            Vec::new()
        } else {
            superopts
                .split(',')
                .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains("clone_children"))
                .filter(|o| !o.starts_with("release_agent") && *o != "noprefix")
                .filter(|o| !o.starts_with("xattr") && !o.starts_with("nsdelegate"))
                .map(str::to_string)
                .collect()
        };
        let h = Hierarchy {
            dir,
            controllers,
            v2,
        };
        if !out
            .iter()
            .any(|o| o.v2 == h.v2 && o.controllers == h.controllers)
        {
            out.push(h);
        }
    }
    Ok(out)
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let n = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(n);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn layout(name: &ZoneName) -> Result<(bool, Vec<Hierarchy>)> {
    let hs = hierarchies().map_err(|e| {
        Error::os(
            Op::BootZone,
            format!("{name}: /proc/thread-self/mountinfo"),
            e,
        )
    })?;
    let pure_v2 = hs.iter().all(|h| h.v2) && hs.iter().any(|h| h.v2);
    if hs.is_empty() {
        return Err(Error::new(
            Op::BootZone,
            format!("{name}: cgroups"),
            ErrorKind::Unsupported("no cgroup hierarchy is mounted"),
        ));
    }
    Ok((pure_v2, hs))
}

/// The zone's cgroup directories that exist now, one per hierarchy.
pub(crate) fn dirs(name: &ZoneName) -> Vec<PathBuf> {
    hierarchies()
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.dir.join("hull").join(name.as_str()))
        .filter(|d| d.exists())
        .collect()
}

fn missing(controller: &str) -> ErrorKind {
    ErrorKind::Unsupported(match controller {
        "memory" => "the memory cgroup controller (for the memory cap) is not available",
        "pids" => "the pids cgroup controller (for the process cap) is not available",
        "cpu" => "the cpu cgroup controller (for the CPU cap) is not available",
        _ => "the devices cgroup controller (for the device allow-list) is not available",
    })
}

/// Creates the zone's cgroups with its caps and device allow-list and
/// returns the directories INIT must join. On failure nothing is left.
pub(crate) fn create(name: &ZoneName, caps: &Caps) -> Result<Vec<PathBuf>> {
    let (pure_v2, hs) = layout(name)?;
    let made = if pure_v2 {
        create_v2(name, caps, &hs[0])
    } else {
        create_v1(name, caps, &hs)
    };
    if made.is_err() {
        let _ = remove(name);
    }
    made
}

fn err(name: &ZoneName, p: &Path, e: io::Error) -> Error {
    Error::os(Op::BootZone, format!("{name}: cgroup {}", p.display()), e)
}

/// A device-list error, its kind from the errno it wraps.
fn dev_err(name: &ZoneName, p: &Path, e: io::Error) -> Error {
    let kind = devices::errno(&e).map(ErrorKind::from_errno);
    let mut e = err(name, p, e);
    if let Some(k) = kind {
        e.kind = k;
    }
    e
}

fn write(name: &ZoneName, dir: &Path, file: &str, value: &str) -> Result<()> {
    let p = dir.join(file);
    fs::write(&p, value).map_err(|e| err(name, &p, e))
}

/// Makes `dir` fresh: a leftover empty directory from an earlier boot is
/// removed first; one that still holds processes is `Busy`, never reused.
fn make_fresh(name: &ZoneName, dir: &Path) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_dir(dir).map_err(|e| err(name, dir, e))?;
            fs::create_dir(dir).map_err(|e| err(name, dir, e))
        }
        Err(e) => Err(err(name, dir, e)),
    }
}

fn create_v1(name: &ZoneName, caps: &Caps, hs: &[Hierarchy]) -> Result<Vec<PathBuf>> {
    let need = |c: &str, wanted: bool| -> Result<()> {
        if wanted && !hs.iter().any(|h| h.has(c)) {
            return Err(Error::new(
                Op::BootZone,
                format!("{name}: cgroup {c}"),
                missing(c),
            ));
        }
        Ok(())
    };
    need("memory", caps.memory_bytes.is_some())?;
    need("pids", caps.max_processes.is_some())?;
    need("cpu", caps.cpu_percent.is_some())?;
    need("devices", true)?;
    let mut dirs = Vec::new();
    for h in hs {
        let parent = h.dir.join("hull");
        match fs::create_dir(&parent) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(name, &parent, e)),
        }
        if h.has("cpuset") {
            inherit_cpuset(name, &parent)?;
        }
        let d = parent.join(name.as_str());
        make_fresh(name, &d)?;
        dirs.push(d.clone());
        if h.has("cpuset") {
            inherit_cpuset(name, &d)?;
        }
        if h.has("memory") {
            if let Some(m) = caps.memory_bytes {
                write(name, &d, "memory.limit_in_bytes", &m.to_string())?;
                // Without swap accounting this file is absent; the limit still holds RAM.
                let _ = fs::write(d.join("memory.memsw.limit_in_bytes"), m.to_string());
                let _ = fs::write(d.join("memory.swappiness"), "0");
            }
        }
        if h.has("pids") {
            if let Some(p) = caps.max_processes {
                write(name, &d, "pids.max", &p.to_string())?;
            }
        }
        if h.has("cpu") {
            if let Some(c) = caps.cpu_percent {
                write(name, &d, "cpu.cfs_period_us", "100000")?;
                write(name, &d, "cpu.cfs_quota_us", &(c as u64 * 1000).to_string())?;
            }
        }
        if h.has("devices") {
            devices::apply_v1(&d, ZONE_DEVICES).map_err(|e| dev_err(name, &d, e))?;
        }
    }
    Ok(dirs)
}

/// A new cpuset cgroup starts with no CPUs and no memory nodes; give it
/// its parent's.
fn inherit_cpuset(name: &ZoneName, dir: &Path) -> Result<()> {
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let mine = fs::read_to_string(dir.join(f)).map_err(|e| err(name, &dir.join(f), e))?;
        if mine.trim().is_empty() {
            let from = dir.parent().expect("below a hierarchy").join(f);
            let theirs = fs::read_to_string(&from).map_err(|e| err(name, &from, e))?;
            write(name, dir, f, theirs.trim())?;
        }
    }
    Ok(())
}

fn create_v2(name: &ZoneName, caps: &Caps, h: &Hierarchy) -> Result<Vec<PathBuf>> {
    let wanted: Vec<&str> = [
        ("memory", caps.memory_bytes.is_some()),
        ("pids", caps.max_processes.is_some()),
        ("cpu", caps.cpu_percent.is_some()),
    ]
    .iter()
    .filter(|(_, w)| *w)
    .map(|(c, _)| *c)
    .collect();
    let delegated = fs::read_to_string(h.dir.join("cgroup.subtree_control")).unwrap_or_default();
    if let Some(c) = wanted
        .iter()
        .find(|c| !delegated.split_whitespace().any(|d| d == **c))
    {
        return Err(Error::new(
            Op::BootZone,
            format!(
                "{name}: cgroup {c} (not in {}/cgroup.subtree_control; hull does not write the root's: delegate it, e.g. systemd Delegate=yes)",
                h.dir.display()
            ),
            missing(c),
        ));
    }
    let parent = h.dir.join("hull");
    match fs::create_dir(&parent) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(err(name, &parent, e)),
    }
    if !wanted.is_empty() {
        let on: Vec<String> = wanted.iter().map(|c| format!("+{c}")).collect();
        write(name, &parent, "cgroup.subtree_control", &on.join(" "))?;
    }
    let d = parent.join(name.as_str());
    make_fresh(name, &d)?;
    if let Some(m) = caps.memory_bytes {
        write(name, &d, "memory.max", &m.to_string())?;
        let _ = fs::write(d.join("memory.swap.max"), "0");
    }
    if let Some(p) = caps.max_processes {
        write(name, &d, "pids.max", &p.to_string())?;
    }
    if let Some(c) = caps.cpu_percent {
        write(name, &d, "cpu.max", &format!("{} 100000", c as u64 * 1000))?;
    }
    devices::apply_v2(&d, ZONE_DEVICES).map_err(|e| dev_err(name, &d, e))?;
    Ok(vec![d])
}

/// Kills every process left in the zone's cgroups (`cgroup.kill` where the
/// kernel has it, else SIGKILL to each listed process), then removes them.
/// For leftovers of a caller killed part-way: never reused.
pub(crate) fn kill_and_remove(name: &ZoneName) -> Result<()> {
    for d in dirs(name) {
        let kill = d.join("cgroup.kill");
        if kill.exists() && fs::write(&kill, "1").is_ok() {
            continue;
        }
        for pid in fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
        {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                // SAFETY: a process listed in this zone's own cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    remove(name)
}

/// Removes the zone's cgroups, once no process is left in them.
pub(crate) fn remove(name: &ZoneName) -> Result<()> {
    for d in dirs(name) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match fs::remove_dir(&d) {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => {
                    return Err(Error::os(
                        Op::HaltZone,
                        format!("{name}: cgroup {}", d.display()),
                        e,
                    ))
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape(r"/sys/fs/cgroup/a\040b"), "/sys/fs/cgroup/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn this_hosts_hierarchies_are_found_once_each() {
        let hs = hierarchies().unwrap();
        let mut seen = std::collections::HashSet::new();
        for h in &hs {
            assert!(seen.insert((h.v2, h.controllers.clone())), "{h:?} twice");
        }
        if Path::new("/sys/fs/cgroup/memory").exists() {
            assert!(hs.iter().any(|h| h.has("memory")), "{hs:?}");
        }
    }
}
