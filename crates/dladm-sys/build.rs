//! Regenerates the libdladm bindings from
//! `vendor-headers/illumos/libdladm.h` when the `bindgen` feature is on (see
//! hull-sys-build).

fn main() {
    #[cfg(feature = "bindgen")]
    hull_sys_build::generate("illumos/libdladm.h", "dladm", |b| {
        b.allowlist_function("dladm_.*")
            .allowlist_type("hull_.*|dladm_errlist_t")
            .allowlist_var("DATALINK_.*|DLADM_.*|VNIC_.*|VRRP_.*|MAXLINKNAMELEN|MAXMACADDRLEN|ETHERADDRL|HULL_.*")
            .blocklist_type("boolean_t|uint_t")
            .raw_line("use nvpair_sys::{boolean_t, uint_t};")
            .dynamic_library_name("Dladm")
            .dynamic_link_require_all(true)
    });
}
