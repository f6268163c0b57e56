//! The illumos zone backend, which cannot run here, through fakes of the
//! libzonecfg call table and of the zoneadm runner: which calls, with which
//! arguments, in which order; and that illegal transitions run nothing.
//! Where illumos behaves otherwise than hull once assumed, the fake follows
//! illumos and cites the line it models (sources: illumos-gate as
//! jlevon/illumos-gate@4859da614b562d26b86cd0961067070cb5ed350c,
//! illumos-joyent as zssfred/illumos-joyent@6e2c24e158594101032b0558bd67d9f1ec0b30e1,
//! OmniOS brands as omniosorg/pkg5@b8546e93fd27b2b806ed182b7370c36fd3b0801a).
//! `zone_illumos_abi.rs` drives the real `LibZonecfg` through a fake C
//! library.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hull::name::ZoneName;
use hull::zone::illumos::{install_args, Platform, Zoneadm, ZonecfgCalls};
use hull::zone::Zones;
use hull::zone::{Install, State, ZoneConfig};
use hull::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Init,
    Template(String, String),
    Fini,
    Zonepath(String),
    Brand(String),
    Autoboot(bool),
    Iptype(bool),
    Nwif(String),
    Fs(String, String, bool),
    Rctl(String, u64),
    Mcap(u64),
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
    /// Whether the handle has a document (from a template).
    has_doc: Arc<Mutex<bool>>,
    /// Which platform's libzonecfg this is (default SmartOS).
    platform: Option<Platform>,
    /// What zonecfg_get_zonepath answers instead of the zone's own.
    zonepath: Arc<Mutex<Option<String>>>,
    /// Make the next install fail, leaving the zone incomplete.
    fail_install: Arc<Mutex<bool>>,
    /// zone -> brand, recorded at save.
    brands: Arc<Mutex<Vec<(String, String)>>>,
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
    /// A setter on the handle: libzonecfg refuses it while the handle has
    /// no document, which zonecfg_init_handle alone does not give it
    /// (libzonecfg.c: zonecfg_init_handle is a calloc, gate L302-317;
    /// zonecfg_check_handle returns Z_BAD_HANDLE without zone_dh_doc,
    /// L322-325; every setter reaches it through getroot, L422-425).
    fn set(&self, c: Call) -> i32 {
        self.push(c);
        if *self.has_doc.lock().unwrap() {
            0
        } else {
            10 // Z_BAD_HANDLE
        }
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
        *self.has_doc.lock().unwrap() = false;
        0
    }
    fn get_template_handle(&mut self, t: &str, n: &str) -> i32 {
        self.push(Call::Template(t.into(), n.into()));
        *self.has_doc.lock().unwrap() = t == "SUNWblank" || t == "SUNWdefault";
        if *self.has_doc.lock().unwrap() {
            0
        } else {
            6 // Z_NO_ENTRY: no such template
        }
    }
    fn fini_handle(&mut self) {
        self.push(Call::Fini);
        *self.has_doc.lock().unwrap() = false;
    }
    fn set_zonepath(&mut self, p: &str) -> i32 {
        self.set(Call::Zonepath(p.into()))
    }
    fn set_brand(&mut self, b: &str) -> i32 {
        self.set(Call::Brand(b.into()))
    }
    fn set_autoboot(&mut self, on: bool) -> i32 {
        self.set(Call::Autoboot(on))
    }
    fn set_iptype(&mut self, x: bool) -> i32 {
        // zonecfg_set_iptype reads the document itself and answers
        // Z_EMPTY_DOCUMENT, not Z_BAD_HANDLE (libzonecfg.c gate L1614-1615).
        match self.set(Call::Iptype(x)) {
            0 => 0,
            _ => 1,
        }
    }
    fn add_nwif(&mut self, p: &str) -> i32 {
        self.set(Call::Nwif(p.into()))
    }
    fn add_fs(&mut self, s: &str, d: &str, ro: bool) -> i32 {
        self.set(Call::Fs(s.into(), d.into(), ro))
    }
    fn set_rctl(&mut self, a: &str, v: u64) -> i32 {
        let code = self.set(Call::Rctl(a.into(), v));
        // illumos-gate's aliases[] table has no "physical" (libzonecfg.c
        // 171-188), so zonecfg_aliased_rctl_ok fails and
        // zonecfg_set_aliased_rctl returns Z_ALIAS_DISALLOW (6774-6775);
        // joyent has {ALIAS_MAXPHYSMEM, "zone.max-physical-memory"} (194).
        if code == 0 && a == "physical" && self.platform() == Platform::Gate {
            return 42; // Z_ALIAS_DISALLOW
        }
        code
    }
    fn platform(&self) -> Platform {
        self.platform.unwrap_or(Platform::SmartOs)
    }
    fn modify_mcap(&mut self, bytes: u64) -> i32 {
        // Only illumos-gate exports zonecfg_modify_mcap (mapfile-vers 176).
        assert_eq!(self.platform(), Platform::Gate, "no such symbol");
        self.set(Call::Mcap(bytes))
    }
    fn brand(&mut self, n: &str) -> Result<String, i32> {
        self.brands
            .lock()
            .unwrap()
            .iter()
            .find(|(z, _)| z == n)
            .map(|b| b.1.clone())
            .ok_or(16)
    }
    fn save(&mut self) -> i32 {
        if self.set(Call::Save) != 0 {
            return 10;
        }
        if self.fail_save {
            return 5; // Z_SAVING_FILE
        }
        let name = self
            .calls()
            .iter()
            .rev()
            .find_map(|c| {
                if let Call::Template(_, n) = c {
                    Some(n.clone())
                } else {
                    None
                }
            })
            .unwrap();
        let brand = self
            .calls()
            .iter()
            .rev()
            .find_map(|c| {
                if let Call::Brand(b) = c {
                    Some(b.clone())
                } else {
                    None
                }
            })
            .unwrap_or_default();
        self.brands.lock().unwrap().push((name.clone(), brand));
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
        if let Some(p) = self.zonepath.lock().unwrap().clone() {
            return Ok(p);
        }
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

/// Parses `args` as the brand's install script would with `getopts
/// optstring`: every option known, its argument present, no operands.
fn getopts(args: &[String], optstring: &str) -> Result<Vec<(char, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(opt) = a.strip_prefix('-').and_then(|o| o.chars().next()) else {
            return Err(format!("operand {a:?} (ignored by the installer)"));
        };
        let Some(i) = optstring.find(opt) else {
            return Err(format!("-{opt} is not an option of this brand"));
        };
        if optstring[i + 1..].starts_with(':') {
            let v = it.next().ok_or(format!("-{opt} needs an argument"))?;
            out.push((opt, Some(v.clone())));
        } else {
            out.push((opt, None));
        }
    }
    Ok(out)
}

