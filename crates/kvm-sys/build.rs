//! Regenerates the KVM bindings from `vendor-headers/{linux,illumos}/kvm.h`
//! when the `bindgen` feature is on (see hull-sys-build).

fn main() {
    #[cfg(feature = "bindgen")]
    for os in ["linux", "illumos"] {
        hull_sys_build::generate(&format!("{os}/kvm.h"), os, |b| {
            b.allowlist_type("kvm_.*")
                .allowlist_var("KVM.*")
                .derive_default(true)
                .derive_debug(true)
                .impl_debug(true)
        });
    }
}
