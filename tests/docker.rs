//! `migguard parity --dev-url docker://postgres/15/dev` through
//! testcontainers. No Docker engine runs here, so the test plays one: a
//! small HTTP server speaking the part of the Docker Engine API that
//! testcontainers uses (create, start, inspect, remove), whose "container"
//! is a real throwaway PostgreSQL cluster (from the local binaries) reached
//! through a TCP port. migguard cannot tell the difference: it asks the
//! engine for a `postgres:15` container, connects to the port the engine
//! reports, runs parity there, and removes the container.
#![cfg(feature = "docker")]

mod common;

use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{findings, view_repo, GitRepo};

/// Forwards every TCP connection on a fresh port to the cluster's socket.
fn tcp_proxy(socket: std::path::PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = UnixStream::connect(&socket) else {
                continue;
            };
            let (mut c1, mut s1) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut c2, mut s2) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut s1);
                let _ = s1.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

/// One request: "METHOD PATH" and its body.
type Log = Arc<Mutex<Vec<(String, String)>>>;

/// A fake engine on a TCP port; its request log.
fn fake_engine(pg_port: u16) -> (u16, Log) {
    let log: Log = Arc::default();
    let shared = log.clone();
    let port = common::fake_http::start(move |r| {
        // Drop the API version prefix (/v1.47/...).
        let path = match r.path.strip_prefix("/v1.") {
            Some(rest) => &rest[rest.find('/').unwrap_or(0)..],
            None => r.path.as_str(),
        };
        shared
            .lock()
            .unwrap()
            .push((format!("{} {path}", r.method), r.body.clone()));
        let (status, body) = match (r.method.as_str(), path) {
            ("POST", "/containers/create") => (
                "201 Created",
                r#"{"Id":"fake-pg","Warnings":[]}"#.to_string(),
            ),
            ("POST", "/containers/fake-pg/start") => ("204 No Content", String::new()),
            ("GET", "/containers/fake-pg/json") => (
                "200 OK",
                format!(
                    r#"{{"Id":"fake-pg","State":{{"Status":"running","Running":true}},"NetworkSettings":{{"Ports":{{"5432/tcp":[{{"HostIp":"0.0.0.0","HostPort":"{pg_port}"}}]}}}}}}"#
                ),
            ),
            ("DELETE", "/containers/fake-pg") => ("204 No Content", String::new()),
            _ => ("404 Not Found", r#"{"message":"not found"}"#.to_string()),
        };
        (status.to_string(), body)
    });
    (port, log)
}

#[test]
fn docker_dev_urls_start_a_container_judge_on_it_and_remove_it() {
    if migguard::find_binaries().is_none() {
        common::say("skipped: no PostgreSQL binaries to play the container with");
        return;
    }
    let cluster = migguard::Cluster::start().unwrap();
    cluster
        .server()
        .connect("postgres")
        .unwrap()
        .batch_execute("CREATE DATABASE dev")
        .unwrap();
    let pg_port = tcp_proxy(cluster.socket_dir().join(".s.PGSQL.5432"));
    let (engine, log) = fake_engine(pg_port);

    // views.sql casts a column: PostgreSQL sees other column types.
    let g = view_repo(
        "CREATE VIEW \"customer_names\" AS SELECT \"id\", \"name\"::varchar AS \"name\" FROM \"customers\" WHERE (\"deleted_at\" IS NULL);\n",
    );
    let out = g
        .migguard()
        .args([
            "parity",
            "--format",
            "json",
            "--dev-url",
            "docker://postgres/15/dev",
        ])
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{engine}"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let requests = log.lock().unwrap().clone();
    assert_eq!(out.status.code(), Some(1), "{err}\n{requests:?}");
    let f = findings(&out);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "view-parity");
    assert!(f[0].3.contains("other columns"), "{f:?}");

    let create = requests
        .iter()
        .find(|(r, _)| r == "POST /containers/create")
        .unwrap_or_else(|| panic!("{requests:?}"));
    for wanted in [
        "\"Image\":\"postgres:15\"",
        "POSTGRES_DB=dev",
        "POSTGRES_HOST_AUTH_METHOD=trust",
        "fsync=off",
    ] {
        assert!(create.1.contains(wanted), "{wanted} not in {}", create.1);
    }
    let order: Vec<&str> = requests.iter().map(|(r, _)| r.as_str()).collect();
    let at = |r: &str| order.iter().position(|x| *x == r);
    assert!(
        at("POST /containers/create") < at("POST /containers/fake-pg/start")
            && at("POST /containers/fake-pg/start").is_some(),
        "{order:?}"
    );
    assert_eq!(
        order.last(),
        Some(&"DELETE /containers/fake-pg"),
        "the container was not removed last: {order:?}"
    );
    // migguard's scratch databases are gone (the cluster's own empty
    // migguard_N ones stay); "dev" was never written to.
    let mut admin = cluster.server().connect("postgres").unwrap();
    let left: Vec<String> = admin
        .query("SELECT datname::text FROM pg_database WHERE datname LIKE 'migguard%' AND datname !~ '^migguard_[0-9]+$'", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let tables: i64 = cluster
        .server()
        .connect("dev")
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

#[test]
fn docker_dev_urls_without_an_engine_are_exit_2() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: db\n  format: golang-migrate\nviews:\n  generated: views.sql\n",
    );
    g.write("db/1_a.up.sql", "SELECT 1;\n");
    g.write("views.sql", "\n");
    let out = g
        .migguard()
        .args(["parity", "--dev-url", "docker://postgres/15/dev"])
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no Docker engine answered at tcp://127.0.0.1:1")
            && err.contains("--dev-url postgres://"),
        "{err}"
    );
    let out = g
        .migguard()
        .args(["parity", "--dev-url", "docker://mysql/8/dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("parity needs PostgreSQL"));
}

#[test]
fn an_interrupted_docker_run_removes_its_container_and_scratch_databases() {
    if migguard::find_binaries().is_none() {
        common::say("skipped: no PostgreSQL binaries to play the container with");
        return;
    }
    let cluster = migguard::Cluster::start().unwrap();
    let pg_port = tcp_proxy(cluster.socket_dir().join(".s.PGSQL.5432"));
    let (engine, log) = fake_engine(pg_port);
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: db\n  format: golang-migrate\nviews:\n  generated: views.sql\n",
    );
    g.write("db/1_slow.up.sql", "SELECT pg_sleep(20);\n");
    g.write("views.sql", "\n");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("migguard"))
        .args(["parity", "--dev-url", "docker://postgres/15/postgres"])
        .current_dir(g.repo.path())
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{engine}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut admin = cluster.server().connect("postgres").unwrap();
    let scratch = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_one(
                "SELECT count(*) FROM pg_database WHERE datname LIKE 'migguard%' AND datname !~ '^migguard_[0-9]+$'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    // Wait until both scratch databases exist and the slow migration runs.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scratch(&mut admin) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(scratch(&mut admin), 2, "{:?}", log.lock().unwrap());
    std::thread::sleep(Duration::from_secs(1));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let order: Vec<String> = log.lock().unwrap().iter().map(|(r, _)| r.clone()).collect();
    assert!(
        order.iter().any(|r| r == "DELETE /containers/fake-pg"),
        "the container was not removed: {order:?}"
    );
    assert_eq!(scratch(&mut admin), 0, "scratch databases were left behind");
}
