//! Zones on illumos: libzonecfg for configure, delete, state and list;
//! `zoneadm` for install, boot, halt, shutdown, reboot and uninstall, since
//! illumos offers those only as a program (zoneadm talks to zoneadmd over a
//! private door).
//!
//! Every libzonecfg call goes through [`ZonecfgCalls`] (real:
//! [`LibZonecfg`]); every zoneadm run goes through [`Zoneadm`] (real:
//! [`ZoneadmCommand`], the one place in hull that runs a command: an argv
//! array, a cleared environment, never a shell). illumos cannot run here, so
//! this backend is verified only through fakes of both
//! (`tests/zone_illumos_fake.rs`).
//!
//! On illumos a zone's init is its brand's; [`ZoneConfig::init`] is not
//! used.
//!
//! * A new zone's document comes from the `SUNWblank` template
//!   (`zonecfg_get_template_handle`), as `zonecfg create -b` makes it; a
//!   handle from `zonecfg_init_handle` alone has none and refuses setters.
//!   A name libzonecfg already knows is refused first, since
//!   `zonecfg_save` would overwrite it.
//! * A net is passed as one zeroed, 8-byte aligned buffer larger than every
//!   `struct zone_nwiftab` layout (170 bytes on illumos-gate, 248 on
//!   SmartOS and OmniOS), with only `zone_nwif_physical` (offset 92 in
//!   each) set.
//! * Install builds `zoneadm install`'s options per platform and brand
//!   from what the brand's installer documents ([`install_args`]); an
//!   unknown brand is refused, and a failed install is uninstalled again.
//! * Memory is capped with the `physical` rctl alias on SmartOS and OmniOS
//!   and with the `capped-memory` resource on illumos-gate, the platform
//!   told apart by libzonecfg's exported symbols ([`Platform`]); `max-lwps`
//!   and `cpu-cap` are aliases everywhere.
//! * zoneadm runs the brand's hooks through `/bin/sh -c` with the zonepath
//!   pasted in unquoted: hull runs zoneadm without a shell, and refuses a
//!   zonepath or install argument that a shell could split or expand.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::time::Duration;

use zonecfg_sys::zonecfg as sys;

use super::{Install, State, Transition, ZoneConfig};
use crate::error::{Error, ErrorKind, Op, OsResultExt, Result};
use crate::name::ZoneName;

/// The libzonecfg calls the illumos backend makes, one per C function; the
/// handle belongs to the implementation. Each returns a `Z_*` code.
pub trait ZonecfgCalls: Send {
    /// `zonecfg_init_handle` (a fresh handle, replacing any). The handle
    /// has no document yet: every setter on it fails with `Z_BAD_HANDLE`.
    fn init_handle(&mut self) -> i32;
    /// `zonecfg_get_template_handle(template, name, handle)`: loads the
    /// template's document into the handle, named `name`, as the `zonecfg`
    /// command's `create` does.
    fn get_template_handle(&mut self, template: &str, name: &str) -> i32;
    /// `zonecfg_fini_handle`.
    fn fini_handle(&mut self);
    /// `zonecfg_set_zonepath`.
    fn set_zonepath(&mut self, path: &str) -> i32;
    /// `zonecfg_set_brand`.
    fn set_brand(&mut self, brand: &str) -> i32;
    /// `zonecfg_set_autoboot`.
    fn set_autoboot(&mut self, on: bool) -> i32;
    /// `zonecfg_set_iptype` (`ZS_EXCLUSIVE` when `exclusive`).
    fn set_iptype(&mut self, exclusive: bool) -> i32;
    /// `zonecfg_add_nwif` with a zeroed, 8-byte aligned buffer larger than
    /// every `struct zone_nwiftab` layout, naming `physical`.
    fn add_nwif(&mut self, physical: &str) -> i32;
    /// `zonecfg_add_filesystem` (`lofs`), plus the `ro` option if asked.
    fn add_fs(&mut self, special: &str, dir: &str, readonly: bool) -> i32;
    /// `zonecfg_set_aliased_rctl`.
    fn set_rctl(&mut self, alias: &str, value: u64) -> i32;
    /// Which platform's libzonecfg this is (told apart by its symbols).
    fn platform(&self) -> Platform;
    /// `zonecfg_modify_mcap` with the cap as a decimal count of bytes
    /// (illumos-gate's `capped-memory` resource; see [`Platform`]).
    fn modify_mcap(&mut self, bytes: u64) -> i32;
    /// `zonecfg_get_handle` then `zonecfg_get_brand`.
    fn brand(&mut self, name: &str) -> std::result::Result<String, i32>;
    /// `zonecfg_save`.
    fn save(&mut self) -> i32;
    /// `zonecfg_destroy`.
    fn destroy(&mut self, name: &str, force: bool) -> i32;
    /// `zone_get_state`.
    fn get_state(&mut self, name: &str) -> std::result::Result<u32, i32>;
    /// `zonecfg_get_handle` then `zonecfg_get_zonepath`.
    fn zonepath(&mut self, name: &str) -> std::result::Result<String, i32>;
    /// `setzoneent`/`getzoneent`/`endzoneent`: every configured zone's name.
    fn names(&mut self) -> Vec<String>;
    /// `zonecfg_strerror`.
    fn strerror(&mut self, code: i32) -> String;
}

