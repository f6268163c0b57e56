//! A zone's network interfaces: the links handed to it and the addresses,
//! MTU and default routes hull configures on them, in the zone's network
//! namespace, before INIT runs.
//!
//! In JSON an entry is a link name (`"vnic0"`), or an object with vmadm's
//! nic fields: `interface` (or `link`), `ip` + `netmask` or `ip` as
//! `ADDR/PREFIX` (`"dhcp"` and `"addrconf"` leave addressing to the zone),
//! `ips` (CIDR, IPv4 or IPv6), `gateway` / `gateways`, `mtu`, and, accepted
//! for vmadm payloads, `mac`, `vlan_id` and `primary`.
//!
//! ```
//! use hull::zone::Net;
//! let n: Net = serde_json::from_str(r#"{"interface": "vnic0", "ip": "10.0.0.5",
//!     "netmask": "255.255.255.0", "gateway": "10.0.0.1", "ips": ["fd00::5/64"]}"#).unwrap();
//! assert_eq!(n.ips.iter().map(|c| c.to_string()).collect::<Vec<_>>(), ["10.0.0.5/24", "fd00::5/64"]);
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::name::LinkName;

/// An address with its prefix length: `10.0.0.5/24`, `fd00::5/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpCidr {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length (at most 32 for IPv4, 128 for IPv6).
    pub prefix: u8,
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpCidr {
    type Err = String;
    fn from_str(s: &str) -> Result<IpCidr, String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: an address with a prefix length, ADDR/PREFIX"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?}: {a:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{s:?}: the prefix length is 0 to {max}"))?;
        Ok(IpCidr { addr, prefix })
    }
}

impl Serialize for IpCidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpCidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IpCidr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One link handed to a zone, and what hull configures on it inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Net {
    /// The link (a VNIC) moved into the zone.
    pub link: LinkName,
    /// Its addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpCidr>,
    /// Default routes: the first IPv4 and the first IPv6 gateway.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<IpAddr>,
    /// Its MTU, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// vmadm's `mac`, kept for the payload (the VNIC carries the MAC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// vmadm's `vlan_id`, kept for the payload (the VNIC carries the VLAN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan_id: Option<u16>,
    /// vmadm's `primary`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary: bool,
}

impl Net {
    /// A link with nothing configured on it.
    pub fn link(link: LinkName) -> Net {
        Net {
            link,
            ips: Vec::new(),
            gateways: Vec::new(),
            mtu: None,
            mac: None,
            vlan_id: None,
            primary: false,
        }
    }

    /// Whether hull configures anything on this link inside the zone.
    pub fn configures_ip(&self) -> bool {
        !self.ips.is_empty() || !self.gateways.is_empty() || self.mtu.is_some()
    }
}

/// The JSON forms of a [`Net`].
#[derive(Deserialize)]
#[serde(untagged)]
enum NetForm {
    Name(LinkName),
    Nic(Nic),
}

/// vmadm's nic fields (and hull's own `link`/`ips` form).
#[derive(Deserialize)]
struct Nic {
    #[serde(alias = "interface")]
    link: LinkName,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    netmask: Option<String>,
    #[serde(default)]
    gateway: Option<IpAddr>,
    #[serde(default)]
    ips: Vec<String>,
    #[serde(default)]
    gateways: Vec<IpAddr>,
    #[serde(default)]
    mtu: Option<u32>,
    #[serde(default)]
    mac: Option<String>,
    #[serde(default)]
    vlan_id: Option<u16>,
    #[serde(default)]
    primary: bool,
}

/// A dotted IPv4 netmask as a prefix length, if its ones are contiguous.
fn netmask_prefix(mask: &str) -> Result<u8, String> {
    let m: std::net::Ipv4Addr = mask
        .parse()
        .map_err(|_| format!("netmask {mask:?} is not a dotted IPv4 mask"))?;
    let bits = u32::from(m);
    if bits.leading_ones() + bits.trailing_zeros() != 32 {
        return Err(format!("netmask {mask:?} is not contiguous"));
    }
    Ok(bits.leading_ones() as u8)
}

