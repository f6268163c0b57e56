//! Regenerates the libzonecfg bindings from
//! `vendor-headers/illumos/libzonecfg.h` when the `bindgen` feature is on
//! (see hull-sys-build). Two loaders: libzonecfg, and the zone calls of libc.

fn main() {
    #[cfg(feature = "bindgen")]
    // (file, loader struct, functions, constants, types)
    for (file, loader, functions, vars, types) in [
        (
            "zonecfg",
            "Zonecfg",
            "zonecfg_.*|setzoneent|getzoneent|endzoneent|zone_get_state|zone_state_str",
            "Z_.*|ZS_.*|ZONE_STATE_.*|ZONENAME_MAX|MAXPATHLEN|MAXNAMELEN|FSTYPSZ|MAX_MNTOPT_STR|LIFNAMSIZ",
            "hull_.*|zone_fstab|zone_fsopt_t|zone_mcaptab",
        ),
        ("libc_zone", "LibcZone", "getzoneidbyname|getzonenamebyid|zone_getattr|zone_list", "ZONENAME_MAX", "zoneid_t"),
    ] {
        hull_sys_build::generate("illumos/libzonecfg.h", file, |b| {
            b.allowlist_function(functions)
                .allowlist_type(types)
                .allowlist_var(vars)
                .blocklist_type("boolean_t|uint_t")
                .raw_line("use nvpair_sys::{boolean_t, uint_t};")
                .dynamic_library_name(loader)
                .dynamic_link_require_all(true)
        });
    }
}
