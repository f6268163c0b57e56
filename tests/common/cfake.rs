//! Builds the fake illumos C libraries under `tests/fakes/` into shared
//! objects, so the real `LibDladm`/`LibZonecfg` code can be driven through
//! illumos's argument lists and structs on Linux.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles `tests/fakes/<source>` with `defines` into a fresh directory as
/// `<soname>` and returns its path. Each call gets its own copy, so tests
/// running in parallel do not share the fake's state.
pub fn build(source: &str, soname: &str, defines: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fakes")
        .join(source);
    let dir = tempdir(soname);
    let out = dir.join(soname);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-shared",
        "-fPIC",
        "-O1",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wno-format-truncation",
        "-o",
    ])
    .arg(&out)
    .arg(&src);
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running {cc} (a C compiler is needed to build {source}): {e}"));
    assert!(status.success(), "{cc} failed on {}", src.display());
    out
}

fn tempdir(what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hull-cfake-{}-{}-{what}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fake's own test controls, looked up by name.
pub struct Controls(pub libloading::Library);

impl Controls {
    /// Opens the fake at `path` a second time (the same copy) for its
    /// `fake_*` functions.
    pub fn open(path: &Path) -> Controls {
        // SAFETY: the fake has no initialisers with preconditions.
        Controls(unsafe { libloading::Library::new(path) }.unwrap())
    }

    /// Calls `fake_<name>()` returning int.
    pub fn int(&self, name: &str) -> i32 {
        // SAFETY: every `fake_*` int getter takes no arguments.
        unsafe {
            let f: libloading::Symbol<unsafe extern "C" fn() -> i32> =
                self.0.get(format!("fake_{name}\0").as_bytes()).unwrap();
            f()
        }
    }

    /// Calls `fake_<name>()` returning a C string.
    pub fn text(&self, name: &str) -> String {
        // SAFETY: every `fake_*` text getter returns a static string.
        unsafe {
            let f: libloading::Symbol<unsafe extern "C" fn() -> *const std::ffi::c_char> =
                self.0.get(format!("fake_{name}\0").as_bytes()).unwrap();
            std::ffi::CStr::from_ptr(f()).to_string_lossy().into_owned()
        }
    }
}
