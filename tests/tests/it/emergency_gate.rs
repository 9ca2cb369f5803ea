//! The emergency path cannot be starved: candidate searches have a gate of their own, and an
//! honors export holds the heavy gate only while it reads the database into an unnamed 0600
//! spool file, never while its client is slow; a download that makes no progress is ended after
//! the send timeout.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::emergency_support::{hospital_user, request_id, reserve_donor};
use crate::honors_support::{donor_row, eligible_all, with_tx};
use hienmau_api::settings::AbuseConfig;
use hienmau_db::repo;
use hienmau_tests::{test_settings, TestApp, TestDatabase};
use serde_json::json;

/// Donors due an honor, with long names and communes: about 18 MB of CSV, far more than what
/// the kernel (about 4 MB here) and the old in-memory pipeline (a few chunks of 1,000 rows)
/// buffer for a client that stops reading, so that before spooling the export still held its
/// turn while stalled.
const DUE: usize = 15_000;

/// The send timeout of these tests.
const SEND_TIMEOUT: Duration = Duration::from_secs(8);

/// One turn at a time on each gate, a short wait for it (503 after), no busy share.
fn one_turn_each(db: TestDatabase, spool: Option<&Path>) -> TestApp {
    let mut settings = test_settings(&db.url);
    settings.abuse = AbuseConfig {
        expensive_concurrency: 1,
        expensive_wait_ms: 1_000,
        expensive_busy_percent: 100,
        candidates_concurrency: 1,
        candidates_wait_ms: 1_000,
        export_send_timeout_ms: u64::try_from(SEND_TIMEOUT.as_millis()).unwrap(),
        export_spool_dir: spool.map(Path::to_path_buf),
        ..settings.abuse.clone()
    };
    TestApp::with_settings(db, settings)
}

/// Runs `body` on SQLite, spooling to the database's folder (the default).
fn on_sqlite(body: fn(&TestApp)) {
    body(&one_turn_each(TestDatabase::sqlite(), None));
}

/// Runs `body` on PostgreSQL (with `TEST_DATABASE_URL`), spooling to a configured folder.
fn on_postgres(body: fn(&TestApp)) {
    match TestDatabase::postgres() {
        Some(db) => {
            let spool = tempfile::tempdir().unwrap();
            body(&one_turn_each(db, Some(spool.path())));
        }
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}

/// A hospital user and an open request with a compatible reserve donor; (token, request).
fn emergency(app: &TestApp) -> (String, String) {
    let (_, hospital) = hospital_user(app, "bv_tinh");
    reserve_donor(app, "Trần Thị Dự Bị", "O+", json!({}));
    let request = request_id(app, &hospital, json!({}));
    (hospital, request)
}

fn candidates(app: &TestApp, token: &str, request: &str) -> hienmau_tests::Resp {
    app.get(
        &format!("/api/v1/emergency-requests/{request}/candidates"),
        token,
    )
}

fn export(app: &TestApp, token: &str) -> hienmau_tests::Resp {
    app.call_with(
        "GET",
        "/api/v1/honors/eligible",
        Some(token),
        None,
        &[("accept", "text/csv")],
    )
}

/// A CSV export read to its end, however long (the harness stops reading at 10 MB): (its
/// Content-Length, the body).
fn download(app: &TestApp, token: &str) -> (Option<u64>, String) {
    let answer = ureq::get(&format!("{}/api/v1/honors/eligible", app.base))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Accept", "text/csv")
        .timeout(Duration::from_secs(120))
        .call()
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let length = answer.header("content-length").map(|l| l.parse().unwrap());
    let mut body = String::new();
    answer.into_reader().read_to_string(&mut body).unwrap();
    (length, body)
}

const REPORT: &str = "/api/v1/reports/annual?year=2024";

/// Inserts `DUE` donors due an honor; donor id → full name.
fn seed_due(app: &TestApp) -> HashMap<String, String> {
    with_tx(app, |c| {
        (0..DUE)
            .map(|n| {
                let name = format!("Nguyễn Thị Hồng {n:05}{}", " Phượng".repeat(60));
                let mut row = donor_row(&name, 5 + (n % 30) as i32);
                row.phone = Some(format!("09{n:08}"));
                row.commune = Some("Phường Cốc Lếu ".repeat(30));
                repo::donors::insert_row(c, &row).unwrap();
                (row.id, name)
            })
            .collect()
    })
}

/// Sends a CSV export request on a socket of its own and reads only the answer's head, then
/// never reads again.
fn stalled_export(app: &TestApp, token: &str) -> (TcpStream, String) {
    let addr = app.base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).unwrap();
    write!(
        socket,
        "GET /api/v1/honors/eligible HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nAccept: text/csv\r\n\r\n"
    )
    .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(socket.read(&mut byte).unwrap(), 1, "head cut short");
        head.push(byte[0]);
    }
    (socket, String::from_utf8(head).unwrap())
}

/// An open spool file: (its /proc/self/fd entry, inode, size, permission bits).
type SpoolFile = (PathBuf, u64, u64, u32);