/// What the brand's installer accepts after `zoneadm -z Z install`, as its
/// script parses it; `Err` is the usage failure (exit 253) it would give.
fn brand_accepts(platform: Platform, brand: &str, args: &[String]) -> Result<(), String> {
    let has = |o: &[(char, Option<String>)], c: char| o.iter().any(|(x, _)| *x == c);
    // SmartOS zoneadm consumes `-x nodataset` itself (zoneadm.c 3018).
    if platform == Platform::SmartOs
        && (args.len() < 2 || args[0] != "-x" || args[1] != "nodataset")
    {
        return Err("SmartOS brands are installed with -x nodataset".into());
    }
    let smartos = platform == Platform::SmartOs;
    match brand {
        // jcommon/cinstall 68-88: getopts "rR:t:U:q:z:"; -t required
        // (113-116); -q numeric (119-122).
        "joyent" | "joyent-minimal" | "lx" if smartos => {
            let o = getopts(&args[2..], "rR:t:U:q:z:")?;
            if !has(&o, 't') {
                return Err("-t TEMPLATE is required".into());
            }
            if let Some((_, Some(q))) = o.iter().find(|(c, _)| *c == 'q') {
                q.parse::<u32>().map_err(|_| "-q is numeric")?;
            }
            Ok(())
        }
        // SmartOS kvm/kinstall 22: the same options, -t optional.
        "kvm" | "bhyve" if smartos => getopts(&args[2..], "rR:t:U:q:z:").map(drop),
        // OmniOS lx/lx_install 24-50 and illumos/createzone 38-51:
        // -s SOURCE required.
        "lx" | "illumos" if !smartos => {
            let o = getopts(args, "s:t:v")?;
            if has(&o, 's') || has(&o, 't') {
                Ok(())
            } else {
                Err("-s SOURCE is required".into())
            }
        }
        // OmniOS ipkg/pkgcreatezone 94-118; -p/-u only with -a/-d
        // (161-165); gate's labeled and solaris10 take -d with -p/-u too
        // (config.xml installopts a:c:d:e:hk:P:p:suv, a:d:Fpsuv).
        "ipkg" | "lipkg" | "labeled" | "solaris10" if !smartos => {
            let o = getopts(args, "a:c:d:e:hk:P:psuv")?;
            let image = has(&o, 'a') || has(&o, 'd');
            let keep = has(&o, 'p') || has(&o, 'u');
            if image != keep {
                return Err("-a/-d need -p or -u, and only they".into());
            }
            Ok(())
        }
        // OmniOS sparse/pkgcreatezone 85-92.
        "sparse" | "pkgsrc" if !smartos => getopts(args, "hb:svz:").map(drop),
        // OmniOS bhyve/createzone 27-31: no options of its own; gate's sn1
        // has no installopts.
        "bhyve" | "kvm" | "emu" | "sn1" if !smartos => getopts(args, "").map(drop),
        _ => Err(format!("no brand {brand}")),
    }
}