/// Which platform a libzonecfg is from, told apart by the symbols it
/// exports ([`zonecfg_sys::FAMILY_MARKERS`]). It decides how memory is
/// capped and which installer each brand name means (SmartOS and OmniOS
/// both have `lx`, `kvm` and `bhyve`, with different installers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// illumos-gate: memory capped with the `capped-memory` resource
    /// (`zonecfg_modify_mcap`).
    Gate,
    /// SmartOS: the `physical` rctl alias; the joyent brands.
    SmartOs,
    /// OmniOS: the `physical` rctl alias; OmniOS's brands.
    OmniOs,
    /// None of the markers: memory caps and installs are refused.
    Unknown,
}

/// Runs `zoneadm`: `argv[0]` is the program, the rest its arguments.
/// Returns its exit status and standard error.
pub trait Zoneadm: Send {
    /// Runs it and waits.
    fn run(&mut self, argv: &[String]) -> std::io::Result<(i32, String)>;
}

/// The real `zoneadm`: argv only, environment cleared, no shell.
#[derive(Debug, Default)]
pub struct ZoneadmCommand;

impl Zoneadm for ZoneadmCommand {
    fn run(&mut self, argv: &[String]) -> std::io::Result<(i32, String)> {
        let out = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .env_clear()
            .stdin(std::process::Stdio::null())
            .output()?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }
}

/// The template a new zone's document is made from: the empty one, as
/// `zonecfg create -b` uses.
pub const BLANK_TEMPLATE: &str = "SUNWblank";

/// Where zoneadm lives.
pub const ZONEADM: &str = "/usr/sbin/zoneadm";

fn state_of(v: u32) -> State {
    match v {
        0 => State::Configured,
        1 => State::Incomplete,
        2 => State::Installed,
        3 => State::Ready,
        4 => State::Running,
        5 => State::ShuttingDown,
        6 => State::Down,
        _ => State::Mounted,
    }
}

/// The kind a `Z_*` code maps to.
pub fn kind_of(code: i32, text: &str) -> ErrorKind {
    match code as u32 {
        sys::Z_NO_ZONE | sys::Z_NO_ENTRY => ErrorKind::NotFound,
        sys::Z_NAME_IN_USE => ErrorKind::AlreadyExists,
        sys::Z_ACCES => ErrorKind::PermissionDenied,
        sys::Z_NOMEM => ErrorKind::OutOfMemory,
        sys::Z_INVAL | sys::Z_BOGUS_ZONE_NAME => ErrorKind::InvalidArgument(text.to_string()),
        sys::Z_BAD_ZONE_STATE => ErrorKind::InvalidState {
            from: "(libzonecfg)".into(),
            op: "change",
        },
        _ => ErrorKind::Os,
    }
}

/// A `Z_*` code with its text, as an error cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZonecfgError {
    /// The code.
    pub code: i32,
    /// `zonecfg_strerror`'s text.
    pub text: String,
}

impl std::fmt::Display for ZonecfgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Z_ {}: {}", self.code, self.text)
    }
}

impl std::error::Error for ZonecfgError {}

/// Zones on illumos, over any [`ZonecfgCalls`] and [`Zoneadm`].
pub(crate) struct IllumosZones<C: ZonecfgCalls, R: Zoneadm> {
    cfg: C,
    zoneadm: R,
}

impl<C: ZonecfgCalls, R: Zoneadm> IllumosZones<C, R> {
    /// Zones through these libzonecfg calls and this zoneadm.
    pub fn new(cfg: C, zoneadm: R) -> IllumosZones<C, R> {
        IllumosZones { cfg, zoneadm }
    }

    fn z(&mut self, op: Op, object: &str, code: i32) -> Result<()> {
        if code == 0 {
            return Ok(());
        }
        let text = self.cfg.strerror(code);
        Err(Error::library(
            op,
            object,
            kind_of(code, &text),
            ZonecfgError { code, text },
        ))
    }

