//! hull::machine create against the same steps driven by commands from a
//! shell script, in the same run. Runs inside the ZFS test guest
//! (`scripts/test --zfs-bench`, once with `--test` in the README command);
//! needs a pool named `tank`, and `ip`, `unshare` and `nsenter` from
//! iproute2 and util-linux next to the bench (`/t`, where the guest puts
//! them). Without them it says so and measures nothing.
//!
//! * `create/hull`: one machine from its payload to INIT running: record,
//!   VNIC, zone configuration, clone of the image with its quota, files,
//!   boot (namespaces, cgroups with a memory cap, seccomp, the VNIC handed
//!   over with its address).
//! * `create/shell`: the same with `zfs clone -o quota -o mountpoint`, `ip
//!   link add ... type macvlan`, a cgroup with `memory.max`, `unshare`
//!   into new namespaces with `chroot`, `ip link set netns` and `nsenter
//!   ip addr add`: what a script would do, without hull's checks,
//!   confinement and records.
//! * twenty at once (threads, or scripts in parallel), measured once per
//!   side before the rest (under TCG a run takes seconds to minutes, too
//!   long for criterion's ten samples).
//!
//! Only the creates are timed; deleting the machines is outside the timing.
//! Prints each side's time and the ratio shell ÷ hull (above 1: hull is
//! faster).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use hull::image::{Images, Manifest};
use hull::machine::{new_uuid, Machines, NodeConfig, Payload};
use hull::name::LinkName;
use hull::vnic::Vnics;
use hull::zfs::{Props, Zfs};

const IMAGE: &str = "3b000000-0000-4000-8000-000000000001";
const STUB: &str = "benchstub0";
const STATE: &str = "/tmp/hull-bench-machines";
const INIT: &str = "#!/bin/busybox sh\nwhile true; do /bin/busybox sleep 3600; done\n";

