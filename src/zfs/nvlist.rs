//! A safe nvlist: built by hull, freed on drop.

use std::ffi::{CStr, CString};
use std::ptr::NonNull;

use nvpair_sys::{data_type_t, nvlist_t, NvPair};

/// An nvlist allocated by libnvpair and freed on drop.
pub struct NvList {
    raw: NonNull<nvlist_t>,
    lib: &'static NvPair,
}

// SAFETY: an nvlist is plain memory owned by this value alone; libnvpair
// keeps no thread-local state for it.
unsafe impl Send for NvList {}

/// A value read back from an nvlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NvValue {
    /// A presence-only boolean.
    Boolean,
    /// An int32.
    Int32(i32),
    /// A uint64.
    Uint64(u64),
    /// A string.
    String(String),
    /// A type hull does not read.
    Other,
}

impl NvList {
    /// A new, empty nvlist with unique names.
    pub fn new(lib: &'static NvPair) -> NvList {
        let mut raw = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; NV_UNIQUE_NAME and kmem flag 0
        // are what userland passes.
        let rc = unsafe { lib.nvlist_alloc(&mut raw, nvpair_sys::NV_UNIQUE_NAME, 0) };
        let raw = NonNull::new(raw)
            .filter(|_| rc == 0)
            .expect("nvlist_alloc failed: out of memory");
        NvList { raw, lib }
    }

    /// Takes ownership of an nvlist a C call allocated (may be null).
    ///
    /// # Safety
    /// `raw` must be null or an nvlist the caller owns and hands over.
    pub unsafe fn from_raw(lib: &'static NvPair, raw: *mut nvlist_t) -> Option<NvList> {
        NonNull::new(raw).map(|raw| NvList { raw, lib })
    }

    /// The pointer, for passing to a C call that borrows the list.
    pub fn as_ptr(&self) -> *mut nvlist_t {
        self.raw.as_ptr()
    }

    fn key(name: &str) -> CString {
        CString::new(name).expect("nvlist keys come from validated names and contain no NUL")
    }

    fn check(rc: i32, what: &str) {
        // The only failure for an add to a valid list is ENOMEM.
        assert_eq!(rc, 0, "nvlist_add_{what} failed with errno {rc}");
    }

    /// Adds a presence-only boolean.
    pub fn add_boolean(&mut self, name: &str) {
        let k = Self::key(name);
        // SAFETY: `self.raw` is a live nvlist; `k` outlives the call.
        Self::check(
            unsafe { self.lib.nvlist_add_boolean(self.as_ptr(), k.as_ptr()) },
            "boolean",
        );
    }

    /// Adds an int32.
    pub fn add_i32(&mut self, name: &str, v: i32) {
        let k = Self::key(name);
        // SAFETY: as for add_boolean.
        Self::check(
            unsafe { self.lib.nvlist_add_int32(self.as_ptr(), k.as_ptr(), v) },
            "int32",
        );
    }

    /// Adds a uint64.
    pub fn add_u64(&mut self, name: &str, v: u64) {
        let k = Self::key(name);
        // SAFETY: as for add_boolean.
        Self::check(
            unsafe { self.lib.nvlist_add_uint64(self.as_ptr(), k.as_ptr(), v) },
            "uint64",
        );
    }

    /// Adds a string.
    pub fn add_string(&mut self, name: &str, v: &str) {
        let k = Self::key(name);
        let v = CString::new(v).expect("values contain no NUL (checked by callers)");
        // SAFETY: as for add_boolean; libnvpair copies the string.
        Self::check(
            unsafe {
                self.lib
                    .nvlist_add_string(self.as_ptr(), k.as_ptr(), v.as_ptr())
            },
            "string",
        );
    }

    /// Adds a copy of another nvlist.
    pub fn add_nvlist(&mut self, name: &str, v: &NvList) {
        let k = Self::key(name);
        // SAFETY: both lists are live; libnvpair copies `v`.
        Self::check(
            unsafe {
                self.lib
                    .nvlist_add_nvlist(self.as_ptr(), k.as_ptr(), v.as_ptr())
            },
            "nvlist",
        );
    }

