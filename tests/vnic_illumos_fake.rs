//! The illumos VNIC backend, which cannot run here, driven through a fake of
//! the libdladm call table: which calls, in which order, with which link
//! ids, MAC type, VLAN id and flags. The fake answers as libdladm does
//! where hull once assumed otherwise; each such rule cites the illumos line
//! it models. (`vnic_illumos_abi.rs` drives the real `LibDladm` through a
//! fake C library.)

use std::sync::{Arc, Mutex};

use dladm_sys as sys;
use hull::name::{LinkName, LinkRules, MacAddr, VlanId};
use hull::vnic::illumos::{CreateFailed, DladmCalls, LinkId, Status, VnicCreate, VnicInfo};
use hull::vnic::{MacSpec, NetNs, VnicSpec, Vnics};
use hull::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Open,
    Close,
    Name2Info(String),
    Id2Info(LinkId),
    Walk {
        class: i32,
        flags: u32,
    },
    Create(VnicCreate),
    Delete {
        id: LinkId,
        flags: u32,
    },
    Info {
        id: LinkId,
        flags: u32,
    },
    SetProp {
        id: LinkId,
        name: String,
        value: String,
        flags: u32,
    },
    GetProp {
        id: LinkId,
        name: String,
    },
}

/// Links: name -> (id, class). A created VNIC gets the next id.
#[derive(Default)]
struct World {
    calls: Vec<Call>,
    links: Vec<(String, LinkId, i32, Option<VnicInfo>)>,
    fail_create: Option<(i32, Vec<String>)>,
    fail_setprop: Option<i32>,
    fail_delete: Option<i32>,
    /// What `unknown_vnic_create` answers.
    unknown: Option<&'static str>,
    /// Each link's current mtu property.
    mtus: std::collections::HashMap<LinkId, u32>,
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
    fn unknown_vnic_create(&self) -> Option<&'static str> {
        self.0.lock().unwrap().unknown
    }
    fn vnic_create(&mut self, a: &VnicCreate) -> Result<LinkId, CreateFailed> {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::Create(a.clone()));
        let fail = |st: u32| CreateFailed {
            status: Status(st as i32),
            errors: Vec::new(),
        };
        // A VNIC is created active or not at all: libdlvnic.c L425 of
        // illumos-gate (r1mikey/illumos-gate@bb936843, 2023-12; J L421,
        // O L423): `if ((flags & DLADM_OPT_ACTIVE) == 0) return
        // (DLADM_STATUS_NOTSUP);`.
        if a.flags & sys::DLADM_OPT_ACTIVE == 0 {
            return Err(fail(sys::DLADM_STATUS_NOTSUP));
        }
        // The create-time property list is extracted into the VNIC's
        // mac_resource_props_t by dladm_link_proplist_extract (linkprop.c
        // L4944 of the same gate), which reads only rsrc_prop_table[]
        // (L1022-1035); `mtu` is not in it. gate and OmniOS drop it
        // silently, joyent applies it: the fake refuses it, so hull cannot
        // come to rely on either.
        if let Some(p) = &a.props {
            if p.split(',').any(|kv| kv.split('=').next() == Some("mtu")) {
                return Err(fail(sys::DLADM_STATUS_NOTSUP));
            }
        }
        if let Some((st, errors)) = w.fail_create.clone() {
            return Err(CreateFailed {
                status: Status(st),
                errors,
            });
        }
        if w.links.iter().any(|l| l.0 == a.name) {
            return Err(fail(sys::DLADM_STATUS_EXIST));
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
        w.mtus.insert(id, 1500);
        Ok(id)
    }
    fn set_linkprop(&mut self, id: LinkId, name: &str, value: &str, flags: u32) -> Status {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::SetProp {
            id,
            name: name.into(),
            value: value.into(),
            flags,
        });
        if let Some(st) = w.fail_setprop {
            return Status(st);
        }
        match (name, value.parse()) {
            ("mtu", Ok(m)) if w.mtus.contains_key(&id) => {
                w.mtus.insert(id, m);
                Status::OK
            }
            _ => Status(sys::DLADM_STATUS_BADARG as i32),
        }
    }
    fn get_linkprop(&mut self, id: LinkId, name: &str) -> Result<String, Status> {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::GetProp {
            id,
            name: name.into(),
        });
        match name {
            "mtu" => w.mtus.get(&id).map(|m| m.to_string()).ok_or(NOTFOUND),
            _ => Err(Status(sys::DLADM_STATUS_NOTSUP as i32)),
        }
    }
    fn vnic_delete(&mut self, id: LinkId, flags: u32) -> Status {
        let mut w = self.0.lock().unwrap();
        w.calls.push(Call::Delete { id, flags });
        if let Some(st) = w.fail_delete {
            return Status(st);
        }
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
fn create_a_vnic_with_a_fixed_mac_and_vlan_then_sets_its_mtu_as_a_link_property_and_reads_it_back()
{
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
                props: None,
                flags: sys::DLADM_OPT_ACTIVE,
            }),
            Call::SetProp {
                id: 101,
                name: "mtu".into(),
                value: "1400".into(),
                flags: sys::DLADM_OPT_ACTIVE,
            },
            Call::Info {
                id: 101,
                flags: sys::DLADM_OPT_ACTIVE
            },
            Call::Id2Info(7),
            Call::GetProp {
                id: 101,
                name: "mtu".into()
            },
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
    fake.0.lock().unwrap().fail_create = Some((sys::DLADM_STATUS_VIDINVAL as i32, vec![]));
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

