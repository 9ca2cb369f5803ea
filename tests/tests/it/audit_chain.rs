//! The audit log is hash-chained: `hienmau audit verify` passes on a real log and fails,
//! naming the entry, on a changed, a deleted and a reordered entry. (The key: audit_keyed.rs.)

use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;
use hienmau_db::DbConn;
use hienmau_tests::{backend_tests, TestApp};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");

/// Runs `hienmau audit verify` on the app's database: (success, output).
fn verify(app: &TestApp) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["audit", "verify"])
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env(
            "HIENMAU_JWT_SECRET",
            "audit-test-secret-0123456789abcdefghijkl",
        )
        .env("HIENMAU_AUDIT_KEY", hienmau_tests::AUDIT_KEY)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Some real activity: sign-ins (good and bad), users, chapters.
fn activity(app: &TestApp) {
    let chapter = app.chapter("Tỉnh", None);
    app.user("coord", "coordinator", Some(&chapter), None);
    let _ = app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({ "username": "coord", "password": "wrong password!!" })),
    );
    app.hospital("Bệnh viện");
}

/// Lifts the append-only guard, as an attacker with database access would.
fn unguard(conn: &mut DbConn) {
    match conn {
        DbConn::Sqlite(c) => c
            .batch_execute("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .unwrap(),
        DbConn::Pg(c) => c
            .batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
            .unwrap(),
    }
}

fn seqs(conn: &mut DbConn) -> Vec<i64> {
    hienmau_db::repo::audit::all_in_order(conn)
        .unwrap()
        .into_iter()
        .map(|e| e.seq)
        .collect()
}

fn exec(conn: &mut DbConn, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap();
}

backend_tests! {
    fn verify_passes_on_a_real_log(app) {
        activity(app);
        let (ok, out) = verify(app);
        assert!(ok, "{out}");
        assert!(out.contains("intact"), "{out}");
        let mut conn = app.state.pool.get().unwrap();
        let entries = hienmau_db::repo::audit::all_in_order(&mut conn).unwrap();
        assert!(entries.len() >= 6, "{} entries", entries.len());
        for pair in entries.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        assert_eq!(entries[0].prev_hash, None);
        // A new log starts with the entry naming its key; every entry names the key.
        assert_eq!(entries[0].action, "audit_keyed");
        assert!(entries.iter().all(|e| e.key_fp == entries[0].key_fp && e.key_fp.is_some()));
    }

    fn verify_detects_a_changed_entry(app) {
        activity(app);
        let mut conn = app.state.pool.get().unwrap();
        let s = seqs(&mut conn);
        unguard(&mut conn);
        exec(&mut conn, &format!("UPDATE audit_log SET detail = '{{}}' WHERE seq = {}", s[2]));
        let (ok, out) = verify(app);
        assert!(!ok, "{out}");
        assert!(out.contains(&format!("entry {}", s[2])) && out.contains("changed"), "{out}");
    }

    fn verify_detects_a_deleted_entry(app) {
        activity(app);
        let mut conn = app.state.pool.get().unwrap();
        let s = seqs(&mut conn);
        unguard(&mut conn);
        exec(&mut conn, &format!("DELETE FROM audit_log WHERE seq = {}", s[1]));
        let (ok, out) = verify(app);
        assert!(!ok, "{out}");
        assert!(out.contains(&format!("entry {}", s[2])) && out.contains("deleted"), "{out}");
    }

    fn verify_detects_a_reordered_entry(app) {
        activity(app);
        let mut conn = app.state.pool.get().unwrap();
        let s = seqs(&mut conn);
        unguard(&mut conn);
        // Swap two entries' places: move them to free sequence numbers in the other order.
        let (a, b) = (s[1], s[2]);
        let top = s.last().unwrap() + 100;
        exec(&mut conn, &format!("UPDATE audit_log SET seq = {} WHERE seq = {a}", top + 1));
        exec(&mut conn, &format!("UPDATE audit_log SET seq = {a} WHERE seq = {b}"));
        exec(&mut conn, &format!("UPDATE audit_log SET seq = {b} WHERE seq = {}", top + 1));
        let (ok, out) = verify(app);
        assert!(!ok, "{out}");
        assert!(out.contains(&format!("entry {a}")), "{out}");
    }

    fn the_guard_refuses_changes(app) {
        activity(app);
        let mut conn = app.state.pool.get().unwrap();
        assert!(diesel::sql_query("UPDATE audit_log SET action = 'x'").execute(&mut conn).is_err());
        assert!(diesel::sql_query("DELETE FROM audit_log").execute(&mut conn).is_err());
        assert!(verify(app).0);
    }
}
