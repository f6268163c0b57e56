//! Declarations for libzonecfg (illumos `libzonecfg.so.1`) and the zone
//! calls of libc (`libc.so.1`), loaded at run time. Generated from
//! `vendor-headers/illumos/libzonecfg.h`; regenerate with `--features
//! bindgen`.
//!
//! `struct zone_nwiftab` differs between illumos-gate (170 bytes) and
//! SmartOS (248 bytes): both are declared
//! ([`zonecfg::hull_zone_nwiftab_gate`], [`zonecfg::hull_zone_nwiftab_joyent`])
//! for the caller to choose at run time.

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

/// Loads libzonecfg.
pub fn load_zonecfg() -> Result<zonecfg::Zonecfg, LoadError> {
    // SAFETY: loading runs only the library's ELF initialisers; symbols are
    // resolved with the declared types.
    load_first("libzonecfg", ZONECFG_SONAMES, |n| unsafe {
        zonecfg::Zonecfg::new(n)
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
