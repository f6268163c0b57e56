//! hull's one error type: which operation, on which object, what kind of
//! failure, and the OS error underneath.

use std::fmt;
use std::io;

/// The operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Opening the KVM device.
    OpenKvm,
    /// Querying the KVM API version or a capability.
    CheckKvm,
    /// Creating a virtual machine.
    CreateVm,
    /// Allocating or registering guest memory.
    SetupMemory,
    /// Creating the in-kernel interrupt controller or timer.
    SetupIrqchip,
    /// Creating or mapping a vCPU.
    CreateVcpu,
    /// Reading or writing vCPU state (registers, CPUID, FPU, ...).
    VcpuState,
    /// Running a vCPU.
    RunVcpu,
    /// Reading a kernel image.
    LoadKernel,
    /// Reading or placing an initrd.
    LoadInitrd,
    /// Writing the command line, zero page or boot page tables.
    BootSetup,
    /// Setting up a machine's device (a disk, a NIC).
    SetupDevice,
    /// Running a booted machine to its end.
    RunMachine,
    /// Checking a name (dataset, snapshot, link, zone ...).
    ValidateName,
    /// Loading a platform library.
    LoadLibrary,
    /// Opening the ZFS control device.
    OpenZfs,
    /// Creating a ZFS file system or volume.
    CreateDataset,
    /// Taking ZFS snapshots.
    Snapshot,
    /// Cloning a ZFS snapshot.
    Clone,
    /// Promoting a ZFS clone.
    Promote,
    /// Rolling a ZFS dataset back to a snapshot.
    Rollback,
    /// Destroying ZFS datasets or snapshots.
    Destroy,
    /// Reading ZFS properties or listing datasets.
    ZfsQuery,
    /// Mounting or unmounting a ZFS file system.
    Mount,
    /// Creating a VNIC.
    CreateVnic,
    /// Deleting a VNIC.
    DeleteVnic,
    /// Creating or deleting an etherstub.
    Etherstub,
    /// Looking up or listing links.
    QueryLink,
    /// Moving a link into another network namespace (zone).
    MoveLink,
    /// Configuring (or deleting the configuration of) a zone.
    ConfigureZone,
    /// Installing or uninstalling a zone.
    InstallZone,
    /// Reading zone state or configuration.
    QueryZone,
    /// Booting a zone.
    BootZone,
    /// Halting a zone.
    HaltZone,
    /// Receiving a ZFS send stream.
    Receive,
    /// Importing an image (checking, decompressing and receiving it).
    ImportImage,
    /// Creating a machine (the error's object names the step).
    CreateMachine,
    /// Reading machines, or starting, stopping or rebooting one.
    QueryMachine,
    /// Deleting a machine.
    DeleteMachine,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::OpenKvm => "open",
            Op::CheckKvm => "check",
            Op::CreateVm => "create vm",
            Op::SetupMemory => "set up guest memory",
            Op::SetupIrqchip => "set up irqchip",
            Op::CreateVcpu => "create vcpu",
            Op::VcpuState => "vcpu state",
            Op::RunVcpu => "run vcpu",
            Op::LoadKernel => "load kernel",
            Op::LoadInitrd => "load initrd",
            Op::BootSetup => "boot setup",
            Op::SetupDevice => "set up device",
            Op::RunMachine => "run machine",
            Op::ValidateName => "validate name",
            Op::LoadLibrary => "load library",
            Op::OpenZfs => "open",
            Op::CreateDataset => "create",
            Op::Snapshot => "snapshot",
            Op::Clone => "clone",
            Op::Promote => "promote",
            Op::Rollback => "rollback",
            Op::Destroy => "destroy",
            Op::ZfsQuery => "query",
            Op::Mount => "mount",
            Op::CreateVnic => "create vnic",
            Op::DeleteVnic => "delete vnic",
            Op::Etherstub => "etherstub",
            Op::QueryLink => "query link",
            Op::MoveLink => "move link",
            Op::ConfigureZone => "configure zone",
            Op::InstallZone => "install zone",
            Op::QueryZone => "query zone",
            Op::BootZone => "boot zone",
            Op::HaltZone => "halt zone",
            Op::Receive => "receive",
            Op::ImportImage => "import image",
            Op::CreateMachine => "create machine",
            Op::QueryMachine => "machine",
            Op::DeleteMachine => "delete machine",
        })
    }
}

