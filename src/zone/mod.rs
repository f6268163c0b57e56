//! Zones: configuration, state and lifecycle.
//!
//! [`ZoneConfig`] (serde), the eight illumos zone [`State`]s with only the
//! legal transitions, and one [`Zones`] type with two backends behind it
//! (configure, install, boot, wait, halt, shutdown, reboot, uninstall,
//! delete, state, list), chosen by [`Zones::open`]:
//!
//! * **Linux** ([`Zones`], tested here): records under a state directory,
//!   written atomically; INIT as PID 1 in new pid, mount, uts, ipc, net and
//!   cgroup namespaces (and, opt-in, a user namespace), pivoted into
//!   `<zonepath>/root`, with the zone's mounts and links, its name as
//!   hostname, and cgroup caps (v1 controllers, as on this project's hybrid
//!   hosts, or pure v2).
//! * **illumos**: libzonecfg plus `zoneadm`, verified only through fakes
//!   here, which go through the same type ([`Zones::with_zonecfg`]).
//!
//! ## What a zone's root cannot do (Linux)
//!
//! A zone is handed to a tenant who is root inside it. On illumos the
//! kernel keeps such a root in its zone; on Linux hull builds the same from
//! parts, at least as tightly as crun's default spec, except that the
//! zone's root keeps Docker's 14 capabilities (so it can still change
//! owners, run setuid programs and bind low ports in its zone):
//!
//! | what | how |
//! |---|---|
//! | capabilities | bounding, effective and permitted sets = `limitpriv` ([`caps::DEFAULT_LIMITPRIV`] unless configured); inheritable and ambient sets empty |
//! | system calls | the [`seccomp`] filter (module loading, kexec, `bpf`, keyrings, new namespaces, mounts, clock setting, ... answer `EPERM`); `seccomp: false` turns it off |
//! | devices | a private tmpfs `/dev` with `null`, `zero`, `full`, `random`, `urandom`, `tty`, a private `devpts` (`ptmx`), `shm`, and the `fd`/`stdin`/`stdout`/`stderr` links; the cgroup allows those devices and no other (v1 `devices`, or a BPF program on pure v2) |
//! | `/proc`, `/sys` | crun's masked paths (`kcore`, `keys`, `timer_list`, `sched_debug`, `acpi`, `scsi`, `/sys/firmware`, ...) and the host's page maps (`kpagecount`, `kpageflags`, `kpagecgroup`) hidden, `/proc/sys`, `sysrq-trigger`, `irq`, `bus`, `fs` read-only; `/sys` read-only |
//! | cgroups | its own `hull/<zone>` in every hierarchy (it leaves the caller's, `name=systemd` included), seen through a cgroup namespace |
//! | ids | opt-in [`UserNs`]: the zone's root is an unprivileged host uid; install shifts the root's owners. Without it the zone's root is host uid 0: it shares root's per-user kernel limits (inotify instances, pending signals) with the host, and a read-write mount source must lie below a directory only root can enter. Use it for untrusted tenants |
//! | what it inherits | no fd beyond 0–2 (`close_range`), and those are the zone's `/dev/null` or pipes to a relay, never a host file ([`Console`]); every signal at its default and none blocked; an environment of `PATH`, `HOSTNAME` and the configured `env`; a session and session keyring of its own; umask 022 |
//! | paths | zonepaths absolute, normalized, never nested, made by hull, root's with mode 0700, below no directory another user could write (unless sticky); mount targets resolved inside the root with `openat2(RESOLVE_IN_ROOT \| RESOLVE_NO_SYMLINKS)` and mounted by descriptor; read-only mounts recursive (`mount_setattr(AT_RECURSIVE)`); symlinked sources refused unless `follow_symlinks` |
//!
//! ```no_run
//! use hull::zone::{ZoneConfig, Zones};
//!
//! let zones = Zones::open("/var/lib/hull/zones")?;
//! let cfg: ZoneConfig = serde_json::from_str(r#"{
//!     "name": "web01", "zonepath": "/zones/web01", "init": ["/sbin/init"],
//!     "limit_priv": "default,sys_ptrace", "console": "log",
//!     "userns": {"host_uid": 1000000, "host_gid": 1000000, "count": 65536}
//! }"#).unwrap();
//! zones.configure(&cfg)?;
//! zones.install(&cfg.name, "/images/base-root".as_ref())?;
//! println!("{:?}", zones.state(&cfg.name)?); // Installed
//! # Ok::<(), hull::Error>(())
//! ```

