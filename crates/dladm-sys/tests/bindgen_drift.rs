//! The committed bindings must equal a fresh bindgen run over
//! vendor-headers/illumos. Needs the `bindgen` feature (and libclang); the
//! README's test command turns it on.

#[cfg(feature = "bindgen")]
#[test]
fn committed_bindings_match_a_fresh_generation() {
    let pairs: &[(&str, &str, &str)] = &[(
        "dladm",
        include_str!(concat!(env!("OUT_DIR"), "/dladm.rs")),
        include_str!("../src/bindings/dladm.rs"),
    )];
    for (file, fresh, committed) in pairs {
        assert!(
            fresh == committed,
            "src/bindings/{file}.rs differs from bindgen's output; regenerate with \
             HULL_BLESS_BINDINGS=1 cargo build -p dladm-sys --features bindgen"
        );
    }
}

#[cfg(not(feature = "bindgen"))]
#[test]
fn committed_bindings_match_a_fresh_generation() {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED committed_bindings_match_a_fresh_generation: build with \
         --features dladm-sys/bindgen (needs libclang) to run the drift check"
    );
}
