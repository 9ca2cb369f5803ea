//! The audit chain is keyed (HMAC-SHA256, the key outside the database): a log rewritten and
//! re-chained without the key fails `hienmau audit verify`; `--expect SEQ:HASH` checks an
//! anchor kept elsewhere; keys rotate at start with an entry of the chain; a missing key is
//! never replaced while keyed entries exist; a log written before keys is re-keyed once.

use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;
use hienmau_api::app::audit::{self, AuditKey, Chained};
use hienmau_db::models::{AuditEntry, NewAuditEntry};
use hienmau_db::DbConn;
use hienmau_tests::{backend_tests, test_settings, TestApp, TestDatabase, AUDIT_KEY};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");
const JWT: &str = "keyed-test-secret-0123456789abcdefghijkl";
/// Another strong key (the attacker's, or the next one after a rotation).
const OTHER_KEY: &str = "another-audit-key-9876543210-ZYXWVUTSRQPONMLKJIHGFEDCBA";

/// Runs `hienmau ARGS` on the database with `env` (no audit key unless given): (ok, output).
fn hienmau(url: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", url)
        .env("HIENMAU_JWT_SECRET", JWT)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn verify(app: &TestApp, extra: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    hienmau(&app.db.url, &args, env)
}

fn with_key(key: &str) -> Vec<(&str, &str)> {
    vec![("HIENMAU_AUDIT_KEY", key)]
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

fn entries(conn: &mut DbConn) -> Vec<AuditEntry> {
    hienmau_db::repo::audit::all_in_order(conn).unwrap()
}

/// Lifts the append-only guard, as an attacker with database access would.
fn unguard(conn: &mut DbConn) {
    match conn {
        DbConn::Sqlite(c) => c
            .batch_execute(
                "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;",
            )
            .unwrap(),
        DbConn::Pg(c) => c
            .batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
            .unwrap(),
    }
}

fn quote(v: &Option<String>) -> String {
    v.as_ref()
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .unwrap_or_else(|| "NULL".to_owned())
}

/// Rewrites entry `k`'s detail and re-chains it and every later entry with `rehash`, as an
/// attacker with a copy of the database would.
fn rewrite_and_rechain(conn: &mut DbConn, k: usize, rehash: impl Fn(&Chained<'_>) -> String) {
    let mut all = entries(conn);
    unguard(conn);
    all[k].detail = r#"{"rewritten":true}"#.to_owned();
    for i in k..all.len() {
        let prev = if i == 0 {
            None
        } else {
            all[i - 1].hash.clone()
        };
        all[i].prev_hash = prev;
        let hash = rehash(&Chained::from(&all[i]));
        all[i].hash = Some(hash);
        let e = &all[i];
        diesel::sql_query(format!(
            "UPDATE audit_log SET detail = {}, prev_hash = {}, hash = {} WHERE seq = {}",
            quote(&Some(e.detail.clone())),
            quote(&e.prev_hash),
            quote(&e.hash),
            e.seq
        ))
        .execute(conn)
        .unwrap();
    }
}

backend_tests! {
    fn the_right_key_verifies_and_another_does_not(app) {
        activity(app);
        let (ok, out) = verify(app, &[], &with_key(AUDIT_KEY));
        assert!(ok && out.contains("intact"), "{out}");
        let (ok, out) = verify(app, &[], &with_key(OTHER_KEY));
        assert!(!ok, "verified with another key: {out}");
        assert!(out.contains("was not given"), "{out}");
        // Without a key: verify needs one (and never generates one).
        let (ok, out) = verify(app, &[], &[]);
        assert!(!ok && out.contains("HIENMAU_AUDIT_KEY"), "{out}");
        if let Some(db) = hienmau_db::DbUrl::parse(&app.db.url).unwrap().sqlite_path() {
            assert!(!hienmau_api::http::startup::audit_key_path(db).exists());
        }
    }

    fn a_log_rechained_with_plain_sha256_fails(app) {
        activity(app);
        let mut conn = app.state.pool.get().unwrap();
        let k = entries(&mut conn).len() / 2;
        rewrite_and_rechain(&mut conn, k, audit::unkeyed_hash);
        let seq = entries(&mut conn)[k].seq;
        let (ok, out) = verify(app, &[], &with_key(AUDIT_KEY));
        assert!(!ok, "a re-chained log verified: {out}");
        assert!(out.contains(&format!("entry {seq}")) && out.contains("re-chained"), "{out}");
    }

    fn a_log_rechained_with_a_wrong_key_fails(app) {
        activity(app);
        let mut conn = app.state.pool.get().unwrap();
        let k = entries(&mut conn).len() - 2;
        let wrong = AuditKey::new(OTHER_KEY).unwrap();
        rewrite_and_rechain(&mut conn, k, |c| audit::keyed_hash(c, &wrong));
        let seq = entries(&mut conn)[k].seq;
        let (ok, out) = verify(app, &[], &with_key(AUDIT_KEY));
        assert!(!ok, "a re-chained log verified: {out}");
        assert!(out.contains(&format!("entry {seq}")), "{out}");
        // Naming the attacker's key as the entries' key does not help: the key changes
        // outside a rotation entry.
        unguard(&mut conn);
        diesel::sql_query(format!(
            "UPDATE audit_log SET key_fp = '{}' WHERE seq >= {seq}",
            wrong.fingerprint()
        ))
        .execute(&mut conn)
        .unwrap();
        rewrite_and_rechain(&mut conn, k, |c| audit::keyed_hash(c, &wrong));
        let env = [("HIENMAU_AUDIT_KEY", AUDIT_KEY), ("HIENMAU_AUDIT_PREVIOUS_KEYS", OTHER_KEY)];
        let (ok, out) = verify(app, &[], &env);
        assert!(!ok && out.contains("outside a key rotation"), "{out}");
    }

    fn expect_checks_an_anchor_kept_elsewhere(app) {
        activity(app);
        let (ok, out) = verify(app, &[], &with_key(AUDIT_KEY));
        assert!(ok, "{out}");
        let anchor = out
            .split("head ")
            .nth(1)
            .map(|s| s.trim().to_owned())
            .expect("verify prints the head");
        let (seq, hash) = anchor.split_once(':').unwrap();
        let (ok, out) = verify(app, &["--expect", &anchor], &with_key(AUDIT_KEY));
        assert!(ok, "{out}");
        // A wrong hash for the entry fails.
        let wrong = format!("{seq}:{}", "0".repeat(64));
        let (ok, out) = verify(app, &["--expect", &wrong], &with_key(AUDIT_KEY));
        assert!(!ok && out.contains(&format!("entry {seq}")) && out.contains("expected hash"), "{out}");
        // An anchored entry that is gone fails (the newest entries deleted together leave a
        // valid chain: only the anchor tells).
        let mut conn = app.state.pool.get().unwrap();
        unguard(&mut conn);
        let deleted = diesel::sql_query(format!("DELETE FROM audit_log WHERE seq >= {seq}"))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(deleted, 1);
        let (ok, out) = verify(app, &[], &with_key(AUDIT_KEY));
        assert!(ok, "the shorter chain is valid on its own: {out}");
        let (ok, out) = verify(app, &["--expect", &anchor], &with_key(AUDIT_KEY));
        assert!(!ok && out.contains("missing"), "{anchor}: {out}");
        let _ = hash;
        // A malformed anchor is refused by the command line.
        let (ok, out) = verify(app, &["--expect", "12"], &with_key(AUDIT_KEY));
        assert!(!ok && out.contains("SEQ:HASH"), "{out}");
    }

    fn a_key_rotates_with_an_entry_and_verify_needs_the_old_key(app) {
        activity(app);
        // The new key alone is refused: it is not the chain's, and the old one is not listed.
        let (ok, out) = hienmau(&app.db.url, &["migrate"], &with_key(OTHER_KEY));
        assert!(!ok, "{out}");
        assert!(out.contains("HIENMAU_AUDIT_KEY") && out.contains("HIENMAU_AUDIT_PREVIOUS_KEYS"), "{out}");
        // With the old key listed, the start rotates.
        let rotate = [("HIENMAU_AUDIT_KEY", OTHER_KEY), ("HIENMAU_AUDIT_PREVIOUS_KEYS", AUDIT_KEY)];
        let (ok, out) = hienmau(&app.db.url, &["migrate"], &rotate);
        assert!(ok, "{out}");
        let mut conn = app.state.pool.get().unwrap();
        let all = entries(&mut conn);
        let old = AuditKey::new(AUDIT_KEY).unwrap();
        let new = AuditKey::new(OTHER_KEY).unwrap();
        let rotation = all.last().unwrap();
        assert_eq!(rotation.action, "audit_key_rotated");
        assert_eq!(rotation.key_fp.as_deref(), Some(new.fingerprint()));
        let detail: serde_json::Value = serde_json::from_str(&rotation.detail).unwrap();
        assert_eq!(detail["fingerprint"], new.fingerprint());
        assert_eq!(detail["previous"], old.fingerprint());
        assert!(!rotation.detail.contains(OTHER_KEY) && !rotation.detail.contains(AUDIT_KEY));
        assert!(all[..all.len() - 1].iter().all(|e| e.key_fp.as_deref() == Some(old.fingerprint())));
        // A second start with the same settings changes nothing.
        assert!(hienmau(&app.db.url, &["migrate"], &rotate).0);
        // Entries after the rotation are hashed with the new key.
        let mut create = Command::new(BIN)
            .args(["user", "create", "--username", "after.rotation", "--role", "admin"])
            .env_clear()
            .env("DATABASE_URL", &app.db.url)
            .env("HIENMAU_JWT_SECRET", JWT)
            .envs(rotate)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            writeln!(create.stdin.take().unwrap(), "{}", hienmau_tests::PASSWORD).unwrap();
        }
        assert!(create.wait().unwrap().success());
        assert_eq!(entries(&mut conn).last().unwrap().key_fp.as_deref(), Some(new.fingerprint()));
        // Verify with the old keys passes; without them it fails; the old key alone fails too.
        let (ok, out) = verify(app, &[], &rotate);
        assert!(ok, "{out}");
        let (ok, out) = verify(app, &[], &with_key(OTHER_KEY));
        assert!(!ok && out.contains(old.fingerprint()), "{out}");
        let (ok, out) = verify(app, &[], &with_key(AUDIT_KEY));
        assert!(!ok, "{out}");
    }

    fn the_guard_lets_no_keyed_entry_change(app) {
        activity(app);
        let mut conn = app.state.pool.get().unwrap();
        let e = entries(&mut conn).pop().unwrap();
        for sql in [
            format!("UPDATE audit_log SET hash = 'x' WHERE seq = {}", e.seq),
            format!("UPDATE audit_log SET key_fp = NULL WHERE seq = {}", e.seq),
            format!("UPDATE audit_log SET key_fp = 'abc', hash = 'x' WHERE seq = {}", e.seq),
        ] {
            assert!(diesel::sql_query(&sql).execute(&mut conn).is_err(), "{sql} allowed");
        }
        assert!(verify(app, &[], &with_key(AUDIT_KEY)).0);
        // An unkeyed entry (as written before keys) may be re-keyed once, changing nothing but
        // its hash, link and key fingerprint.
        let unkeyed = unkeyed_log(&mut conn, 1).pop().unwrap();
        let where_ = format!("WHERE id = '{}'", unkeyed.id);
        for sql in [
            format!("UPDATE audit_log SET key_fp = 'abc', hash = 'x', detail = '{{}}' {where_}"),
            format!("UPDATE audit_log SET hash = 'x' {where_}"),
        ] {
            assert!(diesel::sql_query(&sql).execute(&mut conn).is_err(), "{sql} allowed");
        }
        let rekey = format!("UPDATE audit_log SET key_fp = 'abc', hash = 'x', prev_hash = 'y' {where_}");
        assert_eq!(diesel::sql_query(&rekey).execute(&mut conn).unwrap(), 1);
        assert!(diesel::sql_query(&rekey).execute(&mut conn).is_err(), "re-keyed twice");
    }

    fn the_log_cannot_be_emptied(app) {
        activity(app);
        let mut conn = app.state.pool.get().unwrap();
        let before = entries(&mut conn).len();
        // TRUNCATE (PostgreSQL; SQLite has none) runs no row trigger: it has one of its own.
        let empty = match &mut *conn {
            hienmau_db::DbConn::Pg(_) => "TRUNCATE audit_log",
            hienmau_db::DbConn::Sqlite(_) => "DELETE FROM audit_log",
        };
        assert!(diesel::sql_query(empty).execute(&mut conn).is_err(), "{empty} allowed");
        assert_eq!(entries(&mut conn).len(), before);
    }

    fn the_head_is_logged_as_an_anchor(app) {
        activity(app);
        let (ok, out) = hienmau(&app.db.url, &["migrate"], &[("HIENMAU_AUDIT_KEY", AUDIT_KEY), ("RUST_LOG", "info"), ("HIENMAU_LOG_FORMAT", "json")]);
        assert!(ok, "{out}");
        let line = out.lines().find(|l| l.contains("audit chain head")).unwrap_or_else(|| panic!("{out}"));
        let (ok, verified) = verify(app, &[], &with_key(AUDIT_KEY));
        assert!(ok, "{verified}");
        let head = verified.split("head ").nth(1).unwrap().trim();
        let (seq, hash) = head.split_once(':').unwrap();
        assert!(line.contains(&format!("\"seq\":{seq}")) && line.contains(hash), "{line} / {head}");
    }
}

/// A missing key on SQLite while keyed entries exist refuses to start, naming the setting, and
/// does not generate a new key; the generated key survives restarts.
#[test]
fn a_missing_key_with_keyed_entries_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("h.db");
    let url = format!("sqlite://{}", db.display());
    let (ok, out) = hienmau(&url, &["migrate"], &[]);
    assert!(ok, "{out}");
    let key_file = hienmau_api::http::startup::audit_key_path(&db);
    let key = std::fs::read(&key_file).unwrap();
    assert!(key.len() >= 32);
    let (ok, out) = hienmau(&url, &["migrate"], &[]);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        key,
        "the key was replaced"
    );
    let (ok, out) = hienmau(&url, &["audit", "verify"], &[]);
    assert!(ok, "{out}");

    std::fs::remove_file(&key_file).unwrap();
    for args in [&["migrate"][..], &["serve"][..], &["audit", "verify"][..]] {
        let (ok, out) = hienmau(&url, args, &[("HIENMAU_BIND", "127.0.0.1:0")]);
        assert!(!ok, "{args:?} started without the key: {out}");
        assert!(out.contains("HIENMAU_AUDIT_KEY"), "{args:?}: {out}");
        assert!(!key_file.exists(), "{args:?} generated a new key");
    }
}

