//! Forged, tampered, expired and revoked credentials: every one is 401 problem+json (with
//! `WWW-Authenticate: Bearer`, never echoing the credential), and a signing secret under 32
//! bytes stops the process at start, from the environment and from a config file.

use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hienmau_tests::{backend_tests, test_settings, TestApp, TestDatabase};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn secret(app: &TestApp) -> Vec<u8> {
    app.state
        .settings
        .jwt_secret
        .clone()
        .expect("test secret")
        .into_bytes()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn unb64(s: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap()
}

/// Signs `claims` with `alg` and `key` through jsonwebtoken.
fn sign(alg: Algorithm, key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

/// A token whose header says `header` and whose signature is HMAC-SHA256 with `key` over
/// `header.payload` (what a confused verifier that trusts `alg` would accept).
fn sign_hs256_with_header(header: &Value, claims: &Value, key: &[u8]) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(key),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{sig}")
}

/// Claims as the server issues them, for `sub` with `role` (token version 0, a new user's).
fn claims(sub: &str, role: &str) -> Value {
    json!({ "sub": sub, "role": role, "iat": now(), "exp": now() + 600, "tv": 0 })
}

/// Asserts a 401 problem for `authorization` (the raw header value; None sends none).
#[track_caller]
fn refused(app: &TestApp, authorization: Option<&str>, what: &str) {
    let url = format!("{}/api/v1/donors", app.base);
    let mut req = ureq::get(&url);
    if let Some(a) = authorization {
        req = req.set("Authorization", a);
    }
    let r = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{what}: {e}"),
    };
    let status = r.status();
    let ctype = r.header("content-type").unwrap_or("").to_owned();
    let www = r.header("www-authenticate").unwrap_or("").to_owned();
    let nosniff = r.header("x-content-type-options").unwrap_or("").to_owned();
    let body = r.into_string().unwrap();
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(ctype, "application/problem+json", "{what}");
    assert_eq!(www, "Bearer", "{what}");
    assert_eq!(nosniff, "nosniff", "{what}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "unauthorized", "{what}: {body}");
    if let Some(a) = authorization {
        let credential = a.split_once(' ').map_or(a, |(_, c)| c);
        if credential.len() > 8 {
            assert!(
                !body.contains(credential),
                "{what}: body echoes the credential"
            );
        }
    }
}

backend_tests! {
    fn forged_and_tampered_tokens_are_401(app) {
        let (honors_id, honors) = app.user("honors.one", "honors", None, None);
        // The honors user may read donors: the genuine token works.
        app.get("/api/v1/donors", &honors).expect(200);
        let key = secret(app);
        let admin_id = {
            let users = app.get("/api/v1/users", app.admin()).expect(200);
            users["items"].as_array().unwrap().iter()
                .find(|u| u["username"] == "admin").unwrap()["id"].as_str().unwrap().to_owned()
        };
        let good = claims(&honors_id, "honors");

        // alg none, with and without a trailing dot, and "None"/"nOnE" spellings.
        for alg in ["none", "None", "nOnE", "NONE"] {
            let header = json!({ "alg": alg, "typ": "JWT" });
            let unsigned = format!("{}.{}", b64(&header), b64(&claims(&admin_id, "admin")));
            refused(app, Some(&format!("Bearer {unsigned}.")), &format!("alg {alg}"));
            refused(app, Some(&format!("Bearer {unsigned}")), &format!("alg {alg}, no dot"));
        }
        // Another HMAC algorithm with the right secret.
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            refused(app, Some(&format!("Bearer {}", sign(alg, &key, &good))), &format!("{alg:?}"));
        }
        // An RS256 / ES256 / EdDSA header over an HMAC signature made with the secret (key
        // confusion), and a header with an extra `kid`/`jku` pointing elsewhere.
        for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
            let t = sign_hs256_with_header(&json!({ "alg": alg, "typ": "JWT" }), &good, &key);
            refused(app, Some(&format!("Bearer {t}")), &format!("{alg} header"));
        }
        // A wrong key (long enough, just not ours).
        let wrong = sign(Algorithm::HS256, b"another-secret-another-secret-another-0123", &good);
        refused(app, Some(&format!("Bearer {wrong}")), "wrong key");
        // Right key, user that does not exist.
        let ghost = sign(Algorithm::HS256, &key, &claims(&uuid::Uuid::new_v4().to_string(), "admin"));
        refused(app, Some(&format!("Bearer {ghost}")), "unknown subject");

        // Tampered claims of a genuine token, signature kept.
        let parts: Vec<&str> = honors.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload = unb64(parts[1]);
        let mut tampered = Vec::new();
        let mut p = payload.clone();
        p["role"] = json!("admin");
        tampered.push(("role changed", p));
        let mut p = payload.clone();
        p["sub"] = json!(admin_id);
        tampered.push(("sub changed", p));
        let mut p = payload.clone();
        p["exp"] = json!(payload["exp"].as_i64().unwrap() + 86_400 * 365);
        tampered.push(("exp extended", p));
        for (what, p) in tampered {
            let t = format!("{}.{}.{}", parts[0], b64(&p), parts[2]);
            refused(app, Some(&format!("Bearer {t}")), what);
        }
        // A flipped signature character; a truncated signature; the header swapped for alg none.
        let mut sig = parts[2].to_owned();
        let last = if sig.ends_with('A') { "B" } else { "A" };
        sig.replace_range(sig.len() - 1.., last);
        refused(app, Some(&format!("Bearer {}.{}.{sig}", parts[0], parts[1])), "signature flipped");
        refused(app, Some(&format!("Bearer {}.{}.", parts[0], parts[1])), "signature dropped");
        let none = b64(&json!({ "alg": "none", "typ": "JWT" }));
        refused(app, Some(&format!("Bearer {none}.{}.{}", parts[1], parts[2])), "header swapped");

        // Expired beyond the 5 s leeway; not expired but missing exp / sub / iat.
        let expired = json!({ "sub": honors_id, "role": "honors", "iat": now() - 3600, "exp": now() - 30, "tv": 0 });
        refused(app, Some(&format!("Bearer {}", sign(Algorithm::HS256, &key, &expired))), "expired");
        for missing in ["exp", "sub", "iat", "tv"] {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove(missing);
            refused(app, Some(&format!("Bearer {}", sign(Algorithm::HS256, &key, &c))), &format!("no {missing}"));
        }
        // A correctly signed token within the leeway still works (the check above is not
        // refusing everything).
        let fresh = json!({ "sub": honors_id, "role": "honors", "iat": now() - 3600, "exp": now() + 2, "tv": 0 });
        app.get("/api/v1/donors", &sign(Algorithm::HS256, &key, &fresh)).expect(200);
        // A correctly signed token of another token version (one the user never had, or had
        // before a password change) is refused.
        for tv in [1, -1, 7] {
            let mut c = good.clone();
            c["tv"] = json!(tv);
            refused(app, Some(&format!("Bearer {}", sign(Algorithm::HS256, &key, &c))), &format!("tv {tv}"));
        }
        let mut c = good.clone();
        c["tv"] = json!("0");
        refused(app, Some(&format!("Bearer {}", sign(Algorithm::HS256, &key, &c))), "tv as text");

        // Garbage, wrong scheme, empty.
        refused(app, None, "no header");
        refused(app, Some(""), "empty header");
        refused(app, Some("Bearer"), "scheme only");
        refused(app, Some("Bearer "), "empty token");
        refused(app, Some("Bearer    "), "blank token");
        refused(app, Some("Bearer not.a.jwt"), "garbage");
        refused(app, Some("Bearer eyJhbGciOiJIUzI1NiJ9"), "one segment");
        refused(app, Some("Bearer a.b.c.d.e"), "five segments");
        refused(app, Some(&format!("Bearer {}", "A".repeat(8000))), "8000 characters");
        refused(app, Some(&format!("Basic {}", URL_SAFE_NO_PAD.encode("admin:correct horse battery"))), "basic scheme");
        refused(app, Some(&format!("Token {honors}")), "other scheme");
        refused(app, Some(&honors), "no scheme");
        refused(app, Some("Bearer hmk_"), "bare key prefix");
        refused(app, Some("Bearer hmk_0000000000000000000000000000000000000000"), "unknown key");
    }

    fn disabled_users_and_revoked_keys_are_401_at_once(app) {
        let (id, token) = app.user("coord.soon.gone", "honors", None, None);
        app.get("/api/v1/donors", &token).expect(200);
        app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({ "disabled": true }))
            .expect(200);
        refused(app, Some(&format!("Bearer {token}")), "disabled user's token");
        // Re-enabled: the token from before the disable stays dead (whoever held it when the
        // account was disabled must not get it back); a new sign-in works.
        app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({ "disabled": false }))
            .expect(200);
        refused(app, Some(&format!("Bearer {token}")), "token from before a disable");
        let fresh = app.login("coord.soon.gone", hienmau_tests::PASSWORD);
        app.get("/api/v1/donors", &fresh).expect(200);

        let hospital = app.hospital("Bệnh viện Khóa");
        let created = app
            .post(&format!("/api/v1/hospitals/{hospital}/api-keys"), app.admin(), json!({ "name": "HIS" }))
            .expect(201);
        let key = created["key"].as_str().unwrap().to_owned();
        let key_id = created["id"].as_str().unwrap().to_owned();
        app.get("/api/v1/emergency-requests", &key).expect(200);
        app.call("DELETE", &format!("/api/v1/api-keys/{key_id}"), Some(app.admin()), None)
            .expect(204);
        let r = app.get("/api/v1/emergency-requests", &key);
        r.expect_problem(401, "unauthorized");
        assert!(!r.text.contains(&key));
        // A key with one character changed is unknown too.
        let mut other = key.clone();
        let last = if other.ends_with('a') { "b" } else { "a" };
        other.replace_range(other.len() - 1.., last);
        app.get("/api/v1/emergency-requests", &other).expect_problem(401, "unauthorized");
    }

    fn a_token_from_before_a_password_reset_is_401(app) {
        let (id, token) = app.user("reset.me", "honors", None, None);
        let other = app.login("reset.me", hienmau_tests::PASSWORD);
        app.get("/api/v1/donors", &token).expect(200);
        app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({ "password": "a brand new passphrase" }))
            .expect(200);
        refused(app, Some(&format!("Bearer {token}")), "token from before a reset");
        refused(app, Some(&format!("Bearer {other}")), "another token from before a reset");
        let fresh = app.login("reset.me", "a brand new passphrase");
        app.get("/api/v1/donors", &fresh).expect(200);
        // A change that revokes nothing (enabling an enabled user) leaves tokens alone.
        app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({ "disabled": false }))
            .expect(200);
        app.get("/api/v1/donors", &fresh).expect(200);
    }

    fn a_token_from_before_a_role_change_is_401(app) {
        let chapter = app.chapter("Hội Chữ thập đỏ xã Vai", None);
        let (id, token) = app.user("changing.role", "honors", None, None);
        app.get("/api/v1/donors", &token).expect(200);
        let path = format!("/api/v1/users/{id}");
        // A coordinator needs a chapter: refused, and nothing changed.
        let body = app.patch(&path, app.admin(), json!({ "role": "coordinator" }))
            .expect_problem(422, "invalid_request");
        assert_eq!(body["errors"][0]["field"], "chapter_id", "{body}");
        app.get("/api/v1/donors", &token).expect(200);
        let changed = app.patch(&path, app.admin(), json!({ "role": "coordinator", "chapter_id": chapter }))
            .expect(200);
        assert_eq!(changed["role"], "coordinator");
        assert_eq!(changed["chapter_id"], chapter.as_str());
        refused(app, Some(&format!("Bearer {token}")), "token from before a role change");
        let fresh = app.login("changing.role", hienmau_tests::PASSWORD);
        app.get("/api/v1/chapters", &fresh).expect(200);
        // Back to honors: the chapter goes with the old role, and the token with it.
        let changed = app.patch(&path, app.admin(), json!({ "role": "honors" })).expect(200);
        assert_eq!(changed["chapter_id"], Value::Null);
        refused(app, Some(&format!("Bearer {fresh}")), "token from before the second change");
    }
}