pub mod caps;
#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod child;
#[cfg(target_os = "linux")]
mod console;
#[cfg(target_os = "linux")]
mod copy;
#[cfg(target_os = "linux")]
mod devices;
pub mod illumos;
mod index;
mod linux;
mod net;
#[cfg(target_os = "linux")]
pub(crate) mod paths;
#[cfg(target_os = "linux")]
mod remove;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
pub mod seccomp;
#[cfg(target_os = "linux")]
mod xattr;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::ZoneName;

pub use linux::DEFAULT_STATE_DIR;
pub use net::{IpCidr, Net};

/// A running Linux zone's INIT: its host PID and start time (clock ticks
/// since boot, `/proc/<pid>/stat` field 22), which together survive PID
/// reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitProc {
    /// INIT's PID in the host's PID namespace.
    pub pid: i32,
    /// Its start time, in clock ticks since boot.
    pub start_time: u64,
}

impl InitProc {
    /// Whether this exact process is still alive (not a zombie).
    pub fn alive(&self) -> bool {
        match stat(self.pid) {
            Some((start, state)) => start == self.start_time && state != 'Z' && state != 'X',
            None => false,
        }
    }

    /// A pidfd for this exact process (Linux `pidfd_open`), or `None` if it
    /// is gone. The start time is checked after the fd is open, so the fd
    /// cannot name a process that reused the pid; signals sent through it
    /// reach INIT or no one.
    #[cfg(target_os = "linux")]
    pub(crate) fn pidfd(&self) -> Option<std::os::fd::OwnedFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open with a pid and no flags; a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, self.pid, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: a fresh fd owned by no one else.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
        self.alive().then_some(fd)
    }
}

/// `(start time, state)` from `/proc/<pid>/stat`.
pub(crate) fn stat(pid: i32) -> Option<(u64, char)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(19)?.parse().ok()?, f.first()?.chars().next()?))
}

/// A fault-injection point for the crash tests: when the environment
/// variable `HULL_FAULT_KILL_AT` names this point, the calling process
/// kills itself (SIGKILL) here, as an agent killed at that moment would
/// be. Unset in production, where it costs one environment lookup.
#[doc(hidden)]
pub fn fault_point(point: &str) {
    if std::env::var_os("HULL_FAULT_KILL_AT").is_some_and(|p| p == point) {
        // SAFETY: signalling this very process; nothing after it runs.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

/// What a successful boot reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booted {
    /// INIT, where the platform tells (Linux); `None` on illumos, where
    /// `zoneadmd` starts the zone's init.
    pub init: Option<InitProc>,
}

/// Where a zone is installed from. illumos brands each install from their
/// own kind of source, given to `zoneadm install` in the options the
/// brand's installer documents; hull builds that argv per brand
/// (`zone::illumos`) and refuses a source the brand does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// A prepared root directory: copied into a Linux zone; on illumos the
    /// system-image install of OmniOS's `ipkg` and `lipkg` and gate's
    /// `ipkg`, `labeled` and `solaris10` (`-d DIR -p`: installed as it is,
    /// identity preserved). `/` is refused there.
    Root(PathBuf),
    /// An imported SmartOS image, cloned by the SmartOS `joyent`,
    /// `joyent-minimal`, `lx`, `kvm` and `bhyve` brands (`-x nodataset -t
    /// UUID`), with an optional quota in GiB (`-q`; the installer's default
    /// is 10).
    Image {
        /// The image's uuid: the installer clones `<dataset>/<uuid>@final`,
        /// where `<dataset>` is the one mounted at the zonepath's parent
        /// (`zones` on SmartOS).
        uuid: String,
        /// The zone dataset's quota, GiB.
        quota_gb: Option<u32>,
    },
    /// An archive (tar or `zfs send` stream, possibly compressed) or a ZFS
    /// dataset or snapshot: the OmniOS `lx` and `illumos` brands (`-s`).
    Archive(String),
    /// What the brand installs by itself: packages from its publisher
    /// (OmniOS `ipkg`, `lipkg`, `sparse`, `pkgsrc`; gate `ipkg`) or nothing
    /// (OmniOS `bhyve`, `kvm`, `emu`: a plain `zoneadm install`; SmartOS
    /// `kvm`, `bhyve`: `-x nodataset`).
    BrandDefault,
}

