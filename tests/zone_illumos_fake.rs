//! The illumos zone backend, which cannot run here, through fakes of the
//! libzonecfg call table and of the zoneadm runner: which calls, with which
//! arguments, in which order; and that illegal transitions run nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hull::name::ZoneName;
use hull::zone::illumos::{Zoneadm, ZonecfgCalls};
use hull::zone::Zones;
use hull::zone::{State, ZoneConfig};
use hull::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Init,
    Fini,
    Name(String),
    Zonepath(String),
    Brand(String),
    Autoboot(bool),
    Iptype(bool),
    Nwif(String),
    Fs(String, String, bool),
    Rctl(String, u64),
    Save,
    Destroy(String, bool),
    State(String),
    Zoneadm(Vec<String>),
}

#[derive(Clone, Default)]
struct Fake {
    calls: Arc<Mutex<Vec<Call>>>,
    /// zone -> ZONE_STATE_* value
    states: Arc<Mutex<Vec<(String, u32)>>>,
    fail_save: bool,
}

impl Fake {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
    fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }
    fn push(&self, c: Call) {
        self.calls.lock().unwrap().push(c);
    }
    fn set_state(&self, zone: &str, v: u32) {
        let mut s = self.states.lock().unwrap();
        s.retain(|(z, _)| z != zone);
        s.push((zone.into(), v));
    }
}

impl ZonecfgCalls for Fake {
    fn init_handle(&mut self) -> i32 {
        self.push(Call::Init);
        0
    }
    fn fini_handle(&mut self) {
        self.push(Call::Fini);
    }
    fn set_name(&mut self, n: &str) -> i32 {
        self.push(Call::Name(n.into()));
        0
    }
    fn set_zonepath(&mut self, p: &str) -> i32 {
        self.push(Call::Zonepath(p.into()));
        0
    }
    fn set_brand(&mut self, b: &str) -> i32 {
        self.push(Call::Brand(b.into()));
        0
    }
    fn set_autoboot(&mut self, on: bool) -> i32 {
        self.push(Call::Autoboot(on));
        0
    }
    fn set_iptype(&mut self, x: bool) -> i32 {
        self.push(Call::Iptype(x));
        0
    }
    fn add_nwif(&mut self, p: &str) -> i32 {
        self.push(Call::Nwif(p.into()));
        0
    }
    fn add_fs(&mut self, s: &str, d: &str, ro: bool) -> i32 {
        self.push(Call::Fs(s.into(), d.into(), ro));
        0
    }
    fn set_rctl(&mut self, a: &str, v: u64) -> i32 {
        self.push(Call::Rctl(a.into(), v));
        0
    }
    fn save(&mut self) -> i32 {
        self.push(Call::Save);
        if self.fail_save {
            return 5; // Z_SAVING_FILE
        }
        let name = self
            .calls()
            .iter()
            .rev()
            .find_map(|c| {
                if let Call::Name(n) = c {
                    Some(n.clone())
                } else {
                    None
                }
            })
            .unwrap();
        self.set_state(&name, 0);
        0
    }
    fn destroy(&mut self, n: &str, force: bool) -> i32 {
        self.push(Call::Destroy(n.into(), force));
        self.states.lock().unwrap().retain(|(z, _)| z != n);
        0
    }
    fn get_state(&mut self, n: &str) -> Result<u32, i32> {
        self.push(Call::State(n.into()));
        self.states
            .lock()
            .unwrap()
            .iter()
            .find(|(z, _)| z == n)
            .map(|s| s.1)
            .ok_or(16) // Z_NO_ZONE
    }
    fn zonepath(&mut self, n: &str) -> Result<String, i32> {
        Ok(format!("/zones/{n}"))
    }
    fn names(&mut self) -> Vec<String> {
        let mut v: Vec<String> = self
            .states
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.0.clone())
            .collect();
        v.push("global".into());
        v
    }
    fn strerror(&mut self, code: i32) -> String {
        format!("zonecfg error {code}")
    }
}

impl Zoneadm for Fake {
    fn run(&mut self, argv: &[String]) -> std::io::Result<(i32, String)> {
        self.push(Call::Zoneadm(argv.to_vec()));
        // zoneadm moves the zone on, as zoneadmd would.
        let zone = argv[2].clone();
        let next = match argv[3].as_str() {
            "install" | "halt" | "shutdown" => 2,
            "boot" | "reboot" => 4,
            "uninstall" => 0,
            _ => return Ok((1, "zoneadm: bad command".into())),
        };
        self.set_state(&zone, next);
        Ok((0, String::new()))
    }
}

fn config() -> ZoneConfig {
    serde_json::from_value(serde_json::json!({
        "name": "web01", "zonepath": "/zones/web01", "brand": "joyent-minimal", "autoboot": true,
        "nets": ["vnic0"], "mounts": [{"source": "/data", "target": "/data", "readonly": true}],
        "caps": {"memory_bytes": 268435456, "max_processes": 2000, "cpu_percent": 150},
        "init": ["/sbin/init"]
    }))
    .unwrap()
}