/// PostgreSQL: the key is required, whatever the log holds.
#[test]
fn postgres_requires_the_audit_key() {
    let mut settings = test_settings("postgres://nobody@127.0.0.1:1/none");
    settings.audit_key = None;
    let err = hienmau_api::http::startup::build_state(settings)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("HIENMAU_AUDIT_KEY"), "{err}");
}

/// Appends `n` entries the way hienmau did before keys: plain SHA-256, no key fingerprint.
fn unkeyed_log(conn: &mut DbConn, n: usize) -> Vec<NewAuditEntry> {
    let mut prev: Option<String> = None;
    let mut written = Vec::new();
    for i in 0..n {
        let mut e = NewAuditEntry {
            id: hienmau_db::new_id(),
            at: hienmau_db::now(),
            action: "sign_in_failed".to_owned(),
            actor_user_id: None,
            actor_key_id: None,
            hospital_id: None,
            request_id: None,
            donor_ids: "[]".to_owned(),
            detail: json!({ "i": i }).to_string(),
            prev_hash: prev.clone(),
            hash: None,
            http_request_id: (i % 2 == 0).then(|| format!("req-{i}")),
            key_fp: None,
        };
        let hash = audit::unkeyed_hash(&Chained::from(&e));
        e.hash = Some(hash.clone());
        hienmau_db::repo::audit::append(conn, &e).unwrap();
        prev = Some(hash);
        written.push(e);
    }
    written
}

