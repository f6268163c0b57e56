//! Machines from a JSON payload, as SmartOS's `vmadm` makes them: a zone
//! whose root is a ZFS clone of an image, with VNICs on the host links its
//! NIC tags name, their addresses, resource caps, and boot.
//!
//! [`Machines::create`] is **all or nothing**: it records what it is about
//! to make before making it, and on a failure at any step undoes what was
//! made, in reverse order (boot, files, clone, zone record, VNICs), and
//! names the step in the error. A create whose process was killed part-way
//! is undone by the next [`Machines::open`], from the same record.
//!
//! The payload takes vmadm's property names for zone brands (see
//! [`Payload`]); an unknown property is refused, naming it. Machines
//! live in the zones' state directory and in ZFS, so a new process sees
//! them: [`Machines::get`] prints the payload plus its state as vmadm does.
//!
//! Layout, as on SmartOS: images at `<pool>/<uuid>@final`, a machine's
//! root at `<pool>/<machine uuid>` (mounted at `<zonepath>/root`), its
//! zonepath `<pool's mountpoint>/<machine uuid>`. Unlike SmartOS, the
//! image's file system is the zone's root itself (no `root/` inside).
//!
//! ```no_run
//! use hull::machine::{Machines, NodeConfig, Payload};
//! let node = NodeConfig::from_json(r#"{"nic_tags": {"admin": "eth0"}}"#)?;
//! let mut machines = Machines::open("/var/lib/hull", "zones".parse()?, node)?;
//! let payload = Payload::from_json(r#"{
//!     "brand": "joyent", "image_uuid": "1a000000-0000-4000-8000-000000000001",
//!     "alias": "web0", "max_physical_memory": 256, "quota": 5,
//!     "nics": [{"nic_tag": "admin", "ip": "10.0.0.5", "netmask": "255.255.255.0",
//!               "gateway": "10.0.0.1", "primary": true}]
//! }"#)?;
//! let uuid = machines.create(payload)?;
//! println!("Successfully created VM {uuid}");
//! # Ok::<(), hull::Error>(())
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Op, OsResultExt, Result};
use crate::image::{is_uuid, Images};
use crate::name::{DatasetName, LinkName, MacAddr, VlanId, ZoneName};
use crate::vnic::{MacSpec, VnicSpec, Vnics};
use crate::zfs::Zfs;
use crate::zone::{Caps, FsMount, Install, Net, State, ZoneConfig, Zones};

fn bad(property: &str, why: impl Into<String>) -> Error {
    Error::new(
        Op::ValidateName,
        format!("payload property {property}"),
        ErrorKind::InvalidArgument(why.into()),
    )
}

/// The node's NIC tags: each names the host link a machine's NIC with that
/// tag sits on (SmartOS: `sysinfo`'s NIC tags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Tag → host link.
    pub nic_tags: BTreeMap<String, LinkName>,
}

impl NodeConfig {
    /// Parses `{"nic_tags": {"TAG": "LINK", ...}}`.
    pub fn from_json(text: &str) -> Result<NodeConfig> {
        serde_json::from_str(text).map_err(|e| {
            Error::new(
                Op::ValidateName,
                "node configuration",
                ErrorKind::InvalidFormat(e.to_string()),
            )
        })
    }

    /// Reads and parses a node configuration file.
    pub fn load(path: &Path) -> Result<NodeConfig> {
        let text =
            std::fs::read_to_string(path).os(Op::ValidateName, path.display().to_string())?;
        NodeConfig::from_json(&text)
    }
}

/// One NIC of a payload (vmadm's `nics[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    /// The NIC tag, mapped to a host link by the [`NodeConfig`].
    pub nic_tag: String,
    /// Its MAC; random (and recorded) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// IPv4 address (with `netmask`), `ADDR/PREFIX`, `dhcp` or `addrconf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Dotted IPv4 netmask for `ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<String>,
    /// Default gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Addresses, `ADDR/PREFIX`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    /// Gateways.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
    /// 802.1Q VLAN, 1 to 4094.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_id: Option<u16>,
    /// MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The primary NIC (its gateway is the default route).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary: bool,
}

const NIC_PROPERTIES: &[&str] = &[
    "nic_tag", "mac", "ip", "netmask", "gateway", "ips", "gateways", "vlan_id", "mtu", "primary",
];

/// A `filesystems[]` entry: a host directory mounted into the machine
/// (`type` `lofs`; `options` may hold `ro`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    /// Always `lofs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Host path.
    pub source: PathBuf,
    /// Path inside the machine.
    pub target: PathBuf,
    /// Mount options: `ro` (read-only), `nodevice`, `nosuid` (always so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A vmadm payload for a zone-branded machine. Properties (vmadm's names
