//! VNICs on illumos through libdladm (Crossbow).
//!
//! Every libdladm call goes through [`DladmCalls`], one method per C
//! function, implemented for real by [`LibDladm`]. illumos cannot run here,
//! so this backend is verified through fakes: of that table
//! (`tests/vnic_illumos_fake.rs`: which calls, in which order, with which
//! link ids, MAC type, VLAN id and flags), and of the C library itself
//! (`tests/fakes/libdladm.c`, loaded through [`LibDladm::open`]: the
//! argument lists and structs as illumos declares them).
//!
//! * `dladm_vnic_create` has had three signatures under one symbol. hull
//!   calls only the 15-argument one (with a `dladm_errlist_t`), after
//!   telling it apart by the symbols the library exports
//!   ([`dladm_sys::GENERATION_MARKERS`]); any other generation makes
//!   create a typed `Unsupported` that names what was found.
//! * Random MACs are drawn by hull (locally administered, unicast) and
//!   passed as `VNIC_MAC_ADDR_TYPE_FIXED`, so the address is known without
//!   reading it back.
//! * The MTU is not a create-time property (the create-time property list
//!   takes only resource properties): it is set after creation with
//!   `dladm_set_linkprop` and read back with `dladm_get_linkprop`, so
//!   [`Vnic::mtu`] is the link's. A create that fails after the VNIC exists
//!   deletes it again.
//! * A VNIC is handed to a zone through the zone's configuration (a `net`
//!   resource), not moved, so `Vnics::move_into` is unsupported here.

use std::ffi::{c_void, CStr, CString};
use std::ptr::NonNull;

use dladm_sys as sys;

use super::{Backend, NetNs, Vnic, VnicSpec};
use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::{LinkName, LinkRules, MacAddr, VlanId};

/// A datalink id.
pub type LinkId = u32;

/// A `dladm_status_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub i32);

impl Status {
    /// `DLADM_STATUS_OK`.
    pub const OK: Status = Status(sys::DLADM_STATUS_OK as i32);
}

/// The arguments of `dladm_vnic_create`, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnicCreate {
    /// The new link's name.
    pub name: String,
    /// The link it goes over (`DATALINK_INVALID_LINKID` for an etherstub).
    pub over: LinkId,
    /// `VNIC_MAC_ADDR_TYPE_*`.
    pub mac_type: i32,
    /// The MAC address (used for FIXED).
    pub mac: [u8; 6],
    /// Its length.
    pub mac_len: u32,
    /// The factory MAC slot (`None`: NULL).
    pub slot: Option<i32>,
    /// The MAC prefix length.
    pub prefix_len: u32,
    /// The VLAN id (0: none).
    pub vid: u16,
    /// The VRRP id (0: none).
    pub vrid: u32,
    /// The address family (0: `AF_UNSPEC`).
    pub af: i32,
    /// Create-time (resource) link properties, as `dladm_parse_link_props`
    /// takes them (`maxbw=100M`); hull passes none. The MTU is not one.
    pub props: Option<String>,
    /// `DLADM_OPT_*`.
    pub flags: u32,
}

/// What hull reads from `dladm_vnic_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VnicInfo {
    /// The link it goes over.
    pub over: LinkId,
    /// Its MAC address.
    pub mac: [u8; 6],
    /// Its VLAN id (0: none).
    pub vid: u16,
}

/// A failed `dladm_vnic_create`: its status and the messages it put in its
/// `dladm_errlist_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFailed {
    /// The status.
    pub status: Status,
    /// The error list's messages, in order.
    pub errors: Vec<String>,
}

