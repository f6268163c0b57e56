//! VNICs on Linux: a VNIC is a macvlan in bridge mode over its parent, an
//! etherstub is a bridge with no ports, all through rtnetlink
//! (`netlink-packet-route` messages over a `netlink-sys` socket; no `ip`).

use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, InfoMacVtap, InfoVlan, LinkAttribute, LinkFlags, LinkInfo,
    LinkMessage, MacVlanMode,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::{Backend, NetNs, Vnic, VnicSpec};
use crate::error::{Error, ErrorKind, Op, OsResultExt, Result};
use crate::name::{LinkName, LinkRules, MacAddr, VlanId};

/// One rtnetlink socket.
pub(crate) struct Rtnl {
    sock: Socket,
    seq: u32,
}

impl Rtnl {
    pub(crate) fn open() -> io::Result<Rtnl> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl { sock, seq: 0 })
    }

    /// Sends one request and collects the replies until the kernel's
    /// acknowledgement, end of dump, or error (returned as the errno).
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.seq;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        self.sock.send(&buf, 0)?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.sock.recv_from_full()?;
            let mut off = 0;
            while off < data.len() {
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[off..])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = m.header.length as usize;
                if m.header.sequence_number == self.seq {
                    match m.payload {
                        NetlinkPayload::Done(_) => return Ok(out),
                        NetlinkPayload::Error(e) => {
                            return match e.code {
                                None => Ok(out),
                                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                            }
                        }
                        NetlinkPayload::InnerMessage(i) => out.push(i),
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
    }

    fn get_link(&mut self, name: &str) -> io::Result<LinkMessage> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        let replies = self.request(RouteNetlinkMessage::GetLink(m), 0)?;
        replies
            .into_iter()
            .find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))
    }

    fn get_link_by_index(&mut self, index: u32) -> io::Result<LinkMessage> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        let replies = self.request(RouteNetlinkMessage::GetLink(m), 0)?;
        replies
            .into_iter()
            .find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))
    }

    /// The links of one kind, in one dump the kernel filters
    /// (`rtnl_dump_ifinfo` honours `IFLA_LINKINFO`'s kind).
    fn dump_kind(&mut self, kind: InfoKind) -> io::Result<Vec<LinkMessage>> {
        let mut m = LinkMessage::default();
        m.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(kind.clone())]));
        let replies = self.request(RouteNetlinkMessage::GetLink(m), NLM_F_DUMP)?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            // An older kernel may ignore the filter.
            .filter(|l| facts(l).kind == Some(kind.clone()))
            .collect())
    }

    fn dump_links(&mut self) -> io::Result<Vec<LinkMessage>> {
        let replies = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .collect())
    }

    /// A link's index, by name (one request, no dump).
    pub(crate) fn index_of(&mut self, name: &str) -> io::Result<u32> {
        self.get_link(name).map(|m| m.header.index)
    }

    /// Sets a link up, with this MTU if given.
    pub(crate) fn set_up(&mut self, index: u32, mtu: Option<u32>) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        if let Some(mtu) = mtu {
            m.attributes.push(LinkAttribute::Mtu(mtu));
        }
        self.request(RouteNetlinkMessage::SetLink(m), 0).map(drop)
    }

    /// Adds an address with its prefix to a link.
    pub(crate) fn add_address(
        &mut self,
        index: u32,
        addr: std::net::IpAddr,
        prefix: u8,
    ) -> io::Result<()> {
        use netlink_packet_route::address::{AddressAttribute, AddressMessage};
        use netlink_packet_route::AddressFamily;
        let mut m = AddressMessage::default();
        m.header.family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(addr));
        m.attributes.push(AddressAttribute::Address(addr));
        self.request(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }

    /// Adds a default route through `gateway` (IPv4 or IPv6), out of the
    /// link `index`.
    pub(crate) fn add_default_route(
        &mut self,
        index: u32,
        gateway: std::net::IpAddr,
    ) -> io::Result<()> {
        use netlink_packet_route::route::{
            RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
        };
        use netlink_packet_route::AddressFamily;
        let mut m = RouteMessage::default();
        m.header.address_family = if gateway.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Static;
        m.header.scope = RouteScope::Universe;
        m.header.kind = RouteType::Unicast;
        m.attributes.push(RouteAttribute::Gateway(gateway.into()));
        m.attributes.push(RouteAttribute::Oif(index));
        self.request(RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    /// Makes a macvtap link `name` (bridge mode) over `over` with `mac`,
    /// sets it up, and returns its index. (A macvtap over a macvlan sits on
    /// the macvlan's own parent, as the kernel arranges.)
    pub(crate) fn create_macvtap(
        &mut self,
        name: &str,
        over: &str,
        mac: [u8; 6],
    ) -> io::Result<u32> {
        let parent = self.index_of(over)?;
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes.push(LinkAttribute::Link(parent));
        m.attributes.push(LinkAttribute::Address(mac.to_vec()));
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVtap),
            LinkInfo::Data(InfoData::MacVtap(vec![InfoMacVtap::Mode(
                MacVlanMode::Bridge,
            )])),
        ]));
        self.new_link(m)?;
        let index = self.index_of(name)?;
        if let Err(e) = self.set_up(index, None) {
            let _ = self.del_link(index);
            return Err(e);
        }
        Ok(index)
    }

    /// Deletes the link with this index.
    pub(crate) fn delete_link(&mut self, index: u32) -> io::Result<()> {
        self.del_link(index)
    }

    fn new_link(&mut self, m: LinkMessage) -> io::Result<()> {
        self.request(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    fn del_link(&mut self, index: u32) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        self.request(RouteNetlinkMessage::DelLink(m), 0).map(drop)
    }
}

