//! What the web app's logging screen asks (issue 18): who is signed in (`GET /auth/me`),
//! whether a donor may give (`GET /donors/{id}/eligibility`, the same rules as recording), the
//! donor's donations (`GET /donors/{id}/donations`), a donor registered once under an
//! `Idempotency-Key` (also when the retries race), and a stable `code` on every field error.

use std::collections::HashSet;

use crate::drive_support::*;
use hienmau_tests::{backend_tests, TestApp, FIELD_CODES};
use serde_json::{json, Value};

fn eligibility(app: &TestApp, token: &str, donor: &str, query: &str) -> hienmau_tests::Resp {
    app.get(
        &format!("/api/v1/donors/{donor}/eligibility?{query}"),
        token,
    )
}

fn audit_entries(app: &TestApp) -> usize {
    app.get("/api/v1/audit?limit=500", app.admin()).expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

fn brief_count(app: &TestApp, q: &str) -> usize {
    app.get(&format!("/api/v1/donors?view=brief&q={q}"), app.admin())
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

backend_tests! {
    fn me_names_the_caller(app) {
        let w = World::new(app);
        let admin = app.get("/api/v1/auth/me", app.admin()).expect(200);
        assert_eq!(admin["role"], "admin");
        assert_eq!(admin["kind"], "user");
        assert!(admin["chapter_id"].is_null() && admin["hospital_id"].is_null());
        assert!(admin["id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(admin["username"].as_str().is_some_and(|s| !s.is_empty()));

        let co = app.get("/api/v1/auth/me", &w.co_city).expect(200);
        assert_eq!(co["username"], "co_city");
        assert_eq!(co["role"], "coordinator");
        assert_eq!(co["chapter_id"], w.city);
        assert!(co["hospital_id"].is_null());
        let listed = app.get("/api/v1/users?limit=500", app.admin()).expect(200);
        let user = listed["items"].as_array().unwrap().iter()
            .find(|u| u["username"] == "co_city").unwrap().clone();
        assert_eq!(co["id"], user["id"]);

        let hosp = app.get("/api/v1/auth/me", &w.hospital).expect(200);
        assert_eq!(hosp["role"], "hospital");
        let hospital_id = hosp["hospital_id"].as_str().unwrap().to_owned();
        let key = app.post(&format!("/api/v1/hospitals/{hospital_id}/api-keys"), app.admin(),
            json!({ "name": "his-lao-cai" })).expect(201);
        let by_key = app.get("/api/v1/auth/me", key["key"].as_str().unwrap()).expect(200);
        assert_eq!(by_key["kind"], "api_key");
        assert_eq!(by_key["id"], key["id"]);
        assert_eq!(by_key["username"], "his-lao-cai");
        assert_eq!(by_key["role"], "hospital");
        assert_eq!(by_key["hospital_id"], hospital_id.as_str());

        assert_eq!(app.get("/api/v1/auth/me", &w.honors).expect(200)["role"], "honors");
        app.call("GET", "/api/v1/auth/me", None, None).expect_problem(401, "unauthorized");
        app.call("GET", "/api/v1/auth/me", Some("nonsense"), None).expect_problem(401, "unauthorized");
    }

    fn eligibility_is_the_recording_rules(app) {
        let w = World::new(app);
        let chapter = app.chapter("Lào Cai", None);
        let dr = drive(app, app.admin(), &chapter, "2024-01-01", "2024-12-31");
        let ev = event(app, app.admin(), &dr, "2024-04-07");
        let x = donor(app, json!({}));

        // Eligible: the bag to preset is exactly what recording accepts.
        let ok = eligibility(app, &w.co_province, &x, "component=whole_blood&on=2024-04-07").expect(200);
        assert_eq!(ok["eligible"], true, "{ok}");
        assert!(ok["reason"].is_null());
        assert_eq!(ok["next_eligible_on"], "2024-04-07");
        assert_eq!(ok["on"], "2024-04-07");
        assert_eq!(ok["weight_kg"], 55.0);
        let max = ok["max_volume_ml"].as_i64().unwrap();
        assert!(max > 0);
        refused(&donate(app, app.admin(), &ev, collected(&x, "whole_blood", max + 1, "2024-04-07")),
            "volume_above_allowed", Some("2024-04-07"));
        donate_ok(app, app.admin(), &ev, collected(&x, "whole_blood", max, "2024-04-07"));

        // The next day: the interval, with the day recording names.
        let refusal = donate(app, app.admin(), &ev, collected(&x, "whole_blood", 250, "2024-04-08"));
        let problem = refusal.expect_problem(422, "donor_not_eligible");
        let next = eligibility(app, &w.honors, &x, "component=whole_blood&on=2024-04-08").expect(200);
        assert_eq!(next["eligible"], false);
        assert_eq!(next["reason"], "interval");
        assert_eq!(next["reason"], problem["reason"]);
        assert_eq!(next["next_eligible_on"], problem["next_eligible_on"]);
        assert!(next["max_volume_ml"].is_null());
        // On that day it is eligible again.
        let then = next["next_eligible_on"].as_str().unwrap().to_owned();
        let later = eligibility(app, app.admin(), &x, &format!("component=whole_blood&on={then}")).expect(200);
        assert_eq!(later["eligible"], true, "{later}");

        // No weight given, none on record: weigh the donor. A weight given judges on it.
        let y = app.post("/api/v1/donors", app.admin(), app.with_chapter(json!({
            "full_name": "Lò Văn Minh", "date_of_birth": "1985-02-03", "sex": "male" })))
            .expect(201)["id"].as_str().unwrap().to_owned();
        let unweighed = eligibility(app, app.admin(), &y, "component=platelets").expect(200);
        assert_eq!(unweighed["eligible"], false);
        assert_eq!(unweighed["reason"], "weight_required");
        assert!(unweighed["next_eligible_on"].is_null() && unweighed["max_volume_ml"].is_null());
        assert!(unweighed["weight_kg"].is_null());
        let weighed = eligibility(app, app.admin(), &y, "component=platelets&weight_kg=70").expect(200);
        assert_eq!(weighed["eligible"], true, "{weighed}");
        assert_eq!(weighed["weight_kg"], 70.0);
        let light = eligibility(app, app.admin(), &y, "component=platelets&weight_kg=45.5").expect(200);
        assert_eq!(light["reason"], "underweight");

        // The question must be whole: no component is 422 `required`; others 400 or 422.
        eligibility(app, app.admin(), &x, "on=2024-04-08").expect_fields(&[("component", "required")]);
        eligibility(app, app.admin(), &x, "").expect_fields(&[("component", "required")]);
        eligibility(app, app.admin(), &x, "component=blood").expect_problem(400, "invalid_request");
        eligibility(app, app.admin(), &x, "component=plasma&on=08/04/2024").expect_problem(400, "invalid_request");
        eligibility(app, app.admin(), &x, "component=plasma&weight_kg=500")
            .expect_fields(&[("weight_kg", "out_of_range")]);
        eligibility(app, app.admin(), &x, "component=plasma&on=1700-01-01")
            .expect_fields(&[("on", "out_of_range")]);

        // The roles that read donors; an unknown donor is 404.
        eligibility(app, &w.hospital, &x, "component=plasma").expect_problem(403, "forbidden");
        eligibility(app, app.admin(), &uuid::Uuid::new_v4().to_string(), "component=plasma")
            .expect_problem(404, "not_found");
        app.call("GET", &format!("/api/v1/donors/{x}/eligibility?component=plasma"), None, None)
            .expect_problem(401, "unauthorized");

        // A brief read: no CCCD or phone is shown, so nothing is audited.
        let before = audit_entries(app);
        eligibility(app, &w.co_city, &x, "component=whole_blood").expect(200);
        assert_eq!(audit_entries(app), before);
    }

    fn a_donors_donations_newest_first(app) {
        let w = World::new(app);
        let chapter = app.chapter("Lào Cai", None);
        let dr = drive(app, app.admin(), &chapter, "2023-01-01", "2025-12-31");
        let ev = event(app, app.admin(), &dr, "2024-04-07");
        let x = donor(app, json!({}));
        let other = donor(app, json!({ "full_name": "Người khác" }));
        let first = donate_ok(app, app.admin(), &ev, collected(&x, "whole_blood", 250, "2023-03-01"));
        let deferral = donate_ok(app, app.admin(), &ev, deferred(&x, "2023-09-01", "2023-10-01"));
        let mistaken = donate_ok(app, app.admin(), &ev, collected(&x, "plasma", 400, "2024-01-10"));
        app.post(&format!("/api/v1/donations/{mistaken}/void"), app.admin(), json!({ "reason": "nhầm" })).expect(200);
        let last = donate_ok(app, app.admin(), &ev, collected(&x, "whole_blood", 250, "2024-04-07"));
        donate_ok(app, app.admin(), &ev, collected(&other, "whole_blood", 250, "2024-04-07"));

        let path = format!("/api/v1/donors/{x}/donations");
        let all = app.get(&path, &w.co_city).expect(200);
        let ids: Vec<&str> = all["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [last.as_str(), deferral.as_str(), first.as_str()], "{all}");
        assert!(all["next_cursor"].is_null());
        assert_eq!(all["items"][0]["outcome"], "collected");
        assert_eq!(all["items"][0]["volume_ml"], 250);
        assert_eq!(all["items"][0]["event_id"], ev);
        assert_eq!(all["items"][1]["outcome"], "deferred");
        assert_eq!(all["items"][1]["deferred_until"], "2023-10-01");

        // Paged one by one, the same order.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}?limit=1&cursor={c}"),
                None => format!("{path}?limit=1"),
            };
            let page = app.get(&url, &w.honors).expect(200);
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 1);
            seen.extend(items.iter().map(|d| d["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, ids);

        app.get(&format!("{path}?cursor=nonsense"), app.admin()).expect_problem(400, "invalid_request");
        app.get(&format!("{path}?limit=-1"), app.admin()).expect_problem(400, "invalid_request");
        app.get(&path, &w.hospital).expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/donors/{}/donations", uuid::Uuid::new_v4()), app.admin())
            .expect_problem(404, "not_found");
        let fresh = donor(app, json!({ "full_name": "Chưa hiến" }));
        let none = app.get(&format!("/api/v1/donors/{fresh}/donations"), app.admin()).expect(200);
        assert_eq!(none, json!({ "items": [], "next_cursor": null }));
    }

    fn a_donor_registered_offline_is_created_once(app) {
        let w = World::new(app);
        let body = json!({ "full_name": "Sùng Thị Mỷ", "date_of_birth": "1995-07-01", "sex": "female",
                           "weight_kg": 50, "chapter_id": w.city });
        let send = |key: &str, body: &Value| {
            app.call_with("POST", "/api/v1/donors", Some(&w.co_province), Some(body), &[("Idempotency-Key", key)])
        };
        let first = send("offline-1", &body);
        let created = first.expect(201);
        assert!(first.header("Idempotency-Key").is_none());
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(first.header("Location"), Some(format!("/api/v1/donors/{id}").as_str()));
        // The answer was lost; the phone sends it again (keys in another order: the same body).
        let reordered: Value = serde_json::from_str(
            r#"{"chapter_id": null, "sex": "female", "weight_kg": 50, "date_of_birth": "1995-07-01", "full_name": "Sùng Thị Mỷ"}"#,
        ).unwrap();
        let mut reordered = reordered;
        reordered["chapter_id"] = json!(w.city);
        let again = send("offline-1", &reordered);
        assert_eq!(again.expect(201), created);
        assert_eq!(again.header("Idempotency-Key"), Some("replayed"));
        assert_eq!(again.header("Location"), first.header("Location"));
        assert_eq!(brief_count(app, "s%C3%B9ng%20th%E1%BB%8B%20m%E1%BB%B7"), 1);
        // Another body under the same key is refused and records nothing.
        let mut changed = body.clone();
        changed["weight_kg"] = json!(51);
        send("offline-1", &changed).expect_problem(422, "idempotency_key_reused");
        // Another caller's key of the same name is its own.
        let other = app.call_with("POST", "/api/v1/donors", Some(&w.co_city), Some(&body), &[("Idempotency-Key", "offline-1")]);
        assert_ne!(other.expect(201)["id"], created["id"]);
        assert_eq!(brief_count(app, "s%C3%B9ng%20th%E1%BB%8B%20m%E1%BB%B7"), 2);
        // A failed request records nothing: its retry is judged afresh.
        let bad = json!({ "full_name": "Vàng A Páo", "date_of_birth": "2090-01-01", "sex": "male", "chapter_id": w.city });
        send("offline-2", &bad).expect_fields(&[("date_of_birth", "out_of_range")]);
        let mut fixed = bad.clone();
        fixed["date_of_birth"] = json!("1990-01-01");
        send("offline-2", &fixed).expect(201);
        // A malformed key, or a body that cannot be read, is 400.
        send("has space", &body).expect_problem(400, "invalid_request");
        send("offline-3", &json!({ "full_name": 5 })).expect_problem(400, "invalid_request");

        // Eight retries racing: one donor, every answer the same.
        let racer = json!({ "full_name": "Thào A Chúng", "date_of_birth": "1992-03-04", "sex": "male",
                            "national_id": null, "chapter_id": w.city });
        let answers: Vec<(u16, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| {
                let racer = racer.clone();
                let token = w.co_province.clone();
                s.spawn(move || {
                    let r = app.call_with("POST", "/api/v1/donors", Some(&token), Some(&racer), &[("Idempotency-Key", "race")]);
                    (r.status, r.text)
                })
            }).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ids: HashSet<String> = answers.iter().map(|(status, text)| {
            assert_eq!(*status, 201, "{text}");
            serde_json::from_str::<Value>(text).unwrap()["id"].as_str().unwrap().to_owned()
        }).collect();
        assert_eq!(ids.len(), 1, "{answers:?}");
        assert_eq!(brief_count(app, "th%C3%A0o%20a%20ch%C3%BAng"), 1);
    }

    fn every_field_error_has_a_code(app) {
        let w = World::new(app);
        // One entry per field at fault, each with its code, in the order of the fields.
        app.post("/api/v1/donors", app.admin(), app.with_chapter(json!({
            "full_name": "  ", "date_of_birth": "2999-01-01", "sex": "male", "national_id": "12ab",
            "blood_group": "Z+", "phone": "12", "province": "x".repeat(101), "weight_kg": 400,
            "prior_donations": -1 })))
            .expect_fields(&[
                ("full_name", "required"),
                ("date_of_birth", "out_of_range"),
                ("national_id", "invalid_format"),
                ("blood_group", "invalid_format"),
                ("phone", "invalid_format"),
                ("province", "too_long"),
                ("weight_kg", "out_of_range"),
                ("prior_donations", "out_of_range"),
            ]);
        app.post("/api/v1/donors", app.admin(), app.with_chapter(json!({
            "full_name": "A\u{7}B", "date_of_birth": "1990-01-01", "sex": "male",
            "prior_last_donation_on": "2020-01-01" })))
            .expect_fields(&[("full_name", "invalid_format"), ("prior_last_donation_on", "not_allowed")]);
        app.post("/api/v1/donors", app.admin(), json!({
            "full_name": "Không chi hội", "date_of_birth": "1990-01-01", "sex": "male" }))
            .expect_fields(&[("chapter_id", "required")]);
        app.post("/api/v1/donors", app.admin(), json!({
            "full_name": "Chi hội lạ", "date_of_birth": "1990-01-01", "sex": "male",
            "chapter_id": uuid::Uuid::new_v4() }))
            .expect_fields(&[("chapter_id", "not_found")]);
        app.post("/api/v1/users", app.admin(), json!({
            "username": "ab", "password": "short", "role": "coordinator" }))
            .expect_fields(&[("username", "invalid_format"), ("password", "below_minimum"), ("chapter_id", "required")]);
        app.post("/api/v1/users", app.admin(), json!({
            "username": "honors.x", "password": "long-enough-password", "role": "honors", "hospital_id": uuid::Uuid::new_v4() }))
            .expect_fields(&[("hospital_id", "not_allowed")]);
        let chapter = app.chapter("Lào Cai", None);
        let dr = drive(app, app.admin(), &chapter, "2024-01-01", "2024-12-31");
        let ev = event(app, app.admin(), &dr, "2024-04-07");
        let x = donor(app, json!({}));
        donate(app, app.admin(), &ev, json!({ "donor_id": x, "component": "whole_blood", "outcome": "collected",
            "donated_at": at("2025-06-01"), "deferral_reason": "cảm cúm" }))
            .expect_fields(&[("donated_at", "out_of_range"), ("volume_ml", "required"), ("deferral_reason", "not_allowed")]);
        app.post("/api/v1/drives", &w.co_province, json!({ "name": "Sai ngày", "chapter_id": w.province,
            "starts_on": "2024-05-01", "ends_on": "2024-04-01" }))
            .expect_fields(&[("ends_on", "out_of_range")]);
        // The codes the tests accept are the domain's, all of them.
        let domain: Vec<&str> = hienmau_domain::FieldCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(domain, FIELD_CODES);
    }
}