#[test]
fn a_token_lifetime_over_a_day_is_refused_naming_the_setting() {
    let db = TestDatabase::sqlite();
    for minutes in [1441, 1500, 0, -5] {
        let mut settings = test_settings(&db.url);
        settings.token_ttl_minutes = minutes;
        let err = hienmau_api::http::startup::build_state(settings)
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains("token_ttl_minutes"),
            "{minutes}: {err}"
        );
    }
    for minutes in [1, 60, 1440] {
        let mut settings = test_settings(&db.url);
        settings.token_ttl_minutes = minutes;
        assert!(
            hienmau_api::http::startup::build_state(settings).is_ok(),
            "{minutes}"
        );
    }
    // The real program, from the environment.
    let dir = tempfile::tempdir().unwrap();
    for (var, value, named) in [
        ("HIENMAU_TOKEN_TTL_MINUTES", "1500", "token_ttl_minutes"),
        (
            "HIENMAU_TRUSTED_PROXIES",
            "[\"10.0.0/8\"]",
            "trusted_proxies",
        ),
    ] {
        let out = Command::new(BIN)
            .arg("migrate")
            .current_dir(dir.path())
            .env_clear()
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/h.db", dir.path().display()),
            )
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value} started");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named), "{var}: {err}");
    }
}

