//! Sign-in under attack: the throttle reserves an attempt's place before the password is
//! hashed (concurrent guesses cannot overrun it), blocks a username per client address (so a
//! flood from elsewhere does not lock the owner out) under a ceiling over all addresses, and
//! believes `X-Forwarded-For` only from a trusted proxy. Usernames have one spelling (NFKC,
//! lower case, `a-z 0-9 . _ -`), and the last active admin stays.

use hienmau_api::settings::{Settings, ThrottleConfig};
use hienmau_tests::{test_settings, TestApp, TestDatabase, PASSWORD};
use serde_json::{json, Value};

/// The test settings with these sign-in limits, the proxy on loopback (the test client) trusted
/// when `via_proxy`, so that `X-Forwarded-For` plays the client's address.
fn settings(db: &TestDatabase, throttle: ThrottleConfig, via_proxy: bool) -> Settings {
    let mut s = test_settings(&db.url);
    s.login_throttle = ThrottleConfig {
        hash_busy_percent: 100,
        ..throttle
    };
    if via_proxy {
        s.trusted_proxies = vec!["127.0.0.1/32".to_owned()];
    }
    s
}

/// Runs `body` on an app with these settings, on SQLite and (when configured) PostgreSQL.
fn on_both(make: impl Fn(&TestDatabase) -> Settings, body: impl Fn(&TestApp)) {
    let db = TestDatabase::sqlite();
    let s = make(&db);
    body(&TestApp::with_settings(db, s));
    match TestDatabase::postgres() {
        Some(db) => {
            let s = make(&db);
            body(&TestApp::with_settings(db, s));
        }
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}

/// A sign-in whose `X-Forwarded-For` is `from` (None: no header).
fn login_from(
    app: &TestApp,
    username: &str,
    password: &str,
    from: Option<&str>,
) -> hienmau_tests::Resp {
    let headers: Vec<(&str, &str)> = from.map(|f| ("X-Forwarded-For", f)).into_iter().collect();
    app.call_with(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({ "username": username, "password": password })),
        &headers,
    )
}

#[track_caller]
fn throttled(r: &hienmau_tests::Resp) {
    r.expect_problem(429, "rate_limited");
    let wait: u64 = r
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
}

fn defaults() -> ThrottleConfig {
    ThrottleConfig::default()
}