fn zadm(args: &[&str]) -> Call {
    let mut v = vec!["/usr/sbin/zoneadm".to_string(), "-z".into(), "web01".into()];
    v.extend(args.iter().map(|a| a.to_string()));
    Call::Zoneadm(v)
}

#[test]
fn configure_sets_every_property_then_saves_and_frees_the_handle() {
    let fake = Fake::default();
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    z.configure(&config()).unwrap();
    assert_eq!(
        fake.calls(),
        vec![
            Call::Init,
            Call::Name("web01".into()),
            Call::Zonepath("/zones/web01".into()),
            Call::Brand("joyent-minimal".into()),
            Call::Autoboot(true),
            Call::Iptype(true),
            Call::Nwif("vnic0".into()),
            Call::Fs("/data".into(), "/data".into(), true),
            Call::Rctl("physical".into(), 268435456),
            Call::Rctl("max-lwps".into(), 2000),
            Call::Rctl("cpu-cap".into(), 150),
            Call::Save,
            Call::Fini,
        ]
    );
}

#[test]
fn a_failed_save_frees_the_handle_and_saves_nothing() {
    let fake = Fake {
        fail_save: true,
        ..Fake::default()
    };
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    let e = z.configure(&config()).unwrap_err();
    assert!(e.to_string().contains("zonecfg error 5"), "{e}");
    assert_eq!(fake.calls().last(), Some(&Call::Fini));
    assert!(z.list().unwrap().is_empty());
}

#[test]
fn the_lifecycle_runs_zoneadm_with_exactly_these_argvs() {
    let fake = Fake::default();
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    let name: ZoneName = "web01".parse().unwrap();
    z.configure(&config()).unwrap();
    fake.clear();
    z.install(&name, "/images/base".as_ref()).unwrap();
    z.boot(&name).unwrap();
    z.reboot(&name).unwrap();
    z.shutdown(&name, Duration::from_secs(1)).unwrap();
    z.boot(&name).unwrap();
    z.halt(&name).unwrap();
    z.uninstall(&name).unwrap();
    z.delete(&name).unwrap();
    let runs: Vec<Call> = fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Zoneadm(_) | Call::Destroy(..)))
        .collect();
    assert_eq!(
        runs,
        vec![
            zadm(&["install", "-s", "/images/base"]),
            zadm(&["boot"]),
            zadm(&["reboot"]),
            zadm(&["shutdown"]),
            zadm(&["boot"]),
            zadm(&["halt"]),
            zadm(&["uninstall", "-F"]),
            Call::Destroy("web01".into(), false),
        ]
    );
    // Each zoneadm run was preceded by a state check.
    assert!(matches!(fake.calls()[0], Call::State(_)));
}

#[test]
fn illegal_transitions_run_nothing() {
    let fake = Fake::default();
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    let name: ZoneName = "web01".parse().unwrap();
    z.configure(&config()).unwrap();
    fake.clear();
    for (what, r) in [
        ("boot before install", z.boot(&name).map(drop)),
        ("halt when configured", z.halt(&name)),
        ("uninstall when configured", z.uninstall(&name)),
    ] {
        assert!(
            matches!(r.unwrap_err().kind, ErrorKind::InvalidState { .. }),
            "{what}"
        );
    }
    z.install(&name, "/images/base".as_ref()).unwrap();
    assert!(matches!(
        z.install(&name, "/x".as_ref()).unwrap_err().kind,
        ErrorKind::InvalidState { .. }
    ));
    z.boot(&name).unwrap();
    assert!(matches!(
        z.delete(&name).unwrap_err().kind,
        ErrorKind::InvalidState { .. }
    ));
    let runs = fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Zoneadm(_) | Call::Destroy(..)))
        .count();
    assert_eq!(runs, 2, "only the legal install and boot ran zoneadm");
    assert_eq!(z.state(&name).unwrap(), State::Running);
    let unknown: ZoneName = "nosuch".parse().unwrap();
    assert_eq!(z.state(&unknown).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(
        z.list().unwrap(),
        vec![(name, State::Running, "/zones/web01".into())],
        "global is not listed"
    );
}

#[test]
fn illumos_zones_are_the_same_zones_type_with_typed_gaps() {
    let fake = Fake::default();
    // The one public type, cloned and shared like the Linux one.
    let z: Zones = Zones::with_zonecfg(fake.clone(), fake.clone());
    let other = z.clone();
    let name: ZoneName = "web01".parse().unwrap();
    z.configure(&config()).unwrap();
    other.install(&name, "/images/base".as_ref()).unwrap();
    let booted = z.boot(&name).unwrap();
    assert_eq!(booted.init, None, "zoneadmd starts an illumos zone's init");
    for (what, e) in [
        ("wait", z.wait(&name).map(drop).unwrap_err()),
        ("netns", z.netns(&name).map(drop).unwrap_err()),
        ("get", z.get(&name).map(drop).unwrap_err()),
    ] {
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{what}: {e}");
    }
}