impl Zoneadm for Fake {
    fn run(&mut self, argv: &[String]) -> std::io::Result<(i32, String)> {
        self.push(Call::Zoneadm(argv.to_vec()));
        // zoneadm moves the zone on, as zoneadmd would.
        let zone = argv[2].clone();
        let next = match argv[3].as_str() {
            "install" => {
                let brand = self.clone().brand(&zone).unwrap_or_default();
                if let Err(why) = brand_accepts(self.platform(), &brand, &argv[4..]) {
                    // zoneadm marks the zone incomplete before the brand's
                    // installer runs (zoneadm.c install_func).
                    self.set_state(&zone, 1);
                    return Ok((253, format!("{brand} install: {why}")));
                }
                if std::mem::take(&mut *self.fail_install.lock().unwrap()) {
                    self.set_state(&zone, 1);
                    return Ok((1, "cinstall: clone failed".into()));
                }
                2
            }
            "halt" | "shutdown" => 2,
            "uninstall"
                if self
                    .states
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|(z, v)| *z == zone && *v == 1) =>
            {
                0
            }
            "boot" | "reboot" => 4,
            "uninstall" => 0,
            _ => return Ok((1, "zoneadm: bad command".into())),
        };
        self.set_state(&zone, next);
        Ok((0, String::new()))
    }
}

const UUID: &str = "5e164fac-286d-11e4-9cf7-b3f73eefcd01";

