//! Validated names: a value of one of these types is proof that the name is
//! well formed, so functions that take one never check it again, and an
//! invalid name never reaches a C library.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Op, Result};

/// The longest dataset or snapshot name ZFS accepts (`ZFS_MAX_DATASET_NAME_LEN`
/// is 256 including the NUL).
pub const MAX_DATASET_NAME_LEN: usize = 255;

fn invalid(name: &str, why: impl Into<String>) -> Error {
    Error::new(
        Op::ValidateName,
        format!("{name:?}"),
        ErrorKind::InvalidArgument(why.into()),
    )
}

/// Characters ZFS allows in a name component (OpenZFS `zfs_namecheck.c`).
fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | ' ')
}

fn check_component(name: &str, comp: &str, what: &str) -> Result<()> {
    if comp.is_empty() {
        return Err(invalid(name, format!("empty {what} component")));
    }
    if comp == "." || comp == ".." {
        return Err(invalid(
            name,
            format!("{what} component {comp:?} is reserved"),
        ));
    }
    if let Some(c) = comp.chars().find(|c| !valid_char(*c)) {
        return Err(invalid(
            name,
            format!("character {c:?} is not allowed (letters, digits, - _ . : and space are)"),
        ));
    }
    Ok(())
}

fn check_pool(name: &str, pool: &str) -> Result<()> {
    check_component(name, pool, "pool")?;
    if !pool.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(invalid(name, "a pool name must start with a letter"));
    }
    for reserved in ["mirror", "raidz", "draid", "spare", "log"] {
        if pool.starts_with(reserved) && (reserved != "log" || pool == "log") {
            return Err(invalid(
                name,
                format!("pool names beginning with {reserved:?} are reserved"),
            ));
        }
    }
    let mut b = pool.bytes();
    if b.next() == Some(b'c') && b.next().is_some_and(|d| d.is_ascii_digit()) {
        return Err(invalid(
            name,
            "pool names like c0... are reserved for disk names",
        ));
    }
    Ok(())
}

fn check_dataset(name: &str, full: &str) -> Result<()> {
    if full.len() > MAX_DATASET_NAME_LEN {
        return Err(invalid(
            name,
            format!("longer than {MAX_DATASET_NAME_LEN} bytes"),
        ));
    }
    if full.contains(['@', '#', '%']) {
        return Err(invalid(name, "a dataset name has no '@', '#' or '%'"));
    }
    let mut parts = full.split('/');
    check_pool(name, parts.next().unwrap_or(""))?;
    for comp in parts {
        check_component(name, comp, "dataset")?;
    }
    Ok(())
}

/// A ZFS file system or volume name: `pool[/child...]`.
///
/// ```
/// use hull::name::DatasetName;
/// let d: DatasetName = "tank/images/base".parse()?;
/// assert_eq!(d.pool(), "tank");
/// assert!("tank//x".parse::<DatasetName>().is_err());
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatasetName(String);

impl DatasetName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pool the dataset lives in.
    pub fn pool(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// The parent dataset, or `None` for a pool's root.
    pub fn parent(&self) -> Option<DatasetName> {
        self.0
            .rsplit_once('/')
            .map(|(p, _)| DatasetName(p.to_string()))
    }

    /// A child of this dataset.
    pub fn child(&self, component: &str) -> Result<DatasetName> {
        format!("{}/{component}", self.0).parse()
    }

    /// A snapshot of this dataset.
    pub fn snapshot(&self, snap: &str) -> Result<SnapshotName> {
        format!("{}@{snap}", self.0).parse()
    }
}

