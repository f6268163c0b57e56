//! Zones on Linux: configuration and state kept under a state directory
//! (default `/var/lib/hull/zones`), one JSON record per zone, written
//! atomically (temporary file, fsync, rename) under an exclusive lock, so a
//! new process sees the same zones and a crash never leaves half a record.

use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::{Index, Kind};
use super::{State, Transition, ZoneConfig};
use crate::error::{Error, ErrorKind, Op, OsResultExt, Result};
use crate::name::ZoneName;

/// The default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/hull/zones";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    config: ZoneConfig,
    state: State,
    /// The zonepath resolved through any symbolic link when configured, as
    /// the index holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolved: Option<PathBuf>,
    /// INIT, while the zone runs.
    #[cfg(target_os = "linux")]
    #[serde(default)]
    init: Option<super::InitProc>,
}

#[cfg(target_os = "linux")]
impl LinuxZones {
    /// Boots an installed zone: its `init` becomes PID 1 in new pid, mount,
    /// uts, ipc, net and cgroup namespaces (and a user namespace if
    /// configured), with the zone's root as `/`, its `mounts` bound in,
    /// its `nets` links moved into its network namespace, the zone's name
    /// as hostname, its caps enforced by its own cgroups, and the
    /// confinement described in [`crate::zone`] (capabilities, seccomp,
    /// devices, masked `/proc`, no inherited fds or signal dispositions).
    /// A boot that fails part-way (INIT missing, a mount target that is a
    /// symbolic link in the root, a cap whose cgroup controller is absent)
    /// leaves no process and no cgroup, and the zone installed; the error
    /// names the step. The links are handed over only once every step that
    /// can fail is done (INIT found, confinement in place); if the boot
    /// fails after that, they are moved back to the caller's network
    /// namespace before the child is killed, so a failed boot leaves them
    /// intact. A virtual link handed to a zone (a VNIC) is destroyed when the
    /// zone halts.
    pub fn boot(&self, name: &ZoneName) -> Result<super::InitProc> {
        let _l = self.lock(Op::BootZone)?;
        let (mut rec, to) = self.transition(Op::BootZone, name, Transition::Boot)?;
        let mut plan = super::run::Plan::new(&rec.config)?;
        // The links to hand over must all exist before anything moves: a
        // link moved into a namespace that then dies is destroyed with it.
        let mut vnics = None;
        if !rec.config.nets.is_empty() {
            let mut v = crate::vnic::Vnics::open()?;
            for link in rec.config.nets.iter().map(|n| &n.link) {
                v.link_exists(link)
                    .map_err(|e| e.context(Op::BootZone, format!("{name}: net {link}")))?;
            }
            vnics = Some(v);
        }
        let cgroups = super::cgroup::create(name, &rec.config.caps)?;
        // The links moved so far, to give back if the boot fails after.
        let moved: std::cell::RefCell<Vec<crate::name::LinkName>> = Default::default();
        // The zone's network namespace, held open from the handover on: it
        // outlives a child that dies after the handover, so its links can
        // still be given back.
        let netns: std::cell::RefCell<Option<fs::File>> = Default::default();
        let hand_over = |pid: i32| -> Result<()> {
            let ns = fs::File::open(format!("/proc/{pid}/ns/net"))
                .os(Op::BootZone, format!("{name}: netns"))?;
            *netns.borrow_mut() = Some(ns);
            let held = netns.borrow();
            let ns = held.as_ref().expect("just set");
            if let Some(mut v) = vnics {
                use std::os::fd::AsFd;
                for link in rec.config.nets.iter().map(|n| &n.link) {
                    v.move_into(link, crate::vnic::NetNs::Fd(ns.as_fd()))
                        .map_err(|e| e.context(Op::BootZone, format!("{name}: net {link}")))?;
                    moved.borrow_mut().push(link.clone());
                }
            }
            configure_ip(name, ns, &rec.config.nets)
        };
        let hand_back = |_pid: i32| {
            if let Some(ns) = netns.borrow().as_ref() {
                give_back(ns, &moved.borrow());
            }
        };
        super::fault_point("boot:cgroups-made");
        let ready = |init: super::InitProc| {
            let mut r = rec.clone();
            r.state = State::Ready;
            r.init = Some(init);
            self.write_state(Op::BootZone, &r)
        };
        let spawned = super::run::spawn(
            &mut plan,
            &rec.config,
            &cgroups,
            ready,
            hand_over,
            hand_back,
        );
        let init = match spawned {
            Ok(i) => i,
            Err(e) => {
                let _ = super::cgroup::remove(name);
                // Back to installed (the Ready record, if written, is void).
                let _ = self.write_state(Op::BootZone, &rec);
                return Err(e);
            }
        };
        super::fault_point("boot:running");
        rec.state = to.expect("boot leads to a state");
        rec.init = Some(init);
        if let Err(e) = self.write_state(Op::BootZone, &rec) {
            if let Some(ns) = netns.borrow().as_ref() {
                give_back(ns, &moved.borrow());
            }
            super::run::kill(&init);
            let _ = super::cgroup::remove(name);
            rec.state = State::Installed;
            rec.init = None;
            let _ = self.write_state(Op::BootZone, &rec);
            return Err(e);
        }
        Ok(init)
    }