    /// Every pair, in order, with the values hull reads.
    pub fn pairs(&self) -> Vec<(String, NvValue)> {
        let mut out = Vec::new();
        let mut pair = std::ptr::null_mut();
        loop {
            // SAFETY: `pair` is null or the previous pair of this live list.
            pair = unsafe { self.lib.nvlist_next_nvpair(self.as_ptr(), pair) };
            if pair.is_null() {
                return out;
            }
            // SAFETY: `pair` belongs to this list; the name lives as long as it.
            let name = unsafe { CStr::from_ptr(self.lib.nvpair_name(pair)) }
                .to_string_lossy()
                .into_owned();
            // SAFETY: as above.
            let value = match unsafe { self.lib.nvpair_type(pair) } {
                data_type_t::DATA_TYPE_BOOLEAN => NvValue::Boolean,
                data_type_t::DATA_TYPE_INT32 => {
                    let mut v = 0;
                    // SAFETY: the pair is an int32; `v` is a valid out-pointer.
                    unsafe { self.lib.nvpair_value_int32(pair, &mut v) };
                    NvValue::Int32(v)
                }
                data_type_t::DATA_TYPE_UINT64 => {
                    let mut v = 0;
                    // SAFETY: the pair is a uint64; `v` is a valid out-pointer.
                    unsafe { self.lib.nvpair_value_uint64(pair, &mut v) };
                    NvValue::Uint64(v)
                }
                data_type_t::DATA_TYPE_STRING => {
                    let mut p = std::ptr::null_mut();
                    // SAFETY: the pair is a string; the result points into the list.
                    unsafe { self.lib.nvpair_value_string(pair, &mut p) };
                    // SAFETY: a NUL-terminated string owned by the live list.
                    NvValue::String(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
                }
                _ => NvValue::Other,
            };
            out.push((name, value));
        }
    }
}

impl Drop for NvList {
    fn drop(&mut self) {
        // SAFETY: `raw` came from nvlist_alloc or was handed over to us and has
        // not been freed; nothing else holds it (NvList is neither Clone nor Copy).
        unsafe { self.lib.nvlist_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for NvList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.pairs()).finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// libnvpair, or None (saying the test is skipped). The README's test
    /// command installs it and sets HULL_REQUIRE_ZFS_LIBS, making it required.
    pub(crate) fn nvpair_or_skip(test: &str) -> Option<&'static NvPair> {
        static LIB: std::sync::OnceLock<Option<NvPair>> = std::sync::OnceLock::new();
        let lib = LIB.get_or_init(|| match nvpair_sys::load() {
            Ok(l) => Some(l),
            Err(e) => {
                if std::env::var_os("HULL_REQUIRE_ZFS_LIBS").is_some() {
                    panic!("{test}: libnvpair is required (HULL_REQUIRE_ZFS_LIBS is set): {e}");
                }
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {e}");
                None
            }
        });
        lib.as_ref()
    }

    #[test]
    fn values_round_trip_in_order() {
        let Some(lib) = nvpair_or_skip("values_round_trip_in_order") else {
            return;
        };
        let mut inner = NvList::new(lib);
        inner.add_boolean("tag");
        let mut l = NvList::new(lib);
        l.add_boolean("tank/a@s");
        l.add_i32("tank/b@s", libc::EBUSY);
        l.add_u64("quota", 1 << 40);
        l.add_string("mountpoint", "/vms/a");
        l.add_nvlist("holds", &inner);
        drop(inner); // the outer list holds its own copy
        assert_eq!(
            l.pairs(),
            vec![
                ("tank/a@s".into(), NvValue::Boolean),
                ("tank/b@s".into(), NvValue::Int32(libc::EBUSY)),
                ("quota".into(), NvValue::Uint64(1 << 40)),
                ("mountpoint".into(), NvValue::String("/vms/a".into())),
                ("holds".into(), NvValue::Other),
            ]
        );
        // Unique names: adding a key again replaces it.
        l.add_u64("quota", 7);
        assert_eq!(l.pairs().iter().filter(|(k, _)| k == "quota").count(), 1);
    }

    #[test]
    fn a_list_handed_over_by_c_is_freed_once() {
        let Some(lib) = nvpair_or_skip("a_list_handed_over_by_c_is_freed_once") else {
            return;
        };
        let l = NvList::new(lib);
        let raw = l.as_ptr();
        std::mem::forget(l);
        // SAFETY: `raw` is a live list whose owner was forgotten.
        let back = unsafe { NvList::from_raw(lib, raw) }.unwrap();
        assert!(back.pairs().is_empty());
        // SAFETY: null is allowed and means "no list".
        assert!(unsafe { NvList::from_raw(lib, std::ptr::null_mut()) }.is_none());
    }
}
