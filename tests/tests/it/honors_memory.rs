//! A support tool, not a regular test (`#[ignore]`): streams a CSV of 100,000 donors due an
//! honor from a real `hienmau serve` process and measures how much the server's resident
//! memory grows (VmRSS sampled from `/proc/<pid>/status` while the download runs, and the
//! peak VmHWM). Run it with
//!
//! ```text
//! cargo test -p hienmau-tests --test it honors_memory -- --ignored --nocapture
//! ```
//!
//! (with `TEST_DATABASE_URL` set it measures PostgreSQL too). It asserts the growth stays
//! under 50 MB and prints the numbers.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::honors_support::{day, donor_row, insert_donation, insert_drive, insert_event, At};
use hienmau_db::repo;
use hienmau_tests::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");
const SECRET: &str = "memory-test-secret-0123456789abcdef012345";
const ROWS: usize = 100_000;

fn status_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn measure(db: &TestDatabase) {
    // The data: 100,000 donors due a tier (paper-era counts), a fifth with a recorded donation.
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let started = Instant::now();
    hienmau_db::write_tx::<_, hienmau_db::DbError, _>(&mut conn, |c| {
        let chapter = repo::chapters::insert(c, &hienmau_db::new_id(), "Lào Cai", None)?;
        let drive = insert_drive(c, &chapter.id, "Hành trình đỏ", "2024-01-01", "2024-12-31");
        let event = insert_event(c, &drive, "2024-06-01");
        for n in 0..ROWS {
            let mut row = donor_row(&format!("Nguyễn Thị Hồng {n:06}"), 5 + (n % 30) as i32);
            row.phone = Some(format!("09{:08}", n));
            row.commune = Some("Phường Cốc Lếu".to_owned());
            repo::donors::insert_row(c, &row)?;
            if n % 5 == 0 {
                insert_donation(
                    c,
                    &row.id,
                    At::Event(&event, &drive, &chapter.id),
                    day("2024-06-01"),
                    "collected",
                    false,
                );
            }
        }
        Ok(())
    })
    .unwrap();
    drop(conn);
    eprintln!(
        "[{:?}] {ROWS} donors loaded in {:?}",
        db.backend,
        started.elapsed()
    );

    let dir = tempfile::tempdir().unwrap();
    let mut settings = hienmau_tests::test_settings(&db.url);
    settings.jwt_secret = Some(SECRET.to_owned());
    let state = hienmau_api::http::startup::build_state(settings).unwrap();
    hienmau_api::http::startup::migrate(&state).unwrap();
    hienmau_api::cli::create_user(
        &state,
        hienmau_api::app::org::NewAccount {
            username: "honors".to_owned(),
            password: hienmau_tests::PASSWORD.to_owned(),
            role: hienmau_api::http::auth::Role::Honors,
            chapter_id: None,
            hospital_id: None,
        },
    )
    .unwrap();
    drop(state);

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", &db.url)
        .env("HIENMAU_JWT_SECRET", SECRET)
        .env("HIENMAU_AUDIT_KEY", hienmau_tests::AUDIT_KEY)
        .env("HIENMAU_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(600))
        .build();
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent.get(&format!("{base}/health")).call().is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let login: serde_json::Value = agent
        .post(&format!("{base}/api/v1/auth/login"))
        .send_json(serde_json::json!({ "username": "honors", "password": hienmau_tests::PASSWORD }))
        .unwrap()
        .into_json()
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    // Warm up: a JSON page (workers, pool, statement caches).
    agent
        .get(&format!(
            "{base}/api/v1/honors/eligible?as_of=2024-12-31&limit=500"
        ))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = status_kb(pid, "VmRSS:");

    // Sample the server's RSS while the download runs.
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(status_kb(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let started = Instant::now();
    let resp = agent
        .get(&format!("{base}/api/v1/honors/eligible?as_of=2024-12-31"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Accept", "text/csv")
        .call()
        .unwrap();
    assert_eq!(resp.header("content-type"), Some("text/csv; charset=utf-8"));
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 64 * 1024];
    let (mut bytes, mut lines) = (0u64, 0u64);
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        bytes += n as u64;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    let hwm = status_kb(pid, "VmHWM:");
    let after = status_kb(pid, "VmRSS:");
    assert_eq!(lines, ROWS as u64 + 1, "header + one line per donor");
    let growth_mb = (peak.saturating_sub(before)) as f64 / 1024.0;
    eprintln!(
        "[{:?}] CSV of {ROWS} rows, {:.1} MB in {elapsed:?}: server VmRSS before {:.1} MB, \
         peak during {:.1} MB, after {:.1} MB, VmHWM {:.1} MB; growth {growth_mb:.1} MB",
        db.backend,
        bytes as f64 / 1_048_576.0,
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0,
        hwm as f64 / 1024.0,
    );
    assert!(growth_mb < 50.0, "the server grew by {growth_mb:.1} MB");
}

#[test]
#[ignore = "support tool: builds 100,000 donors and measures the server's memory"]
fn a_100k_row_csv_streams_with_flat_memory() {
    for db in TestDatabase::all() {
        measure(&db);
    }
}
