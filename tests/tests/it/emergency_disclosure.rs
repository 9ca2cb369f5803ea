//! Hospitals write only what they saw: answers and emergency donations name only donors the
//! request's candidates disclosed to the hospital (any of its callers), refused exactly as an
//! unknown id before anything is judged on the donor; dates between the request's opening and
//! now; no permanent deferral from a hospital; a cap on the donors disclosed per request that
//! stops the decline harvest and rises with `units_needed`; hospitals void their own recent
//! records.

use crate::emergency_support::*;
use chrono::Duration;
use hienmau_tests::{backend_tests, Resp, TestApp};
use serde_json::{json, Value};

fn donate(app: &TestApp, token: &str, request: &str, body: Value) -> Resp {
    app.post(
        &format!("/api/v1/emergency-requests/{request}/donations"),
        token,
        body,
    )
}

fn unit(donor: &str) -> Value {
    json!({ "donor_id": donor, "component": "red_cells", "volume_ml": 250, "outcome": "collected" })
}

/// A problem body without what differs between any two answers (the request's own id).
fn problem_body(r: &Resp) -> Value {
    let mut v = r.json();
    if let Some(o) = v.as_object_mut() {
        o.remove("instance");
    }
    v
}

/// The fields a 422 names.
fn fields(r: &Resp) -> Vec<String> {
    r.expect_problem(422, "invalid_request")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

fn key_of(app: &TestApp, hospital: &str) -> String {
    app.post(
        &format!("/api/v1/hospitals/{hospital}/api-keys"),
        app.admin(),
        json!({ "name": "HIS" }),
    )
    .expect(201)["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn patch(app: &TestApp, token: &str, request: &str, body: Value) -> Resp {
    app.patch(
        &format!("/api/v1/emergency-requests/{request}"),
        token,
        body,
    )
}

fn void(app: &TestApp, token: &str, donation: &str) -> Resp {
    app.post(
        &format!("/api/v1/donations/{donation}/void"),
        token,
        json!({ "reason": "ghi nhầm người hiến" }),
    )
}

/// `n` reserve O+ donors.
fn reserve(app: &TestApp, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| reserve_donor(app, &format!("Người hiến {i}"), "O+", json!({})))
        .collect()
}

fn items(r: &Resp) -> Vec<String> {
    r.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["donor_id"].as_str().unwrap().to_owned())
        .collect()
}

