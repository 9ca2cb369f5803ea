//! Housekeeping: stored `Idempotency-Key` answers are purged after the configured retention,
//! and a retention shorter than a day refuses to start.

use chrono::Duration;
use diesel::sql_types::{Text, Timestamp};
use diesel::RunQueryDsl;
use hienmau_api::app::maintenance::purge_idempotency_keys;
use hienmau_tests::{backend_tests, test_settings, TestApp, TestDatabase};
use serde_json::json;

use crate::drive_support::{collected, donor, drive, event};

fn with_key(app: &TestApp, event: &str, key: &str, donor: &str) -> hienmau_tests::Resp {
    let body = collected(donor, "whole_blood", 350, "2024-04-07");
    let path = format!("/api/v1/events/{event}/donations");
    app.call_with(
        "POST",
        &path,
        Some(app.admin()),
        Some(&body),
        &[("Idempotency-Key", key)],
    )
}

backend_tests! {
    fn an_old_key_is_purged_and_a_fresh_one_kept(app) {
        let chapter = app.chapter("Lào Cai", None);
        let d = drive(app, app.admin(), &chapter, "2024-01-01", "2024-12-31");
        let ev = event(app, app.admin(), &d, "2024-04-07");
        let (a, b, c, e) = (donor(app, json!({})), donor(app, json!({})), donor(app, json!({})), donor(app, json!({})));
        with_key(app, &ev, "old", &a).expect(201);
        with_key(app, &ev, "fresh", &b).expect(201);
        let ctx = app.state.ctx();
        let mut conn = app.state.pool.get().unwrap();
        // Written 8 days ago: past the default retention of 7 days.
        diesel::sql_query("UPDATE idempotency_keys SET created_at = $1 WHERE idem_key = $2")
            .bind::<Timestamp, _>(ctx.now - Duration::days(8))
            .bind::<Text, _>("old")
            .execute(&mut *conn)
            .unwrap();
        assert_eq!(purge_idempotency_keys(&mut conn, &ctx).unwrap(), 1);
        assert_eq!(purge_idempotency_keys(&mut conn, &ctx).unwrap(), 0);
        drop(conn);
        // The purged key is free again: another body under it is a new request.
        with_key(app, &ev, "old", &c).expect(201);
        // The fresh key still holds its answer: another body under it is refused.
        with_key(app, &ev, "fresh", &e).expect_problem(422, "idempotency_key_reused");
    }
}

#[test]
fn a_retention_under_a_day_refuses_to_start() {
    let db = TestDatabase::sqlite();
    let mut settings = test_settings(&db.url);
    settings.idempotency_retention_hours = 23;
    let err = hienmau_api::http::startup::build_state(settings)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("idempotency_retention_hours"),
        "{err}"
    );
    let mut settings = test_settings(&db.url);
    settings.idempotency_retention_hours = 24;
    assert!(hienmau_api::http::startup::build_state(settings).is_ok());
}

mod rules_fingerprint {
    use std::sync::atomic::Ordering;

    use hienmau_api::app::maintenance::recompute_if_rules_changed;
    use hienmau_api::http::startup::{build_state, migrate};
    use hienmau_tests::{backend_tests, test_settings};
    use serde_json::json;

    use crate::emergency_support::{
        candidate_ids, give, hospital_user, past_event, request_id, reserve_donor,
    };

    backend_tests! {
        fn a_changed_interval_changes_the_candidates_after_a_restart(app) {
            let event = past_event(app);
            let donor = reserve_donor(app, "Lý Thị Mai", "O+", json!({}));
            // Whole blood 100 days ago: past the national 84 days, inside 120.
            give(app, &event, &donor, "whole_blood", 100).expect(201);
            let (_, hospital) = hospital_user(app, "bv.laocai");
            let request = request_id(app, &hospital, json!({ "component": "red_cells" }));
            assert!(candidate_ids(app, &hospital, &request).contains(&donor));

            // A restart with the interval after whole blood set to 120 days: the instance is
            // not ready until the stored figures are recomputed under the new rules.
            let mut settings = test_settings(&app.db.url);
            settings.eligibility.long_interval_days = 120;
            let restarted = build_state(settings.clone()).unwrap();
            assert!(!restarted.ready.load(Ordering::Acquire));
            migrate(&restarted).unwrap();
            assert!(restarted.ready.load(Ordering::Acquire));
            // Candidates filter on the stored figures every instance reads.
            assert!(!candidate_ids(app, &hospital, &request).contains(&donor));

            // Started again with the same rules, nothing is recomputed.
            let again = build_state(settings).unwrap();
            let ctx = again.ctx();
            let mut conn = again.pool.get().unwrap();
            let n = hienmau_db::write_tx(&mut conn, |tx| recompute_if_rules_changed(tx, &ctx)).unwrap();
            assert_eq!(n, 0);

            // Back to the national rules: the donor is a candidate again.
            let national = build_state(test_settings(&app.db.url)).unwrap();
            migrate(&national).unwrap();
            assert!(candidate_ids(app, &hospital, &request).contains(&donor));
        }
    }
}
