//! Regenerates the libnvpair bindings from
//! `vendor-headers/openzfs/libnvpair.h` when the `bindgen` feature is on
//! (see hull-sys-build).

fn main() {
    #[cfg(feature = "bindgen")]
    hull_sys_build::generate("openzfs/libnvpair.h", "nvpair", |b| {
        b.allowlist_function("nvlist_.*|nvpair_.*")
            .allowlist_type("data_type_t|boolean_t")
            .allowlist_var("NV_.*")
            .rustified_non_exhaustive_enum("data_type_t")
            .dynamic_library_name("NvPair")
            .dynamic_link_require_all(true)
    });
}
