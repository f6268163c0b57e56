//! hull::vnic on Linux, each test in a fresh network namespace of its own
//! (a thread that unshares CLONE_NEWNET), never touching the host's links.
//! Needs root; without it the tests say they are skipped.

mod common;

use std::process::Command;

use hull::name::{LinkName, MacAddr, VlanId};
use hull::vnic::{MacSpec, NetNs, VnicSpec, Vnics};
use hull::ErrorKind;

/// Runs `f` on a thread in a fresh network namespace, or says the test is
/// skipped when that is not permitted. Child processes spawned from the
/// thread (ip, ping) start in its namespace too.
fn in_netns(test: &str, f: impl FnOnce() + Send + 'static) {
    let r = std::thread::spawn(move || {
        // SAFETY: unshare affects only this thread's network namespace.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        f();
        Ok(())
    })
    .join();
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            if std::env::var_os("HULL_REQUIRE_ROOT").is_some() {
                panic!("{test}: cannot make a network namespace (HULL_REQUIRE_ROOT is set): {e}");
            }
            common::skipped(
                test,
                &format!("cannot make a network namespace ({e}); run as root"),
            );
        }
        Err(p) => std::panic::resume_unwind(p),
    }
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn link(s: &str) -> LinkName {
    s.parse().unwrap()
}

fn spec(name: &str, over: &str) -> VnicSpec {
    VnicSpec {
        name: link(name),
        over: link(over),
        mac: MacSpec::Random,
        vlan: None,
        mtu: None,
    }
}

fn links() -> String {
    sh("ip -o link show | cut -d: -f2 | sort")
}

#[test]
fn create_over_a_veth_with_a_fixed_mac_and_mtu_as_netlink_and_ip_see_it() {
    in_netns("create_over_a_veth_with_a_fixed_mac_and_mtu", || {
        sh("ip link add p0 type veth peer name p1");
        let mut v = Vnics::open().unwrap();
        let mac: MacAddr = "02:00:5e:aa:bb:01".parse().unwrap();
        let made = v
            .create(&VnicSpec {
                mac: MacSpec::Fixed(mac),
                mtu: Some(1400),
                ..spec("vnic0", "p0")
            })
            .unwrap();
        assert_eq!(
            (
                made.name.as_str(),
                made.over.as_str(),
                made.mac,
                made.mtu,
                made.vlan
            ),
            ("vnic0", "p0", mac, 1400, None)
        );
        assert_eq!(v.get(&link("vnic0")).unwrap(), made, "netlink dump agrees");
        let ip = sh("ip -d link show vnic0");
        assert!(ip.contains("vnic0@p0"), "{ip}");
        assert!(ip.contains("mtu 1400"), "{ip}");
        assert!(ip.contains("link/ether 02:00:5e:aa:bb:01"), "{ip}");
        assert!(ip.contains("macvlan mode bridge"), "{ip}");
    });
}

#[test]
fn random_macs_are_unicast_and_locally_administered() {
    in_netns("random_macs_are_unicast_and_locally_administered", || {
        sh("ip link add p0 type veth peer name p1");
        let mut v = Vnics::open().unwrap();
        let mut seen = std::collections::HashSet::new();
        for i in 0..4 {
            let m = v.create(&spec(&format!("r{i}"), "p0")).unwrap().mac;
            assert!(m.is_unicast() && m.is_local(), "{m}");
            assert!(seen.insert(m));
            assert!(sh(&format!("ip link show r{i}")).contains(&m.to_string()));
        }
    });
}

