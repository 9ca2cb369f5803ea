//! The real `hienmau` process: zero set-up start on SQLite, start on PostgreSQL, and readiness
//! while its PostgreSQL goes away and comes back (on a throwaway cluster of the test's own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hienmau_tests::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");
const SECRET: &str = "operations-test-secret-0123456789abcdef";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `hienmau serve` child, killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log = dir.join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("HIENMAU_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start hienmau");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_for("/health", 200, Duration::from_secs(30));
        server
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .build();
        match agent.get(&format!("{}{}", self.base, path)).call() {
            Ok(r) => Some((r.status(), r.into_string().unwrap_or_default())),
            Err(ureq::Error::Status(s, r)) => Some((s, r.into_string().unwrap_or_default())),
            Err(_) => None,
        }
    }

    fn wait_for(&self, path: &str, status: u16, within: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.get(path).map(|(s, _)| s) == Some(status) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "{path} did not answer {status} within {within:?}; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_in_an_empty_folder_creates_its_database_and_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (status, body) = server.get("/health").unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    assert_eq!(server.get("/ready").unwrap().0, 200);
    let (status, doc) = server.get("/api/v1/openapi.json").unwrap();
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/auth/login"]["post"].is_object());
    let (status, html) = server.get("/docs").unwrap();
    assert_eq!(status, 200);
    assert!(html.contains("swagger-ui"));
    assert!(dir.path().join("data/hienmau.db").exists());
    let secret = dir.path().join("data/hienmau.db.jwt-secret");
    let meta = std::fs::metadata(&secret).expect("generated secret");
    assert!(meta.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    // A second start reuses the secret.
    let first = std::fs::read(&secret).unwrap();
    drop(server);
    let _again = Server::start(dir.path(), &[]);
    assert_eq!(std::fs::read(&secret).unwrap(), first);
}

#[test]
fn a_short_or_missing_secret_on_postgres_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for env in [
        vec![("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
        vec![
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
            ("HIENMAU_JWT_SECRET", "too-short"),
        ],
    ] {
        let out = Command::new(BIN)
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("HIENMAU_JWT_SECRET"), "stderr: {err}");
    }
}

#[test]
fn serve_migrates_a_fresh_postgres_database() {
    let Some(db) = TestDatabase::postgres() else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[("DATABASE_URL", &db.url), ("HIENMAU_JWT_SECRET", SECRET)],
    );
    server.wait_for("/ready", 200, Duration::from_secs(20));
    // The schema is there: the pool of a second connection sees the migrated tables.
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    assert!(
        hienmau_db::repo::users::find_by_username(&mut conn, "nobody")
            .unwrap()
            .is_none()
    );
    drop(server);
}

/// A PostgreSQL cluster in a temporary folder on a free port, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    bindir: PathBuf,
}

fn pg_bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.join("initdb").exists() {
            return p;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .filter(|p| p.join("initdb").exists())
        .expect("PostgreSQL server binaries (initdb, pg_ctl)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Cluster {
    /// PostgreSQL refuses to run as root: as root, the cluster runs as `postgres`.
    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bindir.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().expect(tool);
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let cluster = Cluster {
            port: free_port(),
            bindir: pg_bindir(),
            dir,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        cluster.start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("pg.log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        );
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bindir.join("pg_ctl");
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(exe)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        } else {
            Command::new(exe)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        };
    }
}

/// The database stops under a running server: /ready answers 503 within 3 s while /health
/// stays 200; it comes back: /ready recovers without restarting hienmau. Runs where PostgreSQL
/// is part of the test set-up (`TEST_DATABASE_URL` set, as in CI).
#[test]
fn ready_follows_a_postgres_that_stops_and_comes_back() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped");
        return;
    }
    let cluster = Cluster::new();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("DATABASE_URL", &cluster.url()),
            ("HIENMAU_JWT_SECRET", SECRET),
        ],
    );
    server.wait_for("/ready", 200, Duration::from_secs(20));

    cluster.stop();
    let asked = Instant::now();
    let (status, body) = server
        .get("/ready")
        .expect("an answer while the database is down");
    let took = asked.elapsed();
    assert_eq!(status, 503, "body: {body}");
    assert!(body.contains("\"code\":\"unavailable\""), "body: {body}");
    assert!(took < Duration::from_secs(3), "/ready took {took:?}");
    assert_eq!(server.get("/health").unwrap().0, 200);

    cluster.start();
    let recovered = server.wait_for("/ready", 200, Duration::from_secs(15));
    eprintln!("/ready answered 503 in {took:?}; recovered {recovered:?} after the restart");
}
