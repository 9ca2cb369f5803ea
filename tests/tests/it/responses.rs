//! What answers carry: no internals (SQL, paths, stack traces, credentials) in error bodies;
//! `X-Content-Type-Options: nosniff` on every answer; `Cache-Control: no-store` on personal
//! data; exact content types; CORS closed unless origins are configured.

use hienmau_tests::{backend_tests, test_settings, Resp, TestApp, TestDatabase};
use serde_json::json;

/// Words that would betray internals.
const LEAKS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE ",
    "DELETE FROM",
    "UNIQUE",
    "constraint",
    "violates",
    "sqlite",
    "postgres",
    "diesel",
    "/src/",
    ".rs:",
    "panicked",
    "backtrace",
    "thread '",
    "r2d2",
    "duplicate key",
    "SQLSTATE",
];

#[track_caller]
fn clean(r: &Resp, token: &str, what: &str) {
    for leak in LEAKS {
        assert!(
            !r.text.to_lowercase().contains(&leak.to_lowercase()),
            "{what}: body carries {leak:?}: {}",
            r.text
        );
    }
    assert!(!r.text.contains(token), "{what}: body carries the token");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    if r.status >= 400 {
        assert_eq!(
            r.content_type, "application/problem+json",
            "{what}: {}",
            r.text
        );
    }
}

