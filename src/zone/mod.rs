//! Zones: configuration, state and lifecycle.
//!
//! [`ZoneConfig`] (serde), the eight illumos zone [`State`]s with only the
//! legal transitions, and two backends with the same operations
//! (configure, install, boot, wait, halt, shutdown, reboot, uninstall,
//! delete, state, list):
//!
//! * **Linux** ([`Zones`], tested here): records under a state directory,
//!   written atomically; INIT as PID 1 in new pid, mount, uts, ipc and net
//!   namespaces, pivoted into `<zonepath>/root`, with `/proc`, the zone's
//!   mounts and links, its name as hostname, and cgroup caps (v1
//!   controllers, as on this project's hybrid hosts, or pure v2).
//! * **illumos** ([`illumos::IllumosZones`]): libzonecfg plus `zoneadm`,
//!   verified only through fakes here.
//!
//! ```no_run
//! use hull::zone::{ZoneConfig, Zones};
//!
//! let zones = Zones::open("/var/lib/hull/zones")?;
//! let cfg: ZoneConfig = serde_json::from_str(r#"{
//!     "name": "web01", "zonepath": "/zones/web01", "init": ["/sbin/init"]
//! }"#).unwrap();
//! zones.configure(&cfg)?;
//! zones.install(&cfg.name, "/images/base-root".as_ref())?;
//! println!("{:?}", zones.state(&cfg.name)?); // Installed
//! # Ok::<(), hull::Error>(())
//! ```

pub mod illumos;
mod linux;
#[cfg(target_os = "linux")]
mod run;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::{LinkName, ZoneName};

pub use linux::{Zones, DEFAULT_STATE_DIR};
#[cfg(target_os = "linux")]
pub use run::InitProc;

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
    /// Mounted read-only.
    #[serde(default)]
    pub readonly: bool,
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
    /// Links handed to it.
    #[serde(default)]
    pub nets: Vec<LinkName>,
    /// File systems mounted into it.
    #[serde(default)]
    pub mounts: Vec<FsMount>,
    /// Resource caps.
    #[serde(default)]
    pub caps: Caps,
    /// Its init: the program run as PID 1, with arguments.
    pub init: Vec<String>,
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
        if !self.zonepath.is_absolute() || self.zonepath == std::path::Path::new("/") {
            return bad(format!(
                "zonepath {} is not an absolute path below /",
                self.zonepath.display()
            ));
        }
        if self.init.first().is_none_or(|p| !p.starts_with('/')) {
            return bad("init is an absolute program path, then its arguments".into());
        }
        if self.init.iter().any(|a| a.contains('\0')) {
            return bad("init arguments contain no NUL".into());
        }
        if let Some(m) = self
            .mounts
            .iter()
            .find(|m| !m.target.is_absolute() || !m.source.is_absolute())
        {
            return bad(format!(
                "mount {} -> {}: both paths are absolute",
                m.source.display(),
                m.target.display()
            ));
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