fn rekeys_an_unkeyed_log(db: TestDatabase) {
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let before = unkeyed_log(&mut conn, 2_500);
    let old_head = hienmau_db::repo::audit::head(&mut conn).unwrap().unwrap();
    drop(conn);
    drop(pool);
    let app = TestApp::new(db);
    let mut conn = app.state.pool.get().unwrap();
    let all = entries(&mut conn);
    let key = AuditKey::new(AUDIT_KEY).unwrap();
    assert!(all
        .iter()
        .all(|e| e.key_fp.as_deref() == Some(key.fingerprint())));
    // The entries keep their content; only hashes and links changed.
    for (e, b) in all.iter().zip(&before) {
        assert_eq!(
            (&e.id, &e.detail, &e.http_request_id),
            (&b.id, &b.detail, &b.http_request_id)
        );
        assert_ne!(e.hash, b.hash);
    }
    // The migration is an entry of the chain, naming the old head.
    let rekeyed = &all[before.len()];
    assert_eq!(rekeyed.action, "audit_rekeyed");
    let detail: serde_json::Value = serde_json::from_str(&rekeyed.detail).unwrap();
    assert_eq!(detail["entries"], before.len());
    assert_eq!(detail["unkeyed_head"]["seq"], old_head.seq);
    assert_eq!(detail["unkeyed_head"]["hash"], old_head.hash.unwrap());
    let (ok, out) = verify(&app, &[], &with_key(AUDIT_KEY));
    assert!(ok, "{out}");
    // Once: a second start leaves it alone.
    assert!(hienmau(&app.db.url, &["migrate"], &with_key(AUDIT_KEY)).0);
    assert_eq!(
        entries(&mut conn)
            .iter()
            .filter(|e| e.action == "audit_rekeyed")
            .count(),
        1
    );
}