    /// Waits for a running zone's INIT to exit and returns its exit code
    /// (128 + signal if killed). Only the process that booted the zone can
    /// wait; the zone is `Down` afterwards until halted.
    pub fn wait(&self, name: &ZoneName) -> Result<i32> {
        let rec = self.read(Op::QueryZone, name)?;
        let init = rec
            .init
            .filter(|_| rec.state == State::Running)
            .ok_or_else(|| {
                Error::new(
                    Op::BootZone,
                    name.as_str(),
                    ErrorKind::InvalidState {
                        from: format!("{:?}", rec.state).to_lowercase(),
                        op: "wait for",
                    },
                )
            })?;
        super::run::wait(name, &init)
    }

    /// Halts a running (or down) zone: kills INIT, and with it every
    /// process of the zone, then removes its cgroups.
    pub fn halt(&self, name: &ZoneName) -> Result<()> {
        let _l = self.lock(Op::HaltZone)?;
        let (mut rec, to) = self.transition(Op::HaltZone, name, Transition::Halt)?;
        if let Some(init) = rec.init {
            super::run::kill(&init);
        }
        super::fault_point("halt:killed");
        super::cgroup::remove(name)?;
        super::fault_point("halt:cgroups-removed");
        rec.state = to.expect("halt leads to a state");
        rec.init = None;
        self.write_state(Op::HaltZone, &rec)
    }

    /// Shuts a running zone down gently: SIGTERM to INIT, up to `timeout`
    /// for it to exit, then [`LinuxZones::halt`] for whatever is left. (An INIT
    /// with no SIGTERM handler ignores it, as PID 1 does.)
    pub fn shutdown(&self, name: &ZoneName, timeout: std::time::Duration) -> Result<()> {
        let (rec, _) = self.transition(Op::HaltZone, name, Transition::Shutdown)?;
        if let Some(init) = rec.init {
            super::run::signal_and_wait(&init, libc::SIGTERM, timeout);
        }
        self.halt(name)
    }

    /// Reboots a running zone: halt, then boot with a fresh INIT.
    pub fn reboot(&self, name: &ZoneName) -> Result<super::InitProc> {
        self.transition(Op::BootZone, name, Transition::Reboot)?;
        self.halt(name)?;
        self.boot(name)
    }

    /// The network namespace of a running zone, for
    /// [`crate::vnic::Vnics::move_into`] (`/proc/<init>/ns/net`).
    pub fn netns(&self, name: &ZoneName) -> Result<PathBuf> {
        let rec = self.read(Op::QueryZone, name)?;
        match rec
            .init
            .filter(|i| rec.state == State::Running && i.alive())
        {
            Some(i) => Ok(PathBuf::from(format!("/proc/{}/ns/net", i.pid))),
            None => Err(Error::new(
                Op::QueryZone,
                name.as_str(),
                ErrorKind::InvalidState {
                    from: "not running".into(),
                    op: "find the network of",
                },
            )),
        }
    }
}

/// The zones of this host, as recorded in a state directory: the Linux
/// backend of [`super::Zones`].
#[derive(Debug, Clone)]
pub(crate) struct LinuxZones {
    dir: PathBuf,
}

/// An exclusive lock on the state directory, released on drop.
struct Lock(fs::File);

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: the fd is ours and open; unlocking cannot fail harmfully.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn os(op: Op, object: impl Into<String>, e: std::io::Error) -> Error {
    Error::os(op, object, e)
}

