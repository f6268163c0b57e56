//! The committed bindings must equal a fresh bindgen run over
//! vendor-headers/ (needs the `bindgen` feature and libclang; the README's
//! test command turns it on).

hull_sys_build::drift_test!("zonecfg", "libc_zone");