/// and units): `uuid` (generated when absent), `alias`, `brand`
/// (`joyent`, `joyent-minimal`, `lx`; `kvm` and `bhyve` are refused as
/// unsupported), `image_uuid`, `hostname`, `max_physical_memory` (MiB),
/// `max_lwps`, `cpu_cap` (percent of a CPU), `cpu_shares` (only vmadm's
/// default, 100: hull does not weight CPUs yet), `quota` (GiB),
/// `nics`, `resolvers`, `filesystems`, `customer_metadata` (kept),
/// `autoboot` (boot now and with the node; default true), `limit_priv`,
/// `init_name` (default `/sbin/init`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// The machine's UUID.
    pub uuid: String,
    /// A name for people; need not be unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The brand.
    pub brand: String,
    /// The image its root is cloned from.
    pub image_uuid: String,
    /// Written to the root's `/etc/hostname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Memory cap, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_physical_memory: Option<u64>,
    /// Process (LWP) cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lwps: Option<u32>,
    /// CPU cap, percent of one CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cap: Option<u32>,
    /// CPU shares (100 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u32>,
    /// The root's quota, GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<u32>,
    /// NICs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nics: Vec<Nic>,
    /// DNS resolvers, written to the root's `/etc/resolv.conf`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<IpAddr>,
    /// Host directories mounted in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filesystems: Vec<Filesystem>,
    /// Kept for the machine's owner.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub customer_metadata: BTreeMap<String, String>,
    /// Boot on create and with the node.
    #[serde(default = "yes")]
    pub autoboot: bool,
    /// The privileges (Linux capabilities) its root keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_priv: Option<String>,
    /// Its init.
    #[serde(default = "default_init")]
    pub init_name: String,
}

/// vmadm's comma-separated `limit_priv`, checked.
fn limitpriv(l: &str) -> Result<Vec<String>> {
    let names: Vec<String> = l
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    crate::zone::caps::mask(&names).map_err(|e| bad("limit_priv", e.to_string()))?;
    Ok(names)
}

fn not_found(property: &str, why: String) -> Error {
    Error::new(
        Op::ValidateName,
        format!("payload property {property}"),
        ErrorKind::NotFound,
    )
    .with_detail(&why)
}

fn yes() -> bool {
    true
}

fn default_init() -> String {
    "/sbin/init".into()
}

const PROPERTIES: &[&str] = &[
    "uuid",
    "alias",
    "brand",
    "image_uuid",
    "hostname",
    "max_physical_memory",
    "max_lwps",
    "cpu_cap",
    "cpu_shares",
    "quota",
    "nics",
    "resolvers",
    "filesystems",
    "customer_metadata",
    "autoboot",
    "limit_priv",
    "init_name",
];

