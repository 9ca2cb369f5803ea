//! The crash loop: the real server logs donations from concurrent clients (single donations
//! with an `Idempotency-Key`, offline batches with `client_ref`s) while it is killed with
//! SIGKILL at random moments and restarted; clients retry whatever was not acknowledged.
//! Afterwards every acknowledged donation exists exactly once, every retried one landed once,
//! and SQLite's `integrity_check` passes.
//!
//! CI runs the reduced form (5 kills); `CRASH_LOOP_KILLS=20 cargo test --test it crash_loop --
//! --nocapture` runs the full one.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");
const SECRET: &str = "crash-loop-secret-0123456789abcdefghijkl";
const PASSWORD: &str = "crash loop password";

struct Server {
    child: Child,
}

fn start(dir: &Path, db: &Path, port: u16) -> Server {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("HIENMAU_JWT_SECRET", SECRET)
        .env("HIENMAU_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Server { child }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build()
}

/// One attempt: Some((status, body)) when the server answered, None when the connection failed.
fn send(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    key: Option<&str>,
    body: &Value,
) -> Option<(u16, Value)> {
    let mut req = agent
        .post(url)
        .set("Authorization", &format!("Bearer {token}"));
    if let Some(k) = key {
        req = req.set("Idempotency-Key", k);
    }
    match req.send_json(body.clone()) {
        Ok(r) => Some((r.status(), r.into_json().unwrap_or(Value::Null))),
        Err(ureq::Error::Status(s, r)) => Some((s, r.into_json().unwrap_or(Value::Null))),
        Err(_) => None,
    }
}

fn wait_healthy(base: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if agent().get(&format!("{base}/health")).call().is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not come up");
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    deferral_reason: String,
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

/// A tiny deterministic generator (no dependency needed for a few random numbers).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn acknowledged_donations_survive_sigkill_exactly_once() {
    let kills: usize = std::env::var("CRASH_LOOP_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = dir.path().join("crash.db");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");

    // Set-up on a first server: an admin, a drive open today, its event, donors.
    let mut server = start(dir.path(), &db, port);
    wait_healthy(&base);
    let mut create = Command::new(BIN)
        .args(["user", "create", "--username", "admin", "--role", "admin"])
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("HIENMAU_JWT_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(create.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(create.wait().unwrap().success());
    let a = agent();
    let token = a
        .post(&format!("{base}/api/v1/auth/login"))
        .send_json(json!({ "username": "admin", "password": PASSWORD }))
        .unwrap()
        .into_json::<Value>()
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |path: &str, body: Value| -> Value {
        let (s, v) = send(&a, &format!("{base}{path}"), &token, None, &body).unwrap();
        assert_eq!(s, 201, "{path}: {v}");
        v
    };
    let chapter = post("/api/v1/chapters", json!({ "name": "Tỉnh" }))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let drive = post(
        "/api/v1/drives",
        json!({ "name": "Crash", "chapter_id": chapter, "starts_on": "2020-01-01", "ends_on": "2099-12-31" }),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let today = chrono::Utc::now().date_naive();
    let event = post(
        &format!("/api/v1/drives/{drive}/events"),
        json!({ "site": "Nhà văn hóa", "held_on": today.to_string() }),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let per_batch = 5;
    let donors: Vec<String> = (0..20)
        .map(|i| {
            post(
                "/api/v1/donors",
                json!({ "full_name": format!("Người hiến {i}"), "date_of_birth": "1990-01-01",
                        "sex": "male", "weight_kg": 60, "chapter_id": chapter }),
            )["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();

    // The work: deferrals (they set no interval, so a donor may have many), each carrying its
    // op's name as the reason, so exactly-once is checkable per op. Even ops: one record with
    // an Idempotency-Key; odd ops: a batch of five with client refs. Clients run until the
    // killer is done, then a little longer.
    let ops_total = usize::MAX;
    let stop_after = Arc::new(AtomicUsize::new(usize::MAX));
    let at = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let until = (today + chrono::Days::new(30)).to_string();
    let next_op = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let acknowledged: Arc<Mutex<BTreeMap<String, String>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let retried = Arc::new(AtomicUsize::new(0));
    let url_single = format!("{base}/api/v1/events/{event}/donations");
    let url_batch = format!("{base}/api/v1/events/{event}/donations/batch");
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (next_op, done, acknowledged, retried, stop_after) =
                (next_op.clone(), done.clone(), acknowledged.clone(), retried.clone(), stop_after.clone());
            let (url_single, url_batch, token, donors, at, until) =
                (url_single.clone(), url_batch.clone(), token.clone(), donors.clone(), at.clone(), until.clone());
            std::thread::spawn(move || {
                let a = agent();
                loop {
                    let op = next_op.fetch_add(1, Ordering::SeqCst);
                    if op >= ops_total || op >= stop_after.load(Ordering::SeqCst) {
                        break;
                    }
                    let donor = &donors[op % donors.len()];
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        let answered = if op % 2 == 0 {
                            let body = json!({ "donor_id": donor, "component": "whole_blood",
                                               "outcome": "deferred", "deferral_reason": format!("op-{op}"),
                                               "deferred_until": until, "donated_at": at });
                            send(&a, &url_single, &token, Some(&format!("op-{op}")), &body).map(|(s, v)| {
                                assert!(s == 201, "op {op}: {s} {v}");
                                vec![(format!("op-{op}"), v["id"].as_str().unwrap().to_owned())]
                            })
                        } else {
                            let items: Vec<Value> = (0..per_batch)
                                .map(|i| json!({ "client_ref": format!("op-{op}-{i}"), "donor_id": donor,
                                                 "component": "whole_blood", "outcome": "deferred",
                                                 "deferral_reason": format!("op-{op}-{i}"),
                                                 "deferred_until": until, "donated_at": at }))
                                .collect();
                            send(&a, &url_batch, &token, None, &json!({ "items": items })).map(|(s, v)| {
                                assert_eq!(s, 200, "op {op}: {v}");
                                v["results"]
                                    .as_array()
                                    .unwrap()
                                    .iter()
                                    .map(|r| {
                                        assert!(
                                            r["status"] == 201 || r["status"] == 200,
                                            "op {op}: {r}"
                                        );
                                        (
                                            r["client_ref"].as_str().unwrap().to_owned(),
                                            r["donation"]["id"].as_str().unwrap().to_owned(),
                                        )
                                    })
                                    .collect()
                            })
                        };
                        match answered {
                            Some(acks) => {
                                if attempts > 1 {
                                    retried.fetch_add(1, Ordering::SeqCst);
                                }
                                let mut map = acknowledged.lock().unwrap();
                                for (k, id) in acks {
                                    map.insert(k, id);
                                }
                                break;
                            }
                            None => std::thread::sleep(Duration::from_millis(30)),
                        }
                    }
                }
                done.store(true, Ordering::SeqCst);
            })
        })
        .collect();

    // The killer: SIGKILL at random moments, restart at once.
    let mut rng = Lcg(0x5eed);
    let mut killed = 0;
    let mut recoveries = Vec::new();
    while killed < kills {
        std::thread::sleep(Duration::from_millis(100 + rng.next(400)));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        killed += 1;
        let restarted = Instant::now();
        server = start(dir.path(), &db, port);
        wait_healthy(&base);
        recoveries.push(restarted.elapsed());
    }
    stop_after.store(next_op.load(Ordering::SeqCst) + 20, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let ops_done = next_op
        .load(Ordering::SeqCst)
        .min(stop_after.load(Ordering::SeqCst));
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    // The verdict, read from the database file itself.
    let mut conn = SqliteConnection::establish(&db.display().to_string()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
    let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    assert_eq!(check.len(), 1);
    assert_eq!(check[0].integrity_check, "ok");
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT id, deferral_reason FROM donations WHERE voided = 0 AND outcome = 'deferred'",
    )
    .load(&mut conn)
    .unwrap();
    let mut per_op: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *per_op.entry(r.deferral_reason.as_str()).or_default() += 1;
    }
    let duplicated = per_op.values().filter(|n| **n > 1).count();
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let acknowledged = acknowledged.lock().unwrap();
    let lost = acknowledged
        .values()
        .filter(|id| !ids.contains(id.as_str()))
        .count();
    let expected_rows = (0..ops_done)
        .map(|op| if op % 2 == 0 { 1 } else { per_batch })
        .sum::<usize>();
    eprintln!(
        "crash loop: {killed} kills survived, {} acknowledged writes checked, {} retried ops, lost {lost}, duplicated {duplicated}, recovery {:?}",
        acknowledged.len(),
        retried.load(Ordering::SeqCst),
        recoveries.iter().max()
    );
    assert!(done.load(Ordering::SeqCst));
    assert_eq!(killed, kills, "the work ended before every kill");
    assert_eq!(lost, 0, "acknowledged donations lost");
    assert_eq!(duplicated, 0, "donations recorded twice");
    assert_eq!(acknowledged.len(), expected_rows, "every op acknowledged");
    assert_eq!(
        rows.len(),
        expected_rows,
        "exactly one donation per op item"
    );
}