/// One backend of [`Zones`]: the Linux state directory, or libzonecfg
/// plus zoneadm on illumos.
pub(crate) trait ZoneBackend: Send + Sync {
    fn configure(&self, config: &ZoneConfig) -> Result<()>;
    fn install(&self, name: &ZoneName, from: &Install) -> Result<()>;
    fn boot(&self, name: &ZoneName) -> Result<Booted>;
    fn wait(&self, name: &ZoneName) -> Result<i32>;
    fn halt(&self, name: &ZoneName) -> Result<()>;
    fn shutdown(&self, name: &ZoneName, timeout: std::time::Duration) -> Result<()>;
    fn reboot(&self, name: &ZoneName) -> Result<Booted>;
    fn uninstall(&self, name: &ZoneName) -> Result<()>;
    fn delete(&self, name: &ZoneName) -> Result<()>;
    fn state(&self, name: &ZoneName) -> Result<State>;
    fn get(&self, name: &ZoneName) -> Result<ZoneConfig>;
    fn list(&self) -> Result<Vec<(ZoneName, State, PathBuf)>>;
    fn netns(&self, name: &ZoneName) -> Result<PathBuf>;
}

/// The zones of this host, on either platform: the same type, receivers and
/// return types on Linux and illumos (the backend is chosen when opened).
/// Cheap to clone; clones share the backend.
#[derive(Clone)]
pub struct Zones {
    backend: std::sync::Arc<dyn ZoneBackend>,
}

impl std::fmt::Debug for Zones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Zones")
    }
}

impl Zones {
    /// The platform's zones: on Linux, those recorded in `state_dir`
    /// (created, mode 0700, if missing; [`DEFAULT_STATE_DIR`] is the usual
    /// one); on illumos, libzonecfg's (the directory is not used).
    pub fn open(state_dir: impl AsRef<Path>) -> Result<Zones> {
        #[cfg(target_os = "illumos")]
        {
            let _ = state_dir;
            Ok(Zones::with_zonecfg(
                illumos::LibZonecfg::load()?,
                illumos::ZoneadmCommand,
            ))
        }
        #[cfg(not(target_os = "illumos"))]
        Ok(Zones {
            backend: std::sync::Arc::new(linux::LinuxZones::open(state_dir)?),
        })
    }

    /// illumos zones over the given libzonecfg table and zoneadm runner
    /// (the real ones, or fakes in tests), on any platform.
    pub fn with_zonecfg(
        calls: impl illumos::ZonecfgCalls + 'static,
        zoneadm: impl illumos::Zoneadm + 'static,
    ) -> Zones {
        Zones {
            backend: std::sync::Arc::new(illumos::Backend::new(calls, zoneadm)),
        }
    }

    /// Records a new zone, configured. Refuses an invalid configuration and
    /// a name already taken (and, on Linux, a zonepath inside or around
    /// another zone's, or one that contains the state directory).
    pub fn configure(&self, config: &ZoneConfig) -> Result<()> {
        self.backend.configure(config)
    }

    /// Installs a configured zone from a prepared root file system; on
    /// failure nothing is left and the zone is configured again. The same
    /// as [`install_from`](Self::install_from) with [`Install::Root`].
    pub fn install(&self, name: &ZoneName, root: &Path) -> Result<()> {
        self.backend
            .install(name, &Install::Root(root.to_path_buf()))
    }