impl FromStr for DatasetName {
    type Err = Error;
    fn from_str(s: &str) -> Result<DatasetName> {
        check_dataset(s, s)?;
        Ok(DatasetName(s.to_string()))
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DatasetName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A ZFS snapshot name: `pool/fs@snap`, with exactly one `@`.
///
/// ```
/// use hull::name::SnapshotName;
/// let s: SnapshotName = "tank/images/base@v1".parse()?;
/// assert_eq!(s.dataset().as_str(), "tank/images/base");
/// assert_eq!(s.snapshot(), "v1");
/// assert!("tank/a@b@c".parse::<SnapshotName>().is_err());
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotName {
    full: String,
    at: usize,
}

impl SnapshotName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The dataset the snapshot is of.
    pub fn dataset(&self) -> DatasetName {
        DatasetName(self.full[..self.at].to_string())
    }

    /// The part after the `@`.
    pub fn snapshot(&self) -> &str {
        &self.full[self.at + 1..]
    }

    /// The pool the snapshot lives in.
    pub fn pool(&self) -> &str {
        self.full.split(['/', '@']).next().unwrap_or(&self.full)
    }
}

impl FromStr for SnapshotName {
    type Err = Error;
    fn from_str(s: &str) -> Result<SnapshotName> {
        if s.len() > MAX_DATASET_NAME_LEN {
            return Err(invalid(
                s,
                format!("longer than {MAX_DATASET_NAME_LEN} bytes"),
            ));
        }
        let at = match s.match_indices('@').map(|(i, _)| i).collect::<Vec<_>>()[..] {
            [at] => at,
            [] => return Err(invalid(s, "a snapshot name has an '@'")),
            _ => return Err(invalid(s, "a snapshot name has exactly one '@'")),
        };
        check_dataset(s, &s[..at])?;
        check_component(s, &s[at + 1..], "snapshot")?;
        Ok(SnapshotName {
            full: s.to_string(),
            at,
        })
    }
}

impl fmt::Display for SnapshotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl AsRef<str> for SnapshotName {
    fn as_ref(&self) -> &str {
        &self.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_dataset(s: &str) -> String {
        match s.parse::<DatasetName>() {
            Err(e) => {
                assert_eq!(e.op, Op::ValidateName);
                assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)));
                e.to_string()
            }
            Ok(d) => panic!("{s:?} accepted as {d}"),
        }
    }

    #[test]
    fn good_dataset_names() {
        for s in [
            "tank",
            "tank/a",
            "tank/a-b_c.d:e",
            "tank/with space",
            "t0/x/y/z",
        ] {
            assert_eq!(s.parse::<DatasetName>().unwrap().as_str(), s);
        }
    }

    #[test]
    fn bad_dataset_names_say_why() {
        assert!(bad_dataset("").contains("empty pool"));
        assert!(bad_dataset("tank/").contains("empty dataset"));
        assert!(bad_dataset("tank//a").contains("empty dataset"));
        assert!(bad_dataset("/tank").contains("empty pool"));
        assert!(bad_dataset("tank/./a").contains("reserved"));
        assert!(bad_dataset("tank/..").contains("reserved"));
        assert!(bad_dataset("tank/a*b").contains("'*'"));
        assert!(bad_dataset("tank/é").contains("not allowed"));
        assert!(bad_dataset("tank@snap").contains("'@'"));
        assert!(bad_dataset("tank#bm").contains("'@'"));
        assert!(bad_dataset("1tank").contains("start with a letter"));
        assert!(bad_dataset("mirror0/a").contains("reserved"));
        assert!(bad_dataset("raidz/a").contains("reserved"));
        assert!(bad_dataset("log").contains("reserved"));
        assert!(bad_dataset("c0t0d0/a").contains("disk"));
        assert!(bad_dataset(&format!("tank/{}", "x".repeat(251))).contains("longer than 255"));
        assert!("logs/a".parse::<DatasetName>().is_ok());
        assert!(format!("tank/{}", "x".repeat(250))
            .parse::<DatasetName>()
            .is_ok());
    }

    #[test]
    fn snapshot_names_have_exactly_one_at() {
        let s: SnapshotName = "tank/a@v1".parse().unwrap();
        assert_eq!(
            (s.dataset().as_str(), s.snapshot(), s.pool()),
            ("tank/a", "v1", "tank")
        );
        assert_eq!("tank@now".parse::<SnapshotName>().unwrap().pool(), "tank");
        for bad in [
            "tank/a",
            "tank/a@",
            "@v1",
            "tank/a@v1@v2",
            "tank/a@v/1",
            "tank//a@v1",
            "tank/a@..",
        ] {
            assert!(bad.parse::<SnapshotName>().is_err(), "{bad:?} accepted");
        }
        assert!(format!("tank/a@{}", "x".repeat(250))
            .parse::<SnapshotName>()
            .is_err());
    }

    #[test]
    fn relatives() {
        let d: DatasetName = "tank/a/b".parse().unwrap();
        assert_eq!(d.parent().unwrap().as_str(), "tank/a");
        assert_eq!(d.child("c").unwrap().as_str(), "tank/a/b/c");
        assert!(d.child("c@d").is_err());
        assert_eq!(d.snapshot("s").unwrap().as_str(), "tank/a/b@s");
        assert!("tank".parse::<DatasetName>().unwrap().parent().is_none());
    }
}

