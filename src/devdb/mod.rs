//! PostgreSQL for database-backed checks: a throwaway local cluster (the
//! zero-setup default) or a server named by `--dev-url`, scratch databases
//! that are always dropped, and URLs that are never printed with a password.

pub mod base;
mod cluster;
pub mod contention;
#[cfg(feature = "docker")]
pub mod docker;
mod pack;
pub mod parity;
pub mod roundtrip;
pub mod stats;
pub mod trace;

pub use cluster::{base_keys, find_binaries, Cluster, BASE_DB};

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::error::{Error, Result};

/// Work to undo if the process is interrupted (Ctrl-C, SIGTERM).
pub(crate) type Cleanup = Box<dyn FnOnce() + Send>;

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
            // A removal the main thread started before the interrupt (its
            // entry already taken) must finish before the process ends.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
            while UNDOING.load(std::sync::atomic::Ordering::SeqCst) > 0
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            eprintln!("migguard: interrupted; scratch databases and clusters removed");
            CLEANED.store(true, std::sync::atomic::Ordering::SeqCst);
            // The command returns through the flag (cli::main exits 130); a
            // call that never notices (a query waiting on a lock of another
            // session) must not keep the process alive.
            std::thread::sleep(std::time::Duration::from_secs(10));
            std::process::exit(130);
        });
        Mutex::new(Vec::new())
    })
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set by the interrupt handler once everything registered is removed.
static CLEANED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// After an interrupt: waits until the handler has removed the scratch
/// databases and clusters, so the process never ends half-way through.
pub fn wait_for_cleanup() {
    while !CLEANED.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Removals under way outside the interrupt handler.
static UNDOING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Held while a scratch database, cluster or container is being removed in
/// the normal course (a drop): the interrupt handler waits for it before it
/// ends the process, so an interrupt never cuts a removal short.
pub(crate) struct Undoing;

impl Undoing {
    pub(crate) fn start() -> Undoing {
        UNDOING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Undoing
    }
}

impl Drop for Undoing {
    fn drop(&mut self) {
        UNDOING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether an interrupt arrived: the handler is cleaning up, and the command
/// ends with 130; whatever the main thread saw meanwhile (a dropped
/// connection) is not the outcome.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Registers `undo` to run if the process is interrupted; returns a ticket
/// to unregister it once the work is undone normally.
pub(crate) fn on_interrupt(undo: Cleanup) -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut pending = cleanups().lock().unwrap_or_else(|e| e.into_inner());
    // Read under the lock the handler takes after setting the flag: work
    // registered after the handler ran is undone at once, by its own thread
    // (a cluster a worker thread was starting when the interrupt came).
    if interrupted() {
        drop(pending);
        undo();
    } else {
        pending.push((id, undo));
    }
    id
}

/// An error when an interrupt arrived: nothing new is started after it.
pub(crate) fn refuse_if_interrupted() -> Result<()> {
    if interrupted() {
        return Err(Error::Database("interrupted".into()));
    }
    Ok(())
}

pub(crate) fn forget(id: u64) {
    cleanups()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(i, _)| *i != id);
}

/// With `MIGGUARD_TRACE` set, prints how long each step took (to stderr),
/// for measuring where a database-backed check spends its time.
pub fn trace(step: &str) {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    if let Some(start) =
        START.get_or_init(|| std::env::var_os("MIGGUARD_TRACE").map(|_| Instant::now()))
    {
        eprintln!(
            "[{:>6.0} ms] {step}",
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// SQL as one line for a message: whitespace runs made one space, cut after
/// `max` characters.
pub fn one_line(sql: &str, max: usize) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        flat.chars().take(max).collect::<String>() + "..."
    } else {
        flat
    }
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

/// A server migguard may create scratch databases on.
#[derive(Clone)]
pub struct Server {
    config: postgres::Config,
    /// How to name it in messages (never with a password).
    pub shown: String,
    /// Empty databases a throwaway cluster has ready, handed out before any
    /// is created; removed with the cluster.
    prepared: Option<Arc<Mutex<Vec<String>>>>,
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
            prepared: None,
        })
    }

    /// A server reached through `config`, named `shown` in messages.
    pub fn from_config(config: postgres::Config, shown: String) -> Server {
        Server {
            config,
            shown,
            prepared: None,
        }
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
            let mut why = e.to_string();
            // The driver's own text is generic ("error connecting to
            // server"): the cause says which (refused, no such host, auth).
            if let Some(cause) = std::error::Error::source(&e) {
                why = format!("{why}: {cause}");
            }
            // The password never shows; with none there is nothing to hide
            // (replacing "" would put *** between every character).
            if let Some(password) = self
                .config
                .get_password()
                .map(String::from_utf8_lossy)
                .filter(|p| !p.is_empty())
            {
                why = why.replace(password.as_ref(), "***");
            }
            Error::Database(format!("cannot connect to {}: {why}", self.shown))
        })
    }

    /// A new, empty scratch database, dropped when the guard is dropped.
    pub fn scratch(&self, label: &str) -> Result<Scratch> {
        let ready = self
            .prepared
            .as_ref()
            .and_then(|p| p.lock().unwrap_or_else(|e| e.into_inner()).pop());
        if let Some(name) = ready {
            return Ok(Scratch {
                server: Arc::new(self.clone()),
                name,
                ticket: None,
            });
        }
        let mut admin = self.admin()?;
        self.scratch_with(&mut admin, label, "template0")?
            .map_err(|e| {
                Error::Database(format!(
                    "cannot create a scratch database on {}: {e}",
                    self.shown
                ))
            })
    }

    /// A new scratch database, a copy of `template`, created through
    /// `admin`; dropped when the guard is dropped. The inner error is
    /// PostgreSQL's refusal to create it; the outer one an interrupt.
    fn scratch_with(
        &self,
        admin: &mut postgres::Client,
        label: &str,
        template: &str,
    ) -> Result<std::result::Result<Scratch, postgres::Error>> {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("migguard_{label}_{}_{nanos}_{n}", std::process::id());
        refuse_if_interrupted()?;
        if let Err(e) = admin.batch_execute(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        )) {
            return Ok(Err(e));
        }
        let server = Arc::new(self.clone());
        let ticket = {
            let server = server.clone();
            let name = name.clone();
            on_interrupt(Box::new(move || drop_database(&server, &name)))
        };
        Ok(Ok(Scratch {
            server,
            name,
            ticket: Some(ticket),
        }))
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
    /// `None` for a database of a throwaway cluster: the cluster's removal
    /// removes it.
    ticket: Option<u64>,
}

impl Scratch {
    pub fn connect(&self) -> Result<postgres::Client> {
        self.server.connect(&self.name).map_err(|e| {
            Error::Database(format!(
                "cannot connect to scratch database {}: {e}",
                self.name
            ))
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            let _undoing = Undoing::start();
            trace(&format!("drop {}", self.name));
            drop_database(&self.server, &self.name);
            forget(ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_says_why_in_plain_words() {
        // Port 1 on the loopback refuses at once.
        for url in [
            "postgres://u@127.0.0.1:1/x",
            "postgres://u:s3cret@127.0.0.1:1/x",
        ] {
            let err = Server::from_url(url)
                .unwrap()
                .admin()
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("error connecting to server"), "{err}");
            assert!(!err.contains("s3cret") && !err.contains("*e*"), "{err}");
        }
    }

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
