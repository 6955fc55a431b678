//! The throwaway local cluster: PostgreSQL started from the local binaries in
//! a temporary folder, on a Unix socket only, removed when dropped.
//!
//! Starting one is most of what a small check costs, so the result of
//! `initdb` (with the empty scratch databases already created and the server
//! shut down cleanly) is kept as a template in the user's cache folder
//! (`$MIGGUARD_CACHE_DIR`, else `$XDG_CACHE_HOME/migguard`, else
//! `~/.cache/migguard`; `MIGGUARD_CACHE_DIR=` with no value turns it off).
//! Later runs copy the template instead of running `initdb`; a template that
//! does not start is thrown away and made again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{forget, on_interrupt, pack, trace, Server};
use crate::error::{Error, Result};

/// Empty databases every throwaway cluster has ready: parity's A and B, and
/// the round trip's database.
const PREPARED: &[&str] = &["migguard_1", "migguard_2", "migguard_3"];

/// The database of a cluster started by `Cluster::start_with_base` that
/// holds the replayed created migrations.
pub const BASE_DB: &str = "migguard_base";

/// How many base states the cache keeps (the most recently used).
pub const BASE_STATES: usize = 4;

/// The running digests of `migrations` (name and bytes, in order): entry
/// `i` keys the state after the first `i + 1`, so a base that only grew
/// finds the state of its old prefix.
pub fn base_keys<'a>(migrations: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<String> {
    let mut h = Sha256::new();
    h.update(TEMPLATE_VERSION.as_bytes());
    migrations
        .into_iter()
        .map(|(name, bytes)| {
            h.update(name.as_bytes());
            h.update([0]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
            let digest = h.clone().finalize();
            digest[..12].iter().map(|b| format!("{b:02x}")).collect()
        })
        .collect()
}

/// Removes all but the most recently used [`BASE_STATES`] base states of
/// these binaries, and leftovers of saves that did not finish.
fn evict_base_states(root: &Path, tag: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let remove = |path: &Path| {
        let _ = std::fs::remove_file(path).or_else(|_| std::fs::remove_dir_all(path));
    };
    let mut states: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if name.starts_with(&format!("{tag}-base.tmp-")) {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|d| d > Duration::from_secs(3600)));
            if old {
                remove(&path);
            }
        } else if name.starts_with(&format!("{tag}-base-")) {
            // A state is one file; folders are states of older versions.
            let marker = if path.is_dir() {
                path.join("PG_VERSION")
            } else {
                path.clone()
            };
            let used = std::fs::metadata(marker)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            states.push((used, path));
        }
    }
    states.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (_, path) in states.into_iter().skip(BASE_STATES) {
        remove(&path);
    }
}

/// The file of the base state `key` of the binaries `tag`.
fn state_path(root: &Path, tag: &str, key: &str) -> PathBuf {
    root.join(format!("{tag}-base-{key}.state"))
}

/// Bumped whenever what a template holds changes.
const TEMPLATE_VERSION: &str = "3";

/// Server settings for a cluster nothing needs to survive: no durability, no
/// background work.
const SETTINGS: &[&str] = &[
    "listen_addresses=",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "max_wal_size=4GB",
    "checkpoint_timeout=1d",
    "autovacuum=off",
    "jit=off",
    "max_connections=20",
    // One migration may create thousands of tables in one transaction (an
    // initial migration): the lock table must hold a lock for each relation.
    "max_locks_per_transaction=4096",
];

/// Where to find `initdb` and `postgres`: `PATH`, then
/// `/usr/lib/postgresql/<newest>/bin`.
pub fn find_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
    });
    on_path.or_else(|| {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
            .collect();
        dirs.sort_by_key(|d| {
            d.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        dirs.pop()
    })
}

/// The uid and gid of a system user, from `/etc/passwd`.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name) && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

/// Who runs the server: PostgreSQL refuses root, so as root the `postgres`
/// system user (or `nobody`); otherwise the current user (`None`).
fn server_user() -> Option<(u32, u32)> {
    if rustix::process::geteuid().is_root() {
        system_user("postgres").or_else(|| system_user("nobody"))
    } else {
        None
    }
}

/// Whether templates and base states are cached (`MIGGUARD_CACHE_DIR=`
/// turns it off).
pub fn caching() -> bool {
    cache_root().is_some()
}

/// The cache folder for templates, if there is one.
fn cache_root() -> Option<PathBuf> {
    match std::env::var_os("MIGGUARD_CACHE_DIR") {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|d| !d.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })
            .map(|d| d.join("migguard")),
    }
}

