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

pub use nvpair_sys::{boolean_t, load_first, uint_t, LoadError};

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

/// Which `dladm_vnic_create` a loaded libdladm exports. The symbol has had
/// three signatures (14, 15 and 6 arguments); calling one generation with
/// another's arguments passes `flags` where a pointer is read, so the
/// generation is told apart by symbols that only one generation exports
/// ([`GENERATION_MARKERS`]) and nothing else is guessed.
#[derive(Clone, Copy)]
pub enum VnicCreate {
    /// The 15-argument form with a `dladm_errlist_t *` between `proplist`
    /// and `flags` (current illumos-gate, OmniOS, SmartOS), and the
    /// `dladm_errlist_reset` that frees what it appends.
    Errlist {
        /// `dladm_vnic_create`.
        create: unsafe extern "C" fn(
            dladm_handle_t,
            *const std::ffi::c_char,
            datalink_id_t,
            std::ffi::c_int,
            *mut uchar_t,
            uint_t,
            *mut std::ffi::c_int,
            uint_t,
            u16,
            vrid_t,
            std::ffi::c_int,
            *mut datalink_id_t,
            *mut dladm_arg_list_t,
            *mut dladm_errlist_t,
            u32,
        ) -> dladm_status_t,
        /// `dladm_errlist_reset`.
        reset: unsafe extern "C" fn(*mut dladm_errlist_t),
    },
    /// A generation hull does not call, with what was found.
    Unknown(&'static str),
}

impl std::fmt::Debug for VnicCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VnicCreate::Errlist { .. } => write!(f, "Errlist"),
            VnicCreate::Unknown(why) => write!(f, "Unknown({why})"),
        }
    }
}

/// The symbols that tell `dladm_vnic_create`'s generations apart, with
/// what each means. The error-list API came with the 15-argument form
/// (illumos-gate 13500, 2022; OmniOS r151034; illumos-joyent OS-4159,
/// 2015). The 6-argument rework (an unmerged 2026 illumos-omnios fork)
/// added `dladm_vnic_modify`. Two windows are misread and documented as
/// such: SmartOS builds of March 2015 export the error-list API with the
/// 14-argument call, and the rework's first commit has the 6-argument call
/// without `dladm_vnic_modify`.
pub const GENERATION_MARKERS: &[(&str, &str)] = &[
    (
        "dladm_errlist_reset",
        "the 15-argument generation (and later)",
    ),
    ("dladm_vnic_modify", "the 6-argument generation"),
];

/// A loaded libdladm: the calls every generation has, and its
/// `dladm_vnic_create`.
pub struct Library {
    /// The calls every generation has.
    pub dladm: Dladm,
    /// Its `dladm_vnic_create`.
    pub vnic_create: VnicCreate,
    // Keeps the generation-specific function pointers valid.
    _lib: libloading::Library,
}

impl Library {
    /// Loads a libdladm from `path` (a soname or a file) and identifies its
    /// `dladm_vnic_create`.
    ///
    /// # Safety
    ///
    /// `path` must be a libdladm whose exported symbols have the types
    /// declared in `vendor-headers/illumos/libdladm.h`: loading runs its ELF
    /// initialisers and binds them with those types.
    pub unsafe fn open(path: impl AsRef<std::ffi::OsStr>) -> Result<Library, libloading::Error> {
        let path = path.as_ref();
        // SAFETY: the caller vouches for the library's types.
        let lib = unsafe { libloading::Library::new(path)? };
        // SAFETY: as above.
        let dladm = unsafe { Dladm::new(path)? };
        let has = |name: &str| {
            let sym = format!("{name}\0");
            // SAFETY: only the symbol's presence is read.
            unsafe { lib.get::<*const std::ffi::c_void>(sym.as_bytes()) }.is_ok()
        };
        let vnic_create = if has("dladm_vnic_modify") {
            VnicCreate::Unknown(
                "dladm_vnic_modify is exported: the 6-argument dladm_vnic_create(dladm_vnic_attr_t *)",
            )
        } else if !has("dladm_errlist_reset") {
            VnicCreate::Unknown(
                "no dladm_errlist_reset: the 14-argument dladm_vnic_create of 2010-era illumos",
            )
        } else {
            // SAFETY: the markers say this library's dladm_vnic_create and
            // dladm_errlist_reset have the 15-argument generation's types.
            unsafe {
                let create = lib
                    .get::<hull_dladm_vnic_create_errlist_fn>(b"dladm_vnic_create\0")
                    .ok()
                    .and_then(|s| *s);
                let reset = lib
                    .get::<hull_dladm_errlist_reset_fn>(b"dladm_errlist_reset\0")
                    .ok()
                    .and_then(|s| *s);
                match (create, reset) {
                    (Some(create), Some(reset)) => VnicCreate::Errlist { create, reset },
                    _ => VnicCreate::Unknown("dladm_vnic_create is not exported"),
                }
            }
        };
        Ok(Library {
            dladm,
            vnic_create,
            _lib: lib,
        })
    }
}

/// Loads libdladm under the first of [`SONAMES`] that has every symbol
/// declared here.
pub fn load() -> Result<Library, LoadError> {
    // SAFETY: these sonames are illumos's libdladm, whose symbols have the
    // declared types.
    load_first("libdladm", SONAMES, |n| unsafe { Library::open(n) })
}

// The buffer given to dladm_vnic_info holds twice the largest known
// dladm_vnic_attr_t, so a release that grows mac_resource_props_t does not
// make libdladm write past it.
const _: () = assert!(
    HULL_VNIC_ATTR_BUFSIZE >= 2 * HULL_VNIC_ATTR_SIZE_MAX
        && HULL_VNIC_ATTR_SIZE_MAX >= HULL_VNIC_ATTR_SIZE_GATE
        && HULL_VNIC_ATTR_SIZE_MAX >= HULL_VNIC_ATTR_SIZE_JOYENT
);

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
    fn the_vnic_attr_buffer_holds_twice_the_largest_known_layout() {
        // 15480 bytes on illumos-gate and OmniOS (MRP_NCPUS 256), 12928 on
        // illumos-joyent of 2019, 15488 computed for joyent with gate's CPU
        // count: the old 16 KiB buffer left under 1 KiB.
        let largest = [
            super::HULL_VNIC_ATTR_SIZE_GATE,
            super::HULL_VNIC_ATTR_SIZE_JOYENT,
            super::HULL_VNIC_ATTR_SIZE_MAX,
        ]
        .into_iter()
        .max()
        .unwrap();
        assert!(super::HULL_VNIC_ATTR_BUFSIZE >= 2 * largest);
    }

    #[test]
    fn not_on_linux() {
        assert!(super::load().is_err(), "libdladm exists only on illumos");
    }
}