#[test]
fn a_bad_trusted_proxy_is_refused_naming_the_setting() {
    let db = TestDatabase::sqlite();
    for bad in ["10.0.0/8", "10.0.0.0/33", "proxy.example", ""] {
        let mut settings = test_settings(&db.url);
        settings.trusted_proxies = vec!["127.0.0.1/32".to_owned(), bad.to_owned()];
        let err = hienmau_api::http::startup::build_state(settings)
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains("trusted_proxies"),
            "{bad:?}: {err}"
        );
    }
    let mut settings = test_settings(&db.url);
    settings.trusted_proxies = vec!["10.0.0.0/8".to_owned(), "::1".to_owned()];
    assert!(hienmau_api::http::startup::build_state(settings).is_ok());
}

#[test]
fn a_short_secret_is_refused_by_build_state() {
    let db = TestDatabase::sqlite();
    for short in ["", "x", "31-bytes-31-bytes-31-bytes-31-b"] {
        let mut settings = test_settings(&db.url);
        settings.jwt_secret = Some(short.to_owned());
        if short.is_empty() {
            continue; // an empty variable means "unset"; covered by the CLI test below
        }
        let err = hienmau_api::http::startup::build_state(settings)
            .err()
            .expect("a short secret must be refused");
        assert!(err.to_string().contains("32 bytes"), "{err}");
    }
    let mut settings = test_settings(&db.url);
    // 32 bytes, and strong enough (32 hexadecimal digits: 128 bits).
    settings.jwt_secret = Some("0123456789abcdef0123456789abcdef".to_owned());
    assert!(hienmau_api::http::startup::build_state(settings).is_ok());
}