/// A random version-4 UUID, as vmadm generates for a payload without one.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    // SAFETY: getrandom fills the 16-byte buffer it is given.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 16, 0) };
    assert_eq!(n, 16, "getrandom failed");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl Payload {
    /// Parses a payload: unknown properties (also inside `nics[]`) are
    /// refused naming them, each property is checked (see
    /// [`Payload::check`]), and a missing `uuid` is generated.
    pub fn from_json(text: &str) -> Result<Payload> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            Error::new(
                Op::ValidateName,
                "payload",
                ErrorKind::InvalidFormat(e.to_string()),
            )
        })?;
        Payload::from_value(v)
    }

    /// [`Payload::from_json`] from a parsed value.
    pub fn from_value(mut v: Value) -> Result<Payload> {
        let Some(obj) = v.as_object_mut() else {
            return Err(bad("(payload)", "a payload is a JSON object"));
        };
        if let Some(k) = obj.keys().find(|k| !PROPERTIES.contains(&k.as_str())) {
            return Err(bad(k, "unknown property"));
        }
        if let Some(Value::Array(nics)) = obj.get("nics") {
            for (i, nic) in nics.iter().enumerate() {
                let Some(nic) = nic.as_object() else {
                    return Err(bad(&format!("nics[{i}]"), "a nic is a JSON object"));
                };
                if let Some(k) = nic.keys().find(|k| !NIC_PROPERTIES.contains(&k.as_str())) {
                    return Err(bad(&format!("nics[{i}].{k}"), "unknown property"));
                }
            }
        }
        obj.entry("uuid")
            .or_insert_with(|| Value::String(new_uuid()));
        obj.entry("brand")
            .or_insert_with(|| Value::String("joyent".into()));
        // Each property on its own, so that an error names it.
        for (k, val) in obj.iter() {
            let r = match k.as_str() {
                "nics" => serde_json::from_value::<Vec<Nic>>(val.clone()).map(drop),
                "filesystems" => serde_json::from_value::<Vec<Filesystem>>(val.clone()).map(drop),
                "resolvers" => serde_json::from_value::<Vec<IpAddr>>(val.clone()).map(drop),
                "customer_metadata" => {
                    serde_json::from_value::<BTreeMap<String, String>>(val.clone()).map(drop)
                }
                "autoboot" => serde_json::from_value::<bool>(val.clone()).map(drop),
                "max_physical_memory" => serde_json::from_value::<u64>(val.clone()).map(drop),
                "max_lwps" | "cpu_cap" | "cpu_shares" | "quota" => {
                    serde_json::from_value::<u32>(val.clone()).map(drop)
                }
                _ => serde_json::from_value::<String>(val.clone()).map(drop),
            };
            r.map_err(|e| bad(k, e.to_string()))?;
        }
        let p: Payload = serde_json::from_value(v).map_err(|e| bad("(payload)", e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    /// Checks every property's value (not what depends on the node: the
    /// image and the NIC tags are checked by [`Machines::create`]).
    pub fn check(&self) -> Result<()> {
        if !is_uuid(&self.uuid) {
            return Err(bad("uuid", "not a lower-case UUID"));
        }
        match self.brand.as_str() {
            "joyent" | "joyent-minimal" | "lx" => {}
            "kvm" | "bhyve" => {
                return Err(Error::new(
                    Op::ValidateName,
                    "payload property brand",
                    ErrorKind::Unsupported("hardware-virtualised brands (kvm, bhyve) as machines"),
                ))
            }
            other => return Err(bad("brand", format!("{other:?} is not a brand hull knows"))),
        }
        if !is_uuid(&self.image_uuid) {
            return Err(bad("image_uuid", "not a lower-case UUID"));
        }
        if let Some(h) = &self.hostname {
            let ok = !h.is_empty()
                && h.len() <= 63
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !ok {
                return Err(bad("hostname", "letters, digits, - and ., at most 63"));
            }
        }
        for (name, v) in [
            ("max_physical_memory", self.max_physical_memory),
            ("max_lwps", self.max_lwps.map(u64::from)),
            ("cpu_cap", self.cpu_cap.map(u64::from)),
            ("quota", self.quota.map(u64::from)),
        ] {
            if v == Some(0) {
                return Err(bad(name, "0 would leave the machine nothing"));
            }
        }
        if self.cpu_shares.is_some_and(|s| s != 100) {
            return Err(Error::new(
                Op::ValidateName,
                "payload property cpu_shares",
                ErrorKind::Unsupported("CPU shares other than vmadm's default (100)"),
            ));
        }
        if !self.init_name.starts_with('/') {
            return Err(bad("init_name", "an absolute path"));
        }
        for (i, nic) in self.nics.iter().enumerate() {
            let at = |f: &str| format!("nics[{i}].{f}");
            if let Some(m) = &nic.mac {
                let mac: MacAddr = m
                    .parse()
                    .map_err(|_| bad(&at("mac"), format!("{m:?} is not a MAC address")))?;
                if !mac.is_unicast() {
                    return Err(bad(&at("mac"), "a multicast MAC"));
                }
            }
            if let Some(v) = nic.vlan_id {
                VlanId::new(v).map_err(|_| bad(&at("vlan_id"), format!("{v} is not 1 to 4094")))?;
            }
            // Addresses, gateways and MTU as the zone will take them.
            self.zone_net(i, "x0".parse().expect("a valid link name"))?;
        }
        if self.nics.len() > 100 {
            return Err(bad("nics", "at most 100"));
        }
        if self.nics.iter().filter(|n| n.primary).count() > 1 {
            return Err(bad("nics", "more than one primary nic"));
        }
        for (i, f) in self.filesystems.iter().enumerate() {
            if f.kind != "lofs" {
                return Err(bad(&format!("filesystems[{i}].type"), "only lofs"));
            }
            if let Some(o) = f
                .options
                .iter()
                .find(|o| !matches!(o.as_str(), "ro" | "rw" | "nodevice" | "nosuid"))
            {
                return Err(bad(
                    &format!("filesystems[{i}].options"),
                    format!("{o:?} is not ro, rw, nodevice or nosuid"),
                ));
            }
        }
        if let Some(l) = &self.limit_priv {
            limitpriv(l)?;
        }
        Ok(())
    }

    /// nics[i] as the zone's [`Net`] on `link`.
    fn zone_net(&self, i: usize, link: LinkName) -> Result<Net> {
        let n = &self.nics[i];
        let mut v = serde_json::to_value(n).expect("plain data");
        let o = v.as_object_mut().expect("an object");
        o.remove("nic_tag");
        o.insert("link".into(), Value::String(link.as_str().into()));
        serde_json::from_value(v).map_err(|e| bad(&format!("nics[{i}]"), e.to_string()))
    }

    fn zone_config(&self, zonepath: PathBuf, links: &[LinkName]) -> Result<ZoneConfig> {
        let nets = (0..self.nics.len())
            .map(|i| self.zone_net(i, links[i].clone()))
            .collect::<Result<Vec<_>>>()?;
        let mounts = self
            .filesystems
            .iter()
            .map(|f| FsMount {
                source: f.source.clone(),
                target: f.target.clone(),
                readonly: f.options.iter().any(|o| o == "ro"),
                follow_symlinks: false,
            })
            .collect();
        let limitpriv = self.limit_priv.as_deref().map(limitpriv).transpose()?;
        let mut cfg: ZoneConfig = serde_json::from_value(serde_json::json!({
            "name": self.uuid,
            "zonepath": zonepath,
            "brand": self.brand,
            "init": [self.init_name],
        }))
        .map_err(|e| bad("(payload)", e.to_string()))?;
        cfg.autoboot = self.autoboot;
        cfg.nets = nets;
        cfg.mounts = mounts;
        cfg.caps = Caps {
            memory_bytes: self.max_physical_memory.map(|m| m << 20),
            cpu_percent: self.cpu_cap,
            max_processes: self.max_lwps,
        };
        cfg.limitpriv = limitpriv;
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The steps of [`Machines::create`], in order; an error names the one
/// that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The machine's record, written before anything is made.
    Record,
    /// One VNIC per nic.
    Vnics,
    /// The zone's configuration.
    Configure,
    /// The image cloned as the zone's root (with the quota).
    Install,
    /// `/etc/resolv.conf` and `/etc/hostname` in the root.
    Files,
    /// The boot.
    Boot,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 6] = [
        Step::Record,
        Step::Vnics,
        Step::Configure,
        Step::Install,
        Step::Files,
        Step::Boot,
    ];

    fn name(self) -> &'static str {
        match self {
            Step::Record => "record",
            Step::Vnics => "vnics",
            Step::Configure => "configure",
            Step::Install => "install",
            Step::Files => "files",
            Step::Boot => "boot",
        }
    }
}

/// What a machine's record holds: its payload (with the MACs chosen) and
/// whether its create finished.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    payload: Payload,
    /// The host links made for its nics, in order.
    vnics: Vec<LinkName>,
    /// False until create finished: a record found so is undone at open.
    complete: bool,
}