    /// Records a zone's configuration (`zonecfg_save`). Nothing is saved if
    /// any step fails. The kernel confines an illumos zone itself, so the
    /// Linux-only `seccomp`, `env` and `console` settings have no meaning
    /// here; `limitpriv` and `userns` are refused rather than dropped,
    /// since a caller who sets them asks for a confinement this backend
    /// does not (yet) apply.
    pub fn configure(&mut self, c: &ZoneConfig) -> Result<()> {
        c.validate()?;
        let name = c.name.as_str();
        let op = Op::ConfigureZone;
        let refuse = |what: &'static str| Err(Error::new(op, name, ErrorKind::Unsupported(what)));
        if c.limitpriv.is_some() || c.userns.is_some() {
            return refuse("limitpriv and userns on illumos (not passed to libzonecfg yet)");
        }
        if c.nets
            .iter()
            .any(|n| !n.ips.is_empty() || !n.gateways.is_empty() || n.mtu.is_some())
        {
            return refuse("addresses, routes and MTU of an illumos zone's nets (not passed to libzonecfg yet)");
        }
        if !c.exclusive_ip && !c.nets.is_empty() {
            // zoneadm's verify needs an address on a shared-IP net, which
            // hull does not pass yet (zoneadm.c verify_handle).
            return Err(Error::new(
                op,
                name,
                ErrorKind::InvalidArgument(
                    "a shared-IP zone's net needs an address; use exclusive_ip".into(),
                ),
            ));
        }
        if name.starts_with("SUNW") {
            // Reserved for illumos's templates: zonecfg_set_name refuses it
            // (libzonecfg.c, gate jlevon/illumos-gate@4859da61 L860).
            return Err(Error::new(
                op,
                name,
                ErrorKind::InvalidArgument("zone names beginning with SUNW are reserved".into()),
            ));
        }
        shell_safe(op, name, c.zonepath.to_str().unwrap_or(""))?;
        let platform = self.cfg.platform();
        if c.caps.memory_bytes.is_some() && platform == Platform::Unknown {
            return refuse("a memory cap: this libzonecfg has neither the physical alias nor the capped-memory resource");
        }
        // zonecfg_save does not refuse a name in use: it would replace that
        // zone's configuration. Only a name libzonecfg does not know goes on.
        match self.cfg.get_state(name) {
            Err(code) if code == sys::Z_NO_ZONE as i32 => {}
            Ok(_) => {
                return Err(Error::new(op, name, ErrorKind::AlreadyExists));
            }
            Err(code) => return self.z(op, name, code),
        }
        let code = self.cfg.init_handle();
        let r = self.z(op, name, code).and_then(|_| {
            // A handle from zonecfg_init_handle has no document; the
            // zonecfg command's `create -b` loads the blank template, which
            // also names the zone.
            let code = self.cfg.get_template_handle(BLANK_TEMPLATE, name);
            self.z(op, name, code)?;
            let steps = [
                self.cfg.set_zonepath(c.zonepath.to_str().unwrap_or("")),
                self.cfg.set_brand(&c.brand),
                self.cfg.set_autoboot(c.autoboot),
                self.cfg.set_iptype(c.exclusive_ip),
            ];
            for code in steps {
                self.z(op, name, code)?;
            }
            for net in &c.nets {
                let link = &net.link;
                let code = self.cfg.add_nwif(link.as_str());
                self.z(op, &format!("{name}: net {link}"), code)?;
            }
            for m in &c.mounts {
                let code = self.cfg.add_fs(
                    m.source.to_str().unwrap_or(""),
                    m.target.to_str().unwrap_or(""),
                    m.readonly,
                );
                self.z(op, &format!("{name}: fs {}", m.target.display()), code)?;
            }
            if let Some(bytes) = c.caps.memory_bytes {
                let (what, code) = match platform {
                    Platform::Gate => ("capped-memory", self.cfg.modify_mcap(bytes)),
                    _ => ("physical", self.cfg.set_rctl("physical", bytes)),
                };
                self.z(op, &format!("{name}: {what}"), code)?;
            }
            for (alias, value) in [
                ("max-lwps", c.caps.max_processes.map(u64::from)),
                ("cpu-cap", c.caps.cpu_percent.map(u64::from)),
            ] {
                if let Some(v) = value {
                    let code = self.cfg.set_rctl(alias, v);
                    self.z(op, &format!("{name}: {alias}"), code)?;
                }
            }
            let code = self.cfg.save();
            self.z(op, name, code)
        });
        self.cfg.fini_handle();
        r
    }

    /// A zone's state.
    pub fn state(&mut self, name: &ZoneName) -> Result<State> {
        match self.cfg.get_state(name.as_str()) {
            Ok(v) => Ok(state_of(v)),
            Err(code) => {
                self.z(Op::QueryZone, name.as_str(), code)?;
                unreachable!("a failed get_state has a non-zero code")
            }
        }
    }

