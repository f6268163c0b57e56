//! hull's real `LibDladm` — the code that calls libdladm on illumos — driven
//! through a fake libdladm written in C with illumos's argument lists and
//! structs (`tests/fakes/libdladm.c`), in each generation of
//! `dladm_vnic_create`. The fake refuses what a real libdladm would
//! misread: a 14-argument call to the 15-argument function puts `flags`
//! where the error list pointer is read.

mod common;

use common::cfake::{self, Controls};
use hull::name::{LinkName, LinkRules, MacAddr, VlanId};
use hull::vnic::illumos::LibDladm;
use hull::vnic::{MacSpec, VnicSpec, Vnics};
use hull::ErrorKind;

fn name(s: &str) -> LinkName {
    LinkName::parse(s, LinkRules::Illumos).unwrap()
}

fn fake(generation: u32) -> (Vnics, Controls) {
    let path = cfake::build(
        "libdladm.c",
        "libdladm.so.1",
        &[&format!("GENERATION={generation}")],
    );
    // SAFETY: the fake declares every symbol LibDladm binds with illumos's
    // types (tests/fakes/libdladm.c).
    let lib = unsafe { LibDladm::open(&path) }.unwrap();
    (Vnics::with_dladm(lib).unwrap(), Controls::open(&path))
}

fn spec(n: &str, over: &str) -> VnicSpec {
    VnicSpec {
        name: name(n),
        over: name(over),
        mac: MacSpec::Random,
        vlan: None,
        mtu: None,
    }
}

#[test]
fn the_15_argument_generation_creates_reads_back_and_deletes() {
    let (mut v, fake) = fake(15);
    let mac: MacAddr = "02:08:20:aa:bb:cc".parse().unwrap();
    let made = v
        .create(&VnicSpec {
            mac: MacSpec::Fixed(mac),
            vlan: Some(VlanId::new(42).unwrap()),
            mtu: Some(1400),
            ..spec("vnic0", "net0")
        })
        .unwrap_or_else(|e| panic!("{e} (fake: {})", fake.text("dladm_last_error")));
    assert_eq!(
        (
            made.mac,
            made.vlan.map(VlanId::get),
            made.mtu,
            made.over.as_str()
        ),
        (mac, Some(42), 1400, "net0"),
        "read back through dladm_vnic_info and dladm_get_linkprop"
    );
    assert_eq!(v.get(&name("vnic0")).unwrap(), made);
    v.create_etherstub(&name("stub0")).unwrap();
    let over_stub = v.create(&spec("vnic1", "stub0")).unwrap();
    assert_eq!(over_stub.mtu, 1500);
    let list = v.list().unwrap();
    assert_eq!(
        list.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
        ["vnic0", "vnic1"]
    );
    v.delete(&name("vnic1")).unwrap();
    v.delete(&name("vnic0")).unwrap();
    v.delete_etherstub(&name("stub0")).unwrap();
    assert!(v.list().unwrap().is_empty());
    assert_eq!(fake.text("dladm_last_error"), "", "no misuse seen");
    drop(v);
    assert_eq!(fake.int("dladm_open_handles"), 0, "the handle is closed");
}

#[test]
fn the_error_list_reaches_the_error_and_is_reset() {
    let (mut v, fake) = fake(15);
    // SAFETY: fake_dladm_fail_next_create(int, const char *).
    unsafe {
        let f: libloading::Symbol<unsafe extern "C" fn(i32, *const std::ffi::c_char)> =
            fake.0.get(b"fake_dladm_fail_next_create\0").unwrap();
        f(
            dladm_sys::DLADM_STATUS_FAILED as i32,
            c"cannot reserve the MAC address".as_ptr(),
        );
    }
    let e = v.create(&spec("vnic0", "net0")).unwrap_err();
    assert!(
        e.to_string().contains("cannot reserve the MAC address"),
        "{e}"
    );
    assert_eq!(
        fake.int("dladm_outstanding_errors"),
        0,
        "dladm_errlist_reset freed the list"
    );
    assert!(v.list().unwrap().is_empty(), "nothing made");
}

#[test]
fn a_bad_mtu_leaves_no_vnic() {
    let (mut v, _fake) = fake(15);
    let e = v
        .create(&VnicSpec {
            mtu: Some(100),
            ..spec("vnic0", "net0")
        })
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
    assert!(v.list().unwrap().is_empty());
}

#[test]
fn other_generations_are_refused_by_name_and_the_rest_still_works() {
    for (generation, found) in [(14, "14-argument"), (6, "6-argument")] {
        let (mut v, fake) = fake(generation);
        let e = v.create(&spec("vnic0", "net0")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        assert!(e.to_string().contains(found), "{generation}: {e}");
        let e = v.create_etherstub(&name("stub0")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        assert!(v.list().unwrap().is_empty());
        assert_eq!(fake.text("dladm_last_error"), "", "never called");
    }
}
