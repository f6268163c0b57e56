//! Regenerates the libzfs_core and libzfs bindings from
//! `vendor-headers/openzfs/libzfs_core.h` when the `bindgen` feature is on
//! (see hull-sys-build).

fn main() {
    // (file, loader struct, functions, constants)
    #[cfg(feature = "bindgen")]
    for (file, loader, functions, vars) in [
        (
            "lzc",
            "ZfsCore",
            "libzfs_core_.*|lzc_.*",
            "LZC_.*|ZFS_ERR_.*|ZFS_MAX_.*",
        ),
        (
            "libzfs",
            "Zfs",
            "libzfs_init|libzfs_fini|libzfs_errno|libzfs_error_description|zfs_.*",
            "ZFS_TYPE_.*|HULL_ZFS_PROPLEN|ZPROP_INVAL",
        ),
    ] {
        hull_sys_build::generate("openzfs/libzfs_core.h", file, |b| {
            b.allowlist_function(functions)
                .allowlist_var(vars)
                // Shared with nvpair-sys.
                .blocklist_type("nvlist|nvlist_t|boolean_t|uint_t")
                .raw_line("use nvpair_sys::{boolean_t, nvlist_t, uint_t};")
                .dynamic_library_name(loader)
                .dynamic_link_require_all(true)
        });
    }
}