#[test]
fn delete_removes_and_list_shows_exactly_what_exists() {
    in_netns("delete_removes_and_list_shows_exactly_what_exists", || {
        sh("ip link add p0 type veth peer name p1");
        let mut v = Vnics::open().unwrap();
        assert!(v.list().unwrap().is_empty());
        v.create(&spec("b", "p0")).unwrap();
        v.create(&spec("a", "p1")).unwrap();
        let names: Vec<_> = v
            .list()
            .unwrap()
            .into_iter()
            .map(|x| (x.name.to_string(), x.over.to_string()))
            .collect();
        assert_eq!(
            names,
            vec![("a".into(), "p1".into()), ("b".into(), "p0".into())]
        );
        v.delete(&link("b")).unwrap();
        assert_eq!(v.list().unwrap().len(), 1);
        assert!(!links().contains(" b\n"));
        assert_eq!(v.get(&link("b")).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(v.delete(&link("b")).unwrap_err().kind, ErrorKind::NotFound);
        // The veths are not VNICs: refused, and left alone.
        assert!(matches!(
            v.delete(&link("p0")).unwrap_err().kind,
            ErrorKind::InvalidArgument(_)
        ));
    });
}

#[test]
fn two_vnics_over_one_etherstub_in_two_namespaces_ping_each_other() {
    in_netns(
        "two_vnics_over_one_etherstub_in_two_namespaces_ping_each_other",
        || {
            let mut v = Vnics::open().unwrap();
            v.create_etherstub(&link("stub0")).unwrap();
            v.create(&spec("va", "stub0")).unwrap();
            v.create(&spec("vb", "stub0")).unwrap();
            let (a, b) = (
                format!("hull-{}-a", std::process::id()),
                format!("hull-{}-b", std::process::id()),
            );
            sh(&format!("ip netns add {a} && ip netns add {b}"));
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                v.move_into(&link("va"), NetNs::Path(format!("/run/netns/{a}").as_ref()))
                    .unwrap();
                let ns_b = std::fs::File::open(format!("/run/netns/{b}")).unwrap();
                use std::os::fd::AsFd;
                v.move_into(&link("vb"), NetNs::Fd(ns_b.as_fd())).unwrap();
                assert!(v.list().unwrap().is_empty(), "both left this namespace");
                sh(&format!("ip -n {a} addr add 10.77.0.1/24 dev va && ip -n {a} link set va up && ip -n {a} link set lo up"));
                sh(&format!("ip -n {b} addr add 10.77.0.2/24 dev vb && ip -n {b} link set vb up && ip -n {b} link set lo up"));
                sh(&format!("ip netns exec {a} ping -c 2 -W 2 10.77.0.2"));
                sh(&format!("ip netns exec {b} ping -c 2 -W 2 10.77.0.1"));
            }));
            let _ = Command::new("ip").args(["netns", "del", &a]).status();
            let _ = Command::new("ip").args(["netns", "del", &b]).status();
            if let Err(p) = result {
                std::panic::resume_unwind(p);
            }
            v.delete_etherstub(&link("stub0")).unwrap();
        },
    );
}

#[test]
fn bad_input_is_refused_and_leaves_nothing_behind() {
    in_netns("bad_input_is_refused_and_leaves_nothing_behind", || {
        sh("ip link add p0 type veth peer name p1");
        let mut v = Vnics::open().unwrap();
        v.create(&spec("dup", "p0")).unwrap();
        let before = links();
        let e = v.create(&spec("x1", "nosuch")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        let e = v.create(&spec("dup", "p0")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
        let multicast = MacSpec::Fixed("01:00:5e:00:00:01".parse().unwrap());
        let e = v
            .create(&VnicSpec {
                mac: multicast,
                ..spec("x2", "p0")
            })
            .unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::InvalidArgument(ref w) if w.contains("multicast")),
            "{e}"
        );
        let e = v
            .create(&VnicSpec {
                mtu: Some(9000),
                ..spec("x3", "p0")
            })
            .unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::InvalidArgument(ref w) if w.contains("MTU")),
            "{e}"
        );
        assert!("much-too-long-name".parse::<LinkName>().is_err());
        assert!(VlanId::new(0).is_err() && VlanId::new(4095).is_err());
        // This kernel has no 802.1q: unsupported, and no sub-link left.
        let e = v
            .create(&VnicSpec {
                vlan: Some(VlanId::new(42).unwrap()),
                ..spec("x4", "p0")
            })
            .unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Unsupported(w) if w.contains("802.1q")),
            "{e}"
        );
        assert_eq!(links(), before, "a failed create left a link behind");
    });
}

