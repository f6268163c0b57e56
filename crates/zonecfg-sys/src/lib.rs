//! Declarations for libzonecfg (illumos `libzonecfg.so.1`) and the zone
//! calls of libc (`libc.so.1`), loaded at run time. Generated from
//! `vendor-headers/illumos/libzonecfg.h`; regenerate with `--features
//! bindgen`.
//!
//! `struct zone_nwiftab` differs between illumos-gate (170 bytes) and
//! SmartOS and OmniOS (248 bytes): both are declared
//! ([`zonecfg::hull_zone_nwiftab_gate`], [`zonecfg::hull_zone_nwiftab_joyent`])
//! and joined in [`zonecfg::hull_zone_nwiftab_buf`], a zeroed buffer larger
//! than either that is passed on every platform. Which family a library is
//! (and so how memory is capped) is told apart by exported symbols
//! ([`Family`]); `zonecfg_modify_mcap`,
//! which only illumos-gate has, is looked up rather than bound.

#![deny(missing_docs)]

pub use nvpair_sys::{load_first, LoadError};

/// Sonames tried for libzonecfg.
pub const ZONECFG_SONAMES: &[&str] = &["libzonecfg.so.1"];
/// Sonames tried for illumos libc's zone calls.
pub const LIBC_SONAMES: &[&str] = &["libc.so.1"];

/// libzonecfg, loaded as [`zonecfg::Zonecfg`].
pub mod zonecfg {
    #![allow(
        missing_docs,
        non_camel_case_types,
        non_upper_case_globals,
        unused_imports,
        clippy::all
    )]
    include!("bindings/zonecfg.rs");
}

/// libc's zone calls, loaded as [`libc_zone::LibcZone`].
pub mod libc_zone {
    #![allow(
        missing_docs,
        non_camel_case_types,
        non_upper_case_globals,
        unused_imports,
        clippy::all
    )]
    include!("bindings/libc_zone.rs");
}

/// Which libzonecfg a loaded library is, told apart by the symbols only
/// one family exports ([`FAMILY_MARKERS`]): the nwiftab layout, how memory
/// is capped and which installers the brands have all follow from it.
#[derive(Clone, Copy)]
pub enum Family {
    /// illumos-gate: the 170-byte nwiftab and the `capped-memory` resource,
    /// set with this `zonecfg_modify_mcap`.
    Gate(unsafe extern "C" fn(zonecfg::zone_dochandle_t, *mut zonecfg::zone_mcaptab) -> i32),
    /// SmartOS (illumos-joyent): the 248-byte nwiftab, the `physical`
    /// alias, the joyent brands.
    SmartOs,
    /// OmniOS (joyent-derived libzonecfg, its own brands): the 248-byte
    /// nwiftab, the `physical` alias.
    OmniOs,
    /// None of the markers.
    Unknown,
}

impl std::fmt::Debug for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Gate(_) => "Gate",
            Family::SmartOs => "SmartOs",
            Family::OmniOs => "OmniOs",
            Family::Unknown => "Unknown",
        })
    }
}

/// The symbols that tell the libzonecfg families apart, in the order they
/// are tried: resource attributes came with the joyent-derived library
/// (SmartOS and OmniOS mapfile-vers; not gate's), of which only SmartOS
/// exports `zonecfg_set_uuid`; only illumos-gate kept the mcap resource.
pub const FAMILY_MARKERS: &[(&str, &str)] = &[
    ("zonecfg_add_res_attr", "joyent-derived: SmartOS or OmniOS"),
    ("zonecfg_set_uuid", "SmartOS (with zonecfg_add_res_attr)"),
    ("zonecfg_modify_mcap", "illumos-gate"),
];

/// A loaded libzonecfg: the calls every family has, and which family it
/// is.
pub struct Library {
    /// The calls every family has.
    pub zonecfg: zonecfg::Zonecfg,
    /// Which family it is.
    pub family: Family,
    // Keeps `family`'s function pointer valid.
    _lib: libloading::Library,
}

impl Library {
    /// Loads a libzonecfg from `path` (a soname or a file).
    ///
    /// # Safety
    ///
    /// `path` must be a libzonecfg whose exported symbols have the types
    /// declared in `vendor-headers/illumos/libzonecfg.h`.
    pub unsafe fn open(path: impl AsRef<std::ffi::OsStr>) -> Result<Library, libloading::Error> {
        let path = path.as_ref();
        // SAFETY: the caller vouches for the library's types.
        let lib = unsafe { libloading::Library::new(path)? };
        // SAFETY: as above.
        let zonecfg = unsafe { zonecfg::Zonecfg::new(path)? };
        let has = |name: &[u8]| {
            // SAFETY: only the symbol's presence is read.
            unsafe { lib.get::<*const std::ffi::c_void>(name) }.is_ok()
        };
        let family = if has(b"zonecfg_add_res_attr\0") {
            if has(b"zonecfg_set_uuid\0") {
                Family::SmartOs
            } else {
                Family::OmniOs
            }
        } else {
            // SAFETY: bound with zonecfg_modify_mcap's declared type.
            match unsafe {
                lib.get::<zonecfg::hull_zonecfg_modify_mcap_fn>(b"zonecfg_modify_mcap\0")
            }
            .ok()
            .and_then(|s| *s)
            {
                Some(f) => Family::Gate(f),
                None => Family::Unknown,
            }
        };
        Ok(Library {
            zonecfg,
            family,
            _lib: lib,
        })
    }
}

/// Loads libzonecfg.
pub fn load_zonecfg() -> Result<Library, LoadError> {
    // SAFETY: these sonames are illumos's libzonecfg, whose symbols have
    // the declared types.
    load_first("libzonecfg", ZONECFG_SONAMES, |n| unsafe {
        Library::open(n)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_nwiftab_layouts_have_their_reference_sizes() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<super::zonecfg::hull_zone_nwiftab_gate>(), 170);
        assert_eq!(size_of::<super::zonecfg::hull_zone_nwiftab_joyent>(), 248);
        assert_eq!(
            offset_of!(super::zonecfg::hull_zone_nwiftab_joyent, zone_nwif_attrp),
            240
        );
        assert_eq!(
            offset_of!(super::zonecfg::zone_fstab, zone_fs_options),
            2064
        );
        assert_eq!(size_of::<super::zonecfg::zone_fstab>(), 3096);
    }

    #[test]
    fn not_on_linux() {
        assert!(
            super::load_zonecfg().is_err(),
            "libzonecfg exists only on illumos"
        );
    }
}