/// The files this process holds open in `dir` that have no name (unlinked or O_TMPFILE).
fn spool_files(dir: &Path) -> Vec<SpoolFile> {
    let dir = dir.canonicalize().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let unnamed = target.to_string_lossy().ends_with(" (deleted)");
        if unnamed && target.parent() == Some(dir.as_path()) {
            if let Ok(meta) = std::fs::metadata(entry.path()) {
                found.push((entry.path(), meta.ino(), meta.len(), meta.mode() & 0o777));
            }
        }
    }
    found
}

fn still_open(file: &SpoolFile) -> bool {
    std::fs::metadata(&file.0).is_ok_and(|m| m.ino() == file.1)
}

/// The first two cells of each CSV line after the header (quotes, if any, taken off).
fn ids_and_names(csv: &str) -> Vec<(String, String)> {
    let unquote = |c: &str| c.trim_matches('"').to_owned();
    csv.trim_start_matches('\u{feff}')
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut cells = l.split(',');
            let id = unquote(cells.next().unwrap());
            (id, unquote(cells.next().unwrap()))
        })
        .collect()
}

fn run_stalled_export(app: &TestApp) {
    let names = seed_due(app);
    let (_, honors) = app.user("honors.one", "honors", None, None);
    let (hospital, request) = emergency(app);

    let sent = Instant::now();
    let (mut stalled, head) = stalled_export(app, &honors);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // While that client reads nothing, a hospital's lookup is answered at once (a turn waited
    // for would answer 503 after the 1 s wait)...
    let asked = Instant::now();
    let found = candidates(app, &hospital, &request);
    found.expect(200);
    assert_eq!(found.json()["items"].as_array().unwrap().len(), 1);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    // ...and so is a report: the export gave the heavy turn back once its rows were read.
    app.get(REPORT, &honors).expect(200);

    // The stalled export is held in one unnamed 0600 file in the spool folder.
    let spool_dir = app.state.spool_dir.to_path_buf();
    if let Some(db) = app.db.url.strip_prefix("sqlite://") {
        assert_eq!(Some(spool_dir.as_path()), Path::new(db).parent());
    }
    let files = spool_files(&spool_dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files[0].clone();
    assert_eq!(file.3, 0o600, "mode {:o}", file.3);
    assert!(file.2 > 16 << 20, "only {} bytes spooled", file.2);
    assert!(
        still_open(&file),
        "the stalled export ended before the checks"
    );

    // A client that reads gets the whole export, as long as the spool file.
    let (length, csv) = download(app, &honors);
    assert_eq!(csv.len() as u64, file.2);
    assert_eq!(length, Some(file.2));
    let rows = ids_and_names(&csv);
    let listed: Vec<String> = eligible_all(app, &honors, "", 500)
        .iter()
        .map(|i| i["donor_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), DUE);
    assert_eq!(
        rows.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        listed
    );
    for (id, name) in &rows {
        assert_eq!(Some(name), names.get(id), "{id}");
    }

    // The stalled download ends once it has made no progress for the send timeout: its file is
    // closed and its client gets a cut answer.
    let deadline = Instant::now() + SEND_TIMEOUT + Duration::from_secs(60);
    while still_open(&file) {
        assert!(
            Instant::now() < deadline,
            "the stalled export was never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        sent.elapsed() >= SEND_TIMEOUT,
        "ended after {:?}",
        sent.elapsed()
    );
    let mut body = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stalled.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body += n as u64,
        }
    }
    assert!(body < file.2, "the whole export arrived ({body} bytes)");
    assert!(spool_files(&spool_dir).is_empty());
    // The emergency path and the heavy gate are still free.
    candidates(app, &hospital, &request).expect(200);
    app.get(REPORT, &honors).expect(200);
}

#[test]
fn a_stalled_export_does_not_delay_candidates_sqlite() {
    on_sqlite(run_stalled_export);
}

#[test]
fn a_stalled_export_does_not_delay_candidates_postgres() {
    on_postgres(run_stalled_export);
}

fn run_gates_apart(app: &TestApp) {
    let (_, honors) = app.user("honors.one", "honors", None, None);
    let (hospital, request) = emergency(app);
    let rt = actix_web::rt::System::new();

    // Heavy work holds its only turn: reports, lists and exports answer 503; candidates do not
    // wait.
    let heavy = rt.block_on(app.state.gate.enter()).unwrap();
    app.get(REPORT, &honors).expect_problem(503, "unavailable");
    export(app, &honors).expect_problem(503, "unavailable");
    app.get("/api/v1/honors/eligible", &honors)
        .expect_problem(503, "unavailable");
    candidates(app, &hospital, &request).expect(200);
    drop(heavy);

    // Lookups hold theirs: the next lookup answers 503; heavy work is not in that lane.
    let lookup = rt.block_on(app.state.candidates_gate.enter()).unwrap();
    candidates(app, &hospital, &request).expect_problem(503, "unavailable");
    app.get(REPORT, &honors).expect(200);
    assert_eq!(export(app, &honors).status, 200);
    drop(lookup);
    candidates(app, &hospital, &request).expect(200);
}

#[test]
fn candidates_and_heavy_work_have_gates_apart_sqlite() {
    on_sqlite(run_gates_apart);
}

#[test]
fn candidates_and_heavy_work_have_gates_apart_postgres() {
    on_postgres(run_gates_apart);
}