/// A machine as [`Machines::get`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// The payload it was made from (with its uuid and MACs).
    #[serde(flatten)]
    pub payload: Payload,
    /// vmadm's `state`: `running`, `stopped`, ...
    pub state: String,
    /// The zone's own state.
    pub zone_state: String,
    /// Where the zone lives.
    pub zonepath: PathBuf,
    /// Its root's file system.
    pub zfs_filesystem: String,
}

/// The machines of this node.
pub struct Machines {
    zones: Zones,
    zfs: Zfs,
    node: NodeConfig,
    pool: DatasetName,
    pool_mount: PathBuf,
    dir: PathBuf,
    fail_after: Option<Step>,
}

impl std::fmt::Debug for Machines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machines")
            .field("pool", &self.pool)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn machine_error(uuid: &str, step: Step, e: Error) -> Error {
    let object = format!("machine {uuid} (step {})", step.name());
    let detail = e.to_string();
    Error::new(Op::CreateMachine, object, e.kind).with_detail(&detail)
}

impl Machines {
    /// The machines whose records are under `state_dir` (zones in
    /// `state_dir/zones`, machines in `state_dir/machines`), on `pool`
    /// (images at `<pool>/<uuid>`), with the node's NIC tags. A create
    /// that a killed process left unfinished is undone here.
    pub fn open(
        state_dir: impl AsRef<Path>,
        pool: DatasetName,
        node: NodeConfig,
    ) -> Result<Machines> {
        let state_dir = state_dir.as_ref();
        let zones = Zones::open(state_dir.join("zones"))?;
        let zfs = Zfs::open()?;
        let pool_mount = zfs
            .properties(pool.as_str())?
            .mountpoint
            .filter(|m| m.starts_with('/'))
            .map(PathBuf::from)
            .ok_or_else(|| {
                Error::new(
                    Op::QueryMachine,
                    pool.as_str(),
                    ErrorKind::InvalidArgument("the pool's file system has no mountpoint".into()),
                )
            })?;
        let dir = state_dir.join("machines");
        std::fs::create_dir_all(&dir).os(Op::QueryMachine, dir.display().to_string())?;
        let m = Machines {
            zones,
            zfs,
            node,
            pool,
            pool_mount,
            dir,
            fail_after: None,
        };
        for (uuid, rec) in m.records()? {
            if !rec.complete {
                m.undo(&rec, Step::Boot);
                let _ = std::fs::remove_file(m.record_path(&uuid));
            }
        }
        Ok(m)
    }

    /// A test hook: fail `create` right after `step` succeeds, to prove
    /// that what was made is undone.
    #[doc(hidden)]
    pub fn fail_after(&mut self, step: Option<Step>) {
        self.fail_after = step;
    }

    fn record_path(&self, uuid: &str) -> PathBuf {
        self.dir.join(format!("{uuid}.json"))
    }

    fn write_record(&self, rec: &Record) -> Result<()> {
        use std::io::Write;
        let path = self.record_path(&rec.payload.uuid);
        let tmp = path.with_extension("json.tmp");
        let object = || path.display().to_string();
        let mut f = std::fs::File::create(&tmp).os(Op::CreateMachine, object())?;
        f.write_all(&serde_json::to_vec_pretty(rec).expect("plain data"))
            .and_then(|()| f.sync_all())
            .os(Op::CreateMachine, object())?;
        std::fs::rename(&tmp, &path).os(Op::CreateMachine, object())?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .os(Op::CreateMachine, object())
    }

