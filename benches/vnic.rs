//! VNIC create + delete through hull vs the `ip` command (`ip link add ...
//! type macvlan mode bridge` + `ip link del`), in the same run, inside a
//! private network namespace over a veth parent; and create alone. Needs
//! root; otherwise it says so and measures nothing.

use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use hull::name::LinkName;
use hull::vnic::{MacSpec, VnicSpec, Vnics};

fn ip(args: &[&str]) {
    let ok = Command::new("ip").args(args).status().unwrap().success();
    assert!(ok, "ip {args:?} failed");
}

fn bench(c: &mut Criterion) {
    // SAFETY: unshare affects only this (the benchmark's) thread, and `ip`
    // children inherit its namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        eprintln!(
            "SKIPPED benches/vnic.rs: cannot make a network namespace ({}); run as root",
            std::io::Error::last_os_error()
        );
        return;
    }
    ip(&["link", "add", "p0", "type", "veth", "peer", "name", "p1"]);
    let mut vnics = Vnics::open().unwrap();
    let spec = VnicSpec {
        name: "bv0".parse::<LinkName>().unwrap(),
        over: "p0".parse().unwrap(),
        mac: MacSpec::Fixed("02:00:5e:00:01:01".parse().unwrap()),
        vlan: None,
        mtu: None,
    };
    let mut g = c.benchmark_group("vnic_create_delete");
    g.bench_function("hull", |b| {
        b.iter(|| {
            vnics.create(&spec).unwrap();
            vnics.delete(&spec.name).unwrap();
        })
    });
    g.bench_function("ip_command", |b| {
        b.iter(|| {
            ip(&[
                "link",
                "add",
                "link",
                "p0",
                "name",
                "bv0",
                "address",
                "02:00:5e:00:01:01",
                "type",
                "macvlan",
                "mode",
                "bridge",
            ]);
            ip(&["link", "del", "bv0"]);
        })
    });
    g.finish();

    // Create alone (deleting outside the timing): the part hull controls.
    // Deleting a netdev waits for an RCU grace period inside the kernel,
    // which dominates create + delete on some hosts.
    let mut g = c.benchmark_group("vnic_create");
    g.bench_function("hull", |b| {
        b.iter_custom(|n| {
            let mut t = std::time::Duration::ZERO;
            for _ in 0..n {
                let s = std::time::Instant::now();
                vnics.create(&spec).unwrap();
                t += s.elapsed();
                vnics.delete(&spec.name).unwrap();
            }
            t
        })
    });
    g.bench_function("ip_command", |b| {
        b.iter_custom(|n| {
            let mut t = std::time::Duration::ZERO;
            for _ in 0..n {
                let s = std::time::Instant::now();
                ip(&[
                    "link",
                    "add",
                    "link",
                    "p0",
                    "name",
                    "bv0",
                    "address",
                    "02:00:5e:00:01:01",
                    "type",
                    "macvlan",
                    "mode",
                    "bridge",
                ]);
                t += s.elapsed();
                ip(&["link", "del", "bv0"]);
            }
            t
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
