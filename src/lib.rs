//! # hull
//!
//! The primitives a cloud compute node is built from, as typed, safe,
//! library calls: copy-on-write ZFS clones of machine images, zones, VNICs
//! and KVM virtual machines. illumos (SmartOS, OmniOS) is the primary
//! platform; the same API runs on Linux, where each primitive has a real
//! counterpart and where hull is tested.
//!
//! Available now:
//!
//! * [`vm`]: KVM virtual machines — guest memory, vCPUs with typed exits,
//!   a 16550 console, and Linux 64-bit boot-protocol kernel loading, on
//!   Linux KVM and SmartOS's illumos-kvm.
//! * [`zfs`]: ZFS file systems, volumes, snapshots and copy-on-write clones
//!   of them (one, or many at once), through libzfs_core, on OpenZFS and
//!   illumos.
//! * [`vnic`]: VNICs over links or etherstubs, handed to zones — rtnetlink
//!   macvlans on Linux, libdladm on illumos.
//! * [`zone`]: zones — configure, install, boot (INIT as PID 1 in its own
//!   namespaces and cgroups on Linux; zoneadm on illumos), halt, uninstall,
//!   delete, with only the legal state transitions.
//! * [`image`]: imgadm-style images — a manifest and a ZFS send stream,
//!   checked, decompressed and received all or nothing.
//! * [`machine`]: vmadm-style machines — a zone on a clone of an image
//!   with VNICs on the node's NIC tags, from a JSON payload, all or
//!   nothing.
//! * [`name`]: validated names (datasets, snapshots, links, MAC addresses,
//!   VLAN ids), checked once, at the edge.
//!
//! ```no_run
//! use hull::vm::{BootSpec, Kvm, Machine, TEST_KERNEL};
//! let kvm = Kvm::open()?;
//! let mut machine = Machine::boot(&kvm, &BootSpec::new(TEST_KERNEL.to_vec()), Box::new(std::io::stdout()))?;
//! println!("{:?}", machine.run(None)?);
//! # Ok::<(), hull::Error>(())
//! ```
//!
//! Every failure is an [`Error`] naming the operation and the object, with
//! the OS error underneath.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod error;
pub mod image;
pub mod machine;
pub mod name;
pub mod vm;
pub mod vnic;
pub mod zfs;
pub mod zone;

pub use error::{Error, ErrorKind, Op, OsResultExt, Result};