/// The template for these binaries: its name changes with the binaries
/// (path, size, modification time), the user running the server and
/// `TEMPLATE_VERSION`.
fn template_path(bin: &Path, user: Option<(u32, u32)>) -> Option<PathBuf> {
    let meta = std::fs::metadata(bin.join("postgres")).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let mut h = Sha256::new();
    h.update(format!(
        "{TEMPLATE_VERSION}\0{}\0{}\0{}\0{:?}",
        bin.display(),
        meta.len(),
        mtime.as_nanos(),
        user
    ));
    let digest = h.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Some(cache_root()?.join(format!("pg-template-{hex}")))
}

/// Where the cluster's folder goes: `$TMPDIR` when set; otherwise
/// `/dev/shm` when it is a RAM file system with 1 GiB free (a cluster that
/// never touches the disk starts and loads several times faster), else the
/// system's temporary folder.
// The `statfs` fields' integer types differ between targets: cast them all.
#[allow(clippy::unnecessary_cast)]
fn cluster_parent() -> PathBuf {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    let shm = Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none() {
        if let Ok(st) = rustix::fs::statfs(shm) {
            let free = (st.f_bavail as u64).saturating_mul(st.f_bsize as u64);
            if st.f_type as u64 == TMPFS_MAGIC && free >= 1 << 30 {
                return shm.to_path_buf();
            }
        }
    }
    std::env::temp_dir()
}

/// Copies a data folder, keeping modes, handing everything to `owner`.
fn copy_tree(from: &Path, to: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(to)?;
    let mode = std::fs::metadata(from)?.permissions().mode();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(to, Some(uid), Some(gid))?;
    }
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&src, &dst, owner)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&dst, Some(uid), Some(gid))?;
            }
        }
    }
    Ok(())
}

/// A throwaway cluster in a temporary folder, listening on a Unix socket only.
/// As root, it runs as the `postgres` system user, who owns the folder.
/// Stopped and removed when dropped.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    /// Who runs the server (`server_user`).
    user: Option<(u32, u32)>,
    child: Option<Child>,
    ticket: u64,
    stop_ticket: Option<u64>,
    /// Where base states are cached, and the prefix of their names (the
    /// binaries' template name): set by `start_with_base`.
    base_tag: Option<(PathBuf, String)>,
    /// Whether the empty scratch databases (`PREPARED`) exist.
    prepared: bool,
    /// The copy of a base state into the cache, under way.
    saving: Option<std::thread::JoinHandle<()>>,
}

impl Cluster {
    pub fn start() -> Result<Cluster> {
        let mut cluster = Cluster::unstarted()?;
        cluster.boot()?;
        Ok(cluster)
    }

