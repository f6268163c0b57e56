//! The illumos VNIC backend, which cannot run here, driven through a fake of
//! the libdladm call table: which calls, in which order, with which link
//! ids, MAC type, VLAN id and flags.

use std::sync::{Arc, Mutex};

use dladm_sys as sys;
use hull::name::{LinkName, LinkRules, MacAddr, VlanId};
use hull::vnic::illumos::{DladmCalls, LinkId, Status, VnicCreate, VnicInfo};
use hull::vnic::{MacSpec, NetNs, VnicSpec, Vnics};
use hull::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Open,
    Close,
    Name2Info(String),
    Id2Info(LinkId),
    Walk { class: i32, flags: u32 },
    Create(VnicCreate),
    Delete { id: LinkId, flags: u32 },
    Info { id: LinkId, flags: u32 },
}

/// Links: name -> (id, class). A created VNIC gets the next id.
#[derive(Default)]
struct World {
    calls: Vec<Call>,
    links: Vec<(String, LinkId, i32, Option<VnicInfo>)>,
    fail_create: Option<i32>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<World>>);

impl Fake {
    fn with_links(links: &[(&str, LinkId, u32)]) -> Fake {
        let f = Fake::default();
        f.0.lock().unwrap().links = links
            .iter()
            .map(|(n, i, c)| (n.to_string(), *i, *c as i32, None))
            .collect();
        f
    }
    fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().calls.clone()
    }
    fn clear(&self) {
        self.0.lock().unwrap().calls.clear();
    }
}

const NOTFOUND: Status = Status(sys::DLADM_STATUS_NOTFOUND as i32);

impl DladmCalls for Fake {
    fn open(&mut self) -> Status {
        self.0.lock().unwrap().calls.push(Call::Open);
        Status::OK
    }
    fn close(&mut self) {
        self.0.lock().unwrap().calls.push(Call::Close);
    }
    fn name2info(&mut self, name: &str) -> Result<(LinkId, i32), Status> {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::Name2Info(name.into()));
        w.links
            .iter()
            .find(|l| l.0 == name)
            .map(|l| (l.1, l.2))
            .ok_or(NOTFOUND)
    }
    fn id2info(&mut self, id: LinkId) -> Result<(String, i32), Status> {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::Id2Info(id));
        w.links
            .iter()
            .find(|l| l.1 == id)
            .map(|l| (l.0.clone(), l.2))
            .ok_or(NOTFOUND)
    }
    fn walk(&mut self, class: i32, flags: u32) -> Result<Vec<LinkId>, Status> {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::Walk { class, flags });
        Ok(w.links
            .iter()
            .filter(|l| l.2 == class)
            .map(|l| l.1)
            .collect())
    }
    fn vnic_create(&mut self, a: &VnicCreate) -> Result<LinkId, Status> {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::Create(a.clone()));
        if let Some(st) = w.fail_create {
            return Err(Status(st));
        }
        if w.links.iter().any(|l| l.0 == a.name) {
            return Err(Status(sys::DLADM_STATUS_EXIST as i32));
        }
        let id = 100 + w.links.len() as LinkId;
        let class = if a.flags & sys::DLADM_OPT_ANCHOR != 0 {
            sys::DATALINK_CLASS_ETHERSTUB
        } else {
            sys::DATALINK_CLASS_VNIC
        };
        w.links.push((
            a.name.clone(),
            id,
            class as i32,
            Some(VnicInfo {
                over: a.over,
                mac: a.mac,
                vid: a.vid,
            }),
        ));
        Ok(id)
    }
    fn vnic_delete(&mut self, id: LinkId, flags: u32) -> Status {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::Delete { id, flags });
        w.links.retain(|l| l.1 != id);
        Status::OK
    }
    fn vnic_info(&mut self, id: LinkId, flags: u32) -> Result<VnicInfo, Status> {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::Info { id, flags });
        w.links
            .iter()
            .find(|l| l.1 == id)
            .and_then(|l| l.3)
            .ok_or(NOTFOUND)
    }
    fn status2str(&mut self, status: Status) -> String {
        format!("status {}", status.0)
    }
}

fn name(s: &str) -> LinkName {
    LinkName::parse(s, LinkRules::Illumos).unwrap()
}

const PHYS: u32 = sys::DATALINK_CLASS_PHYS;

#[test]
fn create_a_vnic_with_a_fixed_mac_vlan_and_mtu_issues_one_create_over_the_parents_id() {
    let fake = Fake::with_links(&[("net0", 7, PHYS)]);
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    let mac: MacAddr = "02:08:20:11:22:33".parse().unwrap();
    let spec = VnicSpec {
        name: name("vnic0"),
        over: name("net0"),
        mac: MacSpec::Fixed(mac),
        vlan: Some(VlanId::new(42).unwrap()),
        mtu: Some(1400),
    };
    let made = v.create(&spec).unwrap();
    assert_eq!(
        (made.mac, made.vlan, made.mtu),
        (mac, Some(VlanId::new(42).unwrap()), 1400)
    );
    assert_eq!(
        fake.calls(),
        vec![
            Call::Open,
            Call::Name2Info("net0".into()),
            Call::Create(VnicCreate {
                name: "vnic0".into(),
                over: 7,
                mac_type: sys::VNIC_MAC_ADDR_TYPE_FIXED as i32,
                mac: mac.0,
                mac_len: 6,
                slot: None,
                prefix_len: 0,
                vid: 42,
                vrid: sys::VRRP_VRID_NONE,
                af: 0,
                props: Some("mtu=1400".into()),
                flags: sys::DLADM_OPT_ACTIVE,
            }),
        ]
    );
    drop(v);
    assert_eq!(
        fake.calls().last(),
        Some(&Call::Close),
        "the handle is closed on drop"
    );
}

