//! VNIC create + delete through hull vs the `ip` command (`ip link add ...
//! type macvlan mode bridge` + `ip link del`), in the same run, inside a
//! private network namespace over a veth parent; and create alone. Then
//! create at scale: with 1, 100 and 1000 VNICs already present (over
//! another parent, and over the same parent), one create through the
//! library, through the `create_vnic` example process and through `ip link
//! add`, each printed with its growth (per-op time at 1000 ÷ at 1). Over the
//! same parent the kernel's own cost grows (each macvlan is linked into its
//! lower device's adjacency lists), for `ip` as for hull. Needs root;
//! otherwise it says so and measures nothing.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hull::name::LinkName;
use hull::vnic::{MacSpec, VnicSpec, Vnics};

/// `ip link add` of the measured VNIC, as the baseline runs it.
const IP_ADD: [&str; 12] = [
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
];

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
            ip(&IP_ADD);
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
                ip(&IP_ADD);
                t += s.elapsed();
                ip(&["link", "del", "bv0"]);
            }
            t
        })
    });
    g.finish();
}

/// Adds macvlans `{prefix}{from}`..`{prefix}{to-1}` over `parent`, in one
/// `ip -batch`.
fn populate(prefix: &str, parent: &str, from: usize, to: usize) {
    if from >= to {
        return;
    }
    let mut child = Command::new("ip")
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().unwrap();
        for i in from..to {
            writeln!(
                stdin,
                "link add link {parent} name {prefix}{i} type macvlan mode bridge"
            )
            .unwrap();
        }
    }
    assert!(child.wait().unwrap().success(), "ip -batch failed");
}

/// The `create_vnic` example, built once for the run.
fn example() -> std::path::PathBuf {
    let ok = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--example", "create_vnic"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "building the create_vnic example failed");
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/examples/create_vnic")
}

/// One create of `bv0` over p0 through the library, the example process
/// and `ip`, with 1, 100 and 1000 VNICs present: over another parent
/// (`p2`), or over p0 itself (`same_parent`). Each run in a fresh network
/// namespace; the measured VNIC is deleted outside the timing.
fn series(c: &mut Criterion, example: &std::path::Path, same_parent: bool) {
    // SAFETY: as in `bench`: this thread gets a fresh namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        eprintln!("SKIPPED benches/vnic.rs at scale: cannot make a network namespace");
        return;
    }
    ip(&["link", "add", "p0", "type", "veth", "peer", "name", "p1"]);
    ip(&["link", "add", "p2", "type", "veth", "peer", "name", "p3"]);
    let (label, present_over) = if same_parent {
        ("vnic_create_same_parent", "p0")
    } else {
        ("vnic_create_at_scale", "p2")
    };
    let mut vnics = Vnics::open().unwrap();
    let spec = VnicSpec {
        name: "bv0".parse::<LinkName>().unwrap(),
        over: "p0".parse().unwrap(),
        mac: MacSpec::Fixed("02:00:5e:00:01:01".parse().unwrap()),
        vlan: None,
        mtu: None,
    };
    let counts = [1usize, 100, 1000];
    // (side, count) -> (total, iterations), for the ratios printed at the end.
    let totals = std::sync::Mutex::new(std::collections::HashMap::new());
    let timed = |side: &'static str, count: usize, n: u64, op: &mut dyn FnMut()| {
        let mut t = Duration::ZERO;
        for _ in 0..n {
            let s = Instant::now();
            op();
            t += s.elapsed();
            ip(&["link", "del", "bv0"]);
        }
        let mut tot = totals.lock().unwrap();
        let e = tot.entry((side, count)).or_insert((Duration::ZERO, 0u64));
        e.0 += t;
        e.1 += n;
        t
    };
    let mut present = 0;
    let mut g = c.benchmark_group(label);
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(4));
    for count in counts {
        populate("f", present_over, present, count);
        present = count;
        g.bench_function(format!("hull/{count}"), |b| {
            b.iter_custom(|n| {
                timed("hull", count, n, &mut || {
                    vnics.create(&spec).unwrap();
                })
            })
        });
        g.bench_function(format!("create_vnic_example/{count}"), |b| {
            b.iter_custom(|n| {
                timed("example", count, n, &mut || {
                    let ok = Command::new(example)
                        .args(["--over", "p0", "--mac", "02:00:5e:00:01:01", "bv0"])
                        .stdout(Stdio::null())
                        .status()
                        .unwrap()
                        .success();
                    assert!(ok);
                })
            })
        });
        g.bench_function(format!("ip_command/{count}"), |b| {
            b.iter_custom(|n| timed("ip", count, n, &mut || ip(&IP_ADD)))
        });
    }
    g.finish();
    let tot = totals.lock().unwrap();
    // A group filtered out on the command line measured nothing.
    if tot.is_empty() {
        return;
    }
    let per = |side, count| {
        let (t, n): (Duration, u64) = tot[&(side, count)];
        t.as_secs_f64() * 1e3 / n.max(1) as f64
    };
    for side in ["hull", "example", "ip"] {
        let v: Vec<f64> = counts.iter().map(|&n| per(side, n)).collect();
        println!(
            "{label} {side}: {:.3} / {:.3} / {:.3} ms at 1 / 100 / 1000 VNICs over {present_over}; growth {:.2}x",
            v[0],
            v[1],
            v[2],
            v[2] / v[0]
        );
    }
    println!(
        "{label} at 1000: example / ip = {:.2}",
        per("example", 1000) / per("ip", 1000)
    );
}

fn at_scale(c: &mut Criterion) {
    let example = example();
    series(c, &example, false);
    series(c, &example, true);
}

criterion_group!(benches, bench, at_scale);
criterion_main!(benches);