    /// Installs a configured zone from `from`. Linux zones install from a
    /// [`Install::Root`] only; on illumos each brand takes the sources its
    /// installer documents (see [`Install`]), and any other is refused
    /// before zoneadm runs.
    ///
    /// ```no_run
    /// # fn main() -> hull::Result<()> {
    /// use hull::zone::{Install, Zones};
    /// let zones = Zones::open(hull::zone::DEFAULT_STATE_DIR)?;
    /// // A SmartOS joyent-brand zone from an imported image, 20 GB quota.
    /// zones.install_from(
    ///     &"web01".parse()?,
    ///     &Install::Image {
    ///         uuid: "5e164fac-286d-11e4-9cf7-b3f73eefcd01".into(),
    ///         quota_gb: Some(20),
    ///     },
    /// )?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn install_from(&self, name: &ZoneName, from: &Install) -> Result<()> {
        self.backend.install(name, from)
    }

    /// Boots an installed zone (see the module docs for what confines it
    /// on Linux). A boot that fails part-way leaves it installed.
    pub fn boot(&self, name: &ZoneName) -> Result<Booted> {
        self.backend.boot(name)
    }

    /// Waits for a running zone's INIT to exit and returns its exit code
    /// (128 + signal if killed). Linux: only the process that booted the
    /// zone can wait; illumos: unsupported.
    pub fn wait(&self, name: &ZoneName) -> Result<i32> {
        self.backend.wait(name)
    }

    /// Halts a running (or down) zone: every process of it is killed.
    pub fn halt(&self, name: &ZoneName) -> Result<()> {
        self.backend.halt(name)
    }

    /// Shuts a running zone down gently, then halts what is left after
    /// `timeout`.
    pub fn shutdown(&self, name: &ZoneName, timeout: std::time::Duration) -> Result<()> {
        self.backend.shutdown(name, timeout)
    }

    /// Reboots a running zone.
    pub fn reboot(&self, name: &ZoneName) -> Result<Booted> {
        self.backend.reboot(name)
    }

    /// Uninstalls an installed (or incomplete) zone.
    pub fn uninstall(&self, name: &ZoneName) -> Result<()> {
        self.backend.uninstall(name)
    }

    /// Deletes a configured zone.
    pub fn delete(&self, name: &ZoneName) -> Result<()> {
        self.backend.delete(name)
    }

    /// A zone's state.
    pub fn state(&self, name: &ZoneName) -> Result<State> {
        self.backend.state(name)
    }

    /// A zone's configuration (Linux; illumos: unsupported so far).
    pub fn get(&self, name: &ZoneName) -> Result<ZoneConfig> {
        self.backend.get(name)
    }

    /// Every zone: name, state, zonepath, by name.
    pub fn list(&self) -> Result<Vec<(ZoneName, State, PathBuf)>> {
        self.backend.list()
    }

    /// The network namespace of a running Linux zone, for
    /// [`crate::vnic::Vnics::move_into`]; illumos: unsupported (an
    /// exclusive-IP zone's links are named in its configuration).
    pub fn netns(&self, name: &ZoneName) -> Result<PathBuf> {
        self.backend.netns(name)
    }
}

/// A zone's state: illumos's eight (`ZONE_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Configured, not installed.
    Configured,
    /// An install or uninstall is under way or failed part-way.
    Incomplete,
    /// Installed, not running.
    Installed,
    /// Its kernel context exists; no processes yet.
    Ready,
    /// Running.
    Running,
    /// Being shut down.
    ShuttingDown,
    /// Shut down; its kernel context not yet torn down.
    Down,
    /// Its file systems are mounted for administration.
    Mounted,
}

impl State {
    /// The `ZONE_STATE_*` value illumos uses.
    pub fn illumos_value(self) -> i32 {
        self as i32
    }

    fn name(self) -> &'static str {
        match self {
            State::Configured => "configured",
            State::Incomplete => "incomplete",
            State::Installed => "installed",
            State::Ready => "ready",
            State::Running => "running",
            State::ShuttingDown => "shutting down",
            State::Down => "down",
            State::Mounted => "mounted",
        }
    }
}

/// A lifecycle operation, for the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Configured → Installed.
    Install,
    /// Installed → Running (through Ready).
    Boot,
    /// Running or Ready → Installed.
    Halt,
    /// Running → Installed, gently.
    Shutdown,
    /// Running → Running.
    Reboot,
    /// Installed (or Incomplete) → Configured.
    Uninstall,
    /// Configured → gone.
    Delete,
}