/// What hull reads from a link message.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkFacts {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    pub max_mtu: Option<u32>,
    pub parent: Option<u32>,
    pub kind: Option<InfoKind>,
    pub vlan: Option<u16>,
}

fn facts(m: &LinkMessage) -> LinkFacts {
    let mut f = LinkFacts {
        index: m.header.index,
        ..Default::default()
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => f.name = n.clone(),
            LinkAttribute::Address(a) if a.len() == 6 => {
                f.mac = Some([a[0], a[1], a[2], a[3], a[4], a[5]])
            }
            LinkAttribute::Mtu(v) => f.mtu = *v,
            LinkAttribute::MaxMtu(v) => f.max_mtu = Some(*v),
            LinkAttribute::Link(p) => f.parent = Some(*p),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        LinkInfo::Kind(k) => f.kind = Some(k.clone()),
                        LinkInfo::Data(InfoData::Vlan(v)) => {
                            for x in v {
                                if let InfoVlan::Id(id) = x {
                                    f.vlan = Some(*id);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    f
}

/// The name hull gives the 802.1q sub-link a VLAN VNIC sits on.
fn vlan_link_name(vid: VlanId, parent_index: u32) -> String {
    format!("hv{}-{}", vid.get(), parent_index % 100_000)
}

/// The rtnetlink backend.
pub(crate) struct Linux {
    rtnl: Rtnl,
}

impl Linux {
    pub(crate) fn open() -> Result<Linux> {
        Ok(Linux {
            rtnl: Rtnl::open().os(Op::QueryLink, "rtnetlink socket")?,
        })
    }

    fn link(&mut self, op: Op, name: &str) -> Result<LinkFacts> {
        self.rtnl
            .get_link(name)
            .map(|m| facts(&m))
            .map_err(|e| link_error(op, name, e))
    }

    /// A VNIC from its facts; `link` finds a link's facts by index (from
    /// one dump, or one request each).
    fn to_vnic(f: &LinkFacts, mut link: impl FnMut(u32) -> Option<LinkFacts>) -> Vnic {
        let parent = f.parent.and_then(&mut link);
        // A VLAN VNIC sits on hull's 802.1q sub-link: report the real parent.
        let (over, vlan) = match parent {
            Some(p) if p.kind == Some(InfoKind::Vlan) => {
                (p.parent.and_then(&mut link).map(|g| g.name), p.vlan)
            }
            Some(p) => (Some(p.name), None),
            None => (None, None),
        };
        let over = over.unwrap_or_else(|| format!("if{}", f.parent.unwrap_or(0)));
        Vnic {
            name: LinkName::parse(&f.name, LinkRules::Linux)
                .unwrap_or_else(|_| LinkName::parse("invalid", LinkRules::Linux).unwrap()),
            over: LinkName::parse(&over, LinkRules::Linux)
                .unwrap_or_else(|_| LinkName::parse("unknown", LinkRules::Linux).unwrap()),
            mac: MacAddr(f.mac.unwrap_or_default()),
            mtu: f.mtu,
            vlan: vlan.and_then(|v| VlanId::new(v).ok()),
        }
    }

    /// A link's facts by index, one request; `None` if it is not in this
    /// namespace (a parent may be in another).
    fn by_index(&mut self, index: u32) -> Option<LinkFacts> {
        self.rtnl.get_link_by_index(index).ok().map(|m| facts(&m))
    }

    fn all_facts(&mut self) -> Result<Vec<LinkFacts>> {
        Ok(self
            .rtnl
            .dump_links()
            .os(Op::QueryLink, "links")?
            .iter()
            .map(facts)
            .collect())
    }

    /// How many macvlans sit on `lower`: the kernel's adjacency list in
    /// sysfs (`upper_*`), read where sysfs shows this namespace (the
    /// directory's `ifindex` is `lower`'s); otherwise one dump of the
    /// macvlans, filtered by the kernel.
    fn users_of(&mut self, lower: &LinkFacts) -> Result<usize> {
        let dir = std::path::Path::new("/sys/class/net").join(&lower.name);
        let same_ns = std::fs::read_to_string(dir.join("ifindex"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            == Some(lower.index);
        if same_ns {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                return Ok(entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("upper_"))
                    .count());
            }
        }
        Ok(self
            .rtnl
            .dump_kind(InfoKind::MacVlan)
            .os(Op::DeleteVnic, lower.name.as_str())?
            .iter()
            .filter(|m| facts(m).parent == Some(lower.index))
            .count())
    }
}

fn link_error(op: Op, name: &str, e: io::Error) -> Error {
    let mut err = Error::os(op, name, e);
    if err.errno() == Some(libc::ENODEV) {
        err.kind = ErrorKind::NotFound;
    }
    err
}

impl Backend for Linux {
    fn create(&mut self, spec: &VnicSpec, mac: MacAddr) -> Result<Vnic> {
        let object = format!("{} over {}", spec.name, spec.over);
        let parent = self.link(Op::CreateVnic, spec.over.as_str())?;
        if let Some(mtu) = spec.mtu {
            if mtu < 68 || mtu > parent.mtu {
                return Err(Error::new(
                    Op::CreateVnic,
                    object,
                    ErrorKind::InvalidArgument(format!(
                        "MTU {mtu} is outside 68..={} (the parent's MTU)",
                        parent.mtu
                    )),
                ));
            }
        }
        match self.rtnl.get_link(spec.name.as_str()) {
            Ok(_) => return Err(Error::new(Op::CreateVnic, object, ErrorKind::AlreadyExists)),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {}
            Err(e) => return Err(Error::os(Op::CreateVnic, object, e)),
        }

        // A VLAN VNIC is a macvlan over an 802.1q sub-link made on demand.
        let mut lower = parent.index;
        let mut made_vlan = None;
        if let Some(vid) = spec.vlan {
            let name = vlan_link_name(vid, parent.index);
            let mut m = LinkMessage::default();
            m.attributes.push(LinkAttribute::IfName(name.clone()));
            m.attributes.push(LinkAttribute::Link(parent.index));
            m.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Vlan),
                LinkInfo::Data(InfoData::Vlan(vec![InfoVlan::Id(vid.get())])),
            ]));
            match self.rtnl.new_link(m) {
                Ok(()) => {}
                // Another VLAN VNIC over this parent made it: share it if it
                // is the sub-link hull would have made.
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                    let v = self.link(Op::CreateVnic, &name)?;
                    if v.kind != Some(InfoKind::Vlan)
                        || v.vlan != Some(vid.get())
                        || v.parent != Some(parent.index)
                    {
                        return Err(Error::new(Op::CreateVnic, object, ErrorKind::AlreadyExists)
                            .with_detail(&format!(
                                "{name} exists and is not vlan {vid} over {}",
                                spec.over
                            )));
                    }
                    lower = v.index;
                }
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EOPNOTSUPP) | Some(libc::EAFNOSUPPORT)
                    ) =>
                {
                    let mut err = Error::os(Op::CreateVnic, object, e);
                    err.kind = ErrorKind::Unsupported(
                        "802.1q VLAN links: this kernel lacks CONFIG_VLAN_8021Q",
                    );
                    return Err(err);
                }
                Err(e) => {
                    return Err(Error::os(
                        Op::CreateVnic,
                        format!("{object} (vlan {vid} link {name})"),
                        e,
                    ))
                }
            }
            if lower == parent.index {
                let v = self.link(Op::CreateVnic, &name)?;
                lower = v.index;
                made_vlan = Some(v.index);
                // Up, or the VNICs over it have no carrier (macvlan takes
                // its lower link's operational state).
                if let Err(e) = self.rtnl.set_up(v.index, None) {
                    let _ = self.rtnl.del_link(v.index);
                    return Err(Error::os(
                        Op::CreateVnic,
                        format!("{object} (vlan {vid} link {name})"),
                        e,
                    ));
                }
            }
        }

        let mut m = LinkMessage::default();
        m.attributes
            .push(LinkAttribute::IfName(spec.name.as_str().to_string()));
        m.attributes.push(LinkAttribute::Link(lower));
        m.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        if let Some(mtu) = spec.mtu {
            m.attributes.push(LinkAttribute::Mtu(mtu));
        }
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Bridge,
            )])),
        ]));
        if let Err(e) = self.rtnl.new_link(m) {
            // Nothing half-made: remove the sub-link made for it.
            if let Some(v) = made_vlan {
                let _ = self.rtnl.del_link(v);
            }
            return Err(Error::os(Op::CreateVnic, object, e));
        }
        self.get(&spec.name)
            .map_err(|e| e.context(Op::CreateVnic, spec.name.as_str()))
    }

    fn delete(&mut self, name: &LinkName) -> Result<()> {
        let f = self.link(Op::DeleteVnic, name.as_str())?;
        if f.kind != Some(InfoKind::MacVlan) {
            return Err(Error::new(
                Op::DeleteVnic,
                name.as_str(),
                ErrorKind::InvalidArgument("not a VNIC (macvlan)".into()),
            ));
        }
        let lower = f.parent.and_then(|p| self.by_index(p));
        self.rtnl
            .del_link(f.index)
            .map_err(|e| link_error(Op::DeleteVnic, name.as_str(), e))?;
        // And the 802.1q sub-link hull made for it, once no VNIC uses it
        // (deleting a lower link deletes the macvlans on it).
        if let Some(l) = lower {
            if l.kind == Some(InfoKind::Vlan) && l.name.starts_with("hv") && self.users_of(&l)? == 0
            {
                let _ = self.rtnl.del_link(l.index);
            }
        }
        Ok(())
    }

    fn release_vlan(&mut self, over: &LinkName, vlan: VlanId) -> Result<()> {
        let parent = match self.link(Op::DeleteVnic, over.as_str()) {
            Ok(p) => p,
            // The parent went, and its sub-links with it.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let name = vlan_link_name(vlan, parent.index);
        let sub = match self.link(Op::DeleteVnic, &name) {
            Ok(s) => s,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if sub.kind == Some(InfoKind::Vlan)
            && sub.vlan == Some(vlan.get())
            && sub.parent == Some(parent.index)
            && self.users_of(&sub)? == 0
        {
            self.rtnl
                .del_link(sub.index)
                .map_err(|e| link_error(Op::DeleteVnic, &name, e))?;
        }
        Ok(())
    }

    fn get(&mut self, name: &LinkName) -> Result<Vnic> {
        let f = self.link(Op::QueryLink, name.as_str())?;
        if f.kind != Some(InfoKind::MacVlan) {
            return Err(Error::new(
                Op::QueryLink,
                name.as_str(),
                ErrorKind::InvalidArgument("not a VNIC (macvlan)".into()),
            ));
        }
        // The parent (and a VLAN sub-link's parent) by index: requests for
        // the links named, never a dump of all.
        Ok(Linux::to_vnic(&f, |i| self.by_index(i)))
    }

    fn list(&mut self) -> Result<Vec<Vnic>> {
        // One dump; parents resolved from it.
        let all = self.all_facts()?;
        let by_index: std::collections::HashMap<u32, &LinkFacts> =
            all.iter().map(|f| (f.index, f)).collect();
        let mut v: Vec<Vnic> = all
            .iter()
            .filter(|f| f.kind == Some(InfoKind::MacVlan))
            .map(|f| Linux::to_vnic(f, |i| by_index.get(&i).map(|x| (*x).clone())))
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    fn link_exists(&mut self, name: &LinkName) -> Result<()> {
        self.link(Op::QueryLink, name.as_str()).map(drop)
    }

    fn create_etherstub(&mut self, name: &LinkName) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        m.attributes
            .push(LinkAttribute::IfName(name.as_str().to_string()));
        m.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.rtnl.new_link(m).os(Op::Etherstub, name.as_str())
    }

    fn delete_etherstub(&mut self, name: &LinkName) -> Result<()> {
        let f = self.link(Op::Etherstub, name.as_str())?;
        if f.kind != Some(InfoKind::Bridge) {
            return Err(Error::new(
                Op::Etherstub,
                name.as_str(),
                ErrorKind::InvalidArgument("not an etherstub (bridge)".into()),
            ));
        }
        self.rtnl
            .del_link(f.index)
            .map_err(|e| link_error(Op::Etherstub, name.as_str(), e))
    }

    fn move_into(&mut self, name: &LinkName, netns: NetNs<'_>) -> Result<()> {
        let object = format!("{name} into {netns}");
        let f = self.link(Op::MoveLink, name.as_str())?;
        let file;
        let fd = match netns {
            NetNs::Path(p) => {
                file = std::fs::File::open(p).os(Op::MoveLink, &object)?;
                file.as_raw_fd()
            }
            NetNs::Fd(fd) => fd.as_raw_fd(),
        };
        let mut m = LinkMessage::default();
        m.header.index = f.index;
        m.attributes.push(LinkAttribute::NetNsFd(fd));
        self.rtnl
            .request(RouteNetlinkMessage::SetLink(m), 0)
            .map(drop)
            .os(Op::MoveLink, object)
    }
}