#[test]
fn a_failed_mtu_deletes_the_new_vnic_again() {
    let fake = Fake::with_links(&[("net0", 7, PHYS)]);
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    fake.0.lock().unwrap().fail_setprop = Some(sys::DLADM_STATUS_INVALID_MTU as i32);
    let e = v
        .create(&VnicSpec {
            name: name("vnic0"),
            over: name("net0"),
            mac: MacSpec::Random,
            vlan: None,
            mtu: Some(9000),
        })
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("mtu 9000"), "{e}");
    assert_eq!(
        fake.calls().last(),
        Some(&Call::Delete {
            id: 101,
            flags: sys::DLADM_OPT_ACTIVE
        }),
        "nothing half-made is left"
    );
    assert!(v.list().unwrap().is_empty());
}

#[test]
fn the_error_list_of_a_failed_create_is_in_the_error() {
    let fake = Fake::with_links(&[("net0", 7, PHYS)]);
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    fake.0.lock().unwrap().fail_create = Some((
        sys::DLADM_STATUS_FAILED as i32,
        vec!["cannot set maxbw".into(), "overlay busy".into()],
    ));
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
        e.to_string().contains("cannot set maxbw; overlay busy"),
        "{e}"
    );
}

#[test]
fn a_dladm_vnic_create_of_another_generation_is_refused_before_any_call() {
    let fake = Fake::with_links(&[("net0", 7, PHYS)]);
    fake.0.lock().unwrap().unknown = Some("no dladm_errlist_reset: the 14-argument one");
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    fake.clear();
    let e = v
        .create(&VnicSpec {
            name: name("vnic0"),
            over: name("net0"),
            mac: MacSpec::Random,
            vlan: None,
            mtu: None,
        })
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
    assert!(e.to_string().contains("14-argument"), "{e}");
    let e = v.create_etherstub(&name("stub0")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    // What every generation has still works.
    assert!(v.list().unwrap().is_empty());
}

#[test]
fn a_vnic_that_cannot_be_deleted_again_is_named_in_the_error() {
    let fake = Fake::with_links(&[("net0", 7, PHYS)]);
    let mut v = Vnics::with_dladm(fake.clone()).unwrap();
    {
        let mut w = fake.0.lock().unwrap();
        w.fail_setprop = Some(sys::DLADM_STATUS_INVALID_MTU as i32);
        w.fail_delete = Some(sys::DLADM_STATUS_LINKBUSY as i32);
    }
    let e = v
        .create(&VnicSpec {
            name: name("vnic0"),
            over: name("net0"),
            mac: MacSpec::Random,
            vlan: None,
            mtu: Some(9000),
        })
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
    assert!(
        e.to_string().contains("deleting the new VNIC again failed"),
        "{e}"
    );
}