impl Transition {
    fn name(self) -> &'static str {
        match self {
            Transition::Install => "install",
            Transition::Boot => "boot",
            Transition::Halt => "halt",
            Transition::Shutdown => "shut down",
            Transition::Reboot => "reboot",
            Transition::Uninstall => "uninstall",
            Transition::Delete => "delete",
        }
    }

    /// The state an operation from `from` leads to, or a typed
    /// invalid-state error when illumos would refuse it.
    pub fn check(self, from: State) -> Result<Option<State>> {
        use State::*;
        use Transition::*;
        let to = match (self, from) {
            (Install, Configured) => Some(Installed),
            (Boot, Installed | Ready) => Some(Running),
            (Halt, Running | Ready | ShuttingDown | Down) => Some(Installed),
            (Shutdown, Running) => Some(Installed),
            (Reboot, Running) => Some(Running),
            (Uninstall, Installed | Incomplete) => Some(Configured),
            (Delete, Configured | Incomplete) => None,
            _ => {
                return Err(Error::new(
                    Op::QueryZone,
                    "zone",
                    ErrorKind::InvalidState {
                        from: from.name().to_string(),
                        op: self.name(),
                    },
                ))
            }
        };
        Ok(to)
    }
}

/// A file system mounted into the zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsMount {
    /// Host path.
    pub source: PathBuf,
    /// Path inside the zone (absolute).
    pub target: PathBuf,
    /// Mounted read-only, with every mount below it (recursively).
    #[serde(default)]
    pub readonly: bool,
    /// Accept a `source` that is a symbolic link (refused by default, so
    /// that a link swapped in by someone else cannot redirect the mount).
    #[serde(default)]
    pub follow_symlinks: bool,
}

/// Resource caps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    /// Memory, bytes.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// CPU, in hundredths of a CPU.
    #[serde(default)]
    pub cpu_percent: Option<u32>,
    /// Processes.
    #[serde(default)]
    pub max_processes: Option<u32>,
}

/// A zone's configuration: deserializes straight from a vmadm-style JSON
/// payload's zone fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneConfig {
    /// Its name.
    pub name: ZoneName,
    /// Where it lives (absolute); its root is `<zonepath>/root`.
    pub zonepath: PathBuf,
    /// Its brand.
    #[serde(default = "default_brand")]
    pub brand: String,
    /// Boot when the host boots.
    #[serde(default)]
    pub autoboot: bool,
    /// Its own IP stack (always on Linux: a network namespace).
    #[serde(default = "yes")]
    pub exclusive_ip: bool,
    /// Links handed to it, with the addresses, MTU and default routes hull
    /// configures on them inside (see [`Net`]).
    #[serde(default)]
    pub nets: Vec<Net>,
    /// File systems mounted into it.
    #[serde(default)]
    pub mounts: Vec<FsMount>,
    /// Resource caps.
    #[serde(default)]
    pub caps: Caps,
    /// Its init: the program run as PID 1, with arguments.
    pub init: Vec<String>,
    /// The capabilities its root keeps (SmartOS's `limit_priv`): Linux
    /// names, with or without `CAP_`, or `default` for Docker's 14
    /// ([`caps::DEFAULT_LIMITPRIV`]). Absent: the default. In JSON, a list
    /// or a comma-separated string as vmadm writes it.
    #[serde(
        default,
        alias = "limit_priv",
        deserialize_with = "de_limitpriv",
        skip_serializing_if = "Option::is_none"
    )]
    pub limitpriv: Option<Vec<String>>,
    /// The seccomp filter described in [`seccomp`] (on by default).
    #[serde(default = "yes")]
    pub seccomp: bool,
    /// Runs the zone in its own user namespace, its root mapped to an
    /// unprivileged range of host ids (opt-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns: Option<UserNs>,
    /// INIT's environment beyond `PATH` and `HOSTNAME`; nothing else of
    /// the caller's environment reaches the zone.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Where INIT's stdin, stdout and stderr go.
    #[serde(default)]
    pub console: Console,
}