#[test]
fn the_cli_refuses_a_short_secret_from_the_environment_and_from_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/h.db", dir.path().display());
    // From the environment.
    let out = Command::new(BIN)
        .arg("migrate")
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", &db)
        .env("HIENMAU_JWT_SECRET", "short-secret")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HIENMAU_JWT_SECRET") && err.contains("at least 32 bytes"),
        "stderr: {err}"
    );
    // From a config file.
    let config = dir.path().join("hienmau.toml");
    std::fs::write(&config, "jwt_secret = \"short-secret-from-file\"\n").unwrap();
    for command in ["migrate", "serve"] {
        let out = Command::new(BIN)
            .arg(command)
            .current_dir(dir.path())
            .env_clear()
            .env("DATABASE_URL", &db)
            .env("HIENMAU_BIND", "127.0.0.1:0")
            .env("HIENMAU_CONFIG", &config)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{command} started with a short secret"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("at least 32 bytes"), "{command} stderr: {err}");
        assert!(
            !err.contains("short-secret-from-file"),
            "the secret is echoed: {err}"
        );
    }
    // A long enough secret in the same file works.
    std::fs::write(
        &config,
        "jwt_secret = \"a-secret-from-a-file-that-is-long-enough\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("migrate")
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", &db)
        .env("HIENMAU_CONFIG", &config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