/// What kind of failure, for callers to match on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The object does not exist (ENOENT, ENODEV, ENXIO).
    NotFound,
    /// The object already exists (EEXIST).
    AlreadyExists,
    /// The object is in use (EBUSY).
    Busy,
    /// Not permitted (EACCES, EPERM).
    PermissionDenied,
    /// An argument was rejected; the text says which and why.
    InvalidArgument(String),
    /// The input is not in the format expected; the text says what was wrong.
    InvalidFormat(String),
    /// Does not fit: guest memory too small, an image too large.
    NoSpace(String),
    /// Out of host memory (ENOMEM).
    OutOfMemory,
    /// The platform or kernel lacks the feature named.
    Unsupported(&'static str),
    /// The operation did not finish in time.
    TimedOut,
    /// Interrupted by a signal or a stop request (EINTR).
    Interrupted,
    /// The guest did something the VMM cannot go on from; the text says what.
    GuestFault(String),
    /// The object is in a state that does not allow the operation; nothing
    /// was changed.
    InvalidState {
        /// The state it is in.
        from: String,
        /// The operation refused.
        op: &'static str,
    },
    /// Several objects failed, each for its own reason.
    PerName(Vec<(String, ErrorKind)>),
    /// Any other OS error; see the source.
    Os,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NotFound => f.write_str("not found"),
            ErrorKind::AlreadyExists => f.write_str("already exists"),
            ErrorKind::Busy => f.write_str("busy"),
            ErrorKind::PermissionDenied => f.write_str("permission denied"),
            ErrorKind::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            ErrorKind::InvalidFormat(why) => write!(f, "invalid format: {why}"),
            ErrorKind::NoSpace(why) => write!(f, "does not fit: {why}"),
            ErrorKind::OutOfMemory => f.write_str("out of memory"),
            ErrorKind::Unsupported(what) => write!(f, "unsupported: {what}"),
            ErrorKind::TimedOut => f.write_str("timed out"),
            ErrorKind::Interrupted => f.write_str("interrupted"),
            ErrorKind::GuestFault(what) => write!(f, "guest fault: {what}"),
            ErrorKind::InvalidState { from, op } => write!(f, "cannot {op} a zone that is {from}"),
            ErrorKind::PerName(list) => {
                f.write_str("failed for ")?;
                for (i, (name, kind)) in list.iter().enumerate() {
                    write!(f, "{}{name} ({kind})", if i == 0 { "" } else { ", " })?;
                }
                Ok(())
            }
            ErrorKind::Os => f.write_str("system error"),
        }
    }
}

impl ErrorKind {
    /// The kind an errno value maps to.
    pub fn from_errno(errno: i32) -> ErrorKind {
        match errno {
            libc::ENOENT | libc::ENODEV | libc::ENXIO => ErrorKind::NotFound,
            libc::EEXIST => ErrorKind::AlreadyExists,
            libc::EBUSY => ErrorKind::Busy,
            libc::EACCES | libc::EPERM => ErrorKind::PermissionDenied,
            libc::ENOMEM => ErrorKind::OutOfMemory,
            libc::ENOSPC | libc::E2BIG => ErrorKind::NoSpace("no space left".into()),
            libc::EINTR => ErrorKind::Interrupted,
            libc::ETIMEDOUT => ErrorKind::TimedOut,
            libc::EINVAL => ErrorKind::InvalidArgument("rejected by the kernel".into()),
            libc::ENOTTY | libc::ENOSYS | libc::EOPNOTSUPP => {
                ErrorKind::Unsupported("not supported by this kernel")
            }
            _ => ErrorKind::Os,
        }
    }
}

/// What lies under an error: the OS error, or another library's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Cause {
    /// An OS error (errno), with its text.
    Os(io::Error),
    /// An error from a library hull uses (kernel loader, guest memory).
    Library(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Os(e) => match e.raw_os_error() {
                Some(n) => {
                    // io::Error's text ends in " (os error N)"; the name says it.
                    let text = e.to_string();
                    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
                    write!(f, "{}: {text}", errno_name(n))
                }
                None => write!(f, "{e}"),
            },
            Cause::Library(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Cause::Os(e) => Some(e),
            Cause::Library(e) => Some(e.as_ref()),
        }
    }
}

/// A failed hull operation: `op` on `object` failed with `kind`, because of
/// `source`. Displayed as `open /dev/kvm: permission denied (EACCES: ...)`.
#[derive(Debug)]
pub struct Error {
    /// The operation that failed.
    pub op: Op,
    /// The object it was applied to: a path, a size, a vCPU, a fd.
    pub object: String,
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The OS or library error underneath, if any.
    pub source: Option<Cause>,
    /// A note from the library or from hull about why (a libzfs
    /// description, what a rule requires), shown after the cause.
    pub detail: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.object, self.kind)?;
        match (&self.source, &self.detail) {
            (Some(cause), Some(d)) => write!(f, " ({cause}: {d})"),
            (Some(cause), None) => write!(f, " ({cause})"),
            (None, Some(d)) => write!(f, " ({d})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|c| c as _)
    }
}