/// The libdladm calls the illumos backend makes, one method per C function.
/// The handle (`dladm_open`/`dladm_close`) belongs to the implementation.
pub trait DladmCalls: Send {
    /// `dladm_open`.
    fn open(&mut self) -> Status;
    /// `dladm_close`.
    fn close(&mut self);
    /// `dladm_name2info`: the link's id and class.
    fn name2info(&mut self, name: &str) -> std::result::Result<(LinkId, i32), Status>;
    /// `dladm_datalink_id2info`: the link's name and class.
    fn id2info(&mut self, id: LinkId) -> std::result::Result<(String, i32), Status>;
    /// `dladm_walk_datalink_id` over one class.
    fn walk(&mut self, class: i32, flags: u32) -> std::result::Result<Vec<LinkId>, Status>;
    /// `None` if [`vnic_create`](Self::vnic_create) can be called; else
    /// which `dladm_vnic_create` generation the library has, which hull
    /// does not call.
    fn unknown_vnic_create(&self) -> Option<&'static str>;
    /// `dladm_vnic_create`, 15-argument form, with a zeroed
    /// `dladm_errlist_t` that is reset afterwards (after
    /// `dladm_parse_link_props` for `props`).
    fn vnic_create(&mut self, args: &VnicCreate) -> std::result::Result<LinkId, CreateFailed>;
    /// `dladm_vnic_delete`.
    fn vnic_delete(&mut self, id: LinkId, flags: u32) -> Status;
    /// `dladm_vnic_info`, its head only.
    fn vnic_info(&mut self, id: LinkId, flags: u32) -> std::result::Result<VnicInfo, Status>;
    /// `dladm_set_linkprop` with one value.
    fn set_linkprop(&mut self, id: LinkId, name: &str, value: &str, flags: u32) -> Status;
    /// `dladm_get_linkprop` of the current value (`DLADM_PROP_VAL_CURRENT`),
    /// its first value.
    fn get_linkprop(&mut self, id: LinkId, name: &str) -> std::result::Result<String, Status>;
    /// `dladm_status2str`.
    fn status2str(&mut self, status: Status) -> String;
}

/// A dladm status with its text, as an error cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DladmError {
    /// The status.
    pub status: Status,
    /// `dladm_status2str`'s text.
    pub text: String,
}

impl std::fmt::Display for DladmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dladm status {}: {}", self.status.0, self.text)
    }
}

impl std::error::Error for DladmError {}

/// The kind a dladm status maps to.
pub fn kind_of(status: Status, text: &str) -> ErrorKind {
    match status.0 as u32 {
        sys::DLADM_STATUS_NOTFOUND => ErrorKind::NotFound,
        sys::DLADM_STATUS_EXIST => ErrorKind::AlreadyExists,
        sys::DLADM_STATUS_LINKBUSY => ErrorKind::Busy,
        sys::DLADM_STATUS_DENIED => ErrorKind::PermissionDenied,
        sys::DLADM_STATUS_NOMEM => ErrorKind::OutOfMemory,
        sys::DLADM_STATUS_NOTSUP => ErrorKind::Unsupported("not supported by libdladm"),
        sys::DLADM_STATUS_BADARG
        | sys::DLADM_STATUS_BADVAL
        | sys::DLADM_STATUS_LINKINVAL
        | sys::DLADM_STATUS_MACADDRINVAL
        | sys::DLADM_STATUS_INVALIDMACADDR
        | sys::DLADM_STATUS_VIDINVAL
        | sys::DLADM_STATUS_INVALID_MTU => ErrorKind::InvalidArgument(text.to_string()),
        _ => ErrorKind::Os,
    }
}

/// The illumos backend over any [`DladmCalls`].
pub struct Illumos<T: DladmCalls> {
    calls: T,
}

impl<T: DladmCalls> Illumos<T> {
    /// Opens libdladm through `calls`.
    pub fn new(mut calls: T) -> Result<Illumos<T>> {
        let st = calls.open();
        if st != Status::OK {
            let text = calls.status2str(st);
            return Err(Error::library(
                Op::QueryLink,
                "libdladm",
                kind_of(st, &text),
                DladmError { status: st, text },
            ));
        }
        Ok(Illumos { calls })
    }