/// A user namespace for a zone: ids `0..count` inside are host ids
/// `host_uid..host_uid+count` (and the same for groups), so the zone's root
/// is an unprivileged user on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserNs {
    /// The host uid the zone's root (uid 0) maps to.
    pub host_uid: u32,
    /// The host gid the zone's gid 0 maps to.
    pub host_gid: u32,
    /// How many ids are mapped (65536 gives a whole Unix id space).
    pub count: u32,
}

/// INIT's standard input, output and error. stdin is always the zone's
/// `/dev/null`. The zone never holds a host file: stdout and stderr are
/// pipes that a relay process (outside the zone's namespaces, inside its
/// cgroups, gone when it halts) copies to the destination, so the zone's
/// root cannot chmod, chown or set capabilities on a log file or on the
/// caller's terminal through its fds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Console {
    /// stdout and stderr copied to the calling process's stdout and stderr.
    Inherit,
    /// `/dev/null` for all three.
    #[default]
    Null,
    /// stdout and stderr appended to `<zonepath>/console.log` (outside the
    /// zone's root).
    Log,
    /// stdout and stderr appended to this file (absolute, not under the
    /// zonepath, reached through no symbolic link, a regular file), created
    /// 0600 if missing.
    File(PathBuf),
}

fn de_limitpriv<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        None => None,
        Some(Either::List(l)) => Some(l),
        Some(Either::Text(t)) => Some(
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        ),
    })
}

/// Paths inside a zone that a configured mount may not cover: hull mounts
/// its own `/proc`, `/dev` and `/sys` there.
const SYSTEM_DIRS: &[&str] = &["/proc", "/dev", "/sys"];

