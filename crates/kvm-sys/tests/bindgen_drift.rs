//! The committed bindings must equal a fresh bindgen run over
//! vendor-headers/. Needs the `bindgen` feature (and libclang); the README's
//! test command turns it on.

#[cfg(feature = "bindgen")]
#[test]
fn committed_bindings_match_a_fresh_generation() {
    let fresh = [
        ("linux", include_str!(concat!(env!("OUT_DIR"), "/linux.rs"))),
        (
            "illumos",
            include_str!(concat!(env!("OUT_DIR"), "/illumos.rs")),
        ),
    ];
    let committed = [
        ("linux", include_str!("../src/bindings/linux.rs")),
        ("illumos", include_str!("../src/bindings/illumos.rs")),
    ];
    for ((os, fresh), (_, committed)) in fresh.iter().zip(committed.iter()) {
        assert!(
            fresh == committed,
            "src/bindings/{os}.rs differs from bindgen's output for vendor-headers/{os}/kvm.h; \
             regenerate with HULL_BLESS_BINDINGS=1 cargo build -p kvm-sys --features bindgen"
        );
    }
}

#[cfg(not(feature = "bindgen"))]
#[test]
fn committed_bindings_match_a_fresh_generation() {
    use std::io::Write;
    // Written to the stderr handle so libtest's capture does not hide it.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED committed_bindings_match_a_fresh_generation: build with \
         --features kvm-sys/bindgen (needs libclang) to run the drift check"
    );
}
