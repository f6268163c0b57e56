//! A busybox-static zone root and a state directory under a fresh temp
//! dir, for the real zone tests. Needs root and /bin/busybox; without them
//! a test says it is skipped (the README test command requires root and
//! installs busybox-static).

use std::path::{Path, PathBuf};

use hull::name::ZoneName;
use hull::zone::{ZoneConfig, Zones};

/// The busybox applets the zone tests use.
const APPLETS: &[&str] = &[
    "sh", "hostname", "cat", "sleep", "echo", "ls", "mknod", "head", "dd", "wc", "unshare", "id",
    "stat", "grep", "mkdir", "touch", "test", "[", "true", "tr", "cut", "ln", "rm", "ping", "ip",
    "mount",
];

/// A state dir, a busybox root image and a base for zonepaths.
pub struct Setup {
    pub base: PathBuf,
    pub zones: Zones,
    pub image: PathBuf,
}

/// The setup, or `None` (with a SKIPPED line) without root or busybox.
pub fn setup(test: &str) -> Option<Setup> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let busybox = Path::new("/bin/busybox");
    if !root || !busybox.exists() {
        let why = if root {
            "no /bin/busybox (busybox-static)"
        } else {
            "needs root"
        };
        if std::env::var_os("HULL_REQUIRE_ROOT").is_some() {
            panic!("{test}: {why} (HULL_REQUIRE_ROOT is set)");
        }
        super::skipped(test, why);
        return None;
    }
    let base = super::tempdir(test);
    let image = base.join("image");
    std::fs::create_dir_all(image.join("bin")).unwrap();
    std::fs::copy(busybox, image.join("bin/busybox")).unwrap();
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", image.join("bin").join(applet)).unwrap();
    }
    let zones = Zones::open(base.join("state")).unwrap();
    Some(Setup { base, zones, image })
}

impl Setup {
    /// A configuration: name, zonepath under the base, INIT.
    pub fn config(&self, name: &str, init: &[&str]) -> ZoneConfig {
        serde_json::from_value(serde_json::json!({
            "name": name, "zonepath": self.base.join(name), "init": init
        }))
        .unwrap()
    }

    /// Configures and installs `cfg`.
    pub fn installed(&self, cfg: &ZoneConfig) -> ZoneName {
        self.zones.configure(cfg).unwrap();
        self.zones.install(&cfg.name, &self.image).unwrap();
        cfg.name.clone()
    }

    /// Boots `cfg` (configured and installed here), waits for INIT, halts,
    /// and returns INIT's exit code and what it wrote to `/out`.
    pub fn run(&self, cfg: &ZoneConfig) -> (i32, String) {
        let name = self.installed(cfg);
        self.zones.boot(&name).unwrap();
        let code = self.zones.wait(&name).unwrap();
        self.zones.halt(&name).unwrap();
        let out = std::fs::read_to_string(cfg.zonepath.join("root/out")).unwrap_or_default();
        (code, out)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// The `zone_lifecycle` example, built by cargo for the integration tests.
pub fn example() -> PathBuf {
    let bin = std::env::current_exe().unwrap();
    let bin = bin
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/zone_lifecycle");
    assert!(bin.exists(), "{} is missing", bin.display());
    bin
}

/// A zone name unique to this test process.
pub fn zone_name(tag: &str) -> String {
    format!("hull-{tag}-{}", std::process::id())
}

/// Whether no cgroup of this zone is left in any hierarchy.
pub fn no_cgroups_for(name: &ZoneName) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mounts
        .lines()
        .filter(|l| l.contains(" - cgroup"))
        .filter_map(|l| l.split(' ').nth(4))
        .all(|dir| !Path::new(dir).join("hull").join(name.as_str()).exists())
}