fn id(v: &serde_json::Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

backend_tests! {
    fn error_bodies_carry_no_internals(app) {
        let admin = app.admin().to_owned();
        let chapter = app.chapter("Chi hội", None);
        let hospital = app.hospital("Bệnh viện");
        // Unique violations: username, national id, unit code, award tier.
        app.user("taken", "honors", None, None);
        let r = app.post("/api/v1/users", &admin,
            json!({ "username": "taken", "password": "correct horse battery", "role": "honors" }));
        r.expect_problem(409, "conflict");
        clean(&r, &admin, "duplicate username");
        let donor = json!({ "full_name": "Vàng A Sử", "date_of_birth": "1990-05-01", "sex": "male",
                            "national_id": "010090123456", "blood_group": "A+", "weight_kg": 60 });
        let first = app.post("/api/v1/donors", &admin, app.with_chapter(donor.clone())).expect(201);
        let r = app.post("/api/v1/donors", &admin, app.with_chapter(donor));
        r.expect_problem(409, "conflict");
        clean(&r, &admin, "duplicate national id");
        let today = app.state.zone.today();
        let drive = id(&app.post("/api/v1/drives", &admin,
            json!({ "name": "D", "chapter_id": chapter, "starts_on": today, "ends_on": today })).expect(201));
        let event = id(&app.post(&format!("/api/v1/drives/{drive}/events"), &admin,
            json!({ "site": "S", "held_on": today })).expect(201));
        let other = id(&app.post("/api/v1/donors", &admin,
            app.with_chapter(json!({ "full_name": "Lý Thị Mai", "date_of_birth": "1992-01-01", "sex": "female", "weight_kg": 55 })))
            .expect(201));
        for (d, expect) in [(id(&first), 201), (other, 409)] {
            let r = app.post(&format!("/api/v1/events/{event}/donations"), &admin,
                json!({ "donor_id": d, "component": "whole_blood", "volume_ml": 350,
                        "outcome": "collected", "unit_code": "BAG-0001" }));
            assert_eq!(r.status, expect, "{}", r.text);
            clean(&r, &admin, "duplicate unit code");
        }
        // Bad cursors, bad JSON, bad paths, unknown routes, wrong methods, forged tokens.
        for path in ["/api/v1/donors?cursor=%25%25%25", "/api/v1/donors?cursor=AAAA",
                     "/api/v1/users?cursor=Zm9vAGJhcg", "/api/v1/audit?cursor=!!", "/api/v1/donors?limit=-1",
                     "/api/v1/donors/not-a-uuid", "/api/v1/donors/00000000-0000-0000-0000-000000000000",
                     "/api/v1/nowhere", "/api/v1/reports/annual?year=abc"] {
            let r = app.get(path, &admin);
            assert!((400..500).contains(&r.status), "{path}: {}", r.text);
            clean(&r, &admin, path);
        }
        // Outside the server's own prefixes a path is the web app's (a client-side route):
        // its page, nothing else (the client resolves `..` before sending).
        for path in ["/api/v1/../../etc/passwd", "/nowhere"] {
            let r = app.get(path, &admin);
            assert_eq!(r.status, 200, "{path}");
            assert!(r.content_type.starts_with("text/html"), "{path}: {}", r.content_type);
            assert!(!r.text.contains("root:"), "{path}: {}", r.text);
        }
        for raw in ["{", "{\"name\": }", "[1,2]", "{\"name\": \"x\", \"name\": 1}", "{\"nam\": \"x\"}"] {
            let r = app.call_raw("POST", "/api/v1/chapters", Some(&admin), "application/json", raw.as_bytes());
            r.expect_problem(400, "invalid_request");
            clean(&r, &admin, raw);
        }
        let r = app.call("PUT", "/api/v1/donors", Some(&admin), None);
        r.expect_problem(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some("GET, POST"));
        clean(&r, &admin, "405");
        let forged = format!("{}x", admin);
        let r = app.get("/api/v1/donors", &forged);
        r.expect_problem(401, "unauthorized");
        clean(&r, &forged, "forged token");
        let (_, honors) = app.user("honors.user", "honors", None, None);
        let r = app.post("/api/v1/chapters", &honors, json!({ "name": "x" }));
        r.expect_problem(403, "forbidden");
        clean(&r, &honors, "403");
        let r = app.get(&format!("/api/v1/hospitals/{hospital}/api-keys"), &honors);
        clean(&r, &honors, "403 keys");
        // A failed sign-in does not echo the password.
        let r = app.call("POST", "/api/v1/auth/login", None,
            Some(&json!({ "username": "admin", "password": "the-wrong-password-123" })));
        r.expect_problem(401, "unauthorized");
        assert!(!r.text.contains("the-wrong-password-123"));
    }

    fn headers_and_content_types(app) {
        let admin = app.admin().to_owned();
        let donor = id(&app.post("/api/v1/donors", &admin,
            app.with_chapter(json!({ "full_name": "Đỗ Văn Nam", "date_of_birth": "1988-08-08", "sex": "male",
                    "phone": "0912345678" }))).expect(201));
        // Personal data and tokens: JSON, no-store, nosniff.
        let login = app.call("POST", "/api/v1/auth/login", None,
            Some(&json!({ "username": "admin", "password": hienmau_tests::PASSWORD })));
        for (what, r) in [
            ("login", login),
            ("donor", app.get(&format!("/api/v1/donors/{donor}"), &admin)),
            ("donors", app.get("/api/v1/donors?q=nam", &admin)),
            ("users", app.get("/api/v1/users", &admin)),
            ("audit", app.get("/api/v1/audit", &admin)),
            ("chapters", app.get("/api/v1/chapters", &admin)),
        ] {
            assert_eq!(r.status, 200, "{what}: {}", r.text);
            assert_eq!(r.content_type, "application/json", "{what}");
            assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
            assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}");
        }
        // Every kind of refusal: problem+json, nosniff, no-store.
        let refusals = [
            ("401", app.call("GET", "/api/v1/donors", None, None)),
            ("401 bad", app.get("/api/v1/donors", "bad")),
            ("403", app.get("/api/v1/users", &app.user("hon", "honors", None, None).1)),
            ("404 route", app.get("/api/v1/nothing-here", &admin)),
            ("404 object", app.get(&format!("/api/v1/donors/{}", uuid::Uuid::new_v4()), &admin)),
            ("405", app.call("DELETE", "/api/v1/donors", Some(&admin), None)),
            ("400", app.call_raw("POST", "/api/v1/chapters", Some(&admin), "application/json", b"{")),
            ("415-ish", app.call_raw("POST", "/api/v1/chapters", Some(&admin), "text/plain", b"x")),
            ("422", app.post("/api/v1/chapters", &admin, json!({ "name": "" }))),
        ];
        for (what, r) in refusals {
            assert!(r.status >= 400, "{what}");
            assert_eq!(r.content_type, "application/problem+json", "{what}: {}", r.text);
            assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}");
            assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
        }
        // Operations and the documentation.
        for (path, ctype) in [
            ("/health", "application/json"),
            ("/ready", "application/json"),
            ("/api/v1/openapi.json", "application/json"),
        ] {
            let r = app.call("GET", path, None, None);
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.content_type, ctype, "{path}");
            assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
        }
        let r = app.call("GET", "/docs", None, None);
        assert!(r.content_type.starts_with("text/html"), "{}", r.content_type);
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        // CORS is closed by default: no Access-Control-* header, preflight or not.
        let preflight = app.call_with("OPTIONS", "/api/v1/donors", None, None, &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ]);
        assert!(preflight.status >= 400, "{}", preflight.status);
        let simple = app.call_with("GET", "/api/v1/donors", Some(&admin), None,
            &[("Origin", "https://evil.example")]);
        assert_eq!(simple.status, 200);
        for r in [&preflight, &simple] {
            assert!(r.headers.iter().all(|(k, _)| !k.to_ascii_lowercase().starts_with("access-control-")),
                "CORS header on a closed server: {:?}", r.headers);
        }
    }
}

