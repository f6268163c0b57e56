//! VNICs: virtual NICs with a MAC address (and VLAN) of their own, over a
//! physical link or an in-host switch (an etherstub), handed to zones.
//!
//! ```no_run
//! use hull::name::{LinkName, MacAddr};
//! use hull::vnic::{MacSpec, NetNs, VnicSpec, Vnics};
//!
//! let mut vnics = Vnics::open()?;
//! let stub: LinkName = "stub0".parse()?;
//! vnics.create_etherstub(&stub)?;
//! let vnic = vnics.create(&VnicSpec {
//!     name: "vnic0".parse()?,
//!     over: stub.clone(),
//!     mac: MacSpec::Random,
//!     vlan: None,
//!     mtu: Some(1400),
//! })?;
//! println!("{} over {}: {}", vnic.name, vnic.over, vnic.mac);
//! vnics.move_into(&vnic.name, NetNs::Path("/run/netns/zone1".as_ref()))?;
//! # Ok::<(), hull::Error>(())
//! ```
//!
//! # Platforms
//! * **Linux** (tested here, in network namespaces): a VNIC is a macvlan in
//!   bridge mode over its parent; an etherstub is a bridge with no ports; a
//!   VLAN VNIC is a macvlan over an 802.1q sub-link made on demand (on a
//!   kernel without 802.1q that is [`ErrorKind::Unsupported`](crate::ErrorKind),
//!   with nothing left behind). Everything goes through rtnetlink; no `ip`.
//! * **illumos**: libdladm (`dladm_vnic_create` and friends). It cannot run
//!   here; see [`illumos`] for how it is verified.
//!
//! # What it needs
//! `CAP_NET_ADMIN` (root) in the network namespace the links live in.

pub mod illumos;
#[cfg(target_os = "linux")]
pub(crate) mod linux;

use std::fmt;
use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::error::{Error, ErrorKind, Op, Result};
use crate::name::{LinkName, MacAddr, VlanId};

/// How a VNIC gets its MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacSpec {
    /// This address; it must be unicast.
    Fixed(MacAddr),
    /// A random, unicast, locally administered address.
    Random,
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnicSpec {
    /// The VNIC's name.
    pub name: LinkName,
    /// The link or etherstub it sits on.
    pub over: LinkName,
    /// Its MAC address.
    pub mac: MacSpec,
    /// An 802.1Q VLAN, if any.
    pub vlan: Option<VlanId>,
    /// Its MTU (at most the parent's); `None` takes the parent's.
    pub mtu: Option<u32>,
}

/// A VNIC as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vnic {
    /// Its name.
    pub name: LinkName,
    /// The link it sits on.
    pub over: LinkName,
    /// Its MAC address.
    pub mac: MacAddr,
    /// Its MTU.
    pub mtu: u32,
    /// Its VLAN, if any.
    pub vlan: Option<VlanId>,
}

/// A network namespace (on Linux, a zone's network stack).
#[derive(Debug, Clone, Copy)]
pub enum NetNs<'a> {
    /// A namespace file: `/run/netns/NAME`, `/proc/PID/ns/net`.
    Path(&'a Path),
    /// An open namespace fd.
    Fd(BorrowedFd<'a>),
}

impl fmt::Display for NetNs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetNs::Path(p) => write!(f, "{}", p.display()),
            NetNs::Fd(fd) => write!(f, "netns fd {fd:?}"),
        }
    }
}

