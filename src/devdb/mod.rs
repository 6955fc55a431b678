//! PostgreSQL for database-backed checks: a throwaway local cluster (the
//! zero-setup default) or a server named by `--dev-url`, scratch databases
//! that are always dropped, and URLs that are never printed with a password.

pub mod parity;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Work to undo if the process is interrupted (Ctrl-C, SIGTERM).
type Cleanup = Box<dyn FnOnce() + Send>;

fn cleanups() -> &'static Mutex<Vec<(u64, Cleanup)>> {
    static CLEANUPS: OnceLock<Mutex<Vec<(u64, Cleanup)>>> = OnceLock::new();
    CLEANUPS.get_or_init(|| {
        // On SIGINT/SIGTERM/SIGHUP: undo everything registered, then exit.
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            let pending: Vec<(u64, Cleanup)> =
                std::mem::take(&mut *cleanups().lock().unwrap_or_else(|e| e.into_inner()));
            for (_, undo) in pending.into_iter().rev() {
                undo();
            }
            eprintln!("migguard: interrupted; scratch databases and clusters removed");
            std::process::exit(130);
        });
        Mutex::new(Vec::new())
    })
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether an interrupt arrived: the handler is cleaning up and will exit the
/// process with 130; whatever the main thread saw meanwhile (a dropped
/// connection) is not the outcome.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Registers `undo` to run if the process is interrupted; returns a ticket
/// to unregister it once the work is undone normally.
fn on_interrupt(undo: Cleanup) -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    cleanups()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, undo));
    id
}

fn forget(id: u64) {
    cleanups()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(i, _)| *i != id);
}

/// A URL as it may be shown: `postgres://user@host:port/db`, password removed.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}:***@{host}")
        }
        None => authority.to_string(),
    };
    let tail = tail.split('?').next().unwrap_or("");
    if tail.is_empty() {
        format!("{scheme}://{authority}")
    } else {
        format!("{scheme}://{authority}/{tail}")
    }
}

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

/// A throwaway cluster in a temporary folder, listening on a Unix socket only.
/// PostgreSQL refuses to run as root: as root, it runs as the `postgres`
/// system user, who owns the folder. Stopped and removed when dropped.
pub struct Cluster {
    dir: PathBuf,
    child: Option<Child>,
    ticket: u64,
    stop_ticket: Option<u64>,
}

