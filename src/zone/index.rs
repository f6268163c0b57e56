//! The Linux backend's index of zonepaths and user-namespace ranges, so
//! that configuring a zone checks it against every other zone without
//! reading every other zone's record.
//!
//! Zonepaths are kept as two tries of directories under
//! `<state>/index/`: `written/` for each zonepath as configured and
//! `resolved/` for it resolved through any symbolic link. A path
//! `/a/b` is the directory `da/db` (each component prefixed with `d`), and
//! a zone's zonepath ends in a file `z` holding the zone's name and its
//! written zonepath. A new zonepath conflicts with another zone's when a
//! marker sits on its way down (the other is an ancestor or the same) or
//! anything is below its own directory (the other is inside it): a walk of
//! its depth, whatever the number of zones. Directories are pruned on
//! removal, so a non-empty directory always leads to a marker.
//!
//! User-namespace ranges are one file per zone that has them, under
//! `<state>/index/userns/`: only those zones are read.
//!
//! An entry is trusted only while its zone's record agrees (a caller killed
//! between writing the index and the record leaves an entry behind, which
//! the next check that meets it removes). Every change happens under the
//! state directory's lock.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::name::ZoneName;

/// The longest path component the trie can hold (the `d` prefix takes one
/// byte of NAME_MAX).
const MAX_COMPONENT: usize = 254;

/// The two tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Written,
    Resolved,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Written => "written",
            Kind::Resolved => "resolved",
        }
    }
}

/// A zone another zone's zonepath conflicts with, and the zonepath it was
/// recorded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub zone: String,
    pub zonepath: PathBuf,
}

/// The index under `<state>/index`.
pub(super) struct Index {
    root: PathBuf,
}

impl Index {
    pub(super) fn new(state_dir: &Path) -> Index {
        Index {
            root: state_dir.join("index"),
        }
    }

    /// Whether the index exists (a state directory from before it is
    /// indexed once, by [`Index::build`]).
    pub(super) fn exists(&self) -> bool {
        self.root.is_dir()
    }