    /// Every configured zone: name, state, zonepath.
    pub fn list(&mut self) -> Result<Vec<(ZoneName, State, PathBuf)>> {
        let mut out = Vec::new();
        for n in self.cfg.names() {
            let Ok(name) = n.parse::<ZoneName>() else {
                continue;
            }; // "global" and the like
            let state = self.state(&name)?;
            let path = self
                .cfg
                .zonepath(name.as_str())
                .map_err(|c| Error::new(Op::QueryZone, name.as_str(), kind_of(c, "")))?;
            out.push((name, state, PathBuf::from(path)));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn check(&mut self, op: Op, name: &ZoneName, t: Transition) -> Result<()> {
        let from = self.state(name)?;
        t.check(from)
            .map(drop)
            .map_err(|e| e.context(op, name.as_str()))
    }

    /// The one place zoneadm runs: `zoneadm -z NAME ARGS...`. zoneadm
    /// pastes the zonepath into the brand's hook command lines unquoted and
    /// runs them with `/bin/sh -c` (libbrand.c `i_substitute_tokens`, gate
    /// L342-346), so the zonepath is checked again here: the zone may have
    /// been configured by something other than hull.
    fn zoneadm(&mut self, op: Op, name: &ZoneName, args: &[&str]) -> Result<()> {
        let path = self
            .cfg
            .zonepath(name.as_str())
            .or_else(|code| self.z(op, name.as_str(), code).map(|()| String::new()))?;
        shell_safe(op, name.as_str(), &path)?;
        let mut argv = vec![ZONEADM.to_string(), "-z".into(), name.to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        let (code, stderr) = self
            .zoneadm
            .run(&argv)
            .os(op, format!("{name}: {ZONEADM}"))?;
        if code != 0 {
            let why = stderr.lines().last().unwrap_or("").to_string();
            return Err(Error::new(op, name.as_str(), ErrorKind::Os)
                .with_detail(&format!("zoneadm {} exited {code}: {why}", args.join(" "))));
        }
        Ok(())
    }

    /// Installs a configured zone with the argv its brand's installer
    /// takes for `from` ([`install_args`]). A failed install leaves the
    /// zone incomplete; it is uninstalled again (`uninstall -F`) so that it
    /// is configured, as before.
    pub fn install(&mut self, name: &ZoneName, from: &Install) -> Result<()> {
        self.check(Op::InstallZone, name, Transition::Install)?;
        let brand = self.cfg.brand(name.as_str()).or_else(|code| {
            self.z(Op::InstallZone, name.as_str(), code)
                .map(|()| String::new())
        })?;
        let args = install_args(self.cfg.platform(), &brand, from)
            .map_err(|e| e.context(Op::InstallZone, name.as_str()))?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = self.zoneadm(Op::InstallZone, name, &args);
        if r.is_err() && self.state(name).ok() == Some(State::Incomplete) {
            if let Err(e) = self.zoneadm(Op::InstallZone, name, &["uninstall", "-F"]) {
                return r.map_err(|first| {
                    first.with_detail(&format!("and uninstalling the incomplete zone failed: {e}"))
                });
            }
        }
        r
    }

    /// Boots an installed zone.
    pub fn boot(&mut self, name: &ZoneName) -> Result<()> {
        self.check(Op::BootZone, name, Transition::Boot)?;
        self.zoneadm(Op::BootZone, name, &["boot"])
    }

    /// Halts a running zone.
    pub fn halt(&mut self, name: &ZoneName) -> Result<()> {
        self.check(Op::HaltZone, name, Transition::Halt)?;
        self.zoneadm(Op::HaltZone, name, &["halt"])
    }

    /// Shuts a running zone down; if it is still up after `timeout`, halts it.
    pub fn shutdown(&mut self, name: &ZoneName, timeout: Duration) -> Result<()> {
        self.check(Op::HaltZone, name, Transition::Shutdown)?;
        self.zoneadm(Op::HaltZone, name, &["shutdown"])?;
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if self.state(name)? == State::Installed {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.zoneadm(Op::HaltZone, name, &["halt"])
    }

    /// Reboots a running zone.
    pub fn reboot(&mut self, name: &ZoneName) -> Result<()> {
        self.check(Op::BootZone, name, Transition::Reboot)?;
        self.zoneadm(Op::BootZone, name, &["reboot"])
    }

    /// Uninstalls an installed zone (`zoneadm uninstall -F`).
    pub fn uninstall(&mut self, name: &ZoneName) -> Result<()> {
        self.check(Op::InstallZone, name, Transition::Uninstall)?;
        self.zoneadm(Op::InstallZone, name, &["uninstall", "-F"])
    }

    /// Deletes a configured (or incomplete) zone (`zonecfg_destroy`;
    /// forced for an incomplete zone, which it refuses otherwise:
    /// libzonecfg.c gate L384-388).
    pub fn delete(&mut self, name: &ZoneName) -> Result<()> {
        let from = self.state(name)?;
        Transition::Delete
            .check(from)
            .map_err(|e| e.context(Op::ConfigureZone, name.as_str()))?;
        let code = self.cfg.destroy(name.as_str(), from == State::Incomplete);
        self.z(Op::ConfigureZone, name.as_str(), code)
    }
}

/// The brands hull installs on each platform, with the sources each
/// installer takes. Every option is one the brand documents (its
/// `config.xml` `<installopts>` and its install script's `getopts`):
///
/// | platform | brand | source | argv after `install` |
/// |---|---|---|---|
/// | SmartOS | `joyent`, `joyent-minimal`, `lx` | [`Install::Image`] | `-x nodataset -t UUID [-q GB]` |
/// | SmartOS | `kvm`, `bhyve` | [`Install::Image`] | `-x nodataset -t UUID [-q GB]` |
/// | SmartOS | `kvm`, `bhyve` | [`Install::BrandDefault`] | `-x nodataset` |
/// | OmniOS | `lx`, `illumos` | [`Install::Archive`] | `-s SOURCE` |
/// | OmniOS, gate | `ipkg`, `lipkg` (OmniOS), `labeled`, `solaris10` (gate) | [`Install::Root`] | `-d DIR -p` |
/// | OmniOS, gate | `ipkg`, `lipkg`, `sparse`, `pkgsrc` (OmniOS), `sn1` (gate) | [`Install::BrandDefault`] | (none) |
/// | OmniOS | `kvm`, `bhyve`, `emu` | [`Install::BrandDefault`] | (none) |
///
/// zoneadm joins these into one string for `/bin/sh -c`, so each argument
/// is refused unless it is made only of letters, digits and `._/@:+=-`.
/// A root of `/` is refused: it would copy the host into the zone.
pub fn install_args(platform: Platform, brand: &str, from: &Install) -> Result<Vec<String>> {
    use Platform::*;
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<String>>();
    let smartos_image = matches!(brand, "joyent" | "joyent-minimal" | "lx" | "kvm" | "bhyve");
    let args: Vec<String> = match (platform, from) {
        (SmartOs, Install::Image { uuid, quota_gb }) if smartos_image => {
            if !is_uuid(uuid) {
                return Err(Error::new(
                    Op::InstallZone,
                    uuid.as_str(),
                    ErrorKind::InvalidArgument(
                        "an image uuid is 36 characters, hex and dashes".into(),
                    ),
                ));
            }
            let mut v = s(&["install", "-x", "nodataset", "-t", uuid]);
            if let Some(q) = quota_gb {
                v.extend(["-q".to_string(), q.to_string()]);
            }
            v
        }
        (SmartOs, Install::BrandDefault) if matches!(brand, "kvm" | "bhyve") => {
            s(&["install", "-x", "nodataset"])
        }
        (OmniOs, Install::Archive(src)) if matches!(brand, "lx" | "illumos") => {
            s(&["install", "-s", src])
        }
        (OmniOs | Gate, Install::Root(dir))
            if matches!(brand, "ipkg" | "lipkg" | "labeled" | "solaris10") =>
        {
            let dir = dir
                .to_str()
                .filter(|d| d.starts_with('/') && !d.trim_end_matches('/').is_empty())
                .ok_or_else(|| {
                    Error::new(
                        Op::InstallZone,
                        dir.display().to_string(),
                        ErrorKind::InvalidArgument(
                            "an install directory is an absolute UTF-8 path other than /".into(),
                        ),
                    )
                })?;
            s(&["install", "-d", dir, "-p"])
        }
        (OmniOs, Install::BrandDefault)
            if matches!(
                brand,
                "ipkg" | "lipkg" | "sparse" | "pkgsrc" | "kvm" | "bhyve" | "emu"
            ) =>
        {
            s(&["install"])
        }
        (Gate, Install::BrandDefault) if matches!(brand, "ipkg" | "sn1") => s(&["install"]),
        _ => {
            let known = match platform {
                SmartOs => ["joyent", "joyent-minimal", "lx", "kvm", "bhyve"].contains(&brand),
                OmniOs => [
                    "lx", "illumos", "ipkg", "lipkg", "sparse", "pkgsrc", "kvm", "bhyve", "emu",
                ]
                .contains(&brand),
                Gate => ["ipkg", "labeled", "solaris10", "sn1"].contains(&brand),
                Unknown => false,
            };
            return Err(if known {
                Error::new(
                    Op::InstallZone,
                    brand,
                    ErrorKind::InvalidArgument(format!(
                        "the {brand} brand on {platform:?} does not install from {from:?}"
                    )),
                )
            } else {
                Error::new(
                    Op::InstallZone,
                    brand,
                    ErrorKind::Unsupported("installing a zone of this brand on this platform"),
                )
                .with_detail(&format!("{platform:?}"))
            });
        }
    };
    for a in &args {
        shell_safe(Op::InstallZone, brand, a)?;
    }
    Ok(args)
}

/// Refuses text that zoneadm's `/bin/sh -c` could read as more than one
/// word: only letters, digits and `._/@:+=-`.
fn shell_safe(op: Op, object: &str, text: &str) -> Result<()> {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/@:+=-".contains(&b))
    {
        return Ok(());
    }
    Err(Error::new(
        op,
        object,
        ErrorKind::InvalidArgument(format!(
            "{text:?}: zoneadm passes this through a shell; only letters, digits and ._/@:+=- are allowed"
        )),
    ))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// The illumos backend of [`super::Zones`]: one libzonecfg handle at a
/// time, behind a lock.
pub(crate) struct Backend<C: ZonecfgCalls, R: Zoneadm> {
    inner: std::sync::Mutex<IllumosZones<C, R>>,
}

impl<C: ZonecfgCalls, R: Zoneadm> Backend<C, R> {
    pub(crate) fn new(calls: C, zoneadm: R) -> Backend<C, R> {
        Backend {
            inner: std::sync::Mutex::new(IllumosZones::new(calls, zoneadm)),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut IllumosZones<C, R>) -> Result<T>) -> Result<T> {
        let mut z = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut z)
    }
}

fn unsupported<T>(op: Op, name: &ZoneName, what: &'static str) -> Result<T> {
    Err(Error::new(op, name.as_str(), ErrorKind::Unsupported(what)))
}

impl<C: ZonecfgCalls, R: Zoneadm> super::ZoneBackend for Backend<C, R> {
    fn configure(&self, config: &ZoneConfig) -> Result<()> {
        self.with(|z| z.configure(config))
    }
    fn install(&self, name: &ZoneName, from: &Install) -> Result<()> {
        self.with(|z| z.install(name, from))
    }
    fn boot(&self, name: &ZoneName) -> Result<super::Booted> {
        self.with(|z| z.boot(name))
            .map(|()| super::Booted { init: None })
    }
    fn wait(&self, name: &ZoneName) -> Result<i32> {
        unsupported(
            Op::BootZone,
            name,
            "waiting for an illumos zone's init (zoneadm has no wait)",
        )
    }
    fn halt(&self, name: &ZoneName) -> Result<()> {
        self.with(|z| z.halt(name))
    }
    fn shutdown(&self, name: &ZoneName, timeout: Duration) -> Result<()> {
        self.with(|z| z.shutdown(name, timeout))
    }
    fn reboot(&self, name: &ZoneName) -> Result<super::Booted> {
        self.with(|z| z.reboot(name))
            .map(|()| super::Booted { init: None })
    }
    fn uninstall(&self, name: &ZoneName) -> Result<()> {
        self.with(|z| z.uninstall(name))
    }
    fn delete(&self, name: &ZoneName) -> Result<()> {
        self.with(|z| z.delete(name))
    }
    fn state(&self, name: &ZoneName) -> Result<State> {
        self.with(|z| z.state(name))
    }
    fn get(&self, name: &ZoneName) -> Result<ZoneConfig> {
        unsupported(
            Op::QueryZone,
            name,
            "reading an illumos zone's configuration back (not yet)",
        )
    }
    fn list(&self) -> Result<Vec<(ZoneName, State, PathBuf)>> {
        self.with(|z| z.list())
    }
    fn netns(&self, name: &ZoneName) -> Result<PathBuf> {
        unsupported(
            Op::QueryZone,
            name,
            "network namespaces (an illumos zone's links are in its configuration)",
        )
    }
}

/// The real libzonecfg.
pub struct LibZonecfg {
    lib: zonecfg_sys::Library,
    handle: Option<NonNull<sys::zone_dochandle>>,
}

// SAFETY: a zonecfg handle may be used from any thread, one call at a time;
// every use goes through `&mut self`.
unsafe impl Send for LibZonecfg {}

impl LibZonecfg {
    /// Loads libzonecfg (illumos only; elsewhere a NotFound error).
    pub fn load() -> Result<LibZonecfg> {
        let lib = zonecfg_sys::load_zonecfg()
            .map_err(|e| Error::library(Op::LoadLibrary, "libzonecfg", ErrorKind::NotFound, e))?;
        Ok(LibZonecfg { lib, handle: None })
    }

    /// Loads the libzonecfg at `path` instead of the system's (a
    /// non-standard install, or a test's fake).
    ///
    /// # Safety
    ///
    /// `path` must be a libzonecfg whose symbols have illumos's types, as
    /// declared in `vendor-headers/illumos/libzonecfg.h`.
    pub unsafe fn open(path: &Path) -> Result<LibZonecfg> {
        // SAFETY: the caller vouches for the library.
        let lib = unsafe { zonecfg_sys::Library::open(path) }.map_err(|e| {
            Error::library(
                Op::LoadLibrary,
                path.display().to_string(),
                ErrorKind::NotFound,
                e,
            )
        })?;
        Ok(LibZonecfg { lib, handle: None })
    }

    /// Loads zone `name`'s document into a fresh handle and reads one
    /// string property of it with `get` (`zonecfg_get_zonepath`,
    /// `zonecfg_get_brand`) into a buffer of `size` bytes; the handle is
    /// freed whatever happens.
    fn read_string(
        &self,
        name: &str,
        size: usize,
        get: unsafe extern "C" fn(sys::zone_dochandle_t, *mut std::ffi::c_char, usize) -> i32,
    ) -> std::result::Result<String, i32> {
        let n = c(name);
        let mut buf = vec![0 as std::ffi::c_char; size];
        // SAFETY: a fresh handle is loaded and freed here; `get` is one of
        // this library's getters, writing at most `buf.len()` bytes.
        unsafe {
            let h = self.lib.zonecfg.zonecfg_init_handle();
            if h.is_null() {
                return Err(sys::Z_NOMEM as i32);
            }
            let mut code = self.lib.zonecfg.zonecfg_get_handle(n.as_ptr(), h);
            if code == 0 {
                code = get(h, buf.as_mut_ptr(), buf.len());
            }
            self.lib.zonecfg.zonecfg_fini_handle(h);
            if code != 0 {
                return Err(code);
            }
            Ok(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
        }
    }

    fn h(&self) -> sys::zone_dochandle_t {
        self.handle.map_or(std::ptr::null_mut(), NonNull::as_ptr)
    }
}

fn c(s: &str) -> CString {
    CString::new(s).expect("validated values contain no NUL")
}

/// Copies `s` into a fixed C char array, NUL-terminated, truncating.
fn fill(dst: &mut [std::ffi::c_char], s: &str) {
    let room = dst.len() - 1;
    for (d, b) in dst.iter_mut().zip(s.bytes().take(room)) {
        *d = b as std::ffi::c_char;
    }
}

impl ZonecfgCalls for LibZonecfg {
    fn init_handle(&mut self) -> i32 {
        self.fini_handle();
        // SAFETY: no preconditions; the handle is freed in fini_handle.
        self.handle = NonNull::new(unsafe { self.lib.zonecfg.zonecfg_init_handle() });
        if self.handle.is_some() {
            0
        } else {
            sys::Z_NOMEM as i32
        }
    }
    fn get_template_handle(&mut self, template: &str, name: &str) -> i32 {
        let (t, n) = (c(template), c(name));
        // SAFETY: the handle is live; both strings are live for the call.
        unsafe {
            self.lib
                .zonecfg
                .zonecfg_get_template_handle(t.as_ptr(), n.as_ptr(), self.h())
        }
    }
    fn fini_handle(&mut self) {
        if let Some(h) = self.handle.take() {
            // SAFETY: `h` came from zonecfg_init_handle and is freed once.
            unsafe { self.lib.zonecfg.zonecfg_fini_handle(h.as_ptr()) }
        }
    }
    fn set_zonepath(&mut self, path: &str) -> i32 {
        let v = c(path);
        // SAFETY: the handle is live; libzonecfg copies the string.
        unsafe {
            self.lib
                .zonecfg
                .zonecfg_set_zonepath(self.h(), v.as_ptr() as *mut _)
        }
    }
    fn set_brand(&mut self, brand: &str) -> i32 {
        let v = c(brand);
        // SAFETY: as for set_zonepath.
        unsafe {
            self.lib
                .zonecfg
                .zonecfg_set_brand(self.h(), v.as_ptr() as *mut _)
        }
    }
    fn set_autoboot(&mut self, on: bool) -> i32 {
        let b = if on {
            nvpair_sys::boolean_t_B_TRUE
        } else {
            nvpair_sys::boolean_t_B_FALSE
        };
        // SAFETY: the handle is live.
        unsafe { self.lib.zonecfg.zonecfg_set_autoboot(self.h(), b) }
    }
    fn set_iptype(&mut self, exclusive: bool) -> i32 {
        let t = if exclusive {
            sys::ZS_EXCLUSIVE
        } else {
            sys::ZS_SHARED
        } as i32;
        // SAFETY: the handle is live.
        unsafe { self.lib.zonecfg.zonecfg_set_iptype(self.h(), t) }
    }
    fn add_nwif(&mut self, physical: &str) -> i32 {
        // SAFETY: all-zero is a valid value of every member (arrays and a
        // null pointer).
        let mut t: sys::hull_zone_nwiftab_buf = unsafe { std::mem::zeroed() };
        // SAFETY: writing a field of a union of plain data; the physical
        // name is at the same offset in every layout.
        fill(unsafe { &mut t.gate.zone_nwif_physical }, physical);
        // SAFETY: the handle is live; the buffer is larger than and aligned
        // for every zone_nwiftab layout; libzonecfg copies the entry.
        unsafe {
            self.lib
                .zonecfg
                .zonecfg_add_nwif(self.h(), (&mut t as *mut sys::hull_zone_nwiftab_buf).cast())
        }
    }
    fn add_fs(&mut self, special: &str, dir: &str, readonly: bool) -> i32 {
        // SAFETY: a zeroed zone_fstab is valid; options allocated by
        // zonecfg_add_fs_option are freed with zonecfg_free_fs_option_list.
        unsafe {
            let mut t: sys::zone_fstab = std::mem::zeroed();
            fill(&mut t.zone_fs_special, special);
            fill(&mut t.zone_fs_dir, dir);
            fill(&mut t.zone_fs_type, "lofs");
            if readonly {
                let ro = c("ro");
                let code = self
                    .lib
                    .zonecfg
                    .zonecfg_add_fs_option(&mut t, ro.as_ptr() as *mut _);
                if code != 0 {
                    return code;
                }
            }
            let code = self.lib.zonecfg.zonecfg_add_filesystem(self.h(), &mut t);
            if !t.zone_fs_options.is_null() {
                self.lib
                    .zonecfg
                    .zonecfg_free_fs_option_list(t.zone_fs_options);
            }
            code
        }
    }
    fn set_rctl(&mut self, alias: &str, value: u64) -> i32 {
        let a = c(alias);
        // SAFETY: the handle is live; the alias is copied.
        unsafe {
            self.lib
                .zonecfg
                .zonecfg_set_aliased_rctl(self.h(), a.as_ptr() as *mut _, value)
        }
    }
    fn platform(&self) -> Platform {
        match self.lib.family {
            zonecfg_sys::Family::Gate(_) => Platform::Gate,
            zonecfg_sys::Family::SmartOs => Platform::SmartOs,
            zonecfg_sys::Family::OmniOs => Platform::OmniOs,
            zonecfg_sys::Family::Unknown => Platform::Unknown,
        }
    }
    fn modify_mcap(&mut self, bytes: u64) -> i32 {
        let zonecfg_sys::Family::Gate(modify) = self.lib.family else {
            return sys::Z_ALIAS_DISALLOW as i32;
        };
        // SAFETY: all-zero is a valid zone_mcaptab.
        let mut t: sys::zone_mcaptab = unsafe { std::mem::zeroed() };
        fill(&mut t.zone_physmem_cap, &bytes.to_string());
        // SAFETY: `modify` is this library's zonecfg_modify_mcap; the handle
        // is live; libzonecfg copies the entry.
        unsafe { modify(self.h(), &mut t) }
    }
    fn brand(&mut self, name: &str) -> std::result::Result<String, i32> {
        let get = self.lib.zonecfg.zonecfg_get_brand;
        self.read_string(name, sys::MAXNAMELEN as usize, get)
    }
    fn save(&mut self) -> i32 {
        // SAFETY: the handle is live.
        unsafe { self.lib.zonecfg.zonecfg_save(self.h()) }
    }
    fn destroy(&mut self, name: &str, force: bool) -> i32 {
        let n = c(name);
        let f = if force {
            nvpair_sys::boolean_t_B_TRUE
        } else {
            nvpair_sys::boolean_t_B_FALSE
        };
        // SAFETY: `n` is live for the call.
        unsafe { self.lib.zonecfg.zonecfg_destroy(n.as_ptr(), f) }
    }
    fn get_state(&mut self, name: &str) -> std::result::Result<u32, i32> {
        let n = c(name);
        let mut s = 0;
        // SAFETY: `n` is live; `s` is a valid out-pointer.
        let code = unsafe {
            self.lib
                .zonecfg
                .zone_get_state(n.as_ptr() as *mut _, &mut s)
        };
        if code == 0 {
            Ok(s)
        } else {
            Err(code)
        }
    }
    fn zonepath(&mut self, name: &str) -> std::result::Result<String, i32> {
        let get = self.lib.zonecfg.zonecfg_get_zonepath;
        self.read_string(name, sys::MAXPATHLEN as usize, get)
    }
    fn names(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        // SAFETY: the FILE from setzoneent is read with getzoneent and closed
        // with endzoneent; each returned name is malloc'd and freed here.
        unsafe {
            let f = self.lib.zonecfg.setzoneent();
            if f.is_null() {
                return out;
            }
            loop {
                let p = self.lib.zonecfg.getzoneent(f);
                if p.is_null() {
                    break;
                }
                out.push(CStr::from_ptr(p).to_string_lossy().into_owned());
                libc::free(p.cast());
            }
            self.lib.zonecfg.endzoneent(f);
        }
        out
    }
    fn strerror(&mut self, code: i32) -> String {
        // SAFETY: zonecfg_strerror returns a static string.
        let p = unsafe { self.lib.zonecfg.zonecfg_strerror(code) };
        if p.is_null() {
            return format!("Z_ error {code}");
        }
        // SAFETY: a NUL-terminated static string.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Drop for LibZonecfg {
    fn drop(&mut self) {
        self.fini_handle();
    }
}
