//! hull's real `LibZonecfg` — the code that calls libzonecfg on illumos —
//! driven through a fake libzonecfg written in C with illumos's argument
//! lists and structs (`tests/fakes/libzonecfg.c`), as each platform's: the
//! illumos-gate one (170-byte `zone_nwiftab`, the `capped-memory`
//! resource) and the joyent-derived one of SmartOS and OmniOS (248-byte
//! `zone_nwiftab` read whole, the `physical` alias), told apart by the
//! symbols each exports. The fake refuses
//! setters on a handle with no document and any byte of the nwiftab beyond
//! what hull sets.

mod common;

use std::sync::{Arc, Mutex};

use common::cfake::{self, Controls};
use hull::name::ZoneName;
use hull::zone::illumos::{LibZonecfg, Zoneadm};
use hull::zone::{Install, State, ZoneConfig, Zones};
use hull::ErrorKind;

/// Records zoneadm argvs and succeeds (the libzonecfg state is the fake's).
#[derive(Clone, Default)]
struct Runs(Arc<Mutex<Vec<Vec<String>>>>);

impl Zoneadm for Runs {
    fn run(&mut self, argv: &[String]) -> std::io::Result<(i32, String)> {
        self.0.lock().unwrap().push(argv.to_vec());
        Ok((0, String::new()))
    }
}

fn fake(family: &str) -> (Zones, Controls, Runs) {
    let path = cfake::build("libzonecfg.c", "libzonecfg.so.1", &[family]);
    // SAFETY: the fake declares every symbol LibZonecfg binds with
    // illumos's types (tests/fakes/libzonecfg.c).
    let lib = unsafe { LibZonecfg::open(&path) }.unwrap();
    let runs = Runs::default();
    (
        Zones::with_zonecfg(lib, runs.clone()),
        Controls::open(&path),
        runs,
    )
}

fn describe(c: &Controls, zone: &str) -> String {
    // SAFETY: fake_zonecfg_describe(const char *) returns a static string.
    unsafe {
        let f: libloading::Symbol<
            unsafe extern "C" fn(*const std::ffi::c_char) -> *const std::ffi::c_char,
        > = c.0.get(b"fake_zonecfg_describe\0").unwrap();
        let z = std::ffi::CString::new(zone).unwrap();
        std::ffi::CStr::from_ptr(f(z.as_ptr()))
            .to_string_lossy()
            .into_owned()
    }
}

fn config(brand: &str) -> ZoneConfig {
    serde_json::from_value(serde_json::json!({
        "name": "web01", "zonepath": "/zones/web01", "brand": brand, "autoboot": true,
        "nets": ["vnic0"], "mounts": [{"source": "/data", "target": "/data", "readonly": true}],
        "caps": {"memory_bytes": 268435456, "max_processes": 2000, "cpu_percent": 150},
        "init": ["/sbin/init"]
    }))
    .unwrap()
}

#[test]
fn each_platform_configures_through_the_blank_template_and_its_own_memory_cap() {
    for (family, brand, caps) in [
        (
            "FAMILY_SMARTOS",
            "joyent-minimal",
            "caps=physical=268435456,max-lwps=2000,cpu-cap=150",
        ),
        (
            "FAMILY_OMNIOS",
            "lipkg",
            "caps=physical=268435456,max-lwps=2000,cpu-cap=150",
        ),
        (
            "FAMILY_GATE",
            "ipkg",
            "caps=mcap=268435456,max-lwps=2000,cpu-cap=150",
        ),
    ] {
        let (z, fake, _) = fake(family);
        let name: ZoneName = "web01".parse().unwrap();
        z.configure(&config(brand)).unwrap_or_else(|e| {
            panic!("{family}: {e} (fake: {})", fake.text("zonecfg_last_error"))
        });
        assert_eq!(
            describe(&fake, "web01"),
            format!(
                "brand={brand} zonepath=/zones/web01 autoboot=1 exclusive=1 \
                 nets=vnic0, fs=/data:/data:ro {caps}"
            ),
            "{family}"
        );
        assert_eq!(fake.text("zonecfg_last_error"), "", "{family}: no misuse");
        assert_eq!(
            fake.int("zonecfg_open_handles"),
            0,
            "{family}: handles freed"
        );
        assert_eq!(
            fake.int("zonecfg_open_fs_options"),
            0,
            "{family}: options freed"
        );
        assert_eq!(
            z.list().unwrap(),
            vec![(name.clone(), State::Configured, "/zones/web01".into())]
        );
        // Configuring the same name again would overwrite it in zonecfg_save.
        assert_eq!(
            z.configure(&config(brand)).unwrap_err().kind,
            ErrorKind::AlreadyExists
        );
        z.delete(&name).unwrap();
        assert!(z.list().unwrap().is_empty());
    }
}

#[test]
fn install_reads_the_brand_back_from_libzonecfg() {
    let (z, _fake, runs) = fake("FAMILY_SMARTOS");
    let name: ZoneName = "web01".parse().unwrap();
    z.configure(&config("joyent-minimal")).unwrap();
    let uuid = "5e164fac-286d-11e4-9cf7-b3f73eefcd01";
    z.install_from(
        &name,
        &Install::Image {
            uuid: uuid.into(),
            quota_gb: None,
        },
    )
    .unwrap();
    assert_eq!(
        runs.0.lock().unwrap().last().unwrap(),
        &[
            "/usr/sbin/zoneadm",
            "-z",
            "web01",
            "install",
            "-x",
            "nodataset",
            "-t",
            uuid
        ]
    );
}

#[test]
fn the_same_brand_name_installs_as_its_platform_does() {
    // lx is on SmartOS and OmniOS with different installers: which one is
    // read from libzonecfg's symbols.
    let name: ZoneName = "web01".parse().unwrap();
    let (z, _fake, runs) = fake("FAMILY_OMNIOS");
    let mut c = config("lx");
    c.caps.memory_bytes = None;
    z.configure(&c).unwrap();
    z.install_from(&name, &Install::Archive("/images/alpine.tar.xz".into()))
        .unwrap();
    assert_eq!(
        runs.0.lock().unwrap().last().unwrap()[3..],
        ["install", "-s", "/images/alpine.tar.xz"]
    );
    let uuid = "5e164fac-286d-11e4-9cf7-b3f73eefcd01";
    let e = z
        .install_from(
            &name,
            &Install::Image {
                uuid: uuid.into(),
                quota_gb: None,
            },
        )
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
}
