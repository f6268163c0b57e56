//! Declarations for libnvpair (illumos `libnvpair.so.1`, OpenZFS
//! `libnvpair.so.3`), loaded at run time. Generated from
//! `vendor-headers/openzfs/libnvpair.h`; regenerate with `--features
//! bindgen`.
//!
//! [`load`] tries each of [`SONAMES`] in order; a missing library is a
//! [`LoadError`] naming every soname tried, not a link failure.

#![deny(missing_docs)]

/// Sonames tried, in order, by [`load`]: OpenZFS 2.x, then illumos (and
/// OpenZFS 0.8).
pub const SONAMES: &[&str] = &["libnvpair.so.3", "libnvpair.so.1"];

#[allow(
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    clippy::all
)]
mod bindings {
    include!("bindings/nvpair.rs");
}
pub use bindings::*;

/// A platform library could not be loaded under any of its sonames.
#[derive(Debug)]
pub struct LoadError {
    /// The library wanted, e.g. `libnvpair`.
    pub library: &'static str,
    /// Each soname tried, with why it failed.
    pub tried: Vec<(String, String)>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot load {} (tried", self.library)?;
        for (i, (name, why)) in self.tried.iter().enumerate() {
            write!(f, "{} {name}: {why}", if i == 0 { "" } else { ";" })?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for LoadError {}

/// Opens the first of `sonames` that `open` accepts.
pub fn load_first<T, E: std::fmt::Display>(
    library: &'static str,
    sonames: &[&str],
    mut open: impl FnMut(&str) -> Result<T, E>,
) -> Result<T, LoadError> {
    let mut tried = Vec::new();
    for name in sonames {
        match open(name) {
            Ok(lib) => return Ok(lib),
            Err(e) => tried.push((name.to_string(), e.to_string())),
        }
    }
    Err(LoadError { library, tried })
}

/// Loads libnvpair under the first of [`SONAMES`] that has every symbol
/// declared here.
pub fn load() -> Result<NvPair, LoadError> {
    // SAFETY: loading libnvpair runs only its ELF initialisers, which have
    // no preconditions; every symbol is resolved with the declared type.
    load_first("libnvpair", SONAMES, |name| unsafe { NvPair::new(name) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_soname_that_opens_is_chosen_and_failures_are_listed() {
        let r = load_first("libx", &["a.so.1", "b.so.2", "c.so.3"], |n| {
            if n == "b.so.2" {
                Ok(n.len())
            } else {
                Err("nope")
            }
        });
        assert_eq!(r.unwrap(), 6);
        let e = load_first("libx", &["a.so.1", "c.so.3"], |_| Err::<(), _>("missing")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot load libx (tried a.so.1: missing; c.so.3: missing)"
        );
    }

    #[test]
    fn a_missing_library_names_every_soname_tried() {
        let r = load_first("libnvpair", &["libhull-no-such.so.9"], |n| {
            // SAFETY: no such file exists, so nothing is loaded or run.
            unsafe { NvPair::new(n) }
        });
        let Err(e) = r else {
            panic!("a library that does not exist was loaded")
        };
        assert!(e.to_string().contains("libhull-no-such.so.9"), "{e}");
    }
}