    fn records(&self) -> Result<Vec<(String, Record)>> {
        let mut out = Vec::new();
        for e in
            std::fs::read_dir(&self.dir).os(Op::QueryMachine, self.dir.display().to_string())?
        {
            let e = e.os(Op::QueryMachine, self.dir.display().to_string())?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(uuid) = name.strip_suffix(".json") else {
                continue;
            };
            if !is_uuid(uuid) {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).os(Op::QueryMachine, name.clone())?;
            let rec: Record = serde_json::from_str(&text).map_err(|err| {
                Error::new(
                    Op::QueryMachine,
                    name.clone(),
                    ErrorKind::InvalidFormat(err.to_string()),
                )
            })?;
            out.push((uuid.to_string(), rec));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn record(&self, uuid: &str) -> Result<Record> {
        if !is_uuid(uuid) {
            return Err(Error::new(
                Op::QueryMachine,
                format!("machine {uuid:?}"),
                ErrorKind::InvalidArgument("not a lower-case UUID".into()),
            ));
        }
        let text = match std::fs::read_to_string(self.record_path(uuid)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(
                    Op::QueryMachine,
                    format!("machine {uuid}"),
                    ErrorKind::NotFound,
                ))
            }
            Err(e) => return Err(Error::os(Op::QueryMachine, format!("machine {uuid}"), e)),
        };
        let rec: Record = serde_json::from_str(&text).map_err(|e| {
            Error::new(
                Op::QueryMachine,
                format!("machine {uuid}"),
                ErrorKind::InvalidFormat(e.to_string()),
            )
        })?;
        if !rec.complete {
            return Err(Error::new(
                Op::QueryMachine,
                format!("machine {uuid}"),
                ErrorKind::NotFound,
            )
            .with_detail("its create has not finished"));
        }
        Ok(rec)
    }

    fn zonepath(&self, uuid: &str) -> PathBuf {
        self.pool_mount.join(uuid)
    }

    /// The host link name for nics[i] of machine `uuid`: `m`, the
    /// uuid's first 11 hex digits (44 bits), `n`, and `i` (below 100): at
    /// most 15 bytes, as Linux allows, and a valid illumos link name.
    fn vnic_name(uuid: &str, i: usize) -> LinkName {
        let hex: String = uuid.chars().filter(|c| *c != '-').take(11).collect();
        format!("m{hex}n{i}").parse().expect("a valid link name")
    }

    /// Makes the machine `payload` describes and (with `autoboot`) boots
    /// it; returns its uuid. All or nothing (see the module docs).
    pub fn create(&mut self, payload: Payload) -> Result<String> {
        payload.check()?;
        let uuid = payload.uuid.clone();
        // What depends on the node, before anything is made.
        Images::new(&self.zfs, self.pool.clone())
            .get(&payload.image_uuid)
            .map_err(|e| not_found("image_uuid", format!("{}: {e}", payload.image_uuid)))?;
        let mut over = Vec::new();
        for (i, nic) in payload.nics.iter().enumerate() {
            let link = self.node.nic_tags.get(&nic.nic_tag).ok_or_else(|| {
                not_found(
                    &format!("nics[{i}].nic_tag"),
                    format!("{:?} is not a NIC tag of this node", nic.nic_tag),
                )
            })?;
            over.push(link.clone());
        }
        let zone: ZoneName = uuid.parse()?;
        let exists = || {
            Error::new(
                Op::CreateMachine,
                format!("machine {uuid}"),
                ErrorKind::AlreadyExists,
            )
        };
        if self.record_path(&uuid).exists()
            || self.zones.state(&zone).is_ok()
            || self.zfs.exists(self.pool.child(&uuid)?.as_str())?
        {
            return Err(exists());
        }
        let links: Vec<LinkName> = (0..payload.nics.len())
            .map(|i| Machines::vnic_name(&uuid, i))
            .collect();
        // A link of that name (another machine whose uuid shares the first
        // 44 bits) is not ours to make, nor to undo.
        let mut v = Vnics::open()?;
        if let Some(l) = links.iter().find(|l| v.get(l).is_ok()) {
            return Err(exists().with_detail(&format!("a link named {l} exists")));
        }
        let mut rec = Record {
            payload,
            vnics: links.clone(),
            complete: false,
        };
        let mut failed = Step::Record;
        let r = self.create_steps(&mut rec, &zone, &over, &mut failed);
        match r {
            Ok(()) => Ok(uuid),
            Err(e) => {
                // Undo through the step that failed: it may have made part
                // of its work (some of the VNICs, say).
                let step = failed;
                self.undo(&rec, step);
                let _ = std::fs::remove_file(self.record_path(&uuid));
                Err(machine_error(&uuid, step, e))
            }
        }
    }

