//! Declarations for libdladm (illumos `libdladm.so.1`): link lookup and
//! walking, VNIC and etherstub creation and deletion, status text. Loaded at
//! run time; generated from `vendor-headers/illumos/libdladm.h`; regenerate
//! with `--features bindgen`.
//!
//! `dladm_vnic_attr_t` is not declared whole (it embeds the release-specific
//! `mac_resource_props_t`): pass `dladm_vnic_info` a buffer of
//! [`HULL_VNIC_ATTR_BUFSIZE`] bytes and read its head as
//! [`hull_vnic_attr_head_t`].

#![deny(missing_docs)]

pub use nvpair_sys::{load_first, LoadError};

/// Sonames tried, in order, by [`load`].
pub const SONAMES: &[&str] = &["libdladm.so.1"];

#[allow(
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    clippy::all
)]
mod bindings {
    include!("bindings/dladm.rs");
}
pub use bindings::*;

/// Loads libdladm under the first of [`SONAMES`] that has every symbol
/// declared here.
pub fn load() -> Result<Dladm, LoadError> {
    // SAFETY: loading runs only the library's ELF initialisers; symbols are
    // resolved with the declared types.
    load_first("libdladm", SONAMES, |n| unsafe { Dladm::new(n) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn vnic_attr_head_offsets_match_libdlvnic_h() {
        use super::hull_vnic_attr_head_t as H;
        use std::mem::offset_of;
        assert_eq!(offset_of!(H, va_vnic_id), 0);
        assert_eq!(offset_of!(H, va_link_id), 4);
        assert_eq!(offset_of!(H, va_mac_addr_type), 8);
        assert_eq!(offset_of!(H, va_mac_len), 12);
        assert_eq!(offset_of!(H, va_mac_addr), 16);
        assert_eq!(offset_of!(H, va_mac_slot), 36);
        assert_eq!(offset_of!(H, va_mac_prefix_len), 40);
        assert_eq!(offset_of!(H, va_vid), 44);
    }

    #[test]
    fn not_on_linux() {
        assert!(super::load().is_err(), "libdladm exists only on illumos");
    }
}