#[test]
fn the_create_vnic_example_creates_lists_deletes_and_fails_in_one_line() {
    in_netns("the_create_vnic_example", || {
        sh("ip link add p0 type veth peer name p1");
        // `cargo test` builds the examples next to the test binaries.
        let exe = std::env::current_exe().unwrap();
        let bin = exe
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("examples")
            .join("create_vnic");
        assert!(bin.exists(), "{} is missing", bin.display());
        let run = |args: &[&str]| Command::new(&bin).args(args).output().unwrap();
        let out = run(&[
            "--over",
            "p0",
            "--mac",
            "02:00:5e:00:00:07",
            "--mtu",
            "1300",
            "ex0",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "ex0 p0 02:00:5e:00:00:07 1300 -\n"
        );
        let out = run(&["--list"]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "ex0 p0 02:00:5e:00:00:07 1300 -\n"
        );
        let before = links();
        for (args, needle) in [
            (&["--over", "nosuch", "ex1"][..], "not found"),
            (&["--over", "p0", "ex0"][..], "already exists"),
            (
                &["--over", "p0", "--mac", "01:00:5e:00:00:01", "ex1"][..],
                "multicast",
            ),
            (&["--over", "p0", "--vlan", "7", "ex1"][..], "802.1q"),
            (&["--over", "p0", "--mtu", "65000", "ex1"][..], "MTU"),
        ] {
            let out = run(args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains(needle), "{args:?}: {err}");
        }
        assert_eq!(links(), before, "a failed create left something behind");
        for (args, code) in [
            (&["--over", "p0", "--vlan", "0", "ex1"][..], 2),
            (&["--over", "p0", "averylonglinkname0"][..], 2),
        ] {
            assert_eq!(run(args).status.code(), Some(code), "{args:?}");
        }
        assert_eq!(run(&["--delete", "ex0"]).status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&run(&["--list"]).stdout), "");
    });
}

#[test]
fn a_thousand_vnics_are_listed_once_each_and_deleting_them_leaves_nothing() {
    in_netns(
        "a_thousand_vnics_are_listed_once_each_and_deleting_them_leaves_nothing",
        || {
            sh("ip link add p0 type veth peer name p1");
            sh("ip link add p2 type veth peer name p3");
            let before = links();
            let mut v = Vnics::open().unwrap();
            let mut made = std::collections::BTreeMap::new();
            for i in 0..1000 {
                let (name, over) = (format!("v{i}"), if i % 2 == 0 { "p0" } else { "p2" });
                let vnic = v.create(&spec(&name, over)).unwrap();
                assert_eq!(vnic.over.as_str(), over);
                made.insert(name, (over.to_string(), vnic.mac));
            }
            let list = v.list().unwrap();
            assert_eq!(list.len(), 1000, "each exactly once");
            let listed: std::collections::BTreeMap<_, _> = list
                .iter()
                .map(|x| (x.name.to_string(), (x.over.to_string(), x.mac)))
                .collect();
            assert_eq!(listed, made, "names, parents and MACs as created");
            assert_eq!(v.get(&link("v777")).unwrap().over.as_str(), "p2");
            for i in 0..1000 {
                v.delete(&link(&format!("v{i}"))).unwrap();
            }
            assert!(v.list().unwrap().is_empty());
            assert_eq!(links(), before, "nothing left");
        },
    );
}

