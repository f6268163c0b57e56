//! Capabilities a zone's root keeps: SmartOS calls the set `limitpriv`.
//!
//! By default a zone keeps Docker's 14 (what a container's root may do in
//! its own container: change owners, run setuid programs, bind low ports,
//! create the device nodes its allow-list permits, ...) and loses the rest,
//! notably `SYS_ADMIN`, `SYS_MODULE`, `SYS_RAWIO`, `SYS_PTRACE`, `SYS_BOOT`,
//! `SYS_TIME` and `MAC_ADMIN`. Names are Linux's, with or without the
//! `CAP_` prefix, in any case; `default` stands for the 14.

use crate::error::{Error, ErrorKind, Op, Result};

/// Every capability Linux names, by number (`include/uapi/linux/capability.h`).
pub const CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Docker's default capabilities (moby `oci/caps/defaults.go`): a zone's
/// `limitpriv` when the configuration names none.
pub const DEFAULT_LIMITPRIV: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

fn number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITIES
        .iter()
        .position(|c| *c == bare)
        .map(|n| n as u32)
}

/// The capability set a `limitpriv` list names, as a bit mask (bit N =
/// capability N). An unknown name is an invalid argument naming it.
pub fn mask(limitpriv: &[String]) -> Result<u64> {
    let mut m = 0u64;
    for name in limitpriv {
        if name.eq_ignore_ascii_case("default") {
            m |= default_mask();
            continue;
        }
        let n = number(name).ok_or_else(|| {
            Error::new(
                Op::ConfigureZone,
                "limitpriv",
                ErrorKind::InvalidArgument(format!(
                    "{name:?} is not a Linux capability (known: {} or \"default\")",
                    CAPABILITIES.join(", ")
                )),
            )
        })?;
        m |= 1 << n;
    }
    Ok(m)
}

/// Docker's 14 as a mask.
pub fn default_mask() -> u64 {
    DEFAULT_LIMITPRIV
        .iter()
        .map(|c| 1u64 << number(c).expect("a known name"))
        .fold(0, |a, b| a | b)
}

/// The highest capability this kernel knows (`/proc/sys/kernel/cap_last_cap`),
/// or the highest hull knows if that cannot be read.
pub(crate) fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(CAPABILITIES.len() as u32 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_is_14_and_lacks_the_dangerous_ones() {
        let m = default_mask();
        assert_eq!(m.count_ones(), 14);
        for bad in [
            "SYS_ADMIN",
            "SYS_MODULE",
            "SYS_RAWIO",
            "SYS_PTRACE",
            "SYS_BOOT",
            "SYS_TIME",
            "MAC_ADMIN",
        ] {
            assert_eq!(m & (1 << number(bad).unwrap()), 0, "{bad}");
        }
        // Numbers as in linux/capability.h.
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("mknod"), Some(27));
        assert_eq!(number("checkpoint_restore"), Some(40));
    }

    #[test]
    fn limitpriv_names_are_checked() {
        let m = mask(&["default".into(), "cap_sys_ptrace".into()]).unwrap();
        assert_eq!(m, default_mask() | 1 << 19);
        let e = mask(&["SYS_EVERYTHING".into()]).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::InvalidArgument(_)), "{e}");
        assert!(e.to_string().contains("SYS_EVERYTHING"), "{e}");
        assert_eq!(mask(&[]).unwrap(), 0);
    }
}