fn cors_app(db: TestDatabase) -> TestApp {
    let mut settings = test_settings(&db.url);
    settings.cors_allowed_origins = vec!["https://hienmau.example".to_owned()];
    TestApp::with_settings(db, settings)
}

fn cors_allows_only_configured_origins(app: &TestApp) {
    let admin = app.admin().to_owned();
    let preflight = |origin: &str| {
        app.call_with(
            "OPTIONS",
            "/api/v1/donors",
            None,
            None,
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization, content-type",
                ),
            ],
        )
    };
    let ok = preflight("https://hienmau.example");
    assert!(ok.status < 300, "{} {}", ok.status, ok.text);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://hienmau.example")
    );
    let methods = ok
        .header("access-control-allow-methods")
        .unwrap_or("")
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    assert_eq!(ok.header("access-control-allow-credentials"), None);
    for origin in [
        "https://evil.example",
        "https://hienmau.example.evil.example",
        "http://hienmau.example",
        "null",
    ] {
        let r = preflight(origin);
        assert_eq!(
            r.header("access-control-allow-origin"),
            None,
            "{origin}: {:?}",
            r.headers
        );
        let r = app.call_with(
            "GET",
            "/api/v1/donors",
            Some(&admin),
            None,
            &[("Origin", origin)],
        );
        assert_eq!(r.header("access-control-allow-origin"), None, "{origin}");
    }
    let r = app.call_with(
        "GET",
        "/api/v1/donors",
        Some(&admin),
        None,
        &[("Origin", "https://hienmau.example")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://hienmau.example")
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn cors_allows_only_configured_origins_sqlite() {
    cors_allows_only_configured_origins(&cors_app(TestDatabase::sqlite()));
}

#[test]
fn cors_allows_only_configured_origins_postgres() {
    match TestDatabase::postgres() {
        Some(db) => cors_allows_only_configured_origins(&cors_app(db)),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}

#[test]
fn a_wildcard_or_malformed_cors_origin_is_refused_at_start() {
    let db = TestDatabase::sqlite();
    for bad in [
        "*",
        "https://*.example",
        "hienmau.example",
        "https://hienmau.example/",
        "https://a.example/path",
    ] {
        let mut settings = test_settings(&db.url);
        settings.cors_allowed_origins = vec![bad.to_owned()];
        let err = hienmau_api::http::startup::build_state(settings)
            .err()
            .expect(bad);
        assert!(
            err.to_string().contains("cors_allowed_origins"),
            "{bad}: {err}"
        );
    }
}