/// What each platform provides.
pub(crate) trait Backend: Send {
    /// Creates `spec` with `mac`, already checked to be unicast.
    fn create(&mut self, spec: &VnicSpec, mac: MacAddr) -> Result<Vnic>;
    fn delete(&mut self, name: &LinkName) -> Result<()>;
    fn get(&mut self, name: &LinkName) -> Result<Vnic>;
    fn list(&mut self) -> Result<Vec<Vnic>>;
    fn link_exists(&mut self, name: &LinkName) -> Result<()>;
    fn create_etherstub(&mut self, name: &LinkName) -> Result<()>;
    fn delete_etherstub(&mut self, name: &LinkName) -> Result<()>;
    fn move_into(&mut self, name: &LinkName, netns: NetNs<'_>) -> Result<()>;
    /// Removes what hull made under VLAN VNICs over `over` for `vlan`
    /// once no VNIC uses it (Linux: the 802.1q sub-link).
    fn release_vlan(&mut self, _over: &LinkName, _vlan: VlanId) -> Result<()> {
        Ok(())
    }
}

/// The VNICs of this host (on Linux: of the calling thread's network
/// namespace).
pub struct Vnics {
    backend: Box<dyn Backend>,
}

impl fmt::Debug for Vnics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vnics").finish_non_exhaustive()
    }
}

impl Vnics {
    /// Opens the platform's link management (Linux: an rtnetlink socket in
    /// the calling thread's network namespace).
    pub fn open() -> Result<Vnics> {
        #[cfg(target_os = "linux")]
        return Ok(Vnics {
            backend: Box::new(linux::Linux::open()?),
        });
        #[cfg(not(target_os = "linux"))]
        {
            let calls = illumos::LibDladm::load()?;
            Ok(Vnics {
                backend: Box::new(illumos::Illumos::new(calls)?),
            })
        }
    }

    /// The illumos backend over any libdladm call table: the real
    /// [`illumos::LibDladm`], or a fake in tests.
    pub fn with_dladm(calls: impl illumos::DladmCalls + 'static) -> Result<Vnics> {
        Ok(Vnics {
            backend: Box::new(illumos::Illumos::new(calls)?),
        })
    }

    /// Creates a VNIC. Bad input is refused before any change; a failure
    /// part-way leaves nothing behind.
    pub fn create(&mut self, spec: &VnicSpec) -> Result<Vnic> {
        let mac = match spec.mac {
            MacSpec::Fixed(m) if !m.is_unicast() => {
                return Err(Error::new(
                    Op::CreateVnic,
                    format!("{} over {}", spec.name, spec.over),
                    ErrorKind::InvalidArgument(format!("{m} is a multicast address")),
                ))
            }
            MacSpec::Fixed(m) => m,
            MacSpec::Random => MacAddr::random(),
        };
        self.backend.create(spec, mac)
    }

    /// Deletes a VNIC.
    pub fn delete(&mut self, name: &LinkName) -> Result<()> {
        self.backend.delete(name)
    }

    /// One VNIC.
    pub fn get(&mut self, name: &LinkName) -> Result<Vnic> {
        self.backend.get(name)
    }

    /// Whether a link of any kind exists (a NotFound error if not).
    pub fn link_exists(&mut self, name: &LinkName) -> Result<()> {
        self.backend.link_exists(name)
    }

    /// Every VNIC, by name.
    pub fn list(&mut self) -> Result<Vec<Vnic>> {
        self.backend.list()
    }

    /// Creates an etherstub: an in-host switch with no physical port.
    pub fn create_etherstub(&mut self, name: &LinkName) -> Result<()> {
        self.backend.create_etherstub(name)
    }

    /// Deletes an etherstub.
    pub fn delete_etherstub(&mut self, name: &LinkName) -> Result<()> {
        self.backend.delete_etherstub(name)
    }

    /// Releases what hull made for VLAN VNICs with `vlan` over `over` once
    /// none is left: on Linux the 802.1q sub-link they sat on, which
    /// [`Vnics::delete`] removes with the last VNIC but which stays when
    /// the VNICs went another way (a zone's network namespace takes its
    /// links with it when it halts). Nothing on illumos, where a VLAN
    /// VNIC needs no sub-link. A sub-link still in use stays.
    pub fn release_vlan(&mut self, over: &LinkName, vlan: VlanId) -> Result<()> {
        self.backend.release_vlan(over, vlan)
    }

    /// Moves a VNIC into another network namespace (hands it to a zone).
    pub fn move_into(&mut self, name: &LinkName, netns: NetNs<'_>) -> Result<()> {
        self.backend.move_into(name, netns)
    }
}