impl Error {
    /// An error with no OS error underneath.
    pub fn new(op: Op, object: impl Into<String>, kind: ErrorKind) -> Error {
        Error {
            op,
            object: object.into(),
            kind,
            source: None,
            detail: None,
        }
    }

    /// An error from an OS error; the kind follows from its errno.
    pub fn os(op: Op, object: impl Into<String>, err: io::Error) -> Error {
        let kind = err
            .raw_os_error()
            .map_or(ErrorKind::Os, ErrorKind::from_errno);
        Error {
            op,
            object: object.into(),
            kind,
            source: Some(Cause::Os(err)),
            detail: None,
        }
    }

    /// An error from another library, with the kind given.
    pub fn library(
        op: Op,
        object: impl Into<String>,
        kind: ErrorKind,
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            op,
            object: object.into(),
            kind,
            source: Some(Cause::Library(Box::new(err))),
            detail: None,
        }
    }

    /// Adds a note from the library (a libzfs description, say) or from
    /// hull; the cause, and so [`Error::errno`], stays as it was.
    pub fn with_detail(mut self, detail: &str) -> Error {
        if !detail.is_empty() {
            self.detail = Some(match self.detail.take() {
                Some(d) => format!("{d}: {detail}"),
                None => detail.to_string(),
            });
        }
        self
    }

    /// The same failure seen from the step that called the one that failed:
    /// its operation and object replace the lower step's; the kind, the
    /// cause and the detail are kept.
    pub fn context(mut self, op: Op, object: impl Into<String>) -> Error {
        self.op = op;
        self.object = object.into();
        self
    }

    /// The errno underneath, if the cause is an OS error.
    pub fn errno(&self) -> Option<i32> {
        match &self.source {
            Some(Cause::Os(e)) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// `Result` with hull's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Labels an `io::Result`'s error where it happens:
/// `fs::create_dir_all(&dir).os(Op::InstallZone, dir.display())?`.
pub trait OsResultExt<T> {
    /// The error as [`Error::os`] of `op` on `object`.
    fn os(self, op: Op, object: impl fmt::Display) -> Result<T>;
}

impl<T> OsResultExt<T> for io::Result<T> {
    fn os(self, op: Op, object: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::os(op, object.to_string(), e))
    }
}

/// The symbolic name of an errno value, for messages.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSPC => "ENOSPC",
        libc::ESRCH => "ESRCH",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ETIMEDOUT => "ETIMEDOUT",
        _ => "errno",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_object_kind_and_errno() {
        let e = Error::os(
            Op::OpenKvm,
            "/dev/kvm",
            io::Error::from_raw_os_error(libc::EACCES),
        );
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        let text = e.to_string();
        assert!(
            text.starts_with("open /dev/kvm: permission denied (EACCES"),
            "{text}"
        );
        assert_eq!(e.errno(), Some(libc::EACCES));
    }

    #[test]
    fn detail_and_context_keep_the_errno() {
        let e = Error::os(
            Op::InstallZone,
            "z1",
            io::Error::from_raw_os_error(libc::EEXIST),
        )
        .with_detail("exists")
        .context(Op::BootZone, "z1: root");
        assert_eq!(e.errno(), Some(libc::EEXIST));
        assert_eq!(e.kind, ErrorKind::AlreadyExists);
        let text = e.to_string();
        assert!(
            text.starts_with("boot zone z1: root: already exists (EEXIST: "),
            "{text}"
        );
        assert!(text.ends_with(": exists)"), "{text}");
        let r: std::io::Result<()> = Err(io::Error::from_raw_os_error(libc::ENOENT));
        let e = r
            .os(Op::QueryZone, std::path::Path::new("/x").display())
            .unwrap_err();
        assert_eq!(
            (e.kind.clone(), e.errno(), e.object.as_str()),
            (ErrorKind::NotFound, Some(libc::ENOENT), "/x")
        );
    }

    #[test]
    fn errno_kinds() {
        assert_eq!(ErrorKind::from_errno(libc::ENOENT), ErrorKind::NotFound);
        assert_eq!(
            ErrorKind::from_errno(libc::EEXIST),
            ErrorKind::AlreadyExists
        );
        assert_eq!(ErrorKind::from_errno(libc::EBUSY), ErrorKind::Busy);
        assert_eq!(ErrorKind::from_errno(libc::EINTR), ErrorKind::Interrupted);
        assert_eq!(ErrorKind::from_errno(libc::EIO), ErrorKind::Os);
    }
}
