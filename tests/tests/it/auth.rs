//! Sign-in and authentication: tokens, wrong credentials, disabled users, throttling.

use hienmau_api::http::auth::jwt::Claims;
use hienmau_api::http::auth::Role;
use hienmau_tests::{backend_tests, test_settings, TestApp, TestDatabase, PASSWORD};
use serde_json::{json, Value};

fn login(app: &TestApp, username: &str, password: &str) -> hienmau_tests::Resp {
    app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({ "username": username, "password": password })),
    )
}

backend_tests! {
    fn login_issues_a_bearer_token(app) {
        let r = login(app, "admin", PASSWORD);
        let body = r.expect(200);
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_i64().unwrap() > 0);
        let token = body["access_token"].as_str().unwrap();
        // Three base64url parts: a JWT.
        assert_eq!(token.split('.').count(), 3);
        app.get("/api/v1/users", token).expect(200);
    }

    fn unknown_user_and_wrong_password_answer_alike(app) {
        app.user("alice", "honors", None, None);
        let unknown = login(app, "nobody", PASSWORD);
        let wrong = login(app, "alice", "not the right password");
        let a = without_instance(unknown.expect_problem(401, "unauthorized"));
        let b = without_instance(wrong.expect_problem(401, "unauthorized"));
        assert_eq!(a, b, "the bodies must not tell the cases apart");
        assert_eq!(unknown.content_type, wrong.content_type);
        // An empty password too.
        login(app, "alice", "").expect_problem(401, "unauthorized");
    }

    fn login_body_must_be_readable(app) {
        app.call_raw("POST", "/api/v1/auth/login", None, "application/json", b"{\"username\":")
            .expect_problem(400, "invalid_request");
        app.call("POST", "/api/v1/auth/login", None, Some(&json!({ "username": "admin" })))
            .expect_problem(400, "invalid_request");
        app.call("POST", "/api/v1/auth/login", None, Some(&json!({ "username": 5, "password": "x" })))
            .expect_problem(400, "invalid_request");
    }

    fn missing_malformed_tampered_and_expired_tokens_are_401(app) {
        app.call("GET", "/api/v1/chapters", None, None).expect_problem(401, "unauthorized");
        for token in ["garbage", "a.b.c", "hmk_not_a_key"] {
            app.get("/api/v1/chapters", token).expect_problem(401, "unauthorized");
        }
        // A different scheme.
        app.call_with("GET", "/api/v1/chapters", None, None, &[("Authorization", "Basic YWRtaW46eA==")])
            .expect_problem(401, "unauthorized");
        // Tampered: change one character in the middle of the signature.
        let admin = app.admin();
        let sig_at = admin.rfind('.').unwrap() + 5;
        let c = admin.as_bytes()[sig_at] as char;
        let tampered = format!("{}{}{}", &admin[..sig_at], if c == 'A' { 'B' } else { 'A' }, &admin[sig_at + 1..]);
        app.get("/api/v1/chapters", &tampered).expect_problem(401, "unauthorized");
        // Expired: a correctly signed token whose exp is an hour ago.
        let admin_id = app.get("/api/v1/users", app.admin()).expect(200)["items"][0]["id"]
            .as_str().unwrap().to_owned();
        let now = chrono::Utc::now().timestamp();
        let expired = app.state.jwt.issue(&Claims {
            sub: admin_id.clone(),
            role: Role::Admin,
            chapter_id: None,
            hospital_id: None,
            iat: now - 7200,
            exp: now - 3600,
            tv: 0,
        }).unwrap();
        app.get("/api/v1/chapters", &expired).expect_problem(401, "unauthorized");
        // The same claims, still valid, work: the refusal above was the expiry.
        let fresh = app.state.jwt.issue(&Claims {
            sub: admin_id,
            role: Role::Admin,
            chapter_id: None,
            hospital_id: None,
            iat: now,
            exp: now + 600,
            tv: 0,
        }).unwrap();
        app.get("/api/v1/chapters", &fresh).expect(200);
    }

    fn disabled_user_is_refused_at_sign_in_and_with_an_existing_token(app) {
        let (id, token) = app.user("carol", "honors", None, None);
        app.get("/api/v1/chapters", &token).expect(200);
        let r = app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({ "disabled": true }));
        assert_eq!(r.expect(200)["disabled"], true);
        app.get("/api/v1/chapters", &token).expect_problem(401, "unauthorized");
        let disabled = without_instance(login(app, "carol", PASSWORD).expect_problem(401, "unauthorized"));
        let unknown = without_instance(login(app, "nobody", PASSWORD).expect_problem(401, "unauthorized"));
        assert_eq!(disabled, unknown);
        // Enabled again: signs in.
        app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({ "disabled": false })).expect(200);
        let token = app.login("carol", PASSWORD);
        app.get("/api/v1/chapters", &token).expect(200);
    }

    fn password_reset_takes_effect(app) {
        let (id, _) = app.user("dave", "honors", None, None);
        let new_password = "a brand new passphrase";
        app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({ "password": new_password }))
            .expect(200);
        login(app, "dave", PASSWORD).expect_problem(401, "unauthorized");
        login(app, "dave", new_password).expect(200);
    }
}

/// The 11th failed sign-in within a minute for one username answers 429 with Retry-After,
/// even with the right password; other usernames are not affected.
fn throttles_failed_sign_ins(app: &TestApp) {
    app.user("erin", "honors", None, None);
    for i in 0..10 {
        let r = login(app, "erin", "wrong password!!");
        r.expect_problem(401, "unauthorized");
        assert_ne!(r.status, 429, "attempt {}", i + 1);
    }
    let r = login(app, "erin", "wrong password!!");
    r.expect_problem(429, "rate_limited");
    let retry: u64 = r
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Still blocked with the right password while the window lasts.
    login(app, "erin", PASSWORD).expect_problem(429, "rate_limited");
    // Another username signs in.
    login(app, "admin", PASSWORD).expect(200);
}

fn throttled_app(db: TestDatabase) -> TestApp {
    let mut settings = test_settings(&db.url);
    settings.login_throttle.max_failures_per_username = 10;
    TestApp::with_settings(db, settings)
}

mod throttling {
    use super::*;

    #[test]
    fn sqlite() {
        throttles_failed_sign_ins(&throttled_app(TestDatabase::sqlite()));
    }

    #[test]
    fn postgres() {
        match TestDatabase::postgres() {
            Some(db) => throttles_failed_sign_ins(&throttled_app(db)),
            None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
        }
    }
}

/// A problem body without its `instance` (the request's own id, different on every answer).
fn without_instance(mut problem: Value) -> Value {
    if let Some(fields) = problem.as_object_mut() {
        fields.remove("instance");
    }
    problem
}