    /// A cluster started from the cached base state of the longest prefix
    /// of migrations it has: `keys[i]` is the running digest of the first
    /// `i + 1` created migrations ([`base_keys`]). Returns the cluster and
    /// how many migrations its database [`BASE_DB`] already holds (0: none
    /// cached, the database is new and empty). A cached state that does not
    /// start is removed and the next shorter one tried.
    pub fn start_with_base(keys: &[String]) -> Result<(Cluster, usize)> {
        let mut cluster = Cluster::unstarted()?;
        let tag = template_path(&cluster.bin, cluster.user)
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()));
        if let (Some(root), Some(tag)) = (cache_root(), tag) {
            for (i, key) in keys.iter().enumerate().rev() {
                let state = state_path(&root, &tag, key);
                let Ok(file) = std::fs::File::open(&state) else {
                    continue;
                };
                trace("unpack the cached base state");
                if pack::unpack(&file, &cluster.data(), cluster.user).is_ok()
                    && cluster.run_server().is_ok()
                    && cluster.server().connect(BASE_DB).is_ok()
                {
                    // Used now: the newest to evict last.
                    let _ = file.set_modified(std::time::SystemTime::now());
                    cluster.base_tag = Some((root, tag));
                    cluster.prepared = false;
                    return Ok((cluster, i + 1));
                }
                // A broken state: forget it, start clean.
                super::refuse_if_interrupted()?;
                cluster.stop(false);
                let _ = std::fs::remove_dir_all(cluster.data());
                let _ = std::fs::remove_file(&state);
            }
            cluster.base_tag = Some((root, tag));
        }
        cluster.boot()?;
        let mut admin = cluster.server().connect("postgres").map_err(|e| {
            Error::Database(format!("cannot connect to the throwaway cluster: {e}"))
        })?;
        admin
            .batch_execute(&format!(
                "CREATE DATABASE \"{BASE_DB}\" TEMPLATE template0 STRATEGY FILE_COPY"
            ))
            .map_err(|e| Error::Database(format!("cannot create {BASE_DB}: {e}")))?;
        Ok((cluster, 0))
    }

    /// Keeps the cluster as it is now (its [`BASE_DB`] holding the
    /// migrations `key` digests) as a cached base state, and keeps the last
    /// [`BASE_STATES`] of them. Nothing is cached without a cache folder;
    /// a cache that cannot be written is skipped.
    pub fn save_base(&mut self, key: &str) -> Result<()> {
        let Some((root, tag)) = self.base_tag.clone() else {
            return Ok(());
        };
        trace("save the base state");
        // The empty scratch databases are not needed with a base state: a
        // smaller state copies faster.
        // Nor are the template databases: nothing creates a database in a
        // cluster started from a base state.
        if let Ok(mut admin) = self.server().connect("postgres") {
            for name in PREPARED {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""));
            }
            for name in ["template0", "template1"] {
                let _ = admin.batch_execute(&format!("ALTER DATABASE {name} IS_TEMPLATE false"));
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"));
            }
        }
        self.prepared = false;
        self.stop(true);
        // The stopped folder moves aside (same file system: instant), a copy
        // in the cluster's fast folder runs on, and the cache gets its copy
        // on another thread while the cluster works; dropping the cluster
        // waits for it.
        trace("copy the base state aside");
        let aside = self.dir.join("base-state");
        std::fs::rename(self.data(), &aside)
            .and_then(|()| copy_tree(&aside, &self.data(), self.user))
            .map_err(|e| Error::Database(format!("cannot copy the base state: {e}")))?;
        let key = key.to_string();
        self.saving = Some(std::thread::spawn(move || {
            if std::fs::create_dir_all(&root).is_ok() {
                // Packed under a temporary name, then renamed: a state is
                // complete or absent.
                if let Ok(tmp) = tempfile::Builder::new()
                    .prefix(&format!("{tag}-base.tmp-"))
                    .tempfile_in(&root)
                {
                    if pack::pack(&aside, tmp.as_file()).is_ok() {
                        let _ = tmp.persist(state_path(&root, &tag, &key));
                    }
                }
                evict_base_states(&root, &tag);
            }
            let _ = std::fs::remove_dir_all(&aside);
        }));
        self.run_server()
    }

    fn unstarted() -> Result<Cluster> {
        let bin = find_binaries().ok_or_else(|| {
            Error::Database(
                "no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin: install PostgreSQL (apt-get install postgresql) or pass --dev-url postgres://user@host:5432/db".into(),
            )
        })?;
        let dir = tempfile::Builder::new()
            .prefix("migguard-pg-")
            .tempdir_in(cluster_parent())
            .map_err(|e| {
                Error::Database(format!(
                    "cannot create a folder for the throwaway cluster: {e}"
                ))
            })?
            .keep();
        let ticket = {
            let dir = dir.clone();
            on_interrupt(Box::new(move || {
                let _ = std::fs::remove_dir_all(&dir);
            }))
        };
        let cluster = Cluster {
            dir,
            bin,
            user: server_user(),
            child: None,
            ticket,
            stop_ticket: None,
            base_tag: None,
            prepared: true,
            saving: None,
        };
        if let Some((uid, gid)) = cluster.user {
            std::os::unix::fs::chown(&cluster.dir, Some(uid), Some(gid)).map_err(|e| {
                Error::Database(format!(
                    "cannot hand {} to the postgres user: {e}",
                    cluster.dir.display()
                ))
            })?;
        }
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt;
            c.uid(uid).gid(gid);
        }
        c.stdin(Stdio::null());
        c
    }

    /// From the cached template when there is a good one, else from
    /// `initdb` (saving a template for next time).
    fn boot(&mut self) -> Result<()> {
        let template = template_path(&self.bin, self.user);
        if let Some(t) = template.as_ref().filter(|t| t.join("PG_VERSION").is_file()) {
            trace("copy the cached template");
            if copy_tree(t, &self.data(), self.user).is_ok() && self.run_server().is_ok() {
                return Ok(());
            }
            // A broken template: forget it and start from scratch.
            self.stop(false);
            let _ = std::fs::remove_dir_all(self.data());
            let _ = std::fs::remove_dir_all(t);
        }
        self.initdb()?;
        self.run_server()?;
        self.create_prepared()?;
        if let Some(t) = template {
            self.save_template(&t)?;
        }
        Ok(())
    }

    fn initdb(&self) -> Result<()> {
        super::refuse_if_interrupted()?;
        trace("initdb");
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                // 1 MiB WAL segments instead of 16: a stopped cluster's
                // folder (a template, a cached base state) is that much
                // smaller to copy.
                "--wal-segsize=1",
            ])
            .output()
            .map_err(|e| Error::Command(format!("cannot run initdb: {e}")))?;
        if !out.status.success() {
            return Err(Error::Database(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            )));
        }
        Ok(())
    }

    fn create_prepared(&self) -> Result<()> {
        trace("create the scratch databases");
        let mut admin = self.server().connect("postgres").map_err(|e| {
            Error::Database(format!("cannot connect to the throwaway cluster: {e}"))
        })?;
        for name in PREPARED {
            admin
                // FILE_COPY copies the template's files: in a fresh cluster
                // its checkpoints cost little, and it writes far less than
                // WAL_LOG, which puts every page in the WAL.
                .batch_execute(&format!(
                    "CREATE DATABASE \"{name}\" TEMPLATE template0 STRATEGY FILE_COPY"
                ))
                .map_err(|e| {
                    Error::Database(format!(
                        "cannot create {name} in the throwaway cluster: {e}"
                    ))
                })?;
        }
        Ok(())
    }

    /// Stops the server cleanly, copies its data folder into the cache
    /// (under a temporary name, then renamed: another run may be doing the
    /// same) and starts it again. A cache that cannot be written is skipped.
    fn save_template(&mut self, template: &Path) -> Result<()> {
        trace("save the template");
        self.stop(true);
        if let Some(parent) = template.parent() {
            if std::fs::create_dir_all(parent).is_ok() {
                let name = template
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if let Ok(tmp) = tempfile::Builder::new()
                    .prefix(&format!("{name}.tmp-"))
                    .tempdir_in(parent)
                {
                    let staged = tmp.path().join("data");
                    if copy_tree(&self.data(), &staged, None).is_ok() {
                        let _ = std::fs::rename(&staged, template);
                    }
                }
            }
        }
        self.run_server()
    }

    fn run_server(&mut self) -> Result<()> {
        super::refuse_if_interrupted()?;
        trace("start postgres");
        let mut command = self.command("postgres");
        command.arg("-D").arg(self.data()).arg("-k").arg(&self.dir);
        for s in SETTINGS {
            command.args(["-c", s]);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .map(Stdio::from)
            .unwrap_or(Stdio::null());
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| Error::Command(format!("cannot start postgres: {e}")))?;
        let pid = child.id();
        self.child = Some(child);
        // If interrupted, stop the server too (registered after the folder,
        // so it runs first).
        self.stop_ticket = Some(on_interrupt(Box::new(move || {
            signal(pid, rustix::process::Signal::QUIT);
            std::thread::sleep(Duration::from_millis(200));
        })));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.server().connect("postgres").is_ok() {
                trace("postgres accepts connections");
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                return Err(Error::Database(format!(
                    "the throwaway PostgreSQL exited ({status}): {}",
                    log.lines().last().unwrap_or("")
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::Database(
                    "the throwaway PostgreSQL did not accept connections within 30 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server: cleanly (a fast shutdown, which leaves a data folder
    /// that starts without recovery), or at once (nothing needs to survive).
    fn stop(&mut self, clean: bool) {
        if let Some(mut child) = self.child.take() {
            signal(
                child.id(),
                if clean {
                    rustix::process::Signal::INT
                } else {
                    rustix::process::Signal::QUIT
                },
            );
            let _ = child.wait();
        }
        if let Some(t) = self.stop_ticket.take() {
            forget(t);
        }
    }

    /// The folder holding the server's Unix socket (`.s.PGSQL.5432`).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    pub fn server(&self) -> Server {
        let mut config = postgres::Config::new();
        config
            .host_path(&self.dir)
            .user("postgres")
            .connect_timeout(Duration::from_secs(5));
        Server {
            config,
            shown: format!("a throwaway cluster in {}", self.dir.display()),
            prepared: Some(Arc::new(Mutex::new(if self.prepared {
                PREPARED.iter().rev().map(|s| s.to_string()).collect()
            } else {
                Vec::new()
            }))),
        }
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _undoing = super::Undoing::start();
        trace("stop the cluster");
        self.stop(false);
        if let Some(saving) = self.saving.take() {
            trace("wait for the base state's copy into the cache");
            let _ = saving.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        forget(self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_states_keep_the_most_recently_used_and_keys_extend() {
        let tmp = tempfile::tempdir().unwrap();
        let now = std::time::SystemTime::now();
        for i in 0..6u64 {
            // The oldest is a folder, as older versions kept states.
            let f = if i == 0 {
                let d = tmp.path().join(format!("pg-template-x-base-{i}"));
                std::fs::create_dir_all(&d).unwrap();
                std::fs::File::create(d.join("PG_VERSION")).unwrap()
            } else {
                std::fs::File::create(tmp.path().join(format!("pg-template-x-base-{i}.state")))
                    .unwrap()
            };
            f.set_modified(now - Duration::from_secs(100 * (6 - i)))
                .unwrap();
        }
        std::fs::create_dir_all(tmp.path().join("pg-template-y-base-0")).unwrap();
        evict_base_states(tmp.path(), "pg-template-x");
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "pg-template-x-base-2.state",
                "pg-template-x-base-3.state",
                "pg-template-x-base-4.state",
                "pg-template-x-base-5.state",
                "pg-template-y-base-0"
            ]
        );
        let a = base_keys([("1.sql", &b"a"[..]), ("2.sql", &b"b"[..])]);
        let b = base_keys([
            ("1.sql", &b"a"[..]),
            ("2.sql", &b"b"[..]),
            ("3.sql", &b"c"[..]),
        ]);
        let c = base_keys([("1.sql", &b"A"[..]), ("2.sql", &b"b"[..])]);
        assert_eq!(a[..], b[..2]);
        assert_ne!(a[0], c[0]);
        assert_ne!(a[1], c[1]);
    }

    #[test]
    fn copies_keep_modes_and_links() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let from = tmp.path().join("from");
        std::fs::create_dir_all(from.join("base/1")).unwrap();
        std::fs::write(from.join("base/1/112"), b"page").unwrap();
        std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(
            from.join("base/1/112"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        std::os::unix::fs::symlink("base", from.join("link")).unwrap();
        let to = tmp.path().join("to");
        copy_tree(&from, &to, None).unwrap();
        assert_eq!(std::fs::read(to.join("base/1/112")).unwrap(), b"page");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&to), 0o700);
        assert_eq!(mode(&to.join("base/1/112")), 0o600);
        assert_eq!(
            std::fs::read_link(to.join("link")).unwrap(),
            PathBuf::from("base")
        );
    }
}