fn refuses_to_rekey_a_broken_unkeyed_log(db: TestDatabase) {
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let before = unkeyed_log(&mut conn, 5);
    unguard(&mut conn);
    diesel::sql_query(format!(
        "UPDATE audit_log SET detail = '{{}}' WHERE id = '{}'",
        before[2].id
    ))
    .execute(&mut conn)
    .unwrap();
    let state = hienmau_api::http::startup::build_state(test_settings(&db.url)).unwrap();
    let err = hienmau_api::http::startup::migrate(&state).expect_err("refused");
    assert!(err.to_string().contains("not re-keyed"), "{err}");
    assert!(entries(&mut conn).iter().all(|e| e.key_fp.is_none()));
}

#[test]
fn an_unkeyed_log_is_rekeyed_once_sqlite() {
    rekeys_an_unkeyed_log(TestDatabase::sqlite());
}

#[test]
fn an_unkeyed_log_is_rekeyed_once_postgres() {
    match TestDatabase::postgres() {
        Some(db) => rekeys_an_unkeyed_log(db),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}

#[test]
fn a_broken_unkeyed_log_is_not_rekeyed_sqlite() {
    refuses_to_rekey_a_broken_unkeyed_log(TestDatabase::sqlite());
}

#[test]
fn a_broken_unkeyed_log_is_not_rekeyed_postgres() {
    match TestDatabase::postgres() {
        Some(db) => refuses_to_rekey_a_broken_unkeyed_log(db),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}