/// The 802.1q devices of the calling thread's network namespace, as
/// `(name, vid, parent)`, from `/proc/thread-self/net/vlan/config`.
fn vlan_devices() -> Vec<(String, u16, String)> {
    let text = std::fs::read_to_string("/proc/thread-self/net/vlan/config").unwrap();
    let mut out: Vec<_> = text
        .lines()
        .skip(2) // "VLAN Dev name | VLAN ID" and "Name-Type: ..."
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            Some((
                f.first()?.to_string(),
                f.get(1)?.parse().ok()?,
                f.get(2)?.to_string(),
            ))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn vlan_vnics_share_one_8021q_sub_link_per_vlan_that_goes_with_its_last_vnic() {
    let test = "vlan_vnics_share_one_8021q_sub_link_per_vlan";
    if !std::path::Path::new("/sys/module/8021q").exists() {
        // The ZFS test guest loads 8021q and sets HULL_GUEST: there, this
        // must run.
        assert!(
            std::env::var_os("HULL_GUEST").is_none(),
            "the test guest has no 8021q"
        );
        common::skipped(
            test,
            "this kernel has no 802.1q; the README test command runs it in the ZFS test guest",
        );
        return;
    }
    in_netns(test, || {
        let mut v = Vnics::open().unwrap();
        v.create_etherstub(&link("stub0")).unwrap();
        let vlan = |name: &str, id: u16| VnicSpec {
            vlan: Some(VlanId::new(id).unwrap()),
            ..spec(name, "stub0")
        };
        let a = v.create(&vlan("va", 42)).unwrap();
        v.create(&vlan("vb", 42)).unwrap();
        v.create(&vlan("vc", 43)).unwrap();
        assert_eq!(a.vlan, Some(VlanId::new(42).unwrap()));
        assert_eq!(
            a.over.as_str(),
            "stub0",
            "the real parent, not the sub-link"
        );
        assert_eq!(
            v.get(&link("vb")).unwrap().vlan,
            Some(VlanId::new(42).unwrap())
        );
        // One sub-link per VLAN, on the etherstub.
        let subs = vlan_devices();
        assert_eq!(
            subs.iter()
                .map(|(_, id, p)| (*id, p.as_str()))
                .collect::<Vec<_>>(),
            [(42, "stub0"), (43, "stub0")],
            "{subs:?}"
        );
        // Each sub-link is up: a macvlan takes its lower link's carrier.
        let ip = sh("ip -o link show");
        let sub: Vec<&str> = ip.lines().filter(|l| l.contains("@stub0:")).collect();
        assert_eq!(sub.len(), 2, "{ip}");
        assert!(sub.iter().all(|l| l.contains(",UP")), "{ip}");
        // A VNIC that cannot be made leaves no sub-link for its VLAN.
        let e = v
            .create(&VnicSpec {
                mtu: Some(65000),
                ..vlan("vd", 44)
            })
            .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
        assert_eq!(vlan_devices().len(), 2);
        // The sub-link stays while a VNIC uses it, and goes with the last.
        v.delete(&link("va")).unwrap();
        assert_eq!(vlan_devices().len(), 2);
        v.delete(&link("vb")).unwrap();
        assert_eq!(vlan_devices().iter().map(|d| d.1).collect::<Vec<_>>(), [43]);
        v.delete(&link("vc")).unwrap();
        assert_eq!(vlan_devices(), []);
        // A VNIC that went another way (as a zone's do, with its network
        // namespace): its sub-link stays until released, and only then.
        v.create(&vlan("ve", 45)).unwrap();
        v.release_vlan(&link("stub0"), VlanId::new(45).unwrap())
            .unwrap();
        assert_eq!(vlan_devices().len(), 1, "still in use");
        sh("ip link del ve");
        assert_eq!(vlan_devices().len(), 1);
        v.release_vlan(&link("stub0"), VlanId::new(45).unwrap())
            .unwrap();
        assert_eq!(vlan_devices(), []);
        v.delete_etherstub(&link("stub0")).unwrap();
    });
}