impl Cluster {
    pub fn start() -> Result<Cluster> {
        let bin = find_binaries().ok_or_else(|| {
            Error::Usage(
                "no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin: install PostgreSQL (apt-get install postgresql) or pass --dev-url postgres://user@host:5432/db".into(),
            )
        })?;
        let dir = tempfile::Builder::new()
            .prefix("migguard-pg-")
            .tempdir()
            .map_err(|e| {
                Error::Usage(format!(
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
        let mut cluster = Cluster {
            dir,
            child: None,
            ticket,
            stop_ticket: None,
        };
        cluster.boot(&bin)?;
        Ok(cluster)
    }

    fn command(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        let is_root = std::fs::metadata("/proc/self").map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        });
        if is_root.unwrap_or(false) {
            if let Some((uid, gid)) = system_user("postgres").or_else(|| system_user("nobody")) {
                use std::os::unix::process::CommandExt;
                c.uid(uid).gid(gid);
            }
        }
        c
    }

    fn boot(&mut self, bin: &Path) -> Result<()> {
        let data = self.dir.join("data");
        if let Ok(m) = std::fs::metadata("/proc/self") {
            use std::os::unix::fs::MetadataExt;
            if m.uid() == 0 {
                if let Some((uid, gid)) = system_user("postgres").or_else(|| system_user("nobody"))
                {
                    std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid)).map_err(|e| {
                        Error::Usage(format!(
                            "cannot hand {} to the postgres user: {e}",
                            self.dir.display()
                        ))
                    })?;
                }
            }
        }
        let out = self
            .command(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Usage(format!("cannot run initdb: {e}")))?;
        if !out.status.success() {
            return Err(Error::Usage(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            )));
        }
        let child = self
            .command(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&self.dir)
            .args([
                "-c",
                "listen_addresses=",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=20",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.dir.join("server.log"))
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            )
            .spawn()
            .map_err(|e| Error::Usage(format!("cannot start postgres: {e}")))?;
        let pid = child.id();
        self.child = Some(child);
        // If interrupted, stop the server too (registered after the folder, so it runs first).
        self.stop_ticket = Some(on_interrupt(Box::new(move || {
            let _ = Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
            std::thread::sleep(Duration::from_millis(200));
        })));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.server().connect("postgres").is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                return Err(Error::Usage(format!(
                    "the throwaway PostgreSQL exited ({status}): {}",
                    log.lines().last().unwrap_or("")
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::Usage(
                    "the throwaway PostgreSQL did not accept connections within 30 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGQUIT: immediate shutdown; nothing here needs to survive.
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        forget(self.ticket);
        if let Some(t) = self.stop_ticket {
            forget(t);
        }
    }
}

/// A server migguard may create scratch databases on.
#[derive(Clone)]
pub struct Server {
    config: postgres::Config,
    /// How to name it in messages (never with a password).
    pub shown: String,
}

impl Server {
    /// `postgres://...` as given by `--dev-url`.
    pub fn from_url(url: &str) -> Result<Server> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| Error::Usage(format!("invalid --dev-url {}: {e}", redact(url))))?;
        Ok(Server {
            config,
            shown: redact(url),
        })
    }

    pub fn connect(&self, db: &str) -> std::result::Result<postgres::Client, postgres::Error> {
        let mut c = self.config.clone();
        c.dbname(db);
        c.connect(postgres::NoTls)
    }

    /// The database named in the URL, only to create scratch ones from.
    fn admin(&self) -> Result<postgres::Client> {
        let db = self.config.get_dbname().unwrap_or("postgres").to_string();
        self.connect(&db).map_err(|e| {
            Error::Usage(format!(
                "cannot connect to {}: {}",
                self.shown,
                e.to_string().replace(
                    self.config
                        .get_password()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default()
                        .as_ref(),
                    "***"
                )
            ))
        })
    }

    /// A new, empty scratch database, dropped when the guard is dropped.
    pub fn scratch(&self, label: &str) -> Result<Scratch> {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("migguard_{label}_{}_{nanos}_{n}", std::process::id());
        let mut admin = self.admin()?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0"))
            .map_err(|e| {
                Error::Usage(format!(
                    "cannot create a scratch database on {}: {e}",
                    self.shown
                ))
            })?;
        let server = Arc::new(self.clone());
        let ticket = {
            let server = server.clone();
            let name = name.clone();
            on_interrupt(Box::new(move || drop_database(&server, &name)))
        };
        Ok(Scratch {
            server,
            name,
            ticket,
        })
    }
}

fn drop_database(server: &Server, name: &str) {
    if let Ok(mut admin) = server.admin() {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}

/// A scratch database; dropped on drop (success, failure, or interrupt).
pub struct Scratch {
    server: Arc<Server>,
    pub name: String,
    ticket: u64,
}

impl Scratch {
    pub fn connect(&self) -> Result<postgres::Client> {
        self.server.connect(&self.name).map_err(|e| {
            Error::Usage(format!(
                "cannot connect to scratch database {}: {e}",
                self.name
            ))
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop_database(&self.server, &self.name);
        forget(self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_passwords() {
        assert_eq!(
            redact("postgres://u:s3cret@db:5432/app?sslmode=disable"),
            "postgres://u:***@db:5432/app"
        );
        assert_eq!(redact("postgres://db:5432/app"), "postgres://db:5432/app");
        assert_eq!(redact("postgres://u@db"), "postgres://u:***@db");
        assert_eq!(redact("postgresql://a:b@c/d"), "postgresql://a:***@c/d");
    }
}