fn image() -> Install {
    Install::Image {
        uuid: UUID.into(),
        quota_gb: Some(20),
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
            Call::State("web01".into()),
            Call::Init,
            Call::Template("SUNWblank".into(), "web01".into()),
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
    z.install_from(&name, &image()).unwrap();
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
            zadm(&["install", "-x", "nodataset", "-t", UUID, "-q", "20"]),
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
    z.install_from(&name, &image()).unwrap();
    assert!(matches!(
        z.install_from(&name, &image()).unwrap_err().kind,
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
    other.install_from(&name, &image()).unwrap();
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

#[test]
fn a_joyent_zone_is_not_installed_from_a_directory() {
    // `zoneadm install -s DIR` is a usage error for the joyent brands
    // (cinstall 85-86) and silent mode for ipkg: a directory is refused
    // before zoneadm runs.
    let fake = Fake::default();
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    let name: ZoneName = "web01".parse().unwrap();
    z.configure(&config()).unwrap();
    fake.clear();
    let e = z.install(&name, "/images/base".as_ref()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
    assert!(
        !fake.calls().iter().any(|c| matches!(c, Call::Zoneadm(_))),
        "zoneadm did not run"
    );
    assert_eq!(z.state(&name).unwrap(), State::Configured);
}

#[test]
fn each_brand_gets_the_options_its_installer_takes_on_its_platform() {
    use Platform::*;
    let root = Install::Root("/images/base".into());
    let archive = Install::Archive("/images/alpine.tar.xz".into());
    let img = ["install", "-x", "nodataset", "-t", UUID, "-q", "20"];
    for (platform, brand, from, argv) in [
        (SmartOs, "joyent", image(), img.to_vec()),
        (SmartOs, "lx", image(), img.to_vec()),
        (SmartOs, "bhyve", image(), img.to_vec()),
        (
            SmartOs,
            "kvm",
            Install::BrandDefault,
            vec!["install", "-x", "nodataset"],
        ),
        (
            OmniOs,
            "lx",
            archive.clone(),
            vec!["install", "-s", "/images/alpine.tar.xz"],
        ),
        (
            OmniOs,
            "illumos",
            archive.clone(),
            vec!["install", "-s", "/images/alpine.tar.xz"],
        ),
        (
            OmniOs,
            "lipkg",
            root.clone(),
            vec!["install", "-d", "/images/base", "-p"],
        ),
        (OmniOs, "ipkg", Install::BrandDefault, vec!["install"]),
        (OmniOs, "sparse", Install::BrandDefault, vec!["install"]),
        (OmniOs, "pkgsrc", Install::BrandDefault, vec!["install"]),
        (OmniOs, "bhyve", Install::BrandDefault, vec!["install"]),
        (
            Gate,
            "ipkg",
            root.clone(),
            vec!["install", "-d", "/images/base", "-p"],
        ),
        (
            Gate,
            "labeled",
            root.clone(),
            vec!["install", "-d", "/images/base", "-p"],
        ),
        (
            Gate,
            "solaris10",
            root.clone(),
            vec!["install", "-d", "/images/base", "-p"],
        ),
        (Gate, "sn1", Install::BrandDefault, vec!["install"]),
    ] {
        let args = install_args(platform, brand, &from)
            .unwrap_or_else(|e| panic!("{platform:?} {brand}: {e}"));
        assert_eq!(args, argv, "{platform:?} {brand} {from:?}");
        brand_accepts(platform, brand, &args[1..])
            .unwrap_or_else(|e| panic!("{platform:?} {brand} {from:?}: {e}"));
    }
    // A source the brand does not take there.
    for (platform, brand, from) in [
        (SmartOs, "joyent", root.clone()),
        (SmartOs, "joyent-minimal", archive.clone()),
        (OmniOs, "lx", image()),
        (OmniOs, "bhyve", image()),
        (OmniOs, "sparse", root.clone()),
        (OmniOs, "illumos", Install::BrandDefault),
        (OmniOs, "lipkg", Install::Root("/".into())),
    ] {
        let e = install_args(platform, brand, &from).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::InvalidArgument(_)),
            "{brand}: {e}"
        );
    }
    // A brand hull does not know there, or a platform it cannot tell.
    for (platform, brand) in [(Gate, "joyent"), (OmniOs, "solaris8"), (Unknown, "ipkg")] {
        let e = install_args(platform, brand, &root).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
    }
    // zoneadm runs the brand's installer through `sh -c`.
    for bad in ["/images/a b", "/images/$(reboot)", "/images/x;y", ""] {
        let e = install_args(OmniOs, "lx", &Install::Archive(bad.into())).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::InvalidArgument(_)),
            "{bad:?}: {e}"
        );
    }
    let e = install_args(
        SmartOs,
        "joyent",
        &Install::Image {
            uuid: "../../etc".into(),
            quota_gb: None,
        },
    )
    .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
}

#[test]
fn a_zonepath_a_shell_could_split_is_refused_and_rechecked_before_zoneadm() {
    // zoneadm pastes the zonepath unquoted into the brand hook it runs with
    // /bin/sh -c (libbrand.c i_substitute_tokens, gate L342-346).
    for bad in [
        "/zones/a b",
        "/zones/$(touch x)",
        "/zones/a;reboot",
        "/zones/`id`",
    ] {
        let fake = Fake::default();
        let z = Zones::with_zonecfg(fake.clone(), fake.clone());
        let mut c = config();
        c.zonepath = bad.into();
        let e = z.configure(&c).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::InvalidArgument(_)),
            "{bad:?}: {e}"
        );
        assert!(fake.calls().is_empty(), "{bad:?}");
    }
    // A zone configured elsewhere with such a path: zoneadm does not run.
    let fake = Fake {
        zonepath: Arc::new(Mutex::new(Some("/zones/a;reboot".into()))),
        ..Fake::default()
    };
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    z.configure(&config()).unwrap();
    let name: ZoneName = "web01".parse().unwrap();
    let e = z.install_from(&name, &image()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
    assert!(!fake.calls().iter().any(|c| matches!(c, Call::Zoneadm(_))));
}