/// One `ip`/`ips` entry: `None` for `dhcp`/`addrconf` (the zone's own).
fn address(s: &str, netmask: Option<&str>) -> Result<Option<IpCidr>, String> {
    if matches!(s, "dhcp" | "addrconf") {
        return Ok(None);
    }
    if s.contains('/') {
        return s.parse().map(Some);
    }
    let addr: IpAddr = s
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address"))?;
    let prefix = match (addr, netmask) {
        (IpAddr::V4(_), Some(m)) => netmask_prefix(m)?,
        (IpAddr::V4(_), None) => return Err(format!("{s:?}: give a netmask or ADDR/PREFIX")),
        (IpAddr::V6(_), _) => return Err(format!("{s:?}: an IPv6 address needs ADDR/PREFIX")),
    };
    Ok(Some(IpCidr { addr, prefix }))
}

impl TryFrom<Nic> for Net {
    type Error = String;
    fn try_from(n: Nic) -> Result<Net, String> {
        let mut ips = Vec::new();
        for s in n.ip.iter().chain(n.ips.iter()) {
            ips.extend(address(s, n.netmask.as_deref())?);
        }
        let mut gateways: Vec<IpAddr> = n.gateway.into_iter().collect();
        gateways.extend(
            n.gateways
                .iter()
                .filter(|g| !gateways.contains(g))
                .collect::<Vec<_>>(),
        );
        if n.mtu.is_some_and(|m| !(68..=65535).contains(&m)) {
            return Err(format!("mtu {:?} is not 68 to 65535", n.mtu));
        }
        Ok(Net {
            link: n.link,
            ips,
            gateways,
            mtu: n.mtu,
            mac: n.mac,
            vlan_id: n.vlan_id,
            primary: n.primary,
        })
    }
}

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Net, D::Error> {
        match NetForm::deserialize(d)? {
            NetForm::Name(link) => Ok(Net::link(link)),
            NetForm::Nic(n) => Net::try_from(n).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmadm_nic_fields_and_plain_names_deserialize() {
        let n: Net = serde_json::from_str(r#""vnic0""#).unwrap();
        assert_eq!(n, Net::link("vnic0".parse().unwrap()));
        let n: Net = serde_json::from_value(serde_json::json!({
            "interface": "net0", "ip": "10.0.0.5", "netmask": "255.255.255.0",
            "gateway": "10.0.0.1", "gateways": ["10.0.0.1", "fd00::1"],
            "ips": ["fd00::5/64", "dhcp"], "mtu": 1400, "mac": "02:00:00:00:00:01",
            "vlan_id": 7, "primary": true, "nic_tag": "admin"
        }))
        .unwrap();
        assert_eq!(n.link.as_str(), "net0");
        let ips: Vec<String> = n.ips.iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["10.0.0.5/24", "fd00::5/64"]);
        assert_eq!(n.gateways.len(), 2, "the duplicate gateway once");
        assert_eq!((n.mtu, n.vlan_id, n.primary), (Some(1400), Some(7), true));
        // The serialized form reads back the same.
        let again: Net = serde_json::from_value(serde_json::to_value(&n).unwrap()).unwrap();
        assert_eq!(again, n);
    }

    #[test]
    fn bad_addresses_masks_and_mtus_are_refused() {
        for bad in [
            serde_json::json!({"link": "net0", "ip": "10.0.0.5"}),
            serde_json::json!({"link": "net0", "ip": "10.0.0.5", "netmask": "255.0.255.0"}),
            serde_json::json!({"link": "net0", "ips": ["10.0.0.5/33"]}),
            serde_json::json!({"link": "net0", "ips": ["fd00::5"]}),
            serde_json::json!({"link": "net0", "ips": ["nope/24"]}),
            serde_json::json!({"link": "net0", "mtu": 20}),
            serde_json::json!({"link": "bad/name"}),
        ] {
            assert!(serde_json::from_value::<Net>(bad.clone()).is_err(), "{bad}");
        }
    }
}