impl LinuxZones {
    /// The zones recorded in `dir` (created, mode 0700, if missing).
    pub fn open(dir: impl AsRef<Path>) -> Result<LinuxZones> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).os(Op::QueryZone, dir.display().to_string())?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .os(Op::QueryZone, dir.display().to_string())?;
        let zones = LinuxZones { dir };
        zones.ensure_index()?;
        #[cfg(target_os = "linux")]
        zones.reconcile()?;
        Ok(zones)
    }

    /// Indexes a state directory from before the index (once).
    fn ensure_index(&self) -> Result<()> {
        let index = Index::new(&self.dir);
        if index.exists() {
            return Ok(());
        }
        let _l = self.lock(Op::QueryZone)?;
        if index.exists() {
            return Ok(());
        }
        let records = self.records()?;
        index
            .build(records.iter().map(|r| {
                let written = r.config.zonepath.as_path();
                let resolved = r.resolved.clone().unwrap_or_else(|| resolved(written));
                (&r.config.name, written, resolved, r.config.userns)
            }))
            .os(Op::QueryZone, self.dir.join("index").display().to_string())
    }

    /// Makes every record match what is really there, after a caller that
    /// was killed part-way: a Running zone whose INIT lives stays tracked;
    /// a Ready record (a boot that never finished), or one whose INIT is
    /// gone, has whatever is left killed and its cgroups removed, and is
    /// installed again; a leftover cgroup of any other zone is killed and
    /// removed, never reused.
    #[cfg(target_os = "linux")]
    fn reconcile(&self) -> Result<()> {
        let _l = self.lock(Op::QueryZone)?;
        for mut rec in self.records()? {
            let name = rec.config.name.clone();
            let alive = rec.init.is_some_and(|i| i.alive());
            match rec.state {
                State::Running | State::ShuttingDown if alive => {}
                State::Ready | State::Running | State::ShuttingDown | State::Down => {
                    if let Some(init) = rec.init.filter(|_| alive) {
                        super::run::kill(&init);
                    }
                    super::cgroup::kill_and_remove(&name)?;
                    rec.state = State::Installed;
                    rec.init = None;
                    self.write_state(Op::QueryZone, &rec)?;
                }
                _ if !super::cgroup::dirs(&name).is_empty() => {
                    super::cgroup::kill_and_remove(&name)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn lock(&self, op: Op) -> Result<Lock> {
        let p = self.dir.join(".lock");
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .os(op, p.display().to_string())?;
        // SAFETY: `f` is an open file we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(os(
                op,
                p.display().to_string(),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(Lock(f))
    }

    fn path(&self, name: &ZoneName) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    fn read(&self, op: Op, name: &ZoneName) -> Result<Record> {
        let p = self.path(name);
        let text = fs::read(&p).os(op, name.as_str())?;
        serde_json::from_slice(&text).map_err(|e| {
            Error::library(
                op,
                name.as_str(),
                ErrorKind::InvalidFormat(format!("{}: {e}", p.display())),
                e,
            )
        })
    }

    fn write(&self, op: Op, rec: &Record) -> Result<()> {
        self.write_record(op, rec, true)
    }

    /// Writes a run-state change (Ready, Running, back to Installed) without
    /// fsync: the rename alone is atomic against a killed caller, which is
    /// what these records guard against; after a machine crash no zone runs
    /// and the next open reconciles whatever the disk kept.
    fn write_state(&self, op: Op, rec: &Record) -> Result<()> {
        self.write_record(op, rec, false)
    }

    fn write_record(&self, op: Op, rec: &Record, durable: bool) -> Result<()> {
        let name = &rec.config.name;
        let tmp = self
            .dir
            .join(format!(".{name}.json.tmp{}", std::process::id()));
        let text = serde_json::to_vec_pretty(rec).expect("a zone record serializes");
        let r = (|| {
            let mut f = fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode_0600()
                .open(&tmp)?;
            f.write_all(&text)?;
            if durable {
                f.sync_all()?;
            }
            fs::rename(&tmp, self.path(name))?;
            if durable {
                fs::File::open(&self.dir)?.sync_all()?;
            }
            Ok(())
        })();
        r.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            os(op, name.as_str(), e)
        })
    }

    fn transition(
        &self,
        op: Op,
        name: &ZoneName,
        t: Transition,
    ) -> Result<(Record, Option<State>)> {
        let rec = self.read(op, name)?;
        let to = t
            .check(rec.state)
            .map_err(|e| e.context(op, name.as_str()))?;
        Ok((rec, to))
    }

    /// Records a new zone, configured. Refuses an invalid configuration, a
    /// name already taken, a zonepath inside or around another zone's
    /// zonepath, and one that contains the state directory.
    pub fn configure(&self, config: &ZoneConfig) -> Result<()> {
        config.validate()?;
        let _l = self.lock(Op::ConfigureZone)?;
        if self.path(&config.name).exists() {
            return Err(Error::new(
                Op::ConfigureZone,
                config.name.as_str(),
                ErrorKind::AlreadyExists,
            ));
        }
        // Compared both as written and as resolved through any link in
        // the part that exists.
        let zp = &config.zonepath;
        let bad = |why: String| {
            Err(Error::new(
                Op::ConfigureZone,
                config.name.as_str(),
                ErrorKind::InvalidArgument(why),
            ))
        };
        if resolved(&self.dir).starts_with(resolved(zp)) || self.dir.starts_with(zp) {
            return bad(format!(
                "zonepath {} contains the state directory {}",
                zp.display(),
                self.dir.display()
            ));
        }
        // Checked against the index, not every record: a walk of the
        // zonepath's depth whatever the number of zones (zone/index.rs).
        let index = Index::new(&self.dir);
        let rzp = resolved(zp);
        let object = || self.dir.join("index").display().to_string();
        for (kind, p) in [
            (Kind::Written, zp.as_path()),
            (Kind::Resolved, rzp.as_path()),
        ] {
            loop {
                let mut stale = false;
                for (marker, e) in index.conflicts(kind, p).os(Op::ConfigureZone, object())? {
                    if !self.still(&e.zone, |r| r.config.zonepath == e.zonepath) {
                        index.forget(kind, &marker);
                        stale = true;
                        continue;
                    }
                    return bad(format!(
                        "zonepath {} is inside or contains zone {}'s zonepath {}",
                        zp.display(),
                        e.zone,
                        e.zonepath.display()
                    ));
                }
                if !stale {
                    break;
                }
            }
        }
        if let Some(a) = config.userns {
            for (other, b) in index.userns() {
                if !self.still(&other, |r| r.config.userns == Some(b)) {
                    index.forget_userns(&other);
                    continue;
                }
                let overlap =
                    |x: u32, y: u32| x < y.saturating_add(b.count) && y < x.saturating_add(a.count);
                if overlap(a.host_uid, b.host_uid) || overlap(a.host_gid, b.host_gid) {
                    return bad(format!(
                        "userns ids overlap zone {other}'s: zones sharing host ids could signal and read each other"
                    ));
                }
            }
        }
        // The index first: a caller killed before the record leaves an
        // entry the next check finds stale and removes.
        index
            .add(&config.name, zp, &rzp, config.userns)
            .os(Op::ConfigureZone, object())?;
        let r = self.write(
            Op::ConfigureZone,
            &Record {
                config: config.clone(),
                state: State::Configured,
                resolved: Some(rzp.clone()),
                #[cfg(target_os = "linux")]
                init: None,
            },
        );
        if r.is_err() {
            index.remove(&config.name, zp, &rzp);
        }
        r
    }

    /// Whether zone `name` has a record that `agrees` with an index entry.
    fn still(&self, name: &str, agrees: impl Fn(&Record) -> bool) -> bool {
        name.parse::<ZoneName>()
            .ok()
            .and_then(|n| self.read(Op::ConfigureZone, &n).ok())
            .is_some_and(|r| agrees(&r))
    }

    /// Installs a configured zone from a prepared root file system: copies
    /// `root` to `<zonepath>/root`, preserving owners, modes (setuid and
    /// setgid included), timestamps, extended attributes (file
    /// capabilities included), hard links and holes; in a user-namespaced
    /// zone the owners are shifted into its host id range. The zonepath is
    /// made by hull (mode 0700); an existing one that is not an empty
    /// directory of root's with mode 0700 is refused and left as it is. On failure nothing is left:
    /// the copy is removed and the zone is configured again.
    pub fn install(&self, name: &ZoneName, root: &Path) -> Result<()> {
        let _l = self.lock(Op::InstallZone)?;
        let (mut rec, to) = self.transition(Op::InstallZone, name, Transition::Install)?;
        let object = || format!("{name} from {}", root.display());
        let meta = fs::metadata(root).os(Op::InstallZone, object())?;
        if !meta.is_dir() {
            return Err(Error::new(
                Op::InstallZone,
                object(),
                ErrorKind::InvalidArgument("not a directory".into()),
            ));
        }
        let zp = rec.config.zonepath.clone();
        let made_zonepath = make_zonepath(name, &zp)?;
        rec.state = State::Incomplete;
        if let Err(e) = self.write(Op::InstallZone, &rec) {
            if made_zonepath {
                let _ = fs::remove_dir(&zp);
            }
            return Err(e);
        }
        let copied = copy_root(root, &zp.join("root"), rec.config.userns);
        if let Err(e) = copied {
            let _ = remove_root(&zp.join("root"));
            if made_zonepath {
                let _ = fs::remove_dir(&zp);
            }
            rec.state = State::Configured;
            self.write(Op::InstallZone, &rec)?;
            return Err(os(Op::InstallZone, object(), e));
        }
        rec.state = to.expect("install leads to a state");
        self.write(Op::InstallZone, &rec)
    }

    /// Installs a zone from an imported image, as SmartOS's brands do:
    /// clones `<dataset>/<uuid>@final`, where `<dataset>` is the ZFS file
    /// system mounted at the zonepath's parent (the pool, as
    /// [`crate::image::Images`] keeps them), to `<dataset>/<zone name>`
    /// with the quota (GiB; SmartOS's installer default is 10), mounted
    /// at `<zonepath>/root`. The clone is the zone's root: copy on write,
    /// nothing copied. A failure leaves no clone and no zonepath.
    pub fn install_image(&self, name: &ZoneName, uuid: &str, quota_gb: Option<u32>) -> Result<()> {
        use crate::zfs::{Props, Zfs};
        let _l = self.lock(Op::InstallZone)?;
        let (mut rec, to) = self.transition(Op::InstallZone, name, Transition::Install)?;
        let object = || format!("{name} from image {uuid}");
        if rec.config.userns.is_some() {
            return Err(Error::new(
                Op::InstallZone,
                object(),
                ErrorKind::Unsupported(
                    "an image install in a user namespace (its owners would need shifting)",
                ),
            ));
        }
        if !crate::image::is_uuid(uuid) {
            return Err(Error::new(
                Op::InstallZone,
                object(),
                ErrorKind::InvalidArgument("not an image UUID".into()),
            ));
        }
        let zp = rec.config.zonepath.clone();
        let parent = zp.parent().unwrap_or(Path::new("/"));
        let Some(dataset) = zfs_mounted_at(parent) else {
            return Err(Error::new(
                Op::InstallZone,
                object(),
                ErrorKind::InvalidArgument(format!(
                    "no ZFS file system is mounted at the zonepath's parent {} (images are cloned from the one mounted there)",
                    parent.display()
                )),
            ));
        };
        let ds: crate::name::DatasetName = dataset.parse()?;
        let snapshot = ds.child(uuid)?.snapshot(crate::image::SNAPSHOT)?;
        let target = ds.child(name.as_str())?;
        let root = zp.join("root");
        let props = Props::new()
            .quota(u64::from(quota_gb.unwrap_or(10)) << 30)
            .mountpoint(&root.to_string_lossy())?;
        let zfs = Zfs::open()?;
        if !zfs.exists(snapshot.as_str())? {
            return Err(Error::new(Op::InstallZone, object(), ErrorKind::NotFound)
                .with_detail(&format!("no image snapshot {snapshot}")));
        }
        let made_zonepath = make_zonepath(name, &zp)?;
        let undo_zonepath = || {
            if made_zonepath {
                let _ = fs::remove_dir(&root);
                let _ = fs::remove_dir(&zp);
            }
        };
        rec.state = State::Incomplete;
        if let Err(e) = self.write(Op::InstallZone, &rec) {
            undo_zonepath();
            return Err(e);
        }
        let cloned = zfs
            .clone_from_snapshot(&snapshot, &target, &props)
            .and_then(|()| {
                zfs.mount(&target).inspect_err(|_| {
                    let _ = zfs.destroy(&target);
                })
            });
        if let Err(e) = cloned {
            undo_zonepath();
            rec.state = State::Configured;
            self.write(Op::InstallZone, &rec)?;
            return Err(e.context(Op::InstallZone, object()));
        }
        super::fault_point("install:cloned");
        rec.state = to.expect("install leads to a state");
        self.write(Op::InstallZone, &rec)
    }

    /// Uninstalls an installed zone: removes `<zonepath>/root` (and the
    /// zonepath, if that leaves it empty), never following a link the
    /// tenant left and with a bounded number of descriptors however deep
    /// the tenant made its tree. A removal that fails part-way leaves the
    /// zone incomplete, from which uninstall can be tried again.
    pub fn uninstall(&self, name: &ZoneName) -> Result<()> {
        let _l = self.lock(Op::InstallZone)?;
        let (mut rec, to) = self.transition(Op::InstallZone, name, Transition::Uninstall)?;
        let zroot = rec.config.zonepath.join("root");
        if rec.state != State::Incomplete {
            rec.state = State::Incomplete;
            self.write(Op::InstallZone, &rec)?;
        }
        // A root cloned from an image: its clone goes (unmounted first, so
        // the removal below never enters it).
        // Another zone being booted holds a copy of every host mount in
        // its new mount namespace until it has pivoted into its own root
        // (moments, longer under load): a busy clone is tried again for up
        // to 5 s.
        if let Some(ds) = zfs_mounted_at(&zroot) {
            let zfs = crate::zfs::Zfs::open()?;
            let ds: crate::name::DatasetName = ds.parse()?;
            let mut tries = 0;
            while let Err(e) = zfs.destroy(&ds) {
                tries += 1;
                if tries == 50 {
                    return Err(e.context(Op::InstallZone, format!("{name}: its root {ds}")));
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        remove_root(&zroot).os(Op::InstallZone, format!("{name}: {}", zroot.display()))?;
        let _ = fs::remove_file(rec.config.zonepath.join("console.log"));
        let _ = fs::remove_dir(&rec.config.zonepath);
        rec.state = to.expect("uninstall leads to a state");
        self.write(Op::InstallZone, &rec)
    }

    /// Deletes a configured zone's record (and its index entries).
    pub fn delete(&self, name: &ZoneName) -> Result<()> {
        let _l = self.lock(Op::ConfigureZone)?;
        let (rec, _) = self.transition(Op::ConfigureZone, name, Transition::Delete)?;
        fs::remove_file(self.path(name)).os(Op::ConfigureZone, name.as_str())?;
        let zp = &rec.config.zonepath;
        let rzp = rec.resolved.clone().unwrap_or_else(|| resolved(zp));
        Index::new(&self.dir).remove(name, zp, &rzp);
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .os(Op::ConfigureZone, name.as_str())
    }

    /// A zone's state. A zone recorded as running whose INIT has exited is
    /// `Down` until it is halted.
    pub fn state(&self, name: &ZoneName) -> Result<State> {
        let rec = self.read(Op::QueryZone, name)?;
        #[cfg(target_os = "linux")]
        if rec.state == State::Running && !rec.init.is_some_and(|i| i.alive()) {
            return Ok(State::Down);
        }
        Ok(rec.state)
    }

    /// A zone's configuration.
    pub fn get(&self, name: &ZoneName) -> Result<ZoneConfig> {
        Ok(self.read(Op::QueryZone, name)?.config)
    }

    /// Every zone: name, state, zonepath, by name.
    pub fn list(&self) -> Result<Vec<(ZoneName, State, PathBuf)>> {
        let mut out: Vec<_> = self
            .records()?
            .into_iter()
            .map(|r| (r.config.name, r.state, r.config.zonepath))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Every zone's record, in no particular order.
    fn records(&self) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let entries = fs::read_dir(&self.dir).os(Op::QueryZone, self.dir.display().to_string())?;
        for e in entries {
            let e = e.os(Op::QueryZone, self.dir.display().to_string())?;
            let file = e.file_name();
            let Some(stem) = file.to_str().and_then(|f| f.strip_suffix(".json")) else {
                continue;
            };
            let Ok(name) = stem.parse::<ZoneName>() else {
                continue;
            };
            out.push(self.read(Op::QueryZone, &name)?);
        }
        Ok(out)
    }
}

/// `p` with the longest part of it that exists resolved through any
/// symbolic link (`canonicalize`), and the rest as written.
fn resolved(p: &Path) -> PathBuf {
    let mut existing = p;
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = fs::canonicalize(existing) {
            return rest.iter().rev().fold(c, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return p.to_path_buf(),
        }
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

/// The first directory above `p` that a user other than root (or the
/// caller) could use to swap `p` for something else: someone else's, or
/// writable by group or others without the sticky bit (in a sticky directory only root may rename
/// root's entries).
pub(super) fn swappable_ancestor(p: &Path) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    p.ancestors().skip(1).find_map(|a| {
        let m = std::fs::metadata(a).ok()?;
        let writable = m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        (m.uid() != 0 && m.uid() != me || writable).then(|| a.to_path_buf())
    })
}

/// Makes a zone's zonepath (mode 0700), its parents as needed. An
/// existing empty directory is used as it is; anything else that exists
/// (a file, a symlink, a directory with entries) is refused and left
/// untouched. Returns whether hull made it.
/// The ZFS dataset mounted exactly at `path`, from this process's
/// `/proc/self/mountinfo` (the last mount there wins, as it is the one
/// seen).
fn zfs_mounted_at(path: &Path) -> Option<String> {
    let want = fs::canonicalize(path).ok()?;
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let unescape = |s: &str| {
        // Mount points escape space, tab, newline and backslash as \ooo.
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
                let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
                out.push(v);
                i += 4;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
    };
    info.lines().rev().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mountpoint = pre.split(' ').nth(4)?;
        let mut post = post.split(' ');
        let (fstype, source) = (post.next()?, post.next()?);
        (fstype == "zfs" && unescape(mountpoint) == want).then(|| source.to_string())
    })
}

fn make_zonepath(name: &ZoneName, zp: &Path) -> Result<bool> {
    use std::os::unix::fs::DirBuilderExt;
    let object = || format!("{name}: zonepath {}", zp.display());
    if let Some(parent) = zp.parent() {
        fs::create_dir_all(parent).os(Op::InstallZone, object())?;
    }
    if let Some(a) = swappable_ancestor(zp) {
        return Err(
            Error::new(Op::InstallZone, object(), ErrorKind::PermissionDenied).with_detail(&format!(
                "{} can be written by users other than root (and is not sticky): one of them could swap the zonepath",
                a.display()
            )),
        );
    }
    match fs::DirBuilder::new().mode(0o700).create(zp) {
        Ok(()) => return Ok(true),
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(os(Op::InstallZone, object(), e))
        }
        Err(_) => {}
    }
    let meta = fs::symlink_metadata(zp).os(Op::InstallZone, object())?;
    let empty = meta.is_dir() && super::paths::is_empty_dir(zp).unwrap_or(false);
    if !empty {
        return Err(
            Error::new(Op::InstallZone, object(), ErrorKind::AlreadyExists).with_detail(
                "exists and is not an empty directory; hull makes a zone's zonepath itself",
            ),
        );
    }
    // An empty one made by the operator is used only if it is closed the
    // way hull would make it: other host users must not reach the
    // tenant's setuid files and file capabilities below it.
    use std::os::unix::fs::MetadataExt;
    if meta.uid() != 0 || meta.mode() & 0o077 != 0 {
        return Err(
            Error::new(Op::InstallZone, object(), ErrorKind::PermissionDenied).with_detail(&format!(
                "an existing zonepath must be root's with mode 0700 (it is uid {}, mode {:o}); hull does not chmod it",
                meta.uid(),
                meta.mode() & 0o7777
            )),
        );
    }
    Ok(false)
}

/// Configures the zone's network inside its namespace, before INIT runs:
/// `lo` up; each link's MTU, up, its addresses; then one default route per
/// address family, through the first gateway of that family (the primary
/// link's first).
#[cfg(target_os = "linux")]
fn configure_ip(name: &ZoneName, zone: &fs::File, nets: &[super::Net]) -> Result<()> {
    use crate::vnic::linux::Rtnl;
    use std::os::fd::AsRawFd;
    let object = |what: String| format!("{name}: {what}");
    let mut order: Vec<&super::Net> = nets.iter().filter(|n| n.primary).collect();
    order.extend(nets.iter().filter(|n| !n.primary));
    std::thread::scope(|s| {
        s.spawn(|| -> Result<()> {
            // SAFETY: setns on an open netns fd; it moves only this
            // short-lived thread, which ends with the scope.
            if unsafe { libc::setns(zone.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(Error::os(
                    Op::BootZone,
                    object("netns".into()),
                    std::io::Error::last_os_error(),
                ));
            }
            let mut nl = Rtnl::open().os(Op::BootZone, object("rtnetlink".into()))?;
            let lo = nl.index_of("lo").os(Op::BootZone, object("lo".into()))?;
            nl.set_up(lo, None)
                .os(Op::BootZone, object("lo up".into()))?;
            let mut routed = (false, false);
            for net in &order {
                let link = net.link.as_str();
                let idx = nl
                    .index_of(link)
                    .os(Op::BootZone, object(format!("net {link}")))?;
                nl.set_up(idx, net.mtu).os(
                    Op::BootZone,
                    object(format!("net {link}: up, mtu {:?}", net.mtu)),
                )?;
                for ip in &net.ips {
                    nl.add_address(idx, ip.addr, ip.prefix)
                        .os(Op::BootZone, object(format!("net {link}: address {ip}")))?;
                }
                for gw in &net.gateways {
                    let done = if gw.is_ipv4() {
                        &mut routed.0
                    } else {
                        &mut routed.1
                    };
                    if !*done {
                        nl.add_default_route(idx, *gw).os(
                            Op::BootZone,
                            object(format!("net {link}: default route via {gw}")),
                        )?;
                        *done = true;
                    }
                }
            }
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| {
            Err(Error::new(
                Op::BootZone,
                object("network".into()),
                ErrorKind::Os,
            ))
        })
    })
}

/// Moves `links` back from the network namespace `zone` (of a zone whose
/// boot failed after the handover, held open) into the calling thread's, before that
/// namespace dies and takes virtual links with it. Best effort: a link that
/// cannot be moved is left (and goes with the namespace).
#[cfg(target_os = "linux")]
fn give_back(zone: &fs::File, links: &[crate::name::LinkName]) {
    use std::os::fd::{AsFd, AsRawFd};
    if links.is_empty() {
        return;
    }
    let Ok(here) = fs::File::open("/proc/thread-self/ns/net") else {
        return;
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns on an open netns fd; it moves only this
            // short-lived thread, which ends with the scope.
            if unsafe { libc::setns(zone.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return;
            }
            if let Ok(mut v) = crate::vnic::Vnics::open() {
                for link in links {
                    let _ = v.move_into(link, crate::vnic::NetNs::Fd(here.as_fd()));
                }
            }
        });
    });
}

/// Removes a zone's root tree (missing is fine).
#[cfg(target_os = "linux")]
fn remove_root(root: &Path) -> std::io::Result<()> {
    super::remove::remove_tree(root)
}

#[cfg(not(target_os = "linux"))]
fn remove_root(root: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

#[cfg(target_os = "linux")]
fn copy_root(from: &Path, to: &Path, userns: Option<super::UserNs>) -> std::io::Result<()> {
    let shift = userns.map(|u| super::copy::IdShift {
        uid: u.host_uid,
        gid: u.host_gid,
        count: u.count,
    });
    super::copy::copy_tree(from, to, shift)
}

#[cfg(not(target_os = "linux"))]
fn copy_root(_: &Path, _: &Path, _: Option<super::UserNs>) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "installing from a directory is the Linux backend's",
    ))
}