#[test]
fn concurrent_guesses_are_reserved_before_hashing_and_the_owner_still_signs_in() {
    on_both(
        |db| settings(db, defaults(), true),
        |app| {
            let attacker = "198.51.100.66";
            let hashed_before = app.state.hasher.performed();
            let statuses: Vec<u16> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..150)
                    .map(|_| {
                        s.spawn(|| {
                            login_from(app, "admin", "not the password!", Some(attacker)).status
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let hashed = app.state.hasher.performed() - hashed_before;
            let unauthorized = statuses.iter().filter(|s| **s == 401).count();
            let limited = statuses.iter().filter(|s| **s == 429).count();
            assert_eq!(unauthorized + limited, 150, "{statuses:?}");
            // The default: 10 failures a minute per username and address, however concurrent.
            assert!(unauthorized <= 10, "{unauthorized} guesses were answered");
            assert!(hashed <= 10, "{hashed} passwords hashed");
            assert!(unauthorized >= 1);

            // The attacker's address is blocked for this username, even with the password...
            throttled(&login_from(app, "admin", PASSWORD, Some(attacker)));
            // ...while the owner, from their own address, signs in.
            login_from(app, "admin", PASSWORD, Some("203.0.113.5")).expect(200);
            // And the attacker's block is for this username only (not the ceiling, nor the
            // address's 50).
            app.user("second.user", "honors", None, None);
            login_from(app, "second.user", PASSWORD, Some(attacker)).expect(200);
        },
    );
}

#[test]
fn a_success_gives_its_place_back() {
    let limits = ThrottleConfig {
        max_failures_per_username: 2,
        ..defaults()
    };
    on_both(
        |db| settings(db, limits.clone(), true),
        |app| {
            let from = Some("198.51.100.7");
            for _ in 0..5 {
                login_from(app, "admin", PASSWORD, from).expect(200);
            }
            login_from(app, "admin", "wrong password!!", from).expect_problem(401, "unauthorized");
            login_from(app, "admin", PASSWORD, from).expect(200);
            login_from(app, "admin", "wrong password!!", from).expect_problem(401, "unauthorized");
            throttled(&login_from(app, "admin", "wrong password!!", from));
        },
    );
}

#[test]
fn forwarded_addresses_count_only_through_a_trusted_proxy() {
    let limits = ThrottleConfig {
        max_failures_per_username: 3,
        ..defaults()
    };
    // No trusted proxy (the default): the header is the client's to write, and ignored.
    on_both(
        |db| settings(db, limits.clone(), false),
        |app| {
            for i in 0..3 {
                login_from(
                    app,
                    "admin",
                    "wrong password!!",
                    Some(&format!("198.51.100.{i}")),
                )
                .expect_problem(401, "unauthorized");
            }
            throttled(&login_from(app, "admin", PASSWORD, Some("203.0.113.99")));
            throttled(&login_from(app, "admin", PASSWORD, None));
        },
    );
    // Through a trusted proxy, the address it forwarded counts; what the client wrote to the
    // left of it does not.
    on_both(
        |db| settings(db, limits.clone(), true),
        |app| {
            for _ in 0..3 {
                login_from(app, "admin", "wrong password!!", Some("198.51.100.1"))
                    .expect_problem(401, "unauthorized");
            }
            throttled(&login_from(app, "admin", PASSWORD, Some("198.51.100.1")));
            throttled(&login_from(
                app,
                "admin",
                PASSWORD,
                Some("203.0.113.4, 198.51.100.1"),
            ));
            login_from(app, "admin", PASSWORD, Some("198.51.100.2")).expect(200);
            // The proxy itself, forwarding nothing, is its own address.
            login_from(app, "admin", PASSWORD, None).expect(200);
        },
    );
}

#[test]
fn a_username_has_a_ceiling_over_all_addresses() {
    let limits = ThrottleConfig {
        max_failures_per_username: 2,
        max_failures_per_username_all_addresses: 5,
        ..defaults()
    };
    on_both(
        |db| settings(db, limits.clone(), true),
        |app| {
            app.user("other.user", "honors", None, None);
            let mut failures = 0;
            for i in 0..3 {
                for _ in 0..2 {
                    let r = login_from(
                        app,
                        "admin",
                        "wrong password!!",
                        Some(&format!("198.51.100.{i}")),
                    );
                    if failures < 5 {
                        r.expect_problem(401, "unauthorized");
                        failures += 1;
                    } else {
                        // The sixth: its address has room, the username has none.
                        throttled(&r);
                    }
                }
            }
            // A fresh address, the right password: still over the ceiling for the window.
            throttled(&login_from(app, "admin", PASSWORD, Some("203.0.113.8")));
            // Other usernames are not concerned.
            login_from(app, "other.user", PASSWORD, Some("203.0.113.8")).expect(200);
        },
    );
}

fn field_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn usernames_have_one_spelling() {
    let limits = ThrottleConfig {
        max_failures_per_username: 3,
        ..defaults()
    };
    on_both(
        |db| settings(db, limits.clone(), false),
        |app| {
            let new_user = |username: &str| {
                app.post(
                    "/api/v1/users",
                    app.admin(),
                    json!({ "username": username, "password": PASSWORD, "role": "honors" }),
                )
            };
            // Look-alikes and names outside a-z 0-9 . _ - (after NFKC and lower case): 422.
            for bad in [
                "dem\u{043E}.admin",
                "\u{0430}dmin",
                "điều-phối",
                "ab",
                "a b c",
                "x\u{200B}yz",
                &"x".repeat(65),
            ] {
                let body = new_user(bad).expect_problem(422, "invalid_request");
                assert_eq!(field_errors(&body), ["username"], "{bad:?}");
            }
            // Stored in its normal spelling; other spellings are the same name.
            let created = new_user("Demo.Admin").expect(201);
            assert_eq!(created["username"], "demo.admin");
            new_user("DEMO.ADMIN").expect_problem(409, "conflict");
            new_user("ｄｅｍｏ.ａｄｍｉｎ").expect_problem(409, "conflict");
            for spelling in [
                "Demo.Admin",
                "demo.admin",
                " DEMO.admin ",
                "ｄｅｍｏ.ａｄｍｉｎ",
            ] {
                login_from(app, spelling, PASSWORD, None).expect(200);
            }
            // A look-alike at sign-in is nobody: the same answer as an unknown user.
            let look_alike = login_from(app, "dem\u{043E}.admin", PASSWORD, None)
                .expect_problem(401, "unauthorized");
            let unknown =
                login_from(app, "nobody.here", PASSWORD, None).expect_problem(401, "unauthorized");
            // (`instance` is each answer's own request id.)
            let strip = |mut p: serde_json::Value| {
                p.as_object_mut().map(|o| o.remove("instance"));
                p
            };
            assert_eq!(strip(look_alike), strip(unknown));
            // Spellings share one throttle count.
            for spelling in ["Demo.Admin", "DEMO.ADMIN", "demo.admin"] {
                login_from(app, spelling, "wrong password!!", None)
                    .expect_problem(401, "unauthorized");
            }
            throttled(&login_from(app, "Demo.ADMIN", PASSWORD, None));
        },
    );
}

#[test]
fn the_cli_applies_the_username_rule() {
    let db = TestDatabase::sqlite();
    let app = TestApp::new(db);
    let account = |username: &str| hienmau_api::app::org::NewAccount {
        username: username.to_owned(),
        password: PASSWORD.to_owned(),
        role: hienmau_api::http::auth::Role::Honors,
        chapter_id: None,
        hospital_id: None,
    };
    let err = hienmau_api::cli::create_user(&app.state, account("dem\u{043E}.honors"))
        .expect_err("a look-alike is refused");
    assert!(err.contains("username"), "{err}");
    hienmau_api::cli::create_user(&app.state, account("CLI.Honors")).expect("created");
    app.login("cli.honors", PASSWORD);
}

fn user_id(app: &TestApp, username: &str) -> String {
    let users = app.get("/api/v1/users?limit=500", app.admin()).expect(200);
    users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_last_active_admin_stays() {
    on_both(
        |db| test_settings(&db.url),
        |app| {
            let admin = user_id(app, "admin");
            let path = format!("/api/v1/users/{admin}");
            let body = app
                .patch(&path, app.admin(), json!({ "disabled": true }))
                .expect_problem(409, "conflict");
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("last active admin"),
                "{body}"
            );
            app.patch(&path, app.admin(), json!({ "role": "honors" }))
                .expect_problem(409, "conflict");
            // Still an admin, still enabled, the token still works.
            app.get("/api/v1/users", app.admin()).expect(200);

            // With a second admin, the first may go; then the second is the last.
            let (second, second_token) = app.user("second.admin", "admin", None, None);
            app.patch(&path, &second_token, json!({ "disabled": true }))
                .expect(200);
            let second_path = format!("/api/v1/users/{second}");
            app.patch(&second_path, &second_token, json!({ "disabled": true }))
                .expect_problem(409, "conflict");
            app.patch(&second_path, &second_token, json!({ "role": "honors" }))
                .expect_problem(409, "conflict");
            // A disabled admin does not count, and enabling them again is allowed.
            app.patch(&path, &second_token, json!({ "disabled": false }))
                .expect(200);
            app.patch(&second_path, &second_token, json!({ "role": "honors" }))
                .expect(200);
        },
    );
}

#[test]
fn sign_in_audit_entries_carry_the_http_request_id() {
    on_both(
        |db| test_settings(&db.url),
        |app| {
            let failed = login_from(app, "admin", "wrong password!!", None);
            failed.expect_problem(401, "unauthorized");
            let ok = login_from(app, "admin", PASSWORD, None);
            ok.expect(200);
            let log = app.get("/api/v1/audit?limit=500", app.admin()).expect(200);
            let entries = log["items"].as_array().unwrap();
            for (resp, action) in [(&failed, "sign_in_failed"), (&ok, "sign_in")] {
                let id = resp.header("X-Request-Id").expect("X-Request-Id");
                let entry = entries
                    .iter()
                    .find(|e| e["http_request_id"] == id)
                    .unwrap_or_else(|| panic!("no audit entry for {action} {id}"));
                assert_eq!(entry["action"], action);
            }
        },
    );
}