/// The shell script's create: the same steps, by commands.
const SCRIPT: &str = r#"set -e
T=/t U=$1 IMG=$2 STUB=$3 L=$4 ADDR=$5
zfs clone -o quota=1G -o mountpoint=/tank/$U/root tank/$IMG@final tank/$U
$T/ip link add link $STUB name $L type macvlan mode bridge
mkdir /sys/fs/cgroup/sh-$U
echo 134217728 > /sys/fs/cgroup/sh-$U/memory.max
sh -c 'echo $$ > /sys/fs/cgroup/sh-'$U'/cgroup.procs; exec '$T'/unshare --pid --net --mount --uts --ipc --fork chroot /tank/'$U'/root /sbin/init' > /dev/null 2>&1 &
P=$!
while ! [ "$(readlink /proc/$P/ns/net)" != "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done
$T/ip link set $L netns $P
$T/nsenter -t $P -n $T/ip addr add $ADDR dev $L
$T/nsenter -t $P -n $T/ip link set $L up
echo $P > /tmp/sh-$U.pid
"#;

fn shell_delete(uuid: &str) {
    let cg = format!("/sys/fs/cgroup/sh-{uuid}");
    let _ = std::fs::write(format!("{cg}/cgroup.kill"), "1");
    // Wait up to 2 s for the cgroup to empty and 2 s for the dataset to
    // go. Under TCG, after twenty at once, the datasets of most stay busy
    // longer than any wait tried (30 s): their mount namespaces linger.
    // The guest is thrown away after, so they are left, and said.
    for _ in 0..200 {
        if std::fs::remove_dir(&cg).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The namespaces holding the mount go a moment after their last
    // process: retry while the dataset is busy.
    for _ in 0..100 {
        let gone = Command::new("zfs")
            .args(["destroy", "-f", &format!("tank/{uuid}")])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if gone {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = Command::new("zfs")
        .args(["list", "-H", &format!("tank/{uuid}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let cgroup_left = Path::new(&format!("/sys/fs/cgroup/sh-{uuid}")).exists();
    if left || cgroup_left {
        eprintln!(
            "benches/machine.rs: the shell machine {uuid} was not cleaned up (dataset {left}, cgroup {cgroup_left})"
        );
    }
    let _ = std::fs::remove_dir(format!("/tank/{uuid}/root"));
    let _ = std::fs::remove_dir(format!("/tank/{uuid}"));
    let _ = std::fs::remove_file(format!("/tmp/sh-{uuid}.pid"));
}

fn image(zfs: &Zfs) {
    if Images::new(zfs, "tank".parse().unwrap()).get(IMAGE).is_ok() {
        return;
    }
    let src: hull::name::DatasetName = "tank/bench-machine-src".parse().unwrap();
    let mnt = "/tmp/bench-machine-src";
    zfs.create_filesystem(&src, &Props::new().mountpoint(mnt).unwrap())
        .unwrap();
    zfs.mount(&src).unwrap();
    for d in ["bin", "sbin", "etc", "proc", "dev", "sys"] {
        std::fs::create_dir_all(format!("{mnt}/{d}")).unwrap();
    }
    std::fs::copy("/bin/busybox", format!("{mnt}/bin/busybox")).unwrap();
    std::fs::write(format!("{mnt}/sbin/init"), INIT).unwrap();
    std::fs::set_permissions(
        format!("{mnt}/sbin/init"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    zfs.unmount(&src).unwrap();
    let snap = src.snapshot("s").unwrap();
    zfs.snapshot(std::slice::from_ref(&snap), &[]).unwrap();
    let out = Command::new("zfs")
        .args(["send", snap.as_str()])
        .output()
        .unwrap();
    let file = "/tmp/bench-machine.zfs";
    std::fs::write(file, &out.stdout).unwrap();
    use sha1::Digest;
    let sha1: String = sha1::Sha1::digest(&out.stdout)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let m = Manifest::from_json(&format!(
        r#"{{"v": 2, "uuid": "{IMAGE}", "name": "bench", "version": "1", "type": "zone-dataset",
            "os": "linux", "files": [{{"sha1": "{sha1}", "size": {}, "compression": "none"}}]}}"#,
        out.stdout.len()
    ))
    .unwrap();
    Images::new(zfs, "tank".parse().unwrap())
        .import(&m, file.as_ref())
        .unwrap();
    std::fs::remove_file(file).ok();
}

fn payload(uuid: &str, n: u32) -> Payload {
    Payload::from_json(&format!(
        r#"{{"uuid": "{uuid}", "image_uuid": "{IMAGE}", "max_physical_memory": 128, "quota": 1,
            "nics": [{{"nic_tag": "bench", "ips": ["10.40.{}.{}/16"]}}]}}"#,
        n / 250,
        n % 250 + 1
    ))
    .unwrap()
}

fn machines() -> Machines {
    let node = NodeConfig::from_json(&format!(r#"{{"nic_tags": {{"bench": "{STUB}"}}}}"#)).unwrap();
    Machines::open(STATE, "tank".parse().unwrap(), node).unwrap()
}

fn bench(c: &mut Criterion) {
    let zfs = match Zfs::open() {
        Ok(z) if z.exists("tank").unwrap_or(false) => z,
        Ok(_) => return eprintln!("SKIPPED benches/machine.rs: no pool named tank"),
        Err(e) => return eprintln!("SKIPPED benches/machine.rs: {e}"),
    };
    for tool in ["/t/ip", "/t/unshare", "/t/nsenter"] {
        if !Path::new(tool).exists() {
            return eprintln!(
                "SKIPPED benches/machine.rs: no {tool} (run it in the ZFS test guest)"
            );
        }
    }
    image(&zfs);
    let stub: LinkName = STUB.parse().unwrap();
    let mut vnics = Vnics::open().unwrap();
    let _ = vnics.create_etherstub(&stub);
    std::fs::write("/tmp/hull-bench-create.sh", SCRIPT).unwrap();
    let n = std::sync::atomic::AtomicU32::new(0);
    let next = || n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let totals: Mutex<HashMap<&str, (Duration, u64)>> = Mutex::new(HashMap::new());
    let add = |side: &'static str, t: Duration, k: u64| {
        let mut m = totals.lock().unwrap();
        let e = m.entry(side).or_insert((Duration::ZERO, 0));
        e.0 += t;
        e.1 += k;
    };
    let shell_create = |uuid: &str, i: u32| {
        let hex: String = uuid.chars().filter(|c| *c != '-').take(11).collect();
        let ok = Command::new("sh")
            .args([
                "/tmp/hull-bench-create.sh",
                uuid,
                IMAGE,
                STUB,
                &format!("s{hex}"),
                &format!("10.41.{}.{}/16", i / 250, i % 250 + 1),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "the shell create failed");
    };

    // Twenty at once, once per side, first (each run takes seconds to
    // minutes under TCG: too long for criterion's ten samples).
    let (h20, s20) = {
        let work: Vec<(Machines, Payload)> = (0..20)
            .map(|_| (machines(), payload(&new_uuid(), next())))
            .collect();
        let uuids: Vec<String> = work.iter().map(|(_, p)| p.uuid.clone()).collect();
        let s = Instant::now();
        std::thread::scope(|sc| {
            for (mut m, p) in work {
                sc.spawn(move || m.create(p).unwrap());
            }
        });
        let hull = s.elapsed();
        let m = machines();
        for u in &uuids {
            m.delete(u).unwrap();
        }
        let uuids: Vec<(String, u32)> = (0..20).map(|_| (new_uuid(), next())).collect();
        let s = Instant::now();
        std::thread::scope(|sc| {
            for (u, i) in &uuids {
                sc.spawn(|| shell_create(u, *i));
            }
        });
        let shell = s.elapsed();
        for (u, _) in &uuids {
            shell_delete(u);
        }
        (hull, shell)
    };

    let mut g = c.benchmark_group("create");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    g.bench_function("hull", |b| {
        b.iter_custom(|iters| {
            let mut m = machines();
            let mut t = Duration::ZERO;
            for _ in 0..iters {
                let uuid = new_uuid();
                let p = payload(&uuid, next());
                let s = Instant::now();
                m.create(p).unwrap();
                t += s.elapsed();
                m.delete(&uuid).unwrap();
            }
            add("hull", t, iters);
            t
        })
    });
    g.bench_function("shell", |b| {
        b.iter_custom(|iters| {
            let mut t = Duration::ZERO;
            for _ in 0..iters {
                let uuid = new_uuid();
                let s = Instant::now();
                shell_create(&uuid, next());
                t += s.elapsed();
                shell_delete(&uuid);
            }
            add("shell", t, iters);
            t
        })
    });
    g.finish();

    let tot = totals.lock().unwrap();
    let per = |side: &str| {
        tot.get(side)
            .map(|(t, k)| t.as_secs_f64() * 1e3 / (*k).max(1) as f64)
    };
    if let (Some(h), Some(s)) = (per("hull"), per("shell")) {
        println!(
            "machine create: hull {h:.1} ms, shell {s:.1} ms; shell/hull = {:.2}",
            s / h
        );
    }
    println!(
        "20 machine creates at once (one run each): hull {:.1} ms, shell {:.1} ms; shell/hull = {:.2}",
        h20.as_secs_f64() * 1e3,
        s20.as_secs_f64() * 1e3,
        s20.as_secs_f64() / h20.as_secs_f64()
    );
    let _ = vnics.delete_etherstub(&stub);
    let _ = Images::new(&zfs, "tank".parse().unwrap()).delete(IMAGE);
}

criterion_group!(benches, bench);
criterion_main!(benches);