    fn create_error(&mut self, op: Op, object: &str, f: CreateFailed) -> Error {
        let e = self.error(op, object, f.status);
        if f.errors.is_empty() {
            e
        } else {
            e.with_detail(&f.errors.join("; "))
        }
    }

    /// Refuses a `dladm_vnic_create` generation hull does not call.
    fn creatable(&mut self, op: Op, object: &str) -> Result<()> {
        match self.calls.unknown_vnic_create() {
            None => Ok(()),
            Some(found) => Err(Error::new(
                op,
                object,
                ErrorKind::Unsupported("this libdladm's dladm_vnic_create generation"),
            )
            .with_detail(found)),
        }
    }

    /// Sets the MTU of the VNIC just created as `id` and reads it back
    /// with the rest; on failure deletes the VNIC again.
    fn finish_create(&mut self, spec: &VnicSpec, id: LinkId, object: &str) -> Result<Vnic> {
        let r = match spec.mtu {
            Some(mtu) => {
                let st =
                    self.calls
                        .set_linkprop(id, "mtu", &mtu.to_string(), sys::DLADM_OPT_ACTIVE);
                if st == Status::OK {
                    Ok(())
                } else {
                    Err(self
                        .error(Op::CreateVnic, object, st)
                        .with_detail(&format!("setting mtu {mtu}")))
                }
            }
            None => Ok(()),
        }
        .and_then(|()| self.vnic_of(spec.name.as_str(), id));
        r.map_err(|e| {
            // Nothing half-made: the VNIC goes again; if it cannot, the
            // error says so (the first failure stays the error's kind).
            let st = self.calls.vnic_delete(id, sys::DLADM_OPT_ACTIVE);
            if st == Status::OK {
                e
            } else {
                let text = self.calls.status2str(st);
                e.with_detail(&format!("and deleting the new VNIC again failed: {text}"))
            }
        })
    }

    fn error(&mut self, op: Op, object: impl Into<String>, st: Status) -> Error {
        let text = self.calls.status2str(st);
        Error::library(
            op,
            object,
            kind_of(st, &text),
            DladmError { status: st, text },
        )
    }

    fn lookup(&mut self, op: Op, name: &str, class: i32, what: &str) -> Result<LinkId> {
        let (id, c) = self
            .calls
            .name2info(name)
            .map_err(|st| self.error(op, name, st))?;
        if c != class {
            return Err(Error::new(
                op,
                name,
                ErrorKind::InvalidArgument(format!("not {what}")),
            ));
        }
        Ok(id)
    }

    fn vnic_of(&mut self, name: &str, id: LinkId) -> Result<Vnic> {
        let info = self
            .calls
            .vnic_info(id, sys::DLADM_OPT_ACTIVE)
            .map_err(|st| self.error(Op::QueryLink, name, st))?;
        let (over, _) = self
            .calls
            .id2info(info.over)
            .map_err(|st| self.error(Op::QueryLink, name, st))?;
        let link = |s: &str| {
            LinkName::parse(s, LinkRules::Illumos).or_else(|_| LinkName::parse(s, LinkRules::Linux))
        };
        let mtu = self
            .calls
            .get_linkprop(id, "mtu")
            .map_err(|st| self.error(Op::QueryLink, name, st))?;
        let mtu = mtu.trim().parse().map_err(|_| {
            Error::new(
                Op::QueryLink,
                name,
                ErrorKind::InvalidArgument(format!("libdladm reports mtu {mtu:?}")),
            )
        })?;
        Ok(Vnic {
            name: link(name)?,
            over: link(&over)?,
            mac: MacAddr(info.mac),
            mtu,
            vlan: if info.vid == 0 {
                None
            } else {
                VlanId::new(info.vid).ok()
            },
        })
    }
}

impl<T: DladmCalls> Drop for Illumos<T> {
    fn drop(&mut self) {
        self.calls.close();
    }
}