/// Which platform's rules a [`LinkName`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRules {
    /// Linux: 1–15 bytes, no `/`, `:` or whitespace, not `.` or `..`.
    Linux,
    /// illumos: 1–31 bytes of letters, digits and `_`, starting with a
    /// letter and ending in a digit.
    Illumos,
}

impl LinkRules {
    /// The rules of the platform this program runs on.
    pub const HOST: LinkRules = if cfg!(target_os = "illumos") {
        LinkRules::Illumos
    } else {
        LinkRules::Linux
    };
}

/// A network link name (a VNIC, its parent, an etherstub), valid on the
/// platform whose rules it was checked against.
///
/// ```
/// use hull::name::{LinkName, LinkRules};
/// assert!(LinkName::parse("vnic0", LinkRules::Linux).is_ok());
/// assert!(LinkName::parse("a-name-way-too-long", LinkRules::Linux).is_err());
/// assert!(LinkName::parse("net0", LinkRules::Illumos).is_ok());
/// assert!(LinkName::parse("net", LinkRules::Illumos).is_err()); // must end in a digit
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct LinkName(String);

impl TryFrom<String> for LinkName {
    type Error = Error;
    /// Checks against the host platform's rules.
    fn try_from(s: String) -> Result<LinkName> {
        s.parse()
    }
}

impl From<LinkName> for String {
    fn from(l: LinkName) -> String {
        l.0
    }
}