    fn create_steps(
        &self,
        rec: &mut Record,
        zone: &ZoneName,
        over: &[LinkName],
        failed: &mut Step,
    ) -> Result<()> {
        let uuid = rec.payload.uuid.clone();
        // Each step's result, in order: the one running is noted, for the
        // error and the undo.
        let mut step = |s: Step, r: Result<()>| -> Result<()> {
            *failed = s;
            r?;
            // A test hook: the process killed here, after this step.
            crate::zone::fault_point(&format!("machine:{}", s.name()));
            if self.fail_after == Some(s) {
                return Err(Error::new(
                    Op::CreateMachine,
                    "test hook",
                    ErrorKind::Interrupted,
                ));
            }
            Ok(())
        };
        step(Step::Record, self.write_record(rec))?;
        // The VNICs, with the MACs recorded as vmadm does.
        let vnics = (|| -> Result<()> {
            let mut v = Vnics::open()?;
            for (i, link) in rec.vnics.clone().iter().enumerate() {
                let nic = &rec.payload.nics[i];
                let mac = match &nic.mac {
                    Some(m) => MacSpec::Fixed(m.parse()?),
                    None => MacSpec::Random,
                };
                let made = v.create(&VnicSpec {
                    name: link.clone(),
                    over: over[i].clone(),
                    mac,
                    vlan: nic.vlan_id.map(VlanId::new).transpose()?,
                    mtu: nic.mtu,
                })?;
                rec.payload.nics[i].mac = Some(made.mac.to_string());
            }
            self.write_record(rec)
        })();
        step(Step::Vnics, vnics)?;
        let cfg = rec.payload.zone_config(self.zonepath(&uuid), &rec.vnics);
        step(Step::Configure, cfg.and_then(|c| self.zones.configure(&c)))?;
        step(
            Step::Install,
            self.zones.install_from(
                zone,
                &Install::Image {
                    uuid: rec.payload.image_uuid.clone(),
                    quota_gb: rec.payload.quota,
                },
            ),
        )?;
        step(Step::Files, self.write_files(&rec.payload))?;
        let boot = if rec.payload.autoboot {
            self.zones.boot(zone).map(drop)
        } else {
            Ok(())
        };
        step(Step::Boot, boot)?;
        rec.complete = true;
        self.write_record(rec)
    }

    /// Undoes a create up to and including `last`, in reverse order. Each
    /// undo is tried whatever the others did.
    fn undo(&self, rec: &Record, last: Step) {
        let uuid = &rec.payload.uuid;
        let Ok(zone) = uuid.parse::<ZoneName>() else {
            return;
        };
        if last >= Step::Boot {
            let _ = self.zones.halt(&zone);
        }
        if last >= Step::Install {
            let _ = self.zones.uninstall(&zone);
        }
        if last >= Step::Configure {
            let _ = self.zones.delete(&zone);
        }
        if last >= Step::Vnics {
            if let Ok(mut v) = Vnics::open() {
                for l in &rec.vnics {
                    let _ = v.delete(l);
                }
                let _ = self.release_vlans(rec, &mut v);
            }
        }
        let _ = std::fs::remove_file(self.record_path(uuid));
    }

    /// The VLAN sub-links its VNICs sat on, once unused: VNICs handed to
    /// a zone go with its network namespace, not through `Vnics::delete`.
    fn release_vlans(&self, rec: &Record, v: &mut Vnics) -> Result<()> {
        for nic in &rec.payload.nics {
            if let (Some(vid), Some(over)) = (nic.vlan_id, self.node.nic_tags.get(&nic.nic_tag)) {
                v.release_vlan(over, VlanId::new(vid)?)?;
            }
        }
        Ok(())
    }

    fn write_files(&self, p: &Payload) -> Result<()> {
        let root = self.zonepath(&p.uuid).join("root");
        if !p.resolvers.is_empty() {
            let text: String = p
                .resolvers
                .iter()
                .map(|r| format!("nameserver {r}\n"))
                .collect();
            write_in_root(&root, "etc/resolv.conf", text.as_bytes())?;
        }
        if let Some(h) = &p.hostname {
            write_in_root(&root, "etc/hostname", format!("{h}\n").as_bytes())?;
        }
        Ok(())
    }

    /// The machine `uuid`, as vmadm's `get` shows it.
    pub fn get(&self, uuid: &str) -> Result<Machine> {
        let rec = self.record(uuid)?;
        let zone: ZoneName = uuid.parse()?;
        let zs = self.zones.state(&zone)?;
        let state = match zs {
            State::Running => "running",
            State::Installed | State::Down => "stopped",
            State::Configured | State::Incomplete => "failed",
            _ => "provisioning",
        };
        Ok(Machine {
            payload: rec.payload,
            state: state.into(),
            zone_state: format!("{zs:?}").to_lowercase(),
            zonepath: self.zonepath(uuid),
            zfs_filesystem: format!("{}/{uuid}", self.pool),
        })
    }