const CLASS_VNIC: i32 = sys::DATALINK_CLASS_VNIC as i32;
const CLASS_ETHERSTUB: i32 = sys::DATALINK_CLASS_ETHERSTUB as i32;

impl<T: DladmCalls> Backend for Illumos<T> {
    fn create(&mut self, spec: &VnicSpec, mac: MacAddr) -> Result<Vnic> {
        let object = format!("{} over {}", spec.name, spec.over);
        self.creatable(Op::CreateVnic, &object)?;
        let (over, _) = self
            .calls
            .name2info(spec.over.as_str())
            .map_err(|st| self.error(Op::CreateVnic, &object, st))?;
        let args = VnicCreate {
            name: spec.name.as_str().to_string(),
            over,
            mac_type: sys::VNIC_MAC_ADDR_TYPE_FIXED as i32,
            mac: mac.0,
            mac_len: sys::ETHERADDRL,
            slot: None,
            prefix_len: 0,
            vid: spec.vlan.map_or(0, VlanId::get),
            vrid: sys::VRRP_VRID_NONE,
            af: 0,
            props: None,
            flags: sys::DLADM_OPT_ACTIVE,
        };
        let id = self
            .calls
            .vnic_create(&args)
            .map_err(|f| self.create_error(Op::CreateVnic, &object, f))?;
        self.finish_create(spec, id, &object)
    }

    fn delete(&mut self, name: &LinkName) -> Result<()> {
        let id = self.lookup(Op::DeleteVnic, name.as_str(), CLASS_VNIC, "a VNIC")?;
        let st = self.calls.vnic_delete(id, sys::DLADM_OPT_ACTIVE);
        if st != Status::OK {
            return Err(self.error(Op::DeleteVnic, name.as_str(), st));
        }
        Ok(())
    }

    fn get(&mut self, name: &LinkName) -> Result<Vnic> {
        let id = self.lookup(Op::QueryLink, name.as_str(), CLASS_VNIC, "a VNIC")?;
        self.vnic_of(name.as_str(), id)
    }