#[test]
fn a_random_mac_is_drawn_by_hull_and_passed_as_fixed() {
    let fake = Fake::with_links(&[("net0", 7, PHYS)]);
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    let made = v
        .create(&VnicSpec {
            name: name("vnic1"),
            over: name("net0"),
            mac: MacSpec::Random,
            vlan: None,
            mtu: None,
        })
        .unwrap();
    assert!(made.mac.is_unicast() && made.mac.is_local());
    let create = fake
        .calls()
        .into_iter()
        .find_map(|c| {
            if let Call::Create(a) = c {
                Some(a)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(
        (create.mac_type, create.mac, create.vid, create.props),
        (sys::VNIC_MAC_ADDR_TYPE_FIXED as i32, made.mac.0, 0, None)
    );
}

#[test]
fn an_etherstub_is_an_anchor_vnic_over_the_invalid_link_id() {
    let fake = Fake::default();
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    v.create_etherstub(&name("stub0")).unwrap();
    let create = fake
        .calls()
        .into_iter()
        .find_map(|c| {
            if let Call::Create(a) = c {
                Some(a)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(create.over, sys::DATALINK_INVALID_LINKID);
    assert_eq!(create.mac_type, sys::VNIC_MAC_ADDR_TYPE_AUTO as i32);
    assert_eq!(create.flags, sys::DLADM_OPT_ANCHOR | sys::DLADM_OPT_ACTIVE);
    assert_eq!(create.vid, 0);
    // A VNIC over it, then delete both, each by its own id.
    v.create(&VnicSpec {
        name: name("vnic2"),
        over: name("stub0"),
        mac: MacSpec::Random,
        vlan: None,
        mtu: None,
    })
    .unwrap();
    fake.clear();
    v.delete(&name("vnic2")).unwrap();
    v.delete_etherstub(&name("stub0")).unwrap();
    assert_eq!(
        fake.calls(),
        vec![
            Call::Name2Info("vnic2".into()),
            Call::Delete {
                id: 101,
                flags: sys::DLADM_OPT_ACTIVE
            },
            Call::Name2Info("stub0".into()),
            Call::Delete {
                id: 100,
                flags: sys::DLADM_OPT_ACTIVE
            },
        ]
    );
}

#[test]
fn list_walks_vnics_and_reads_each_ones_info() {
    let fake = Fake::with_links(&[("net0", 7, PHYS)]);
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    for n in ["vnic5", "vnic3"] {
        v.create(&VnicSpec {
            name: name(n),
            over: name("net0"),
            mac: MacSpec::Random,
            vlan: None,
            mtu: None,
        })
        .unwrap();
    }
    fake.clear();
    let list = v.list().unwrap();
    let names: Vec<_> = list
        .iter()
        .map(|x| (x.name.to_string(), x.over.to_string()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("vnic3".into(), "net0".into()),
            ("vnic5".into(), "net0".into())
        ]
    );
    assert_eq!(
        fake.calls()[0],
        Call::Walk {
            class: sys::DATALINK_CLASS_VNIC as i32,
            flags: sys::DLADM_OPT_ACTIVE
        }
    );
    assert!(fake.calls().contains(&Call::Info {
        id: 101,
        flags: sys::DLADM_OPT_ACTIVE
    }));
}

#[test]
fn errors_map_from_dladm_status_and_bad_input_makes_no_call() {
    let fake = Fake::with_links(&[("net0", 7, PHYS)]);
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    let e = v
        .create(&VnicSpec {
            name: name("vnic0"),
            over: name("net9"),
            mac: MacSpec::Random,
            vlan: None,
            mtu: None,
        })
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    fake.clear();
    let multicast = MacSpec::Fixed("01:00:5e:00:00:01".parse().unwrap());
    let e = v
        .create(&VnicSpec {
            name: name("vnic0"),
            over: name("net0"),
            mac: multicast,
            vlan: None,
            mtu: None,
        })
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)));
    assert!(fake.calls().is_empty(), "refused before any libdladm call");
    fake.0.lock().unwrap().fail_create = Some(sys::DLADM_STATUS_VIDINVAL as i32);
    let e = v
        .create(&VnicSpec {
            name: name("vnic0"),
            over: name("net0"),
            mac: MacSpec::Random,
            vlan: None,
            mtu: None,
        })
        .unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::InvalidArgument(ref t) if t == "status 25"),
        "{e}"
    );
    fake.0.lock().unwrap().fail_create = None;
    v.create(&VnicSpec {
        name: name("vnic0"),
        over: name("net0"),
        mac: MacSpec::Random,
        vlan: None,
        mtu: None,
    })
    .unwrap();
    let e = v
        .create(&VnicSpec {
            name: name("vnic0"),
            over: name("net0"),
            mac: MacSpec::Random,
            vlan: None,
            mtu: None,
        })
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists);
    // Deleting a physical link as a VNIC is refused without a delete call.
    fake.clear();
    assert!(matches!(
        v.delete(&name("net0")).unwrap_err().kind,
        ErrorKind::InvalidArgument(_)
    ));
    assert_eq!(fake.calls(), vec![Call::Name2Info("net0".into())]);
    // Zones get VNICs through their configuration on illumos.
    let e = v
        .move_into(&name("vnic0"), NetNs::Path("/dev/null".as_ref()))
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
}