    /// Builds the index from scratch from `zones` (name, written zonepath,
    /// resolved zonepath, user-namespace ranges) into a fresh directory,
    /// then puts it in place.
    pub(super) fn build<'a>(
        &self,
        zones: impl IntoIterator<Item = (&'a ZoneName, &'a Path, PathBuf, Option<super::UserNs>)>,
    ) -> io::Result<()> {
        let tmp = self
            .root
            .with_file_name(format!(".index.tmp{}", std::process::id()));
        // hull's own directory, never a tenant's: a plain recursive remove.
        let _ = fs::remove_dir_all(&tmp);
        let fresh = Index { root: tmp.clone() };
        fs::create_dir_all(&tmp)?;
        for (name, written, resolved, userns) in zones {
            fresh.add(name, written, &resolved, userns)?;
        }
        fs::rename(&tmp, &self.root)
    }

    fn trie(&self, kind: Kind, p: &Path) -> io::Result<PathBuf> {
        let mut dir = self.root.join(kind.dir());
        for c in p.components() {
            match c {
                Component::RootDir => {}
                Component::Normal(n) => {
                    let n = n.to_str().ok_or_else(|| invalid("a zonepath is UTF-8"))?;
                    if n.len() > MAX_COMPONENT {
                        return Err(invalid("a zonepath component is at most 254 bytes"));
                    }
                    dir.push(format!("d{n}"));
                }
                _ => return Err(invalid("a zonepath is absolute and normal")),
            }
        }
        Ok(dir)
    }

    /// Records `name`'s zonepath (as written and as resolved) and its
    /// user-namespace ranges.
    pub(super) fn add(
        &self,
        name: &ZoneName,
        written: &Path,
        resolved: &Path,
        userns: Option<super::UserNs>,
    ) -> io::Result<()> {
        let text = format!("{name}\n{}", written.display());
        for (kind, p) in [(Kind::Written, written), (Kind::Resolved, resolved)] {
            let dir = self.trie(kind, p)?;
            fs::create_dir_all(&dir)?;
            fs::write(dir.join("z"), &text)?;
        }
        if let Some(u) = userns {
            let dir = self.root.join("userns");
            fs::create_dir_all(&dir)?;
            fs::write(
                dir.join(name.as_str()),
                format!("{} {} {}", u.host_uid, u.host_gid, u.count),
            )?;
        }
        Ok(())
    }

    /// Removes what [`Index::add`] recorded for `name` (entries naming
    /// another zone are left), pruning directories left empty.
    pub(super) fn remove(&self, name: &ZoneName, written: &Path, resolved: &Path) {
        for (kind, p) in [(Kind::Written, written), (Kind::Resolved, resolved)] {
            if let Ok(dir) = self.trie(kind, p) {
                if read_entry(&dir.join("z")).is_some_and(|e| e.zone == name.as_str()) {
                    let _ = fs::remove_file(dir.join("z"));
                }
                self.prune(kind, &dir);
            }
        }
        let _ = fs::remove_file(self.root.join("userns").join(name.as_str()));
    }

    fn prune(&self, kind: Kind, dir: &Path) {
        let top = self.root.join(kind.dir());
        let mut d = dir.to_path_buf();
        while d.starts_with(&top) && d != top && fs::remove_dir(&d).is_ok() {
            d.pop();
        }
    }

    /// The zones whose zonepath in trie `kind` is `p`, an ancestor of `p`,
    /// or inside `p`: the markers on the way down, then one below.
    pub(super) fn conflicts(&self, kind: Kind, p: &Path) -> io::Result<Vec<(PathBuf, Entry)>> {
        let full = self.trie(kind, p)?;
        let top = self.root.join(kind.dir());
        let mut out = Vec::new();
        let mut dir = top.clone();
        let rel = full.strip_prefix(&top).expect("the trie is under its top");
        for c in std::iter::once(None).chain(rel.components().map(Some)) {
            if let Some(c) = c {
                dir.push(c);
            }
            if dir == top {
                continue;
            }
            if let Some(e) = read_entry(&dir.join("z")) {
                out.push((dir.join("z"), e));
            }
        }
        // One marker below `full`, if any: directories are pruned, so
        // following any child leads to one.
        let mut d = full;
        loop {
            let Ok(mut entries) = fs::read_dir(&d) else {
                break;
            };
            let Some(child) = entries.find_map(|e| {
                e.ok()
                    .map(|e| e.file_name())
                    .filter(|n| n.to_str().is_some_and(|n| n.starts_with('d')))
            }) else {
                break;
            };
            d.push(child);
            if let Some(e) = read_entry(&d.join("z")) {
                out.push((d.join("z"), e));
                break;
            }
        }
        Ok(out)
    }

    /// Forgets a marker found stale (its zone's record gone or changed).
    pub(super) fn forget(&self, kind: Kind, marker: &Path) {
        let _ = fs::remove_file(marker);
        if let Some(dir) = marker.parent() {
            self.prune(kind, dir);
        }
    }

    /// Every zone with user-namespace ranges: name and ranges.
    pub(super) fn userns(&self) -> Vec<(String, super::UserNs)> {
        let Ok(entries) = fs::read_dir(self.root.join("userns")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let text = fs::read_to_string(e.path()).ok()?;
                let mut v = text.split(' ').map(|x| x.trim().parse::<u32>());
                let (Some(Ok(host_uid)), Some(Ok(host_gid)), Some(Ok(count))) =
                    (v.next(), v.next(), v.next())
                else {
                    return None;
                };
                Some((
                    name,
                    super::UserNs {
                        host_uid,
                        host_gid,
                        count,
                    },
                ))
            })
            .collect()
    }

    /// Forgets a zone's user-namespace entry found stale.
    pub(super) fn forget_userns(&self, zone: &str) {
        let _ = fs::remove_file(self.root.join("userns").join(zone));
    }
}

fn read_entry(marker: &Path) -> Option<Entry> {
    let text = fs::read_to_string(marker).ok()?;
    let (zone, zonepath) = text.split_once('\n')?;
    Some(Entry {
        zone: zone.to_string(),
        zonepath: PathBuf::from(zonepath),
    })
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why)
}
