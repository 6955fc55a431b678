//! `--dev-url docker://postgres/15/dev` (Atlas's form): PostgreSQL in a
//! container started through testcontainers, on the Docker engine that
//! `DOCKER_HOST` names (default: the local socket), and removed afterwards,
//! also on Ctrl-C.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

use super::{forget, on_interrupt, trace, Server};
use crate::error::{Error, Result};

/// What a `docker://` URL asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Spec {
    pub tag: String,
    pub database: String,
}

/// Reads `docker://postgres[/TAG[/DB]]`; TAG defaults to `latest`, DB to
/// `postgres`. Other drivers are refused: parity needs PostgreSQL.
pub fn parse(url: &str) -> Result<Spec> {
    let rest = url.strip_prefix("docker://").unwrap_or(url);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let mut parts = rest.split('/');
    let driver = parts.next().unwrap_or("");
    if driver != "postgres" {
        return Err(Error::Usage(format!(
            "{url}: parity needs PostgreSQL: use docker://postgres/TAG/DB (e.g. docker://postgres/15/dev)"
        )));
    }
    let tag = parts.next().filter(|t| !t.is_empty()).unwrap_or("latest");
    let database = parts.next().filter(|d| !d.is_empty()).unwrap_or("postgres");
    let valid = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    if parts.next().is_some() || !valid(tag) || !valid(database) {
        return Err(Error::Usage(format!(
            "{url}: expected docker://postgres/TAG/DB (e.g. docker://postgres/15/dev)"
        )));
    }
    Ok(Spec {
        tag: tag.to_string(),
        database: database.to_string(),
    })
}

/// Where testcontainers looks for the engine, for messages.
fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// A running PostgreSQL container; removed when dropped.
pub struct Docker {
    container: Arc<Mutex<Option<Container<GenericImage>>>>,
    ticket: u64,
    server: Server,
}

impl Docker {
    pub fn start(url: &str) -> Result<Docker> {
        let spec = parse(url)?;
        trace("start the container");
        let image = format!("postgres:{}", spec.tag);
        let started = GenericImage::new("postgres", &spec.tag)
            .with_exposed_port(5432.tcp())
            .with_wait_for(WaitFor::Nothing)
            .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
            .with_env_var("POSTGRES_DB", &spec.database)
            .with_cmd([
                "postgres",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "autovacuum=off",
            ])
            .with_startup_timeout(Duration::from_secs(300))
            .start()
            .map_err(|e| {
                Error::Database(format!(
                    "cannot start a {image} container: no Docker engine answered at {} ({e}); start Docker, set DOCKER_HOST, or pass --dev-url postgres://user@host:port/db (no --dev-url: a throwaway local cluster)",
                    docker_host()
                ))
            })?;
        // An early return drops `started`, which removes the container.
        let (host, port) = started
            .get_host()
            .and_then(|host| Ok((host, started.get_host_port_ipv4(5432)?)))
            .map_err(|e| {
                Error::Database(format!("the {image} container has no port for 5432: {e}"))
            })?;
        let mut config = postgres::Config::new();
        config
            .host(&host.to_string())
            .port(port)
            .user("postgres")
            .dbname(&spec.database)
            .connect_timeout(Duration::from_secs(5));
        let server = Server::from_config(config, format!("a {image} container ({host}:{port})"));
        let container = Arc::new(Mutex::new(Some(started)));
        let ticket = {
            let container = container.clone();
            on_interrupt(Box::new(move || {
                let taken = container.lock().unwrap_or_else(|e| e.into_inner()).take();
                drop(taken);
            }))
        };
        // From here on, dropping `docker` removes the container.
        let docker = Docker {
            container,
            ticket,
            server,
        };
        // The image runs initdb, then restarts the server: wait for the
        // one that listens on TCP.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match docker.server.connect(&spec.database) {
                Ok(_) => break,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => {
                    return Err(Error::Database(format!(
                        "the {image} container did not accept connections within 120 s: {e}"
                    )))
                }
            }
        }
        trace("the container accepts connections");
        Ok(docker)
    }

    pub fn server(&self) -> Server {
        self.server.clone()
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let _undoing = super::Undoing::start();
        trace("remove the container");
        let taken = self
            .container
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(taken);
        forget(self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlas_docker_urls() {
        let spec = |tag: &str, db: &str| Spec {
            tag: tag.into(),
            database: db.into(),
        };
        assert_eq!(
            parse("docker://postgres/15/dev").unwrap(),
            spec("15", "dev")
        );
        assert_eq!(
            parse("docker://postgres/15/dev?search_path=public").unwrap(),
            spec("15", "dev")
        );
        assert_eq!(
            parse("docker://postgres/16").unwrap(),
            spec("16", "postgres")
        );
        assert_eq!(
            parse("docker://postgres").unwrap(),
            spec("latest", "postgres")
        );
        assert!(parse("docker://mysql/8/dev").is_err());
        assert!(parse("docker://postgres/15/dev/x").is_err());
        assert!(parse("docker://postgres/15 ;rm/dev").is_err());
    }
}