    /// Every machine, by uuid.
    pub fn list(&self) -> Result<Vec<Machine>> {
        self.records()?
            .into_iter()
            .filter(|(_, r)| r.complete)
            .map(|(u, _)| self.get(&u))
            .collect()
    }

    /// Boots a stopped machine, making again the VNICs its last run took
    /// with it (a zone's links go with its network namespace).
    pub fn start(&self, uuid: &str) -> Result<()> {
        let rec = self.record(uuid)?;
        let zone: ZoneName = uuid.parse()?;
        let mut v = Vnics::open()?;
        let mut made = Vec::new();
        for (i, link) in rec.vnics.iter().enumerate() {
            if v.get(link).is_ok() {
                continue;
            }
            let nic = &rec.payload.nics[i];
            let over = self.node.nic_tags.get(&nic.nic_tag).ok_or_else(|| {
                bad(
                    &format!("nics[{i}].nic_tag"),
                    format!("{:?} is no longer a NIC tag of this node", nic.nic_tag),
                )
            })?;
            let spec = VnicSpec {
                name: link.clone(),
                over: over.clone(),
                mac: match &nic.mac {
                    Some(m) => MacSpec::Fixed(m.parse()?),
                    None => MacSpec::Random,
                },
                vlan: nic.vlan_id.map(VlanId::new).transpose()?,
                mtu: nic.mtu,
            };
            match v.create(&spec) {
                Ok(_) => made.push(link.clone()),
                Err(e) => {
                    for l in &made {
                        let _ = v.delete(l);
                    }
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.zones.boot(&zone) {
            for l in &made {
                let _ = v.delete(l);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Stops a running machine: INIT is asked first (SIGTERM), then
    /// everything left is killed after `timeout`.
    pub fn stop(&self, uuid: &str, timeout: std::time::Duration) -> Result<()> {
        self.record(uuid)?;
        self.zones.shutdown(&uuid.parse()?, timeout)
    }

    /// Stops and starts a running machine.
    pub fn reboot(&self, uuid: &str, timeout: std::time::Duration) -> Result<()> {
        self.stop(uuid, timeout)?;
        self.start(uuid)
    }

    /// Deletes a machine: halted, its VNICs, its root's clone, its zone
    /// and its record.
    pub fn delete(&self, uuid: &str) -> Result<()> {
        let rec = self.record(uuid)?;
        let zone: ZoneName = uuid.parse()?;
        if matches!(self.zones.state(&zone)?, State::Running | State::Down) {
            self.zones.halt(&zone)?;
        }
        let mut v = Vnics::open()?;
        for l in &rec.vnics {
            match v.delete(l) {
                Ok(()) => {}
                // Gone with the zone's network namespace.
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.release_vlans(&rec, &mut v)?;
        if matches!(
            self.zones.state(&zone)?,
            State::Installed | State::Incomplete
        ) {
            self.zones.uninstall(&zone)?;
        }
        self.zones.delete(&zone)?;
        std::fs::remove_file(self.record_path(uuid))
            .os(Op::DeleteMachine, format!("machine {uuid}"))
    }
}

/// Writes `data` to `rel` below the machine's `root`, never following a
/// link the image planted (`openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)`),
/// replacing a regular file there.
#[cfg(target_os = "linux")]
fn write_in_root(root: &Path, rel: &str, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let object = || format!("{}/{rel}", root.display());
    let dir = std::fs::File::open(root).os(Op::CreateMachine, object())?;
    let resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    let fd = crate::zone::paths::openat2_mode(
        std::os::fd::AsFd::as_fd(&dir),
        Path::new(rel),
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        0o644,
        resolve,
    )
    .os(Op::CreateMachine, object())?;
    let mut f = std::fs::File::from(fd);
    if !f.metadata().os(Op::CreateMachine, object())?.is_file() {
        return Err(Error::new(
            Op::CreateMachine,
            object(),
            ErrorKind::InvalidArgument("not a regular file".into()),
        ));
    }
    f.write_all(data).os(Op::CreateMachine, object())
}

#[cfg(not(target_os = "linux"))]
fn write_in_root(root: &Path, rel: &str, _data: &[u8]) -> Result<()> {
    Err(Error::new(
        Op::CreateMachine,
        format!("{}/{rel}", root.display()),
        ErrorKind::Unsupported("writing resolvers and hostname into an illumos zone's root"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = "1a000000-0000-4000-8000-000000000001";

    fn payload(extra: &str) -> Result<Payload> {
        Payload::from_json(&format!(
            r#"{{"brand": "joyent", "image_uuid": "{IMAGE}", "alias": "web0",
                 "max_physical_memory": 256, "quota": 5, "resolvers": ["10.0.0.53"],
                 "nics": [{{"nic_tag": "admin", "ip": "10.0.0.5", "netmask": "255.255.255.0",
                           "gateway": "10.0.0.1", "primary": true}},
                          {{"nic_tag": "admin", "vlan_id": 7, "ips": ["10.7.0.5/24"]}}]
                 {extra}}}"#
        ))
    }

    #[test]
    fn a_vmadm_payload_parses_with_a_generated_uuid_and_vmadms_defaults() {
        let p = payload("").unwrap();
        assert!(is_uuid(&p.uuid));
        assert_ne!(p.uuid, payload("").unwrap().uuid, "a fresh uuid each time");
        assert!(p.autoboot);
        assert_eq!(p.init_name, "/sbin/init");
        assert_eq!(p.nics[1].vlan_id, Some(7));
        let cfg = p
            .zone_config(
                "/zones/x".into(),
                &["m1n0".parse().unwrap(), "m1n1".parse().unwrap()],
            )
            .unwrap();
        assert_eq!(cfg.caps.memory_bytes, Some(256 << 20));
        assert_eq!(cfg.nets[0].ips[0].prefix, 24);
        assert_eq!(
            cfg.nets[0].gateways,
            ["10.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert!(cfg.nets[0].primary);
        assert_eq!(cfg.name.as_str(), p.uuid);
        // The uuid given is kept.
        let q = payload(r#", "uuid": "2b000000-0000-4000-8000-000000000002""#).unwrap();
        assert_eq!(q.uuid, "2b000000-0000-4000-8000-000000000002");
    }

    #[test]
    fn bad_payloads_are_refused_naming_the_property() {
        for (extra, property) in [
            (r#", "colour": "blue""#, "colour"),
            (r#", "quota": 0"#, "quota"),
            (r#", "max_physical_memory": 0"#, "max_physical_memory"),
            (r#", "max_physical_memory": "lots""#, "max_physical_memory"),
            (r#", "uuid": "not-a-uuid""#, "uuid"),
            (r#", "brand": "solaris""#, "brand"),
            (r#", "hostname": "a b""#, "hostname"),
            (r#", "limit_priv": "default,cap_frobnicate""#, "limit_priv"),
            (r#", "init_name": "sbin/init""#, "init_name"),
            (
                r#", "filesystems": [{"type": "nfs", "source": "/a", "target": "/b"}]"#,
                "filesystems[0].type",
            ),
            (r#", "resolvers": ["ten"]"#, "resolvers"),
        ] {
            let e = payload(extra).unwrap_err();
            assert!(
                e.object.contains(&format!("property {property}")),
                "{extra}: {e}"
            );
            assert!(
                matches!(e.kind, ErrorKind::InvalidArgument(_)),
                "{extra}: {e}"
            );
        }
        // Inside nics[].
        let nic = |n: &str| {
            Payload::from_json(&format!(
                r#"{{"image_uuid": "{IMAGE}", "nics": [{{"nic_tag": "admin", {n}}}]}}"#
            ))
            .unwrap_err()
        };
        for (n, property) in [
            (r#""mac": "02:00:00:00:00""#, "nics[0].mac"),
            (r#""mac": "01:00:5e:00:00:01""#, "nics[0].mac"),
            (r#""vlan_id": 4095"#, "nics[0].vlan_id"),
            (r#""vlan_id": 0"#, "nics[0].vlan_id"),
            (
                r#""ip": "10.0.0.300", "netmask": "255.255.255.0""#,
                "nics[0]",
            ),
            (r#""ip": "10.0.0.3", "netmask": "255.0.255.0""#, "nics[0]"),
            (r#""mtu": 17"#, "nics[0]"),
            (r#""model": "virtio""#, "nics[0].model"),
        ] {
            let e = nic(n);
            assert!(
                e.object.contains(&format!("property {property}")),
                "{n}: {e}"
            );
        }
        // kvm is a brand, but not one hull makes machines of yet.
        let e = payload(r#", "brand": "kvm""#).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        // A duplicate alias is fine (vmadm allows it); a payload must be an object.
        assert!(Payload::from_json("[1]").is_err());
    }

    #[test]
    fn vnic_names_fit_linux_and_illumos_rules() {
        let uuid = "0123abcd-ef01-4000-8000-000000000000";
        for i in [0, 9, 10, 99] {
            let n = Machines::vnic_name(uuid, i);
            assert!(n.as_str().len() <= 15, "{n}");
            assert!(n.as_str().starts_with("m0123abcdef0n"), "{n}");
            LinkName::parse(n.as_str(), crate::name::LinkRules::Illumos).unwrap();
        }
    }

    #[test]
    fn a_node_configuration_maps_tags_to_links() {
        let n = NodeConfig::from_json(r#"{"nic_tags": {"admin": "eth0", "external": "stub0"}}"#)
            .unwrap();
        assert_eq!(n.nic_tags["external"].as_str(), "stub0");
        assert!(NodeConfig::from_json(r#"{"nic_tags": {"admin": "a/b"}}"#).is_err());
        assert!(NodeConfig::from_json(r#"{"tags": {}}"#).is_err());
    }
}