backend_tests! {
    fn an_undisclosed_donor_is_answered_as_an_unknown_id(app) {
        let (hospital, token) = hospital_user(app, "bv_thay");
        // A light donor of an incompatible group with an active deferral: every check after
        // the disclosure one would say something about them.
        let hidden = reserve_donor(app, "Không được xem", "AB-", json!({ "weight_kg": 43.0 }));
        let shown = reserve_donor(app, "Được xem", "O+", json!({}));
        let req = request_id(app, &token, json!({ "blood_group": "O+", "units_needed": 2 }));
        assert_eq!(candidate_ids(app, &token, &req), [shown.as_str()]);
        let unknown = uuid::Uuid::new_v4().to_string();

        // Answers: the hidden donor's refusal is the unknown id's, byte for byte but the id.
        let a = respond(app, &token, &req, &hidden, "declined");
        let b = respond(app, &token, &req, &unknown, "declined");
        assert_eq!(fields(&a), ["donor_id"]);
        assert_eq!(problem_body(&a), problem_body(&b));
        // Donations: a plain unit, and the oracle (a volume no one may give): the same.
        for body in [unit(&hidden), json!({ "donor_id": hidden, "component": "red_cells", "volume_ml": 2000, "outcome": "collected" }),
                     json!({ "donor_id": hidden, "component": "whole_blood", "volume_ml": 2000, "outcome": "collected", "weight_kg": 40.0 }),
                     json!({ "donor_id": hidden, "component": "red_cells", "outcome": "deferred", "deferral_reason": "sốt", "deferred_until": ago(app, -7) })] {
            let mut for_unknown = body.clone();
            for_unknown["donor_id"] = json!(unknown);
            let a = donate(app, &token, &req, body.clone());
            let b = donate(app, &token, &req, for_unknown);
            assert_eq!(a.status, 422, "{body}: {}", a.text);
            assert_eq!(fields(&a), ["donor_id"], "{body}");
            assert_eq!(problem_body(&a), problem_body(&b), "{body}");
        }
        // The disclosed donor is judged as before (the oracle's answer is theirs to get).
        donate(app, &token, &req, json!({ "donor_id": shown, "component": "red_cells", "volume_ml": 2000, "outcome": "collected" }))
            .expect_problem(422, "donor_not_eligible");
        respond(app, &token, &req, &shown, "accepted").expect(201);
        donate(app, &token, &req, unit(&shown)).expect(201);

        // An API key of the same hospital shares the disclosures, both ways.
        let key = key_of(app, &hospital);
        let second = reserve_donor(app, "Thứ hai", "O+", json!({}));
        respond(app, &key, &req, &second, "accepted").expect_problem(422, "invalid_request");
        assert!(candidate_ids(app, &key, &req).contains(&second));
        respond(app, &token, &req, &second, "no_answer").expect(201);
        respond(app, &key, &req, &second, "accepted").expect(201);
        let third = reserve_donor(app, "Thứ ba", "O+", json!({}));
        assert!(candidate_ids(app, &token, &req).contains(&third));
        donate(app, &key, &req, unit(&third)).expect(201);
        // A decline does not undo a disclosure: the donor may still be recorded.
        let fourth = reserve_donor(app, "Thứ tư", "O+", json!({}));
        let req2 = request_id(app, &token, json!({ "blood_group": "O+", "units_needed": 1 }));
        assert!(candidate_ids(app, &key, &req2).contains(&fourth));
        respond(app, &token, &req2, &fourth, "declined").expect(201);
        assert!(!candidate_ids(app, &token, &req2).contains(&fourth));
        donate(app, &token, &req2, unit(&fourth)).expect(201);
        // Disclosed for one request is not disclosed for another.
        let req3 = request_id(app, &token, json!({ "blood_group": "O+" }));
        respond(app, &token, &req3, &fourth, "accepted").expect_problem(422, "invalid_request");
        // Another hospital's caller cannot use them either (its request, its disclosures).
        let (_, other) = hospital_user(app, "bv_khac");
        let req_other = request_id(app, &other, json!({ "blood_group": "O+" }));
        respond(app, &other, &req_other, &shown, "accepted").expect_problem(422, "invalid_request");

        // The admin records any donor on record: a relative who walked in, history after the fact.
        let walked_in = reserve_donor(app, "Người nhà", "O+", json!({ "reserve": false }));
        respond(app, app.admin(), &req3, &walked_in, "accepted").expect(201);
        donate(app, app.admin(), &req3, unit(&walked_in)).expect(201);
        respond(app, app.admin(), &req3, &unknown, "accepted").expect_problem(422, "invalid_request");
        // The admin's candidates call discloses nothing for the hospital.
        let fifth = reserve_donor(app, "Thứ năm", "O+", json!({}));
        assert!(candidate_ids(app, app.admin(), &req3).contains(&fifth));
        respond(app, &token, &req3, &fifth, "accepted").expect_problem(422, "invalid_request");
    }

    fn dates_and_permanent_deferrals(app) {
        let (_, token) = hospital_user(app, "bv_ngay");
        let donors = reserve(app, 3);
        let now = chrono::Utc::now();
        let rfc = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // A hospital's request is at most 7 days old when recorded; an admin's is not bounded.
        let base = json!({ "blood_group": "O+", "component": "red_cells", "units_needed": 3, "urgency": "urgent" });
        let with_opened = |t: chrono::DateTime<chrono::Utc>| {
            let mut b = base.clone();
            b["opened_at"] = json!(rfc(t));
            b
        };
        let r = app.post("/api/v1/emergency-requests", &token, with_opened(now - Duration::days(30)));
        assert_eq!(fields(&r), ["opened_at"]);
        let opened = now - Duration::days(6);
        let req = app.post("/api/v1/emergency-requests", &token, with_opened(opened)).expect(201)["id"]
            .as_str().unwrap().to_owned();
        let mut by_admin = with_opened(now - Duration::days(30));
        by_admin["hospital_id"] = app.get(&format!("/api/v1/emergency-requests/{req}"), &token).expect(200)["hospital_id"].clone();
        app.post("/api/v1/emergency-requests", app.admin(), by_admin).expect(201);

        assert_eq!(candidate_ids(app, &token, &req).len(), 3);
        let dated = |donor: &str, at: &str| {
            let mut b = unit(donor);
            b["donated_at"] = json!(at);
            b
        };
        // The 2001 collection, and one an hour before the request was opened: refused.
        let r = donate(app, &token, &req, dated(&donors[0], "2001-06-01T03:00:00Z"));
        assert_eq!(fields(&r), ["donated_at"]);
        let r = donate(app, &token, &req, dated(&donors[0], &rfc(opened - Duration::hours(1))));
        assert_eq!(fields(&r), ["donated_at"]);
        // The admin may not date a unit before the request either.
        let r = donate(app, app.admin(), &req, dated(&donors[0], "2001-06-01T03:00:00Z"));
        assert_eq!(fields(&r), ["donated_at"]);
        let r = donate(app, &token, &req, dated(&donors[0], &rfc(now + Duration::days(1))));
        assert_eq!(fields(&r), ["donated_at"]);
        // Between the opening and now: recorded.
        let got = donate(app, &token, &req, dated(&donors[0], &rfc(opened + Duration::hours(1)))).expect(201);
        assert_eq!(got["donated_at"], rfc(opened + Duration::hours(1)));
        let report = app.get("/api/v1/reports/annual?year=2001", app.admin()).expect(200);
        assert_eq!(report["emergency_units"], 0);

        // A permanent deferral ("HIV+") from a hospital: refused, naming `permanent`; nothing
        // recorded, the donor stays a candidate. A temporary one is the hospital's to record.
        let hiv = json!({ "donor_id": donors[1], "component": "red_cells", "outcome": "deferred",
                          "deferral_reason": "tti_positive", "permanent": true });
        let r = donate(app, &token, &req, hiv.clone());
        assert_eq!(fields(&r), ["permanent"]);
        assert!(candidate_ids(app, &token, &req).contains(&donors[1]));
        // Nor one that works as permanent: a hospital defers for at most a year.
        let far = json!({ "donor_id": donors[1], "component": "red_cells", "outcome": "deferred",
                          "deferral_reason": "HIV+ confirmed", "deferred_until": "9999-12-31" });
        assert_eq!(fields(&donate(app, &token, &req, far)), ["deferred_until"]);
        assert!(candidate_ids(app, &token, &req).contains(&donors[1]));
        donate(app, &token, &req, json!({ "donor_id": donors[2], "component": "red_cells", "outcome": "deferred",
            "deferral_reason": "flu_cold", "deferred_until": ago(app, -7) })).expect(201);
        // The admin may (a confirmed screen result entered for the request).
        donate(app, app.admin(), &req, hiv).expect(201);
        assert!(!candidate_ids(app, &token, &req).contains(&donors[1]));
    }

    fn the_decline_harvest_stops_at_the_cap_and_resumes_with_units_needed(app) {
        let (hospital, token) = hospital_user(app, "bv_thu_hoach");
        let key = key_of(app, &hospital);
        let pool = reserve(app, 35);
        let req = request_id(app, &token, json!({ "blood_group": "O+", "units_needed": 1 }));
        let got = candidates_resp(app, &token, &req, 4);
        assert_eq!(items(&got).len(), 4);
        // Below the cap (10 × 1 unit): the page is filled up to the cap only.
        let first = items(&candidates_resp(app, &key, &req, 100));
        assert_eq!(first.len(), 10, "the 4 already disclosed and 6 new");
        // At the cap: the donors already disclosed are still listed...
        let again = items(&candidates_resp(app, &token, &req, 10));
        assert_eq!(again, first);
        // ...but a page that would show a new donor is refused, and discloses nothing.
        let before = audit(app, 500).len();
        let refused = candidates_resp(app, &token, &req, 11);
        let problem = refused.expect_problem(429, "disclosure_limit");
        assert!(refused.header("retry-after").is_none(), "waiting does not help");
        assert!(problem["detail"].as_str().unwrap().contains("units_needed"), "{problem}");
        assert_eq!(audit(app, 500).len(), before);

        // The harvest: decline everyone shown and ask again.
        for d in &first {
            respond(app, &key, &req, d, "declined").expect(201);
        }
        candidates_resp(app, &token, &req, 20).expect_problem(429, "disclosure_limit");
        candidates_resp(app, &key, &req, 1).expect_problem(429, "disclosure_limit");
        // Nor may the hospital decline (or record) donors it was not shown.
        let unseen: Vec<&String> = pool.iter().filter(|d| !first.contains(d)).collect();
        assert_eq!(unseen.len(), 25);
        respond(app, &token, &req, unseen[0], "declined").expect_problem(422, "invalid_request");
        donate(app, &token, &req, unit(unseen[0])).expect_problem(422, "invalid_request");

        // Lowering is refused; the cap is the admin's to set.
        assert_eq!(fields(&patch(app, &token, &req, json!({ "units_needed": 0 }))), ["units_needed"]);
        let r = get_units(app, &token, &req);
        assert_eq!(r, 1);
        assert_eq!(fields(&patch(app, &token, &req, json!({ "disclosure_cap": 100 }))), ["disclosure_cap"]);
        assert_eq!(fields(&patch(app, &key, &req, json!({ "disclosure_cap": null }))), ["disclosure_cap"]);
        patch(app, &token, &req, json!({ "surprise": 1 })).expect_problem(400, "invalid_request");
        // Raising units_needed raises the cap with it: 10 more.
        let raised = patch(app, &key, &req, json!({ "units_needed": 2, "note": "thêm 1 đơn vị" })).expect(200);
        assert_eq!((raised["units_needed"].as_i64(), raised["note"].as_str()), (Some(2), Some("thêm 1 đơn vị")));
        let second = items(&candidates_resp(app, &token, &req, 100));
        assert_eq!(second.len(), 10);
        assert!(second.iter().all(|d| !first.contains(d)));
        for d in &second {
            respond(app, &token, &req, d, "declined").expect(201);
        }
        candidates_resp(app, &token, &req, 100).expect_problem(429, "disclosure_limit");
        // An admin sets the request's own cap; null goes back to 10 × units_needed.
        let capped = patch(app, app.admin(), &req, json!({ "disclosure_cap": 25 })).expect(200);
        assert_eq!(capped["disclosure_cap"], 25);
        assert_eq!(items(&candidates_resp(app, &token, &req, 100)).len(), 5);
        candidates_resp(app, &token, &req, 100).expect_problem(429, "disclosure_limit");
        patch(app, app.admin(), &req, json!({ "disclosure_cap": -1 })).expect_problem(422, "invalid_request");
        let reset = patch(app, app.admin(), &req, json!({ "disclosure_cap": null })).expect(200);
        assert!(reset["disclosure_cap"].is_null());
        candidates_resp(app, &token, &req, 100).expect_problem(429, "disclosure_limit");
        // The admin is not capped: the rest of the reserve is there (35 less 20 declined).
        assert_eq!(candidate_ids(app, app.admin(), &req).len(), 15);
        let actions: Vec<String> = audit(app, 500).iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert_eq!(actions.iter().filter(|a| *a == "emergency_request_updated").count(), 3);
    }

    fn raising_units_needed_reopens_a_fulfilled_request(app) {
        let (_, token) = hospital_user(app, "bv_them");
        let donors = reserve(app, 2);
        let req = request_id(app, &token, json!({ "blood_group": "O+", "units_needed": 1 }));
        assert_eq!(candidate_ids(app, &token, &req).len(), 2);
        donate(app, &token, &req, unit(&donors[0])).expect(201);
        let r = app.get(&format!("/api/v1/emergency-requests/{req}"), &token).expect(200);
        assert_eq!(r["status"], "fulfilled");
        // A note alone changes nothing else.
        let same = patch(app, &token, &req, json!({ "note": "đã đủ" })).expect(200);
        assert_eq!((same["status"].as_str(), same["note"].as_str()), (Some("fulfilled"), Some("đã đủ")));
        let reopened = patch(app, &token, &req, json!({ "units_needed": 2, "note": null })).expect(200);
        assert_eq!((reopened["status"].as_str(), reopened["units_received"].as_i64()), (Some("open"), Some(1)));
        assert!(reopened["closed_at"].is_null() && reopened["note"].is_null());
        donate(app, &token, &req, unit(&donors[1])).expect(201);
        assert_eq!(app.get(&format!("/api/v1/emergency-requests/{req}"), &token).expect(200)["status"], "fulfilled");
        // A cancelled request is not changed; another hospital's is not found.
        let cancelled = request_id(app, &token, json!({}));
        app.post(&format!("/api/v1/emergency-requests/{cancelled}/cancel"), &token, json!({})).expect(200);
        patch(app, &token, &cancelled, json!({ "units_needed": 3 })).expect_problem(409, "conflict");
        let (_, other) = hospital_user(app, "bv_la");
        patch(app, &other, &req, json!({ "units_needed": 3 })).expect_problem(404, "not_found");
    }

    fn hospitals_void_their_own_recent_records(app) {
        let (hospital, token) = hospital_user(app, "bv_huy_bo");
        let key = key_of(app, &hospital);
        let (_, other) = hospital_user(app, "bv_ngoai");
        let registering = app.registering_chapter();
        let (_, coordinator) = app.user("dieu_phoi_dk", "coordinator", Some(&registering), None);
        let elsewhere = app.chapter("Chi hội khác", None);
        let (_, outsider) = app.user("dieu_phoi_khac", "coordinator", Some(&elsewhere), None);
        let donors = reserve(app, 5);
        let req = request_id(app, &token, json!({ "blood_group": "O+", "units_needed": 5 }));
        assert_eq!(candidate_ids(app, &token, &req).len(), 5);
        let id = |v: Value| v["id"].as_str().unwrap().to_owned();
        let by_user = id(donate(app, &token, &req, unit(&donors[0])).expect(201));
        let by_key = id(donate(app, &key, &req, unit(&donors[1])).expect(201));
        let by_admin = id(donate(app, app.admin(), &req, unit(&donors[2])).expect(201));
        let old = id(donate(app, &token, &req, unit(&donors[3])).expect(201));
        let coordinators = id(donate(app, &token, &req, unit(&donors[4])).expect(201));
        assert_eq!(app.get(&format!("/api/v1/emergency-requests/{req}"), &token).expect(200)["status"], "fulfilled");

        // Another hospital does not see the record; a reason is required.
        void(app, &other, &by_user).expect_problem(404, "not_found");
        app.post(&format!("/api/v1/donations/{by_user}/void"), &token, json!({ "reason": " " }))
            .expect_problem(422, "invalid_request");
        // Within 24 hours, by the user or the key of the hospital that recorded it.
        let voided = void(app, &key, &by_user).expect(200);
        assert_eq!(voided["voided"], true);
        void(app, &token, &by_key).expect(200);
        let r = app.get(&format!("/api/v1/emergency-requests/{req}"), &token).expect(200);
        assert_eq!((r["status"].as_str(), r["units_received"].as_i64()), (Some("open"), Some(3)));
        // Not what an admin recorded for it.
        void(app, &token, &by_admin).expect_problem(403, "forbidden");
        // Not after 24 hours: then the admin or the donor's registering chapter.
        {
            use diesel::prelude::*;
            use diesel::sql_types::{Text, Timestamp};
            let now = app.state.ctx().now;
            let mut conn = app.state.pool.get().unwrap();
            diesel::sql_query("UPDATE donations SET created_at = $1 WHERE id = $2")
                .bind::<Timestamp, _>(now - Duration::hours(25))
                .bind::<Text, _>(old.as_str())
                .execute(&mut *conn)
                .unwrap();
        }
        void(app, &token, &old).expect_problem(409, "conflict");
        void(app, &outsider, &old).expect_problem(404, "not_found");
        void(app, &coordinator, &old).expect(200);
        void(app, &coordinator, &coordinators).expect(200);
        void(app, app.admin(), &by_admin).expect(200);
        let r = app.get(&format!("/api/v1/emergency-requests/{req}"), &token).expect(200);
        assert_eq!(r["units_received"], 0);
        // A drive donation stays the chapters' own.
        let event = past_event(app);
        let drive_unit = id(give(app, &event, &reserve(app, 1)[0], "whole_blood", 0).expect(201));
        void(app, &token, &drive_unit).expect_problem(404, "not_found");
    }
}

fn get_units(app: &TestApp, token: &str, request: &str) -> i64 {
    app.get(&format!("/api/v1/emergency-requests/{request}"), token)
        .expect(200)["units_needed"]
        .as_i64()
        .unwrap()
}