#[test]
fn a_failed_install_is_uninstalled_and_an_incomplete_zone_can_be_deleted() {
    let fake = Fake::default();
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    let name: ZoneName = "web01".parse().unwrap();
    z.configure(&config()).unwrap();
    *fake.fail_install.lock().unwrap() = true;
    let e = z.install_from(&name, &image()).unwrap_err();
    assert!(e.to_string().contains("clone failed"), "{e}");
    assert!(fake.calls().contains(&zadm(&["uninstall", "-F"])));
    assert_eq!(z.state(&name).unwrap(), State::Configured);
    // Left incomplete by something else: deleted with force, as
    // zonecfg_destroy requires (libzonecfg.c gate L384-388).
    fake.set_state("web01", 1);
    z.delete(&name).unwrap();
    assert_eq!(
        fake.calls().last(),
        Some(&Call::Destroy("web01".into(), true))
    );
}

#[test]
fn memory_is_capped_with_the_physical_alias_or_the_capped_memory_resource() {
    // SmartOS and OmniOS: the alias (above). illumos-gate: the resource,
    // since the alias is refused there.
    let fake = Fake {
        platform: Some(Platform::Gate),
        ..Fake::default()
    };
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    z.configure(&config()).unwrap();
    let caps: Vec<Call> = fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Rctl(..) | Call::Mcap(_)))
        .collect();
    assert_eq!(
        caps,
        vec![
            Call::Mcap(268435456),
            Call::Rctl("max-lwps".into(), 2000),
            Call::Rctl("cpu-cap".into(), 150),
        ]
    );
    // A library with neither: refused before a handle is made.
    let fake = Fake {
        platform: Some(Platform::Unknown),
        ..Fake::default()
    };
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    let e = z.configure(&config()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
    assert!(!fake.calls().contains(&Call::Init));
}

#[test]
fn a_name_libzonecfg_knows_is_not_configured_over() {
    // zonecfg_save does not check the name (libzonecfg.c 1305): saving a
    // new document under a known name would replace that zone's.
    let fake = Fake::default();
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    z.configure(&config()).unwrap();
    fake.clear();
    let e = z.configure(&config()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
    assert_eq!(fake.calls(), vec![Call::State("web01".into())]);
}

#[test]
fn a_shared_ip_net_without_an_address_is_refused() {
    let fake = Fake::default();
    let z = Zones::with_zonecfg(fake.clone(), fake.clone());
    let mut c = config();
    c.exclusive_ip = false;
    let e = z.configure(&c).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
    assert!(fake.calls().is_empty());
}
