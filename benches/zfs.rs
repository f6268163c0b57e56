//! hull::zfs against raw libzfs_core and the `zfs` command, in the same run.
//! Runs inside the ZFS test guest (`scripts/test --zfs-bench`); needs a pool
//! named `tank`. Without ZFS it says so and measures nothing.
//!
//! * `clone/{hull,lzc_clone,zfs_command}`: one clone of a snapshot.
//! * `clone20/{clone_many,sequential}`: twenty clones, concurrently vs one
//!   after another.
//! * `clone_at_scale/{hull,lzc_clone,zfs_command}/{1,100,1000}`: one clone
//!   with 1, 100 and 1000 clones of the same snapshot already present,
//!   printed with each side's growth (per-op time at 1000 ÷ at 1).
//!
//! Only the clones are timed; destroying them happens outside the timing.

use std::ffi::CString;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use hull::name::{DatasetName, SnapshotName};
use hull::zfs::{Props, Zfs};

static N: AtomicU64 = AtomicU64::new(0);

fn fresh(root: &DatasetName) -> DatasetName {
    root.child(&format!("c{}", N.fetch_add(1, Ordering::Relaxed)))
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let zfs = match Zfs::open() {
        Ok(z) if z.exists("tank").unwrap_or(false) => z,
        Ok(_) => return eprintln!("SKIPPED benches/zfs.rs: no pool named tank"),
        Err(e) => return eprintln!("SKIPPED benches/zfs.rs: {e}"),
    };
    let root: DatasetName = "tank/hull-bench".parse().unwrap();
    let base = root.child("base").unwrap();
    // Nothing under the root mounts: `zfs clone` in OpenZFS 2.1 has no -u,
    // and hull's clone does not mount, so neither side pays for a mount.
    zfs.create_filesystem(&root, &Props::new().mountpoint("none").unwrap())
        .unwrap();
    zfs.create_filesystem(&base, &Props::new()).unwrap();
    let snap: SnapshotName = base.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&snap), &[]).unwrap();

    // The raw baseline: libzfs_core called directly, as a C program would.
    let core = zfs_core_sys::load_core().unwrap();
    // SAFETY: paired with libzfs_core_fini below.
    assert_eq!(unsafe { core.libzfs_core_init() }, 0);
    let csnap = CString::new(snap.as_str()).unwrap();

    let mut g = c.benchmark_group("clone");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    g.bench_function("hull", |b| {
        b.iter_custom(|n| {
            let targets: Vec<_> = (0..n).map(|_| fresh(&root)).collect();
            let t = Instant::now();
            for d in &targets {
                zfs.clone_from_snapshot(&snap, d, &Props::new()).unwrap();
            }
            let e = t.elapsed();
            targets.iter().for_each(|d| zfs.destroy(d).unwrap());
            e
        })
    });
    g.bench_function("lzc_clone", |b| {
        b.iter_custom(|n| {
            let targets: Vec<_> = (0..n).map(|_| fresh(&root)).collect();
            let cnames: Vec<_> = targets
                .iter()
                .map(|d| CString::new(d.as_str()).unwrap())
                .collect();
            let t = Instant::now();
            for d in &cnames {
                // SAFETY: both names are live NUL-terminated strings; no props.
                let rc =
                    unsafe { core.lzc_clone(d.as_ptr(), csnap.as_ptr(), std::ptr::null_mut()) };
                assert_eq!(rc, 0);
            }
            let e = t.elapsed();
            targets.iter().for_each(|d| zfs.destroy(d).unwrap());
            e
        })
    });
    g.bench_function("zfs_command", |b| {
        b.iter_custom(|n| {
            let targets: Vec<_> = (0..n).map(|_| fresh(&root)).collect();
            let t = Instant::now();
            for d in &targets {
                let ok = Command::new("zfs")
                    .args(["clone", snap.as_str(), d.as_str()])
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "zfs clone failed");
            }
            let e = t.elapsed();
            targets.iter().for_each(|d| zfs.destroy(d).unwrap());
            e
        })
    });
    g.finish();

    let mut g = c.benchmark_group("clone20");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, many) in [("clone_many", true), ("sequential", false)] {
        g.bench_function(name, |b| {
            b.iter_custom(|n| {
                let mut total = Duration::ZERO;
                for _ in 0..n {
                    let targets: Vec<_> = (0..20).map(|_| fresh(&root)).collect();
                    let t = Instant::now();
                    if many {
                        zfs.clone_many(&snap, &targets, &Props::new()).unwrap();
                    } else {
                        for d in &targets {
                            zfs.clone_from_snapshot(&snap, d, &Props::new()).unwrap();
                        }
                    }
                    total += t.elapsed();
                    targets.iter().for_each(|d| zfs.destroy(d).unwrap());
                }
                total
            })
        });
    }
    g.finish();

    // Clone at scale: 1, 100, 1000 clones present.
    let present_root = root.child("present").unwrap();
    zfs.create_filesystem(&present_root, &Props::new()).unwrap();
    let mut present: Vec<DatasetName> = Vec::new();
    let counts = [1usize, 100, 1000];
    let totals = std::sync::Mutex::new(std::collections::HashMap::new());
    let timed = |side: &'static str, count: usize, n: u64, one: &dyn Fn(&DatasetName)| {
        let targets: Vec<_> = (0..n).map(|_| fresh(&root)).collect();
        let t = Instant::now();
        for d in &targets {
            one(d);
        }
        let e = t.elapsed();
        targets.iter().for_each(|d| zfs.destroy(d).unwrap());
        let mut tot = totals.lock().unwrap();
        let x = tot.entry((side, count)).or_insert((Duration::ZERO, 0u64));
        x.0 += e;
        x.1 += n;
        e
    };
    let hull_one = |d: &DatasetName| zfs.clone_from_snapshot(&snap, d, &Props::new()).unwrap();
    let lzc_one = |d: &DatasetName| {
        let cd = CString::new(d.as_str()).unwrap();
        // SAFETY: both names are live NUL-terminated strings; no props.
        let rc = unsafe { core.lzc_clone(cd.as_ptr(), csnap.as_ptr(), std::ptr::null_mut()) };
        assert_eq!(rc, 0);
    };
    let zfs_one = |d: &DatasetName| {
        let ok = Command::new("zfs")
            .args(["clone", snap.as_str(), d.as_str()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "zfs clone failed");
    };
    let mut g = c.benchmark_group("clone_at_scale");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for count in counts {
        let more: Vec<_> = (present.len()..count)
            .map(|i| present_root.child(&format!("p{i}")).unwrap())
            .collect();
        for chunk in more.chunks(100) {
            zfs.clone_many(&snap, chunk, &Props::new()).unwrap();
        }
        present.extend(more);
        g.bench_function(format!("hull/{count}"), |b| {
            b.iter_custom(|n| timed("hull", count, n, &hull_one))
        });
        g.bench_function(format!("lzc_clone/{count}"), |b| {
            b.iter_custom(|n| timed("lzc_clone", count, n, &lzc_one))
        });
        g.bench_function(format!("zfs_command/{count}"), |b| {
            b.iter_custom(|n| timed("zfs_command", count, n, &zfs_one))
        });
    }
    g.finish();
    {
        let tot = totals.lock().unwrap();
        // A group filtered out on the command line measured nothing.
        for side in ["hull", "lzc_clone", "zfs_command"]
            .into_iter()
            .filter(|_| !tot.is_empty())
        {
            let v: Vec<f64> = counts
                .iter()
                .map(|&n| {
                    let (t, k): (Duration, u64) = tot[&(side, n)];
                    t.as_secs_f64() * 1e3 / k.max(1) as f64
                })
                .collect();
            println!(
                "clone_at_scale {side}: {:.3} / {:.3} / {:.3} ms at 1 / 100 / 1000 clones present; growth {:.2}x",
                v[0],
                v[1],
                v[2],
                v[2] / v[0]
            );
        }
    }
    present.iter().for_each(|d| zfs.destroy(d).unwrap());
    zfs.destroy(&present_root).unwrap();

    // SAFETY: paired with the init above.
    unsafe { core.libzfs_core_fini() };
    zfs.destroy_snapshots(&[snap], false).unwrap();
    zfs.destroy(&base).unwrap();
    zfs.destroy(&root).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