    fn list(&mut self) -> Result<Vec<Vnic>> {
        let ids = self
            .calls
            .walk(CLASS_VNIC, sys::DLADM_OPT_ACTIVE)
            .map_err(|st| self.error(Op::QueryLink, "VNICs", st))?;
        let mut out = Vec::new();
        for id in ids {
            let (name, _) = self
                .calls
                .id2info(id)
                .map_err(|st| self.error(Op::QueryLink, format!("link {id}"), st))?;
            out.push(self.vnic_of(&name, id)?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn link_exists(&mut self, name: &LinkName) -> Result<()> {
        self.calls
            .name2info(name.as_str())
            .map(drop)
            .map_err(|st| self.error(Op::QueryLink, name.as_str(), st))
    }

    fn create_etherstub(&mut self, name: &LinkName) -> Result<()> {
        self.creatable(Op::Etherstub, name.as_str())?;
        let args = VnicCreate {
            name: name.as_str().to_string(),
            over: sys::DATALINK_INVALID_LINKID,
            mac_type: sys::VNIC_MAC_ADDR_TYPE_AUTO as i32,
            mac: [0; 6],
            mac_len: sys::ETHERADDRL,
            slot: None,
            prefix_len: 0,
            vid: 0,
            vrid: sys::VRRP_VRID_NONE,
            af: 0,
            props: None,
            flags: sys::DLADM_OPT_ANCHOR | sys::DLADM_OPT_ACTIVE,
        };
        self.calls
            .vnic_create(&args)
            .map(drop)
            .map_err(|f| self.create_error(Op::Etherstub, name.as_str(), f))
    }

    fn delete_etherstub(&mut self, name: &LinkName) -> Result<()> {
        let id = self.lookup(
            Op::Etherstub,
            name.as_str(),
            CLASS_ETHERSTUB,
            "an etherstub",
        )?;
        let st = self.calls.vnic_delete(id, sys::DLADM_OPT_ACTIVE);
        if st != Status::OK {
            return Err(self.error(Op::Etherstub, name.as_str(), st));
        }
        Ok(())
    }

    fn move_into(&mut self, name: &LinkName, _netns: NetNs<'_>) -> Result<()> {
        Err(Error::new(
            Op::MoveLink,
            name.as_str(),
            ErrorKind::Unsupported(
                "on illumos a VNIC is given to a zone by its configuration (a net resource)",
            ),
        ))
    }
}

/// The real libdladm, loaded at run time.
pub struct LibDladm {
    lib: sys::Library,
    handle: Option<NonNull<sys::dladm_handle>>,
}

// SAFETY: a dladm handle may be used from any thread, one call at a time;
// every use goes through `&mut self`.
unsafe impl Send for LibDladm {}

impl LibDladm {
    /// Loads libdladm (illumos only; elsewhere a NotFound error).
    pub fn load() -> Result<LibDladm> {
        let lib = sys::load()
            .map_err(|e| Error::library(Op::LoadLibrary, "libdladm", ErrorKind::NotFound, e))?;
        Ok(LibDladm { lib, handle: None })
    }

    /// Loads the libdladm at `path` instead of the system's (a non-standard
    /// install, or a test's fake).
    ///
    /// # Safety
    ///
    /// `path` must be a libdladm whose symbols have illumos's types, as
    /// declared in `vendor-headers/illumos/libdladm.h`.
    pub unsafe fn open(path: &std::path::Path) -> Result<LibDladm> {
        // SAFETY: the caller vouches for the library.
        let lib = unsafe { sys::Library::open(path) }.map_err(|e| {
            Error::library(
                Op::LoadLibrary,
                path.display().to_string(),
                ErrorKind::NotFound,
                e,
            )
        })?;
        Ok(LibDladm { lib, handle: None })
    }

    fn h(&self) -> sys::dladm_handle_t {
        self.handle.map_or(std::ptr::null_mut(), NonNull::as_ptr)
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("validated names contain no NUL")
}

impl DladmCalls for LibDladm {
    fn open(&mut self) -> Status {
        let mut h = std::ptr::null_mut();
        // SAFETY: `h` is a valid out-pointer.
        let st = Status(unsafe { self.lib.dladm.dladm_open(&mut h) });
        self.handle = NonNull::new(h);
        st
    }

    fn close(&mut self) {
        if let Some(h) = self.handle.take() {
            // SAFETY: `h` came from dladm_open and is closed once.
            unsafe { self.lib.dladm.dladm_close(h.as_ptr()) }
        }
    }

    fn name2info(&mut self, name: &str) -> std::result::Result<(LinkId, i32), Status> {
        let (n, mut id, mut class) = (cstr(name), 0, 0);
        // SAFETY: the handle is open; `n` is live; the out-pointers are valid
        // or NULL, which libdladm allows.
        let st = unsafe {
            self.lib.dladm.dladm_name2info(
                self.h(),
                n.as_ptr(),
                &mut id,
                std::ptr::null_mut(),
                &mut class,
                std::ptr::null_mut(),
            )
        };
        if st == 0 {
            Ok((id, class))
        } else {
            Err(Status(st))
        }
    }

    fn id2info(&mut self, id: LinkId) -> std::result::Result<(String, i32), Status> {
        let mut buf = [0 as std::ffi::c_char; sys::MAXLINKNAMELEN as usize];
        let mut class = 0;
        // SAFETY: the handle is open; `buf` is writable for its length.
        let st = unsafe {
            self.lib.dladm.dladm_datalink_id2info(
                self.h(),
                id,
                std::ptr::null_mut(),
                &mut class,
                std::ptr::null_mut(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if st != 0 {
            return Err(Status(st));
        }
        // SAFETY: libdladm NUL-terminates the name within the buffer.
        Ok((
            unsafe { CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned(),
            class,
        ))
    }

    fn walk(&mut self, class: i32, flags: u32) -> std::result::Result<Vec<LinkId>, Status> {
        unsafe extern "C" fn each(
            _h: sys::dladm_handle_t,
            id: sys::datalink_id_t,
            arg: *mut c_void,
        ) -> i32 {
            // SAFETY: `arg` is the Vec passed below, alive for the walk.
            unsafe { (*(arg as *mut Vec<LinkId>)).push(id) };
            sys::DLADM_WALK_CONTINUE
        }
        let mut ids: Vec<LinkId> = Vec::new();
        // SAFETY: the handle is open; `each` matches the callback type; `ids`
        // outlives the call.
        let st = unsafe {
            self.lib.dladm.dladm_walk_datalink_id(
                Some(each),
                self.h(),
                &mut ids as *mut _ as *mut c_void,
                class,
                sys::DATALINK_ANY_MEDIATYPE,
                flags,
            )
        };
        if st == 0 {
            Ok(ids)
        } else {
            Err(Status(st))
        }
    }

    fn unknown_vnic_create(&self) -> Option<&'static str> {
        match self.lib.vnic_create {
            sys::VnicCreate::Errlist { .. } => None,
            sys::VnicCreate::Unknown(found) => Some(found),
        }
    }

    fn vnic_create(&mut self, a: &VnicCreate) -> std::result::Result<LinkId, CreateFailed> {
        let failed = |st: i32| CreateFailed {
            status: Status(st),
            errors: Vec::new(),
        };
        let sys::VnicCreate::Errlist { create, reset } = self.lib.vnic_create else {
            return Err(failed(sys::DLADM_STATUS_NOTSUP as i32));
        };
        let name = cstr(&a.name);
        let mut mac = [0u8; sys::MAXMACADDRLEN as usize];
        mac[..6].copy_from_slice(&a.mac);
        let mut props: *mut sys::dladm_arg_list_t = std::ptr::null_mut();
        if let Some(p) = &a.props {
            let mut text = cstr(p).into_bytes_with_nul();
            // SAFETY: `text` is a writable NUL-terminated buffer (libdladm
            // tokenises it in place); `props` is a valid out-pointer.
            let st = unsafe {
                self.lib.dladm.dladm_parse_link_props(
                    text.as_mut_ptr().cast(),
                    &mut props,
                    nvpair_sys::boolean_t_B_FALSE,
                )
            };
            if st != 0 {
                return Err(failed(st));
            }
        }
        let mut slot = a.slot.unwrap_or(-1);
        let mut id = 0;
        // SAFETY: all-zero is the empty list dladm_errlist_init makes.
        let mut errs: sys::dladm_errlist_t = unsafe { std::mem::zeroed() };
        // SAFETY: the markers identified the 15-argument generation, whose
        // types `create` has; the handle is open; every pointer is live for
        // the call; `mac` has MAXMACADDRLEN bytes; `props` is NULL or from
        // dladm_parse_link_props; `errs` is an empty list.
        let st = unsafe {
            create(
                self.h(),
                name.as_ptr(),
                a.over,
                a.mac_type,
                mac.as_mut_ptr(),
                a.mac_len,
                if a.slot.is_some() {
                    &mut slot
                } else {
                    std::ptr::null_mut()
                },
                a.prefix_len,
                a.vid,
                a.vrid,
                a.af,
                &mut id,
                props,
                &mut errs,
                a.flags,
            )
        };
        let mut errors = Vec::new();
        if !errs.el_errs.is_null() {
            for i in 0..errs.el_count as usize {
                // SAFETY: libdladm keeps el_count strings in el_errs.
                let p = unsafe { *errs.el_errs.add(i) };
                if !p.is_null() {
                    // SAFETY: each is a NUL-terminated string it allocated.
                    errors.push(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned());
                }
            }
        }
        // SAFETY: `errs` was filled by libdladm and is released once.
        unsafe { reset(&mut errs) };
        if !props.is_null() {
            // SAFETY: `props` came from dladm_parse_link_props and is freed once.
            unsafe { self.lib.dladm.dladm_free_props(props) };
        }
        if st == 0 {
            Ok(id)
        } else {
            Err(CreateFailed {
                status: Status(st),
                errors,
            })
        }
    }

    fn set_linkprop(&mut self, id: LinkId, name: &str, value: &str, flags: u32) -> Status {
        let (n, v) = (cstr(name), cstr(value));
        let mut vals = [v.as_ptr() as *mut std::ffi::c_char];
        // SAFETY: the handle is open; `vals` holds one live string, which
        // libdladm only reads.
        Status(unsafe {
            self.lib
                .dladm
                .dladm_set_linkprop(self.h(), id, n.as_ptr(), vals.as_mut_ptr(), 1, flags)
        })
    }

    fn get_linkprop(&mut self, id: LinkId, name: &str) -> std::result::Result<String, Status> {
        let n = cstr(name);
        let mut buf = [0 as std::ffi::c_char; sys::DLADM_PROP_VAL_MAX as usize];
        let mut vals = [buf.as_mut_ptr()];
        let mut count: u32 = 1;
        // SAFETY: the handle is open; `vals` has `count` pointers to
        // DLADM_PROP_VAL_MAX-byte buffers, as dladm_get_linkprop requires.
        let st = unsafe {
            self.lib.dladm.dladm_get_linkprop(
                self.h(),
                id,
                sys::DLADM_PROP_VAL_CURRENT as i32,
                n.as_ptr(),
                vals.as_mut_ptr(),
                &mut count,
            )
        };
        if st != 0 {
            return Err(Status(st));
        }
        if count == 0 {
            return Ok(String::new());
        }
        // SAFETY: libdladm NUL-terminates the value within the buffer.
        Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned())
    }

    fn vnic_delete(&mut self, id: LinkId, flags: u32) -> Status {
        // SAFETY: the handle is open.
        Status(unsafe { self.lib.dladm.dladm_vnic_delete(self.h(), id, flags) })
    }

    fn vnic_info(&mut self, id: LinkId, flags: u32) -> std::result::Result<VnicInfo, Status> {
        // An oversized, aligned buffer for the whole dladm_vnic_attr_t.
        let mut buf = vec![0u64; sys::HULL_VNIC_ATTR_BUFSIZE as usize / 8];
        // SAFETY: the handle is open; `buf` is larger than any
        // dladm_vnic_attr_t and 8-byte aligned.
        let st = unsafe {
            self.lib
                .dladm
                .dladm_vnic_info(self.h(), id, buf.as_mut_ptr().cast(), flags)
        };
        if st != 0 {
            return Err(Status(st));
        }
        // SAFETY: the buffer starts with the attr struct, whose head is
        // hull_vnic_attr_head_t in every release.
        let head = unsafe { &*(buf.as_ptr() as *const sys::hull_vnic_attr_head_t) };
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&head.va_mac_addr[..6]);
        Ok(VnicInfo {
            over: head.va_link_id,
            mac,
            vid: head.va_vid,
        })
    }

    fn status2str(&mut self, status: Status) -> String {
        let mut buf = [0 as std::ffi::c_char; sys::DLADM_STRSIZE as usize];
        // SAFETY: `buf` has DLADM_STRSIZE bytes, as dladm_status2str requires.
        let p = unsafe { self.lib.dladm.dladm_status2str(status.0, buf.as_mut_ptr()) };
        // SAFETY: the result points to `buf` or a static string, NUL-terminated.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Drop for LibDladm {
    fn drop(&mut self) {
        self.close();
    }
}