#[cfg(target_os = "linux")]
impl super::ZoneBackend for LinuxZones {
    fn configure(&self, config: &ZoneConfig) -> Result<()> {
        LinuxZones::configure(self, config)
    }
    fn install(&self, name: &ZoneName, from: &super::Install) -> Result<()> {
        match from {
            super::Install::Root(root) => LinuxZones::install(self, name, root),
            super::Install::Image { uuid, quota_gb } => {
                LinuxZones::install_image(self, name, uuid, *quota_gb)
            }
            _ => Err(Error::new(
                Op::InstallZone,
                name.as_str(),
                ErrorKind::Unsupported(
                    "a Linux zone installs from a root directory or an imported image",
                ),
            )),
        }
    }
    fn boot(&self, name: &ZoneName) -> Result<super::Booted> {
        LinuxZones::boot(self, name).map(|i| super::Booted { init: Some(i) })
    }
    fn wait(&self, name: &ZoneName) -> Result<i32> {
        LinuxZones::wait(self, name)
    }
    fn halt(&self, name: &ZoneName) -> Result<()> {
        LinuxZones::halt(self, name)
    }
    fn shutdown(&self, name: &ZoneName, timeout: std::time::Duration) -> Result<()> {
        LinuxZones::shutdown(self, name, timeout)
    }
    fn reboot(&self, name: &ZoneName) -> Result<super::Booted> {
        LinuxZones::reboot(self, name).map(|i| super::Booted { init: Some(i) })
    }
    fn uninstall(&self, name: &ZoneName) -> Result<()> {
        LinuxZones::uninstall(self, name)
    }
    fn delete(&self, name: &ZoneName) -> Result<()> {
        LinuxZones::delete(self, name)
    }
    fn state(&self, name: &ZoneName) -> Result<State> {
        LinuxZones::state(self, name)
    }
    fn get(&self, name: &ZoneName) -> Result<ZoneConfig> {
        LinuxZones::get(self, name)
    }
    fn list(&self) -> Result<Vec<(ZoneName, State, PathBuf)>> {
        LinuxZones::list(self)
    }
    fn netns(&self, name: &ZoneName) -> Result<PathBuf> {
        LinuxZones::netns(self, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hull-zone-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn cfg(name: &str, zonepath: &Path) -> ZoneConfig {
        serde_json::from_value(
            serde_json::json!({"name": name, "zonepath": zonepath, "init": ["/bin/sh"]}),
        )
        .unwrap()
    }

    #[test]
    fn the_index_finds_nesting_either_way_forgets_stale_entries_and_is_built_for_old_state() {
        let base = tmp("index");
        let state = base.join("state");
        let zones = LinuxZones::open(&state).unwrap();
        zones
            .configure(&cfg("outer", &base.join("z/outer")))
            .unwrap();
        zones
            .configure(&cfg("sib", &base.join("z/sibling")))
            .unwrap();
        for (name, zp) in [
            ("inner", base.join("z/outer/inner")),
            ("around", base.join("z")),
            ("same", base.join("z/outer")),
        ] {
            let e = zones.configure(&cfg(name, &zp)).unwrap_err();
            assert!(e.to_string().contains("inside or contains"), "{name}: {e}");
        }
        // "z/out" is a sibling by components, not a prefix.
        zones.configure(&cfg("out", &base.join("z/out"))).unwrap();
        // A record gone behind the index's back (a caller killed between
        // the two) leaves an entry that is found stale and forgotten.
        fs::remove_file(zones.path(&"outer".parse().unwrap())).unwrap();
        zones
            .configure(&cfg("inner", &base.join("z/outer/inner")))
            .unwrap();
        // Deleting prunes: the zonepaths can be taken again.
        for n in ["inner", "sib", "out"] {
            zones.delete(&n.parse().unwrap()).unwrap();
        }
        zones.configure(&cfg("around", &base.join("z"))).unwrap();
        // A state directory from before the index is indexed at open.
        fs::remove_dir_all(state.join("index")).unwrap();
        let again = LinuxZones::open(&state).unwrap();
        let e = again
            .configure(&cfg("deep", &base.join("z/a/b")))
            .unwrap_err();
        assert!(e.to_string().contains("zone around's"), "{e}");
        let _ = fs::remove_dir_all(&base);
    }

    #[test]
    fn lifecycle_of_the_store_and_a_second_handle_sees_it() {
        let base = tmp("store");
        let zones = LinuxZones::open(base.join("state")).unwrap();
        let root = base.join("image");
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("bin/hello"), b"#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(root.join("bin/hello"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("hello", root.join("bin/hi")).unwrap();

        let c = cfg("z1", &base.join("zp"));
        zones.configure(&c).unwrap();
        assert_eq!(
            zones.configure(&c).unwrap_err().kind,
            ErrorKind::AlreadyExists
        );
        // Illegal before install: changes nothing.
        assert!(matches!(
            zones.uninstall(&c.name).unwrap_err().kind,
            ErrorKind::InvalidState { .. }
        ));
        zones.install(&c.name, &root).unwrap();
        assert!(matches!(
            zones.install(&c.name, &root).unwrap_err().kind,
            ErrorKind::InvalidState { .. }
        ));
        assert!(matches!(
            zones.delete(&c.name).unwrap_err().kind,
            ErrorKind::InvalidState { .. }
        ));
        let installed = base.join("zp/root/bin/hello");
        assert_eq!(fs::read(&installed).unwrap(), b"#!/bin/sh\necho hi\n");
        assert_eq!(fs::metadata(&installed).unwrap().mode() & 0o777, 0o755);
        assert_eq!(
            fs::read_link(base.join("zp/root/bin/hi")).unwrap(),
            Path::new("hello")
        );

        // A fresh handle (as a new process would open it) sees the same.
        let again = LinuxZones::open(base.join("state")).unwrap();
        assert_eq!(again.state(&c.name).unwrap(), State::Installed);
        assert_eq!(again.get(&c.name).unwrap(), c);
        assert_eq!(
            again.list().unwrap(),
            vec![(c.name.clone(), State::Installed, base.join("zp"))]
        );

        zones.uninstall(&c.name).unwrap();
        assert!(!base.join("zp").exists(), "uninstall leaves no files");
        zones.delete(&c.name).unwrap();
        assert!(zones.list().unwrap().is_empty());
        assert_eq!(zones.state(&c.name).unwrap_err().kind, ErrorKind::NotFound);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_failed_install_leaves_nothing_and_the_zone_configured() {
        let base = tmp("failinstall");
        let zones = LinuxZones::open(base.join("state")).unwrap();
        let root = base.join("image");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("ok"), b"x").unwrap();
        // A FIFO cannot be copied: the install fails part-way.
        let fifo = std::ffi::CString::new(root.join("zfifo").to_str().unwrap()).unwrap();
        // SAFETY: a valid path; mkfifo has no other preconditions.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let c = cfg("z2", &base.join("zp"));
        zones.configure(&c).unwrap();
        assert!(zones.install(&c.name, &root).is_err());
        assert_eq!(zones.state(&c.name).unwrap(), State::Configured);
        assert!(!base.join("zp").exists(), "nothing half-made");
        // A missing root is refused before anything is made.
        assert_eq!(
            zones.install(&c.name, &base.join("nope")).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert!(!base.join("zp").exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn records_are_written_whole() {
        let base = tmp("atomic");
        let zones = LinuxZones::open(&base).unwrap();
        zones.configure(&cfg("z3", Path::new("/zones/z3"))).unwrap();
        let names: Vec<_> = fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains(".tmp")),
            "no temporary left: {names:?}"
        );
        assert_eq!(fs::metadata(&base).unwrap().mode() & 0o777, 0o700);
        fs::remove_dir_all(&base).unwrap();
    }
}