impl LinkName {
    /// Checks `s` against `rules`.
    pub fn parse(s: &str, rules: LinkRules) -> Result<LinkName> {
        let max = match rules {
            LinkRules::Linux => 15,
            LinkRules::Illumos => 31,
        };
        if s.is_empty() || s.len() > max {
            return Err(invalid(s, format!("a link name is 1 to {max} bytes")));
        }
        match rules {
            LinkRules::Linux => {
                if s == "." || s == ".." {
                    return Err(invalid(s, "reserved link name"));
                }
                if let Some(c) = s
                    .chars()
                    .find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control())
                {
                    return Err(invalid(
                        s,
                        format!("character {c:?} is not allowed in a link name"),
                    ));
                }
            }
            LinkRules::Illumos => {
                if let Some(c) = s
                    .chars()
                    .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
                {
                    return Err(invalid(
                        s,
                        format!("character {c:?} is not allowed (letters, digits and _ are)"),
                    ));
                }
                if !s.starts_with(|c: char| c.is_ascii_alphabetic())
                    || !s.ends_with(|c: char| c.is_ascii_digit())
                {
                    return Err(invalid(
                        s,
                        "an illumos link name starts with a letter and ends in a digit",
                    ));
                }
            }
        }
        Ok(LinkName(s.to_string()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LinkName {
    type Err = Error;
    /// Checks against the host platform's rules.
    fn from_str(s: &str) -> Result<LinkName> {
        LinkName::parse(s, LinkRules::HOST)
    }
}

impl fmt::Display for LinkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Ethernet MAC address.
///
/// ```
/// use hull::name::MacAddr;
/// let m: MacAddr = "02:08:20:aa:bb:cc".parse()?;
/// assert!(m.is_unicast() && m.is_local());
/// let r = MacAddr::random();
/// assert!(r.is_unicast() && r.is_local());
/// # Ok::<(), hull::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// A random, unicast, locally administered address.
    pub fn random() -> MacAddr {
        let mut b = [0u8; 6];
        // SAFETY: `b` is a writable 6-byte buffer.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
        assert_eq!(n, 6, "getrandom failed");
        b[0] = (b[0] & 0xfe) | 0x02;
        MacAddr(b)
    }

    /// Whether the address is unicast (I/G bit clear).
    pub fn is_unicast(&self) -> bool {
        self.0[0] & 1 == 0
    }

    /// Whether the address is locally administered (U/L bit set).
    pub fn is_local(&self) -> bool {
        self.0[0] & 2 != 0
    }
}

impl FromStr for MacAddr {
    type Err = Error;
    fn from_str(s: &str) -> Result<MacAddr> {
        let parts: Vec<&str> = s.split(':').collect();
        let bad = || invalid(s, "a MAC address is six hex bytes separated by ':'");
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut b = [0u8; 6];
        for (o, p) in b.iter_mut().zip(&parts) {
            if p.is_empty() || p.len() > 2 {
                return Err(bad());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        Ok(MacAddr(b))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// An 802.1Q VLAN id, 1 to 4094.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VlanId(u16);

impl VlanId {
    /// Checks `id` is 1 to 4094 (0 means "no VLAN", 4095 is reserved).
    pub fn new(id: u16) -> Result<VlanId> {
        if (1..=4094).contains(&id) {
            Ok(VlanId(id))
        } else {
            Err(invalid(&id.to_string(), "a VLAN id is 1 to 4094"))
        }
    }

    /// The id.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl FromStr for VlanId {
    type Err = Error;
    fn from_str(s: &str) -> Result<VlanId> {
        VlanId::new(
            s.parse()
                .map_err(|_| invalid(s, "a VLAN id is a number from 1 to 4094"))?,
        )
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn linux_link_names() {
        for ok in ["eth0", "vnic-a.1", "x", "fifteen_chars15"] {
            assert!(LinkName::parse(ok, LinkRules::Linux).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "sixteen_chars_16",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
            ".",
            "..",
        ] {
            assert!(
                LinkName::parse(bad, LinkRules::Linux).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn illumos_link_names() {
        for ok in ["net0", "vnic_1", "e1000g0", &format!("a{}", "1".repeat(30))] {
            assert!(LinkName::parse(ok, LinkRules::Illumos).is_ok(), "{ok}");
        }
        for bad in ["net", "0net1", "net-0", "", &format!("a{}", "1".repeat(31))] {
            assert!(
                LinkName::parse(bad, LinkRules::Illumos).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn mac_addresses() {
        let m: MacAddr = "02:00:5e:10:00:01".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:5e:10:00:01");
        assert!(m.is_unicast() && m.is_local());
        let mc: MacAddr = "01:00:5e:00:00:01".parse().unwrap();
        assert!(!mc.is_unicast());
        for bad in [
            "02:00:5e:10:00",
            "02:00:5e:10:00:01:02",
            "0g:00:00:00:00:00",
            "020:0:0:0:0:0",
            "",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad:?}");
        }
        for _ in 0..100 {
            let r = MacAddr::random();
            assert!(r.is_unicast() && r.is_local(), "{r}");
        }
    }

    #[test]
    fn vlan_ids() {
        assert!(VlanId::new(0).is_err());
        assert!(VlanId::new(4095).is_err());
        assert_eq!(VlanId::new(1).unwrap().get(), 1);
        assert_eq!("4094".parse::<VlanId>().unwrap().get(), 4094);
        assert!("x".parse::<VlanId>().is_err());
    }
}

/// A zone name: 1–63 characters, starting with a letter or digit, then
/// letters, digits, `-`, `_` and `.`; never `global`.
///
/// ```
/// use hull::name::ZoneName;
/// assert!("web-01".parse::<ZoneName>().is_ok());
/// assert!("global".parse::<ZoneName>().is_err());
/// assert!("-x".parse::<ZoneName>().is_err());
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct ZoneName(String);

impl ZoneName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ZoneName {
    type Err = Error;
    fn from_str(s: &str) -> Result<ZoneName> {
        if s.is_empty() || s.len() > 63 {
            return Err(invalid(s, "a zone name is 1 to 63 characters"));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid(s, "a zone name starts with a letter or digit"));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(invalid(
                s,
                format!("character {c:?} is not allowed (letters, digits, - _ . are)"),
            ));
        }
        if s == "global" {
            return Err(invalid(s, "\"global\" is the global zone's name"));
        }
        Ok(ZoneName(s.to_string()))
    }
}

impl TryFrom<String> for ZoneName {
    type Error = Error;
    fn try_from(s: String) -> Result<ZoneName> {
        s.parse()
    }
}

impl From<ZoneName> for String {
    fn from(z: ZoneName) -> String {
        z.0
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod zone_name_tests {
    use super::*;

    #[test]
    fn zone_names() {
        for ok in ["a", "0", "web-01", "a_b.c", &"z".repeat(63)] {
            assert!(ok.parse::<ZoneName>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "global",
            "-a",
            ".a",
            "_a",
            "a b",
            "a/b",
            "é",
            &"z".repeat(64),
        ] {
            assert!(bad.parse::<ZoneName>().is_err(), "{bad:?} accepted");
        }
        let z: ZoneName = serde_json::from_str("\"web\"").unwrap();
        assert_eq!(z.as_str(), "web");
        assert!(serde_json::from_str::<ZoneName>("\"global\"").is_err());
    }
}
