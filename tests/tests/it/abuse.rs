//! Abuse limits: each caller's requests to the expensive routes are limited (429 with
//! `Retry-After`), per caller, and cheap routes are not.

use hienmau_api::settings::AbuseConfig;
use hienmau_tests::{backend_tests, test_settings, TestApp};

fn limited(db: hienmau_tests::TestDatabase) -> TestApp {
    let mut settings = test_settings(&db.url);
    settings.abuse = AbuseConfig {
        expensive_per_minute: 1,
        expensive_burst: 3,
        ..settings.abuse.clone()
    };
    TestApp::with_settings(db, settings)
}

fn run_limits(app: &TestApp) {
    let (_, honors) = app.user("honors.one", "honors", None, None);
    let (_, other) = app.user("honors.two", "honors", None, None);
    let report = "/api/v1/reports/annual?year=2023";
    for _ in 0..3 {
        app.get(report, &honors).expect(200);
    }
    let refused = app.get(report, &honors);
    refused.expect_problem(429, "rate_limited");
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=61).contains(&wait), "Retry-After {wait}");
    // The honors list shares the caller's budget; another caller has its own.
    app.get("/api/v1/honors/eligible", &honors)
        .expect_problem(429, "rate_limited");
    app.get(report, &other).expect(200);
    // Cheap routes are not limited.
    for _ in 0..10 {
        app.get("/api/v1/honors/tiers", &honors).expect(200);
    }
}

#[test]
fn expensive_routes_are_limited_per_caller_sqlite() {
    run_limits(&limited(hienmau_tests::TestDatabase::sqlite()));
}

#[test]
fn expensive_routes_are_limited_per_caller_postgres() {
    match hienmau_tests::TestDatabase::postgres() {
        Some(db) => run_limits(&limited(db)),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}

/// One expensive request at a time, a short wait, no busy share: a turn that was not given
/// back would make the next expensive request answer 503.
fn one_at_a_time(db: hienmau_tests::TestDatabase) -> TestApp {
    let mut settings = test_settings(&db.url);
    settings.abuse = AbuseConfig {
        expensive_concurrency: 1,
        expensive_wait_ms: 500,
        expensive_busy_percent: 100,
        ..settings.abuse.clone()
    };
    TestApp::with_settings(db, settings)
}

fn run_turns(app: &TestApp) {
    let (_, honors) = app.user("honors.one", "honors", None, None);
    for _ in 0..3 {
        app.get("/api/v1/reports/annual?year=2023", &honors)
            .expect(200);
        let csv = app.call_with(
            "GET",
            "/api/v1/honors/eligible",
            Some(&honors),
            None,
            &[("accept", "text/csv")],
        );
        assert_eq!(csv.status, 200);
        assert!(
            csv.content_type.starts_with("text/csv"),
            "{}",
            csv.content_type
        );
        app.get("/api/v1/honors/eligible", &honors).expect(200);
    }
}

#[test]
fn expensive_turns_are_given_back_sqlite() {
    run_turns(&one_at_a_time(hienmau_tests::TestDatabase::sqlite()));
}

#[test]
fn expensive_turns_are_given_back_postgres() {
    match hienmau_tests::TestDatabase::postgres() {
        Some(db) => run_turns(&one_at_a_time(db)),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}

backend_tests! {
    fn default_test_settings_do_not_limit(app) {
        let (_, honors) = app.user("honors", "honors", None, None);
        for _ in 0..30 {
            app.get("/api/v1/reports/annual?year=2023", &honors).expect(200);
        }
    }
}