/// Whether `p` is absolute and already in normal form: no `.` or `..`
/// component, no repeated or trailing `/`.
pub(crate) fn is_normal_absolute(p: &Path) -> bool {
    let normal: PathBuf = p.components().collect();
    p.is_absolute()
        && normal.as_os_str() == p.as_os_str()
        && p.components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

fn default_brand() -> String {
    "hull".into()
}

fn yes() -> bool {
    true
}

impl ZoneConfig {
    /// Checks what the types cannot: absolute paths, an init, sane caps.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| {
            Err(Error::new(
                Op::ConfigureZone,
                self.name.as_str(),
                ErrorKind::InvalidArgument(why),
            ))
        };
        if !is_normal_absolute(&self.zonepath) || self.zonepath == Path::new("/") {
            return bad(format!(
                "zonepath {} is not an absolute, normalized path below / (no `.`, `..` or repeated `/`)",
                self.zonepath.display()
            ));
        }
        if self.init.first().is_none_or(|p| !p.starts_with('/')) {
            return bad("init is an absolute program path, then its arguments".into());
        }
        if self.init.iter().any(|a| a.contains('\0')) {
            return bad("init arguments contain no NUL".into());
        }
        for m in &self.mounts {
            if !is_normal_absolute(&m.target) || !is_normal_absolute(&m.source) {
                return bad(format!(
                    "mount {} -> {}: both paths are absolute and normalized (no `.` or `..`)",
                    m.source.display(),
                    m.target.display()
                ));
            }
            if m.target == Path::new("/") || SYSTEM_DIRS.iter().any(|d| m.target.starts_with(d)) {
                return bad(format!(
                    "mount target {}: / and hull's own {} are not mount targets",
                    m.target.display(),
                    SYSTEM_DIRS.join(", ")
                ));
            }
        }
        for (i, a) in self.mounts.iter().enumerate() {
            if let Some(b) = self.mounts[i + 1..]
                .iter()
                .find(|b| b.target.starts_with(&a.target) || a.target.starts_with(&b.target))
            {
                return bad(format!(
                    "mount targets {} and {} are inside one another",
                    a.target.display(),
                    b.target.display()
                ));
            }
        }
        if let Some(l) = &self.limitpriv {
            caps::mask(l)
                .map_err(|e| e.context(Op::ConfigureZone, format!("{}: limitpriv", self.name)))?;
        }
        if let Some(u) = &self.userns {
            let end = |base: u32| base.checked_add(u.count);
            if u.count == 0
                || u.host_uid == 0
                || u.host_gid == 0
                || end(u.host_uid).is_none()
                || end(u.host_gid).is_none()
            {
                return bad(format!(
                    "userns {}:{} x {}: a non-empty range of host ids above 0 that does not overflow",
                    u.host_uid, u.host_gid, u.count
                ));
            }
        }
        if let Some((k, _)) = self
            .env
            .iter()
            .find(|(k, v)| k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0'))
        {
            return bad(format!(
                "env {k:?}: a name without `=` or NUL, a value without NUL"
            ));
        }
        if let Console::File(p) = &self.console {
            if p.starts_with(&self.zonepath) {
                return bad(format!(
                    "console file {}: not under the zonepath, where the tenant could plant a link (use console \"log\")",
                    p.display()
                ));
            }
            if !is_normal_absolute(p) {
                return bad(format!(
                    "console file {}: an absolute, normalized path",
                    p.display()
                ));
            }
        }
        if self.caps.memory_bytes == Some(0)
            || self.caps.cpu_percent == Some(0)
            || self.caps.max_processes == Some(0)
        {
            return bad("a cap of 0 leaves nothing to run with".into());
        }
        if self.brand.is_empty()
            || !self
                .brand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad(format!("brand {:?} is not a brand name", self.brand));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pidfd_is_only_had_for_the_process_that_was_recorded() {
        let pid = std::process::id() as i32;
        let start = stat(pid).unwrap().0;
        let me = InitProc {
            pid,
            start_time: start,
        };
        assert!(me.alive() && me.pidfd().is_some());
        // The same pid with another start time: a reused pid, not INIT.
        let other = InitProc {
            pid,
            start_time: start + 1,
        };
        assert!(!other.alive() && other.pidfd().is_none());
    }

    #[test]
    fn only_legal_transitions() {
        use State::*;
        use Transition::*;
        assert_eq!(Install.check(Configured).unwrap(), Some(Installed));
        assert_eq!(Boot.check(Installed).unwrap(), Some(Running));
        assert_eq!(Halt.check(Running).unwrap(), Some(Installed));
        assert_eq!(Uninstall.check(Installed).unwrap(), Some(Configured));
        assert_eq!(Delete.check(Configured).unwrap(), None);
        for (t, s) in [
            (Boot, Configured),
            (Install, Installed),
            (Delete, Running),
            (Delete, Installed),
            (Halt, Installed),
            (Uninstall, Running),
            (Reboot, Installed),
        ] {
            let e = t.check(s).unwrap_err();
            assert!(
                matches!(e.kind, ErrorKind::InvalidState { .. }),
                "{t:?} from {s:?}: {e}"
            );
        }
        assert_eq!(Running.illumos_value(), 4);
        assert_eq!(Mounted.illumos_value(), 7);
    }

    #[test]
    fn config_from_json_and_validation() {
        let cfg: ZoneConfig = serde_json::from_str(
            r#"{"name": "web01", "zonepath": "/zones/web01", "init": ["/bin/sh", "-c", "echo hi"],
                "caps": {"memory_bytes": 268435456}, "nets": ["vnic0"]}"#,
        )
        .unwrap();
        assert_eq!(
            (cfg.brand.as_str(), cfg.exclusive_ip, cfg.caps.memory_bytes),
            ("hull", true, Some(256 << 20))
        );
        cfg.validate().unwrap();
        for bad in [
            r#"{"name": "global", "zonepath": "/z", "init": ["/sbin/init"]}"#,
            r#"{"name": "a", "zonepath": "/z", "init": ["/sbin/init"], "nets": ["bad/link"]}"#,
        ] {
            assert!(serde_json::from_str::<ZoneConfig>(bad).is_err(), "{bad}");
        }
        for (field, value) in [
            ("zonepath", "\"relative\""),
            ("zonepath", "\"/\""),
            ("init", "[]"),
            ("init", "[\"sbin/init\"]"),
        ] {
            let mut v: serde_json::Value = serde_json::to_value(&cfg).unwrap();
            v[field] = serde_json::from_str(value).unwrap();
            let c: ZoneConfig = serde_json::from_value(v).unwrap();
            assert!(c.validate().is_err(), "{field} = {value}");
        }
    }
}
