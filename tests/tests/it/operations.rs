//! The real `hienmau` process: zero set-up start on SQLite, start on PostgreSQL, and readiness
//! while its PostgreSQL goes away and comes back (on a throwaway cluster of the test's own).

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
        &[
            ("DATABASE_URL", &db.url),
            ("HIENMAU_JWT_SECRET", SECRET),
            ("HIENMAU_AUDIT_KEY", hienmau_tests::AUDIT_KEY),
        ],
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
            ("HIENMAU_AUDIT_KEY", hienmau_tests::AUDIT_KEY),
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

/// Under load, the database stops and comes back: while it is down requests answer 503
/// `unavailable` with `Retry-After` (never 500), the service recovers by itself within 5 s of
/// the database's return, and every acknowledged donation is there exactly once.
#[test]
fn logging_survives_a_postgres_restart_under_load() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped");
        return;
    }
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let cluster = Cluster::new();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("DATABASE_URL", &cluster.url()),
            ("HIENMAU_JWT_SECRET", SECRET),
            ("HIENMAU_AUDIT_KEY", hienmau_tests::AUDIT_KEY),
        ],
    );
    server.wait_for("/ready", 200, Duration::from_secs(20));
    let mut create = Command::new(BIN)
        .args(["user", "create", "--username", "admin", "--role", "admin"])
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", cluster.url())
        .env("HIENMAU_JWT_SECRET", SECRET)
        .env("HIENMAU_AUDIT_KEY", hienmau_tests::AUDIT_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(create.stdin.take().unwrap(), "restart test password").unwrap();
    }
    assert!(create.wait().unwrap().success());
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let token = agent
        .post(&format!("{}/api/v1/auth/login", server.base))
        .send_json(json!({ "username": "admin", "password": "restart test password" }))
        .unwrap()
        .into_json::<Value>()
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |path: &str, body: Value| -> Value {
        agent
            .post(&format!("{}{path}", server.base))
            .set("Authorization", &format!("Bearer {token}"))
            .send_json(body)
            .unwrap()
            .into_json()
            .unwrap()
    };
    let chapter = post("/api/v1/chapters", json!({ "name": "Tỉnh" }))["id"].clone();
    let drive = post(
        "/api/v1/drives",
        json!({ "name": "Restart", "chapter_id": chapter, "starts_on": "2020-01-01", "ends_on": "2099-12-31" }),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let today = chrono::Utc::now().date_naive();
    let event = post(
        &format!("/api/v1/drives/{drive}/events"),
        json!({ "site": "Trạm", "held_on": today.to_string() }),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let donor = post(
        "/api/v1/donors",
        json!({ "full_name": "Lò Văn Páo", "date_of_birth": "1990-01-01", "sex": "male",
                "chapter_id": chapter }),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Two clients log deferrals (no interval: many per donor), each op under its own key,
    // retrying until acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, usize>::new()));
    let at = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let until = (today + chrono::Days::new(30)).to_string();
    let url = format!("{}/api/v1/events/{event}/donations", server.base);
    let clients: Vec<_> = (0..2)
        .map(|c| {
            let (stop, acknowledged, statuses) = (stop.clone(), acknowledged.clone(), statuses.clone());
            let (url, token, donor, at, until) =
                (url.clone(), token.clone(), donor.clone(), at.clone(), until.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(20)).build();
                let mut op = 0;
                while !stop.load(Ordering::SeqCst) {
                    op += 1;
                    let key = format!("c{c}-op{op}");
                    let body = json!({ "donor_id": donor, "component": "whole_blood", "outcome": "deferred",
                                       "deferral_reason": key, "deferred_until": until, "donated_at": at });
                    loop {
                        let r = agent
                            .post(&url)
                            .set("Authorization", &format!("Bearer {token}"))
                            .set("Idempotency-Key", &key)
                            .send_json(body.clone());
                        let (status, retry_after, v) = match r {
                            Ok(r) => (r.status(), None, r.into_json::<Value>().unwrap_or(Value::Null)),
                            Err(ureq::Error::Status(s, r)) => {
                                let ra = r.header("retry-after").map(str::to_owned);
                                (s, ra, r.into_json::<Value>().unwrap_or(Value::Null))
                            }
                            Err(e) => panic!("the server stopped answering: {e}"),
                        };
                        *statuses.lock().unwrap().entry(status).or_default() += 1;
                        match status {
                            201 => {
                                acknowledged.lock().unwrap().push((key.clone(), v["id"].as_str().unwrap().to_owned()));
                                break;
                            }
                            503 => {
                                assert_eq!(v["code"], "unavailable");
                                assert!(retry_after.is_some(), "503 without Retry-After");
                                std::thread::sleep(Duration::from_millis(100));
                            }
                            other => panic!("unexpected {other}: {v}"),
                        }
                    }
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(800));
    cluster.stop();
    std::thread::sleep(Duration::from_secs(3));
    let (status, _) = server.get("/ready").unwrap();
    assert_eq!(status, 503);
    cluster.start();
    let back = Instant::now();
    let recovered = server.wait_for("/ready", 200, Duration::from_secs(5));
    let before = acknowledged.lock().unwrap().len();
    // Logging goes on after the return.
    let deadline = Instant::now() + Duration::from_secs(5);
    while acknowledged.lock().unwrap().len() < before + 10 {
        assert!(Instant::now() < deadline, "logging did not resume");
        std::thread::sleep(Duration::from_millis(50));
    }
    let resumed = back.elapsed();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }

    // Every acknowledged record is there, once.
    let acked = acknowledged.lock().unwrap().clone();
    let mut conn = diesel::PgConnection::establish(&cluster.url()).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        deferral_reason: String,
    }
    use diesel::{Connection, RunQueryDsl};
    let rows: Vec<Row> = diesel::sql_query("SELECT id, deferral_reason FROM donations")
        .load(&mut conn)
        .unwrap();
    let mut per_key = std::collections::HashMap::<&str, usize>::new();
    for r in &rows {
        *per_key.entry(r.deferral_reason.as_str()).or_default() += 1;
    }
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let lost = acked
        .iter()
        .filter(|(_, id)| !ids.contains(id.as_str()))
        .count();
    let duplicated = per_key.values().filter(|n| **n > 1).count();
    eprintln!(
        "database restart: {} acknowledged, lost {lost}, duplicated {duplicated}, statuses {:?}, /ready back after {recovered:?}, logging resumed after {resumed:?}",
        acked.len(),
        statuses.lock().unwrap()
    );
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0);
    assert!(
        statuses.lock().unwrap().get(&503).copied().unwrap_or(0) > 0,
        "no request saw the outage"
    );
    assert!(recovered < Duration::from_secs(5));
}
