//! Files and secrets (SQLite): the data folder 0700, the database, WAL and SHM 0600; a secret
//! file readable by group or others and a weak secret refuse to start, naming the file or the
//! setting; concurrent first starts share one generated secret.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use hienmau_api::http::startup::{
    audit_key_path, build_state, load_or_create_secret, migrate, secret_path, secret_strength_bits,
};
use hienmau_tests::{test_settings, AUDIT_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.file_name().unwrap().to_os_string();
    name.push(suffix);
    db.with_file_name(name)
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `hienmau ARGS` on the SQLite file with `env`: (ok, output).
fn hienmau(db: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir("/")
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
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

/// In process (the test's own umask): start-up makes a folder and files created before it,
/// or by SQLite, private; the WAL and SHM after the first write too.
#[test]
fn the_data_folder_database_wal_and_shm_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o755);
    let db = data.join("h.db");
    std::fs::write(&db, b"").unwrap();
    chmod(&db, 0o644);
    let state = build_state(test_settings(&format!("sqlite://{}", db.display()))).unwrap();
    migrate(&state).unwrap();
    hienmau_api::cli::create_user(
        &state,
        hienmau_api::app::org::NewAccount {
            username: "admin".to_owned(),
            password: hienmau_tests::PASSWORD.to_owned(),
            role: hienmau_api::http::auth::Role::Admin,
            chapter_id: None,
            hospital_id: None,
        },
    )
    .unwrap();
    // The pool keeps a connection open: the WAL and SHM exist.
    let _conn = state.pool.get().unwrap();
    assert_eq!(mode(&data), 0o700, "data folder");
    for file in [
        db.clone(),
        with_suffix(&db, "-wal"),
        with_suffix(&db, "-shm"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// The binary: a new folder, database, WAL, SHM and generated secrets are private from the
/// start (umask 077), whatever the caller's umask.
#[test]
fn the_binary_creates_private_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("sub").join("h.db");
    let (ok, out) = hienmau(&db, &["migrate"], &[]);
    assert!(ok, "{out}");
    for folder in [db.parent().unwrap(), db.parent().unwrap().parent().unwrap()] {
        assert_eq!(mode(folder), 0o700, "{}", folder.display());
    }
    for file in [db.clone(), secret_path(&db), audit_key_path(&db)] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    // A server keeps the WAL and SHM while it runs.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("HIENMAU_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let ready = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        ureq::get(&format!("http://127.0.0.1:{port}/ready"))
            .call()
            .is_ok()
    });
    let wal = [with_suffix(&db, "-wal"), with_suffix(&db, "-shm")];
    let modes: Vec<_> = wal.iter().map(|f| f.exists().then(|| mode(f))).collect();
    let _ = server.kill();
    let _ = server.wait();
    assert!(ready, "the server did not become ready");
    for (file, m) in wal.iter().zip(modes) {
        assert_eq!(m, Some(0o600), "{}", file.display());
    }
}

/// A secret file readable by group or others refuses to start, naming the file.
#[test]
fn a_secret_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("h.db");
    let url = format!("sqlite://{}", db.display());
    let (ok, out) = hienmau(&db, &["migrate"], &[]);
    assert!(ok, "{out}");
    for (file, mode_given) in [(secret_path(&db), 0o644), (audit_key_path(&db), 0o640)] {
        chmod(&file, mode_given);
        let (ok, out) = hienmau(&db, &["migrate"], &[]);
        assert!(!ok, "started with {} readable by others", file.display());
        assert!(out.contains(&file.display().to_string()), "{out}");
        // The same in process (the JWT secret by build_state, the audit key by migrate).
        let mut settings = test_settings(&url);
        settings.jwt_secret = None;
        settings.audit_key = None;
        let refused = build_state(settings)
            .and_then(|s| migrate(&s).map_err(hienmau_api::http::startup::StartupError::Database));
        let err = refused.expect_err("refused").to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
        chmod(&file, 0o600);
    }
    assert!(hienmau(&db, &["migrate"], &[]).0);
}

/// A secret under 128 bits of estimated strength refuses to start, naming the setting or the
/// file (and never echoing it); `openssl rand -hex 32` passes.
#[test]
fn weak_secrets_are_refused() {
    let weak = "a".repeat(32);
    assert_eq!(secret_strength_bits(&weak), 0.0);
    // Like `openssl rand -hex 32`: 64 hexadecimal digits.
    let hex32 = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    assert!(secret_strength_bits(&hex32) >= 128.0);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("h.db");
    let url = format!("sqlite://{}", db.display());
    for setting in [
        "HIENMAU_JWT_SECRET",
        "HIENMAU_AUDIT_KEY",
        "HIENMAU_AUDIT_PREVIOUS_KEYS",
    ] {
        let mut settings = test_settings(&url);
        match setting {
            "HIENMAU_JWT_SECRET" => settings.jwt_secret = Some(weak.clone()),
            "HIENMAU_AUDIT_KEY" => settings.audit_key = Some(weak.clone()),
            _ => settings.audit_previous_keys = vec![weak.clone()],
        }
        let err = build_state(settings).err().expect("refused").to_string();
        assert!(err.contains(setting) && err.contains("weak"), "{err}");
        // The audit key first, so that the weak setting given next wins when it is that one.
        let env = [("HIENMAU_AUDIT_KEY", AUDIT_KEY), (setting, weak.as_str())];
        let (ok, out) = hienmau(&db, &["migrate"], &env);
        assert!(!ok && out.contains(setting), "{out}");
        assert!(!out.contains(&weak), "the secret is echoed: {out}");
    }
    // Strong ones start.
    let (ok, out) = hienmau(
        &db,
        &["migrate"],
        &[
            ("HIENMAU_JWT_SECRET", &hex32),
            ("HIENMAU_AUDIT_KEY", AUDIT_KEY),
        ],
    );
    assert!(ok, "{out}");
    // A weak stored secret is refused too, naming the file.
    let stored = dir.path().join("other").join("h.db");
    std::fs::create_dir_all(stored.parent().unwrap()).unwrap();
    let file = secret_path(&stored);
    std::fs::write(&file, &weak).unwrap();
    chmod(&file, 0o600);
    let (ok, out) = hienmau(&stored, &["migrate"], &[]);
    assert!(
        !ok && out.contains(&file.display().to_string()) && out.contains("weak"),
        "{out}"
    );
}

/// Concurrent first starts: every one sees the same complete secret, and no temporary file is
/// left behind.
#[test]
fn concurrent_first_starts_share_one_secret() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("h.db.audit-key");
        let barrier = std::sync::Barrier::new(8);
        let secrets: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        load_or_create_secret(&path).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(secrets.iter().all(|s| s == &secrets[0] && s.len() >= 32));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), secrets[0]);
        assert_eq!(mode(&path), 0o600);
        let files: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(files.len(), 1, "temporary files left: {files:?}");
    }
}
