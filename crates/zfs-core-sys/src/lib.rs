//! Declarations for libzfs_core (illumos `libzfs_core.so.1`, OpenZFS
//! `libzfs_core.so.3`) and the few libzfs calls hull uses for listing,
//! properties and mounting (illumos `libzfs.so.1`, OpenZFS `libzfs.so.4`,
//! `.so.6`, `.so.7`), loaded at run time. Generated from
//! `vendor-headers/openzfs/libzfs_core.h`; regenerate with `--features
//! bindgen`.
//!
//! Only calls whose prototypes are identical on illumos and OpenZFS 2.x are
//! declared (see shared/reference/illumos-abi.md §1.6, §2.3); `lzc_*` calls
//! return 0 or a positive errno, or a ZFS code at or above
//! [`lzc::ZFS_ERR_CHECKPOINT_EXISTS`] (1024).

#![deny(missing_docs)]

pub use nvpair_sys::{load_first, LoadError};

/// Sonames tried for libzfs_core, in order.
pub const CORE_SONAMES: &[&str] = &["libzfs_core.so.3", "libzfs_core.so.1"];
/// Sonames tried for libzfs, in order (OpenZFS 2.4, 2.3, 2.0–2.2, illumos).
pub const LIBZFS_SONAMES: &[&str] = &["libzfs.so.7", "libzfs.so.6", "libzfs.so.4", "libzfs.so.1"];

/// libzfs_core: `lzc_*`, loaded as [`lzc::ZfsCore`].
pub mod lzc {
    #![allow(
        missing_docs,
        non_camel_case_types,
        non_upper_case_globals,
        unused_imports,
        clippy::all
    )]
    include!("bindings/lzc.rs");
}

/// libzfs: handles, properties, iteration, mounting, loaded as [`libzfs::Zfs`].
pub mod libzfs {
    #![allow(
        missing_docs,
        non_camel_case_types,
        non_upper_case_globals,
        unused_imports,
        clippy::all
    )]
    include!("bindings/libzfs.rs");
}

/// Loads libzfs_core under the first of [`CORE_SONAMES`] that has every
/// symbol declared here.
pub fn load_core() -> Result<lzc::ZfsCore, LoadError> {
    // SAFETY: loading runs only the library's ELF initialisers; symbols are
    // resolved with the declared types.
    load_first("libzfs_core", CORE_SONAMES, |n| unsafe {
        lzc::ZfsCore::new(n)
    })
}

/// Loads libzfs under the first of [`LIBZFS_SONAMES`] that has every
/// symbol declared here.
pub fn load_libzfs() -> Result<libzfs::Zfs, LoadError> {
    // SAFETY: as for load_core.
    load_first("libzfs", LIBZFS_SONAMES, |n| unsafe { libzfs::Zfs::new(n) })
}
