//! Donations at events: roles and scope, every eligibility rule with its exact
//! `next_eligible_on`, deferrals, unit codes, `Idempotency-Key` (also under 16 racing
//! retries), and voiding.

use std::collections::HashSet;

use crate::drive_support::*;
use hienmau_tests::{backend_tests, TestApp};
use serde_json::{json, Value};

/// A chapter, a drive over 2023–2025 (so every date below is inside it) and one event.
fn setup(app: &TestApp) -> (String, String) {
    let chapter = app.chapter("Lào Cai", None);
    let d = drive(app, app.admin(), &chapter, "2023-01-01", "2025-12-31");
    let ev = event(app, app.admin(), &d, "2024-04-07");
    (d, ev)
}

fn donor_view(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/donors/{id}"), app.admin())
        .expect(200)
}

backend_tests! {
    fn donation_roles_and_scope(app) {
        let w = World::new(app);
        let prov_drive = drive(app, &w.co_province, &w.province, "2024-01-01", "2024-12-31");
        let city_drive = drive(app, &w.co_city, &w.city, "2024-01-01", "2024-12-31");
        let prov_ev = event(app, &w.co_province, &prov_drive, "2024-04-07");
        let city_ev = event(app, &w.co_city, &city_drive, "2024-04-07");
        let donor1 = donor(app, json!({}));
        let donor2 = donor(app, json!({ "full_name": "Lò Văn Minh" }));
        let body = collected(&donor1, "whole_blood", 350, "2024-04-07");

        donate(app, &w.co_city, &prov_ev, body.clone()).expect_problem(404, "not_found");
        donate(app, &w.honors, &prov_ev, body.clone()).expect_problem(403, "forbidden");
        donate(app, &w.hospital, &prov_ev, body.clone()).expect_problem(403, "forbidden");
        app.call("POST", &format!("/api/v1/events/{prov_ev}/donations"), None, Some(&body)).expect_problem(401, "unauthorized");
        donate(app, app.admin(), &uuid::Uuid::new_v4().to_string(), body.clone()).expect_problem(404, "not_found");
        // The parent chapter's coordinator reaches the child's events.
        let d = donate(app, &w.co_province, &city_ev, body).expect(201);
        assert_eq!(d["event_id"], city_ev);
        assert_eq!(d["drive_id"], city_drive);
        assert_eq!(d["donor_id"], donor1);
        assert_eq!(d["component"], "whole_blood");
        assert_eq!(d["volume_ml"], 350);
        assert_eq!(d["outcome"], "collected");
        assert_eq!(d["voided"], false);
        assert!(d["emergency_request_id"].is_null());
        assert_eq!(d["donated_at"], "2024-04-07T03:00:00Z");
        let id = d["id"].as_str().unwrap().to_owned();
        let d2 = donate_ok(app, &w.co_province, &prov_ev, collected(&donor2, "whole_blood", 350, "2024-04-07"));

        // Reading and voiding follow the same scope.
        app.get(&format!("/api/v1/donations/{id}"), &w.co_city).expect(200);
        app.get(&format!("/api/v1/donations/{d2}"), &w.co_city).expect_problem(404, "not_found");
        app.get(&format!("/api/v1/donations/{d2}"), &w.honors).expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/donations/{d2}"), &w.hospital).expect_problem(403, "forbidden");
        app.call("GET", &format!("/api/v1/donations/{d2}"), None, None).expect_problem(401, "unauthorized");
        let void = json!({ "reason": "nhập nhầm" });
        app.post(&format!("/api/v1/donations/{d2}/void"), &w.co_city, void.clone()).expect_problem(404, "not_found");
        app.post(&format!("/api/v1/donations/{d2}/void"), &w.honors, void.clone()).expect_problem(403, "forbidden");
        // A hospital may void its own emergency records: a drive donation is not found for it.
        app.post(&format!("/api/v1/donations/{d2}/void"), &w.hospital, void.clone()).expect_problem(404, "not_found");
        app.call("POST", &format!("/api/v1/donations/{d2}/void"), None, Some(&void)).expect_problem(401, "unauthorized");
        app.post(&format!("/api/v1/donations/{}/void", uuid::Uuid::new_v4()), app.admin(), void.clone()).expect_problem(404, "not_found");
        let r = app.post(&format!("/api/v1/donations/{id}/void"), &w.co_city, json!({ "reason": "  " }));
        invalid_field(&r, "reason");
        let v = app.post(&format!("/api/v1/donations/{id}/void"), &w.co_city, void).expect(200);
        assert_eq!(v["voided"], true);
        assert_eq!(v["void_reason"], "nhập nhầm");
    }

    fn whole_blood_platelets_and_the_most_recent_type(app) {
        let (_, ev) = setup(app);
        let admin = app.admin().to_owned();
        // Whole blood: 84 days before anything else.
        let wb = donor(app, json!({ "full_name": "Whole Blood" }));
        donate_ok(app, &admin, &ev, collected(&wb, "whole_blood", 350, "2024-03-01"));
        refused(&donate(app, &admin, &ev, collected(&wb, "whole_blood", 350, "2024-05-01")), "interval", Some("2024-05-24"));
        refused(&donate(app, &admin, &ev, collected(&wb, "platelets", 250, "2024-05-23")), "interval", Some("2024-05-24"));
        // The same day counts too.
        refused(&donate(app, &admin, &ev, collected(&wb, "plasma", 250, "2024-03-01")), "interval", Some("2024-05-24"));
        donate_ok(app, &admin, &ev, collected(&wb, "whole_blood", 350, "2024-05-24"));

        // Platelets and plasma: 14 days.
        let pl = donor(app, json!({ "full_name": "Platelets", "weight_kg": 62.0 }));
        donate_ok(app, &admin, &ev, collected(&pl, "platelets", 250, "2024-03-01"));
        refused(&donate(app, &admin, &ev, collected(&pl, "plasma", 500, "2024-03-10")), "interval", Some("2024-03-15"));
        donate_ok(app, &admin, &ev, collected(&pl, "plasma", 500, "2024-03-15"));
        refused(&donate(app, &admin, &ev, collected(&pl, "whole_blood", 450, "2024-03-28")), "interval", Some("2024-03-29"));

        // The most recent donation's type decides: platelets after whole blood sets 14 days.
        let mix = donor(app, json!({ "full_name": "Mixed", "weight_kg": 70.0 }));
        donate_ok(app, &admin, &ev, collected(&mix, "whole_blood", 450, "2023-01-02"));
        donate_ok(app, &admin, &ev, collected(&mix, "platelets", 250, "2023-06-01"));
        refused(&donate(app, &admin, &ev, collected(&mix, "whole_blood", 450, "2023-06-10")), "interval", Some("2023-06-15"));
        donate_ok(app, &admin, &ev, collected(&mix, "whole_blood", 450, "2023-06-15"));
        // Red cells count as whole blood: 84 days.
        let rc = donor(app, json!({ "full_name": "Red Cells", "weight_kg": 70.0 }));
        donate_ok(app, &admin, &ev, collected(&rc, "red_cells", 450, "2024-03-01"));
        refused(&donate(app, &admin, &ev, collected(&rc, "platelets", 250, "2024-04-01")), "interval", Some("2024-05-24"));

        // A back-dated donation inside a later one's interval is refused.
        let back = donor(app, json!({ "full_name": "Back Dated" }));
        donate_ok(app, &admin, &ev, collected(&back, "whole_blood", 350, "2024-05-01"));
        refused(&donate(app, &admin, &ev, collected(&back, "whole_blood", 350, "2024-03-01")), "interval", Some("2024-07-24"));
        // Far enough before it, it is fine.
        donate_ok(app, &admin, &ev, collected(&back, "whole_blood", 350, "2024-02-07"));

        // A paper-era last donation counts as whole blood.
        let paper = donor(app, json!({ "full_name": "Paper", "prior_donations": 4, "prior_last_donation_on": "2024-02-01" }));
        refused(&donate(app, &admin, &ev, collected(&paper, "platelets", 250, "2024-03-01")), "interval", Some("2024-04-25"));
        donate_ok(app, &admin, &ev, collected(&paper, "whole_blood", 350, "2024-04-25"));
        assert_eq!(donor_view(app, &paper)["donation_count"], 5);
    }

    fn age_limits_at_the_edges(app) {
        let (_, ev) = setup(app);
        let admin = app.admin().to_owned();
        // 18 on 2024-03-10.
        let young = donor(app, json!({ "date_of_birth": "2006-03-10" }));
        refused(&donate(app, &admin, &ev, collected(&young, "whole_blood", 350, "2024-03-09")), "too_young", Some("2024-03-10"));
        donate_ok(app, &admin, &ev, collected(&young, "whole_blood", 350, "2024-03-10"));
        // 60 until 2025-03-09 inclusive; 61 on 2025-03-10.
        let old = donor(app, json!({ "date_of_birth": "1964-03-10" }));
        refused(&donate(app, &admin, &ev, collected(&old, "whole_blood", 350, "2025-03-10")), "too_old", None);
        donate_ok(app, &admin, &ev, collected(&old, "whole_blood", 350, "2025-03-09"));
        let old2 = donor(app, json!({ "date_of_birth": "1964-03-10" }));
        donate_ok(app, &admin, &ev, collected(&old2, "platelets", 250, "2024-03-10"));
    }

    fn weight_and_volume(app) {
        let (_, ev) = setup(app);
        let admin = app.admin().to_owned();
        let day = "2024-04-07";
        let person = |sex: &str, kg: f64| donor(app, json!({ "sex": sex, "weight_kg": kg }));
        // Women from 42 kg, men from 45 kg.
        refused(&donate(app, &admin, &ev, collected(&person("female", 41.9), "whole_blood", 250, day)), "underweight", None);
        refused(&donate(app, &admin, &ev, collected(&person("male", 44.9), "whole_blood", 250, day)), "underweight", None);
        // 42 to under 45 kg: at most 250 ml.
        let w42 = person("female", 42.0);
        refused(&donate(app, &admin, &ev, collected(&w42, "whole_blood", 350, day)), "volume_above_allowed", Some(day));
        donate_ok(app, &admin, &ev, collected(&w42, "whole_blood", 250, day));
        // 45 kg and over: 9 ml per kg.
        let m45 = person("male", 45.0);
        refused(&donate(app, &admin, &ev, collected(&m45, "whole_blood", 406, day)), "volume_above_allowed", Some(day));
        donate_ok(app, &admin, &ev, collected(&m45, "whole_blood", 405, day));
        let f50 = person("female", 50.0);
        refused(&donate(app, &admin, &ev, collected(&f50, "whole_blood", 451, day)), "volume_above_allowed", Some(day));
        donate_ok(app, &admin, &ev, collected(&f50, "whole_blood", 450, day));
        // And never above 500 ml.
        let m70 = person("male", 70.0);
        refused(&donate(app, &admin, &ev, collected(&m70, "whole_blood", 550, day)), "volume_above_allowed", Some(day));
        donate_ok(app, &admin, &ev, collected(&m70, "whole_blood", 500, day));
        // Apheresis (red cells, platelets, plasma) from 50 kg, women and men alike (Art. 4.2(b)).
        for (sex, component) in [("female", "red_cells"), ("male", "red_cells"), ("female", "platelets"),
                                 ("male", "platelets"), ("female", "plasma"), ("male", "plasma")] {
            refused(&donate(app, &admin, &ev, collected(&person(sex, 49.0), component, 250, day)), "underweight", None);
            donate_ok(app, &admin, &ev, collected(&person(sex, 50.0), component, 250, day));
        }
        // A 48 kg woman gives whole blood, not apheresis red cells.
        refused(&donate(app, &admin, &ev, collected(&person("female", 48.0), "red_cells", 250, day)), "underweight", None);
        donate_ok(app, &admin, &ev, collected(&person("female", 48.0), "whole_blood", 350, day));
        // Apheresis caps: 500 ml from 50 kg, 650 ml from 60 kg (red cells too).
        let f50 = person("female", 50.0);
        refused(&donate(app, &admin, &ev, collected(&f50, "red_cells", 501, day)), "volume_above_allowed", Some(day));
        donate_ok(app, &admin, &ev, collected(&f50, "red_cells", 500, day));
        let m60 = person("male", 60.0);
        refused(&donate(app, &admin, &ev, collected(&m60, "red_cells", 651, day)), "volume_above_allowed", Some(day));
        donate_ok(app, &admin, &ev, collected(&m60, "red_cells", 650, day));
    }

    fn weight_at_screening(app) {
        let (_, ev) = setup(app);
        let admin = app.admin().to_owned();
        let day = "2024-04-07";
        let weighed = |mut body: Value, kg: Value| {
            body["weight_kg"] = kg;
            body
        };
        // No weight on record and none measured: a collection cannot be judged (422 naming
        // weight_kg), and nothing is recorded.
        let unknown = donor(app, json!({ "weight_kg": null }));
        let r = donate(app, &admin, &ev, collected(&unknown, "whole_blood", 250, day));
        invalid_field(&r, "weight_kg");
        assert_eq!(donor_view(app, &unknown)["donation_count"], 0);
        // A deferral needs no weight.
        donate_ok(app, &admin, &ev, deferred(&unknown, "2024-01-10", "2024-01-17"));
        assert!(donor_view(app, &unknown)["weight_kg"].is_null());
        // Measured at screening: judged on it, and it becomes the donor's weight.
        let r = donate(app, &admin, &ev, weighed(collected(&unknown, "whole_blood", 350, day), json!(44.0)));
        refused(&r, "volume_above_allowed", Some(day));
        assert!(donor_view(app, &unknown)["weight_kg"].is_null(), "a refusal records nothing");
        donate_ok(app, &admin, &ev, weighed(collected(&unknown, "whole_blood", 250, day), json!(44.0)));
        let v = donor_view(app, &unknown);
        assert_eq!((v["weight_kg"].as_f64(), v["donation_count"].as_i64()), (Some(44.0), Some(1)));
        // The measurement wins over the record: 60 kg on record, 41 kg today.
        let heavy = donor(app, json!({ "weight_kg": 60.0 }));
        refused(&donate(app, &admin, &ev, weighed(collected(&heavy, "whole_blood", 250, day), json!(41.0))), "underweight", None);
        assert_eq!(donor_view(app, &heavy)["weight_kg"], 60.0);
        // Without a measurement, the weight on record is used.
        donate_ok(app, &admin, &ev, collected(&heavy, "whole_blood", 450, day));
        // A deferral's measurement is kept too (the low weight is why she was deferred).
        let light = donor(app, json!({ "weight_kg": 50.0 }));
        donate_ok(app, &admin, &ev, weighed(deferred(&light, "2024-04-07", "2024-04-14"), json!(40.5)));
        assert_eq!(donor_view(app, &light)["weight_kg"], 40.5);
        // A paper form typed in late does not overwrite a newer measurement.
        let late = donor(app, json!({ "weight_kg": null }));
        donate_ok(app, &admin, &ev, weighed(collected(&late, "whole_blood", 350, day), json!(58.0)));
        donate_ok(app, &admin, &ev, weighed(collected(&late, "whole_blood", 350, "2024-01-05"), json!(52.0)));
        let v = donor_view(app, &late);
        assert_eq!((v["weight_kg"].as_f64(), v["donation_count"].as_i64()), (Some(58.0), Some(2)));
        // Impossible weights are invalid; a string is unreadable.
        for kg in [json!(0), json!(-3), json!(300), json!(1e9)] {
            invalid_field(&donate(app, &admin, &ev, weighed(collected(&heavy, "platelets", 250, "2024-08-01"), kg)), "weight_kg");
        }
        donate(app, &admin, &ev, weighed(collected(&heavy, "platelets", 250, "2024-08-01"), json!("55"))).expect_problem(400, "invalid_request");
        // Batch items take it the same way.
        let offline = donor(app, json!({ "weight_kg": null }));
        let mut item = collected(&offline, "whole_blood", 350, day);
        item["client_ref"] = json!("w-1");
        let mut weighed_item = weighed(item.clone(), json!(51.0));
        weighed_item["client_ref"] = json!("w-2");
        let out = app.post(&format!("/api/v1/events/{ev}/donations/batch"), &admin, json!({ "items": [item, weighed_item] }))
            .expect(200);
        assert_eq!(out["results"][0]["status"], 422, "{out}");
        assert_eq!(out["results"][0]["error"]["errors"][0]["field"], "weight_kg", "{out}");
        assert_eq!(out["results"][1]["status"], 201, "{out}");
        assert_eq!(donor_view(app, &offline)["weight_kg"], 51.0);
    }

    fn deferrals(app) {
        let (_, ev) = setup(app);
        let admin = app.admin().to_owned();
        let temp = donor(app, json!({ "full_name": "Tạm hoãn" }));
        let d = donate(app, &admin, &ev, deferred(&temp, "2024-03-01", "2024-03-08")).expect(201);
        assert_eq!(d["outcome"], "deferred");
        assert!(d["unit_code"].is_null());
        assert_eq!(d["volume_ml"], 0);
        assert_eq!(d["deferred_until"], "2024-03-08");
        assert_eq!(d["deferral_reason"], "cảm cúm");
        assert_eq!(d["permanent"], false);
        refused(&donate(app, &admin, &ev, collected(&temp, "whole_blood", 350, "2024-03-05")), "deferred", Some("2024-03-08"));
        refused(&donate(app, &admin, &ev, collected(&temp, "platelets", 250, "2024-03-07")), "deferred", Some("2024-03-08"));
        // A deferral takes no blood: no interval follows it.
        donate_ok(app, &admin, &ev, collected(&temp, "whole_blood", 350, "2024-03-08"));
        // A collection before the screening is not affected.
        let temp2 = donor(app, json!({ "full_name": "Tạm hoãn 2" }));
        donate_ok(app, &admin, &ev, deferred(&temp2, "2024-03-01", "2024-09-01"));
        donate_ok(app, &admin, &ev, collected(&temp2, "whole_blood", 350, "2023-11-01"));

        let perm = donor(app, json!({ "full_name": "Vĩnh viễn" }));
        let d = donate(app, &admin, &ev, json!({ "donor_id": perm, "component": "whole_blood", "outcome": "deferred",
            "donated_at": at("2024-03-01"), "deferral_reason": "HBsAg dương tính", "permanent": true })).expect(201);
        assert_eq!(d["permanent"], true);
        assert!(d["deferred_until"].is_null());
        refused(&donate(app, &admin, &ev, collected(&perm, "whole_blood", 350, "2024-06-01")), "permanently_deferred", None);
        assert!(donor_view(app, &perm)["next_eligible_on"].is_null());

        // A deferral needs a reason and exactly one of an end or permanent: true.
        let x = donor(app, json!({}));
        let base = json!({ "donor_id": x, "component": "whole_blood", "volume_ml": 0, "outcome": "deferred", "donated_at": at("2024-03-01") });
        let with = |extra: Value| {
            let mut b = base.clone();
            for (k, v) in extra.as_object().unwrap() { b[k] = v.clone(); }
            donate(app, &admin, &ev, b)
        };
        invalid_field(&with(json!({ "deferred_until": "2024-04-01" })), "deferral_reason");
        invalid_field(&with(json!({ "deferral_reason": "x" })), "deferred_until");
        invalid_field(&with(json!({ "deferral_reason": "x", "deferred_until": "2024-04-01", "permanent": true })), "deferred_until");
        invalid_field(&with(json!({ "deferral_reason": "x", "deferred_until": "2024-03-01" })), "deferred_until");
        invalid_field(&with(json!({ "deferral_reason": "x", "deferred_until": "2024-04-01", "unit_code": "BAG-1" })), "unit_code");
        // Deferral fields on a collection.
        let mut c = collected(&x, "whole_blood", 350, "2024-03-01");
        c["deferred_until"] = json!("2024-04-01");
        invalid_field(&donate(app, &admin, &ev, c), "deferred_until");
        // Nothing was recorded by the refusals.
        donate_ok(app, &admin, &ev, collected(&x, "whole_blood", 350, "2024-03-01"));
    }

    fn fields_codes_and_dates(app) {
        let chapter = app.chapter("Lào Cai", None);
        let admin = app.admin().to_owned();
        let dr = drive(app, &admin, &chapter, "2024-04-06", "2024-04-08");
        let ev = event(app, &admin, &dr, "2024-04-07");
        let x = donor(app, json!({}));
        let y = donor(app, json!({ "full_name": "Y" }));
        // Unknown enum values and wrong types are 400.
        for bad in [
            json!({ "donor_id": x, "component": "blood", "volume_ml": 350, "outcome": "collected" }),
            json!({ "donor_id": x, "component": "whole_blood", "volume_ml": 350, "outcome": "maybe" }),
            json!({ "donor_id": x, "component": "whole_blood", "volume_ml": "350", "outcome": "collected" }),
            json!({ "donor_id": "nope", "component": "whole_blood", "volume_ml": 350, "outcome": "collected" }),
            json!({ "donor_id": x, "component": "whole_blood", "volume_ml": 350, "outcome": "collected", "donated_at": "yesterday" }),
            json!({ "donor_id": x, "component": "whole_blood", "volume_ml": 350, "outcome": "collected", "colour": "red" }),
        ] {
            donate(app, &admin, &ev, bad).expect_problem(400, "invalid_request");
        }
        let r = app.call_raw("POST", &format!("/api/v1/events/{ev}/donations"), Some(&admin), "application/json", b"{not json");
        r.expect_problem(400, "invalid_request");
        // Unknown donor, volume, dates.
        invalid_field(&donate(app, &admin, &ev, collected(&uuid::Uuid::new_v4().to_string(), "whole_blood", 350, "2024-04-07")), "donor_id");
        invalid_field(&donate(app, &admin, &ev, collected(&x, "whole_blood", 0, "2024-04-07")), "volume_ml");
        invalid_field(&donate(app, &admin, &ev, json!({ "donor_id": x, "component": "whole_blood", "outcome": "collected", "donated_at": at("2024-04-07") })), "volume_ml");
        invalid_field(&donate(app, &admin, &ev, collected(&x, "whole_blood", 350, "2024-04-05")), "donated_at");
        invalid_field(&donate(app, &admin, &ev, collected(&x, "whole_blood", 350, "2024-04-09")), "donated_at");
        // 23:30 UTC on 5 April is 06:30 on the 6th in Vietnam: inside the drive.
        let mut early = collected(&x, "whole_blood", 350, "2024-04-06");
        early["donated_at"] = json!("2024-04-05T23:30:00Z");
        let d = donate(app, &admin, &ev, early).expect(201);
        assert_eq!(d["donated_at"], "2024-04-05T23:30:00Z");
        // The default (now) is outside this 2024 drive.
        invalid_field(&donate(app, &admin, &ev, json!({ "donor_id": y, "component": "whole_blood", "volume_ml": 350, "outcome": "collected" })), "donated_at");
        // A future instant is refused even inside a drive's dates.
        let future = drive(app, &admin, &chapter, "2024-01-01", "2099-12-31");
        let fev = event(app, &admin, &future, "2099-01-01");
        invalid_field(&donate(app, &admin, &fev, collected(&y, "whole_blood", 350, "2098-01-01")), "donated_at");
        // The default is now, inside this drive.
        let now = donate(app, &admin, &fev, json!({ "donor_id": y, "component": "plasma", "volume_ml": 300, "outcome": "collected" })).expect(201);
        let now_at = chrono::DateTime::parse_from_rfc3339(now["donated_at"].as_str().unwrap()).unwrap();
        assert!((chrono::Utc::now() - now_at.with_timezone(&chrono::Utc)).num_seconds().abs() < 60);

        // Generated unit codes are unique; a given code is kept, and reused is 409.
        let code = d["unit_code"].as_str().unwrap();
        assert!(code.starts_with("HM-20240406-"), "{code}");
        assert_eq!(code.len(), 20);
        let z = donor(app, json!({ "full_name": "Z" }));
        let mut bag = collected(&z, "whole_blood", 350, "2024-04-07");
        bag["unit_code"] = json!("LC-2024-000123");
        assert_eq!(donate(app, &admin, &ev, bag.clone()).expect(201)["unit_code"], "LC-2024-000123");
        let zz = donor(app, json!({ "full_name": "ZZ" }));
        bag["donor_id"] = json!(zz);
        donate(app, &admin, &ev, bag.clone()).expect_problem(409, "conflict");
        bag["unit_code"] = json!("has space");
        invalid_field(&donate(app, &admin, &ev, bag.clone()), "unit_code");
        // The 409 recorded nothing: the donor may still give.
        bag["unit_code"] = json!("LC-2024-000124");
        donate(app, &admin, &ev, bag).expect(201);
        let t = tally(app, &dr);
        assert_eq!(t["units"], 3);
    }

    fn idempotency_key(app) {
        let (dr, ev) = setup(app);
        let admin = app.admin().to_owned();
        let x = donor(app, json!({}));
        let path = format!("/api/v1/events/{ev}/donations");
        let body = collected(&x, "whole_blood", 350, "2024-04-07");
        let first = app.call_with("POST", &path, Some(&admin), Some(&body), &[("Idempotency-Key", "k-1")]);
        first.expect(201);
        // Same key, same body (keys in another order): the first answer again.
        let reordered: Value = serde_json::from_str(&format!(
            r#"{{"donated_at":"{}","outcome":"collected","volume_ml":350,"component":"whole_blood","donor_id":"{x}"}}"#,
            at("2024-04-07")
        )).unwrap();
        let again = app.call_with("POST", &path, Some(&admin), Some(&reordered), &[("Idempotency-Key", "k-1")]);
        assert_eq!(again.status, 201);
        assert_eq!(again.text, first.text);
        assert_eq!(again.header("idempotency-key"), Some("replayed"));
        assert_eq!(tally(app, &dr)["units"], 1);
        // Same key, another body.
        let mut other = body.clone();
        other["volume_ml"] = json!(250);
        app.call_with("POST", &path, Some(&admin), Some(&other), &[("Idempotency-Key", "k-1")])
            .expect_problem(422, "idempotency_key_reused");
        // Same key and body at another event is another request.
        let ev2 = event(app, &admin, &dr, "2024-04-08");
        app.call_with("POST", &format!("/api/v1/events/{ev2}/donations"), Some(&admin), Some(&body), &[("Idempotency-Key", "k-1")])
            .expect_problem(422, "idempotency_key_reused");
        // Keys belong to their user: another user's same key is a new request (refused here
        // by the interval, which proves it was judged).
        let chapter = app.get(&format!("/api/v1/drives/{dr}"), &admin).expect(200)["chapter_id"].as_str().unwrap().to_owned();
        let (_, co) = app.user("coord", "coordinator", Some(&chapter), None);
        refused(&app.call_with("POST", &path, Some(&co), Some(&body), &[("Idempotency-Key", "k-1")]), "interval", Some("2024-06-30"));
        // A failed request records nothing: its retry is judged afresh.
        let y = donor(app, json!({ "full_name": "Y" }));
        let blocker = donate_ok(app, &admin, &ev, collected(&y, "whole_blood", 350, "2024-03-01"));
        let late = collected(&y, "whole_blood", 350, "2024-04-07");
        refused(&app.call_with("POST", &path, Some(&admin), Some(&late), &[("Idempotency-Key", "k-2")]), "interval", Some("2024-05-24"));
        app.post(&format!("/api/v1/donations/{blocker}/void"), &admin, json!({ "reason": "sai ngày" })).expect(200);
        app.call_with("POST", &path, Some(&admin), Some(&late), &[("Idempotency-Key", "k-2")]).expect(201);
        // A malformed key is 400.
        app.call_with("POST", &path, Some(&admin), Some(&late), &[("Idempotency-Key", "has space")])
            .expect_problem(400, "invalid_request");
        assert_eq!(tally(app, &dr)["units"], 2);
    }

    fn sixteen_racing_retries_record_once(app) {
        let (dr, ev) = setup(app);
        let admin = app.admin().to_owned();
        let path = format!("/api/v1/events/{ev}/donations");
        let x = donor(app, json!({}));
        let y = donor(app, json!({ "full_name": "Y" }));
        let race = |body: Value, key: &str| -> Vec<(u16, String)> {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..16).map(|_| {
                    let (body, key, path, admin) = (body.clone(), key.to_owned(), path.clone(), admin.clone());
                    s.spawn(move || {
                        let r = app.call_with("POST", &path, Some(&admin), Some(&body), &[("Idempotency-Key", &key)]);
                        (r.status, r.text)
                    })
                }).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        };
        let results = race(collected(&x, "whole_blood", 350, "2024-04-07"), "race-collect");
        let ids: HashSet<String> = results.iter().map(|(status, text)| {
            assert_eq!(*status, 201, "{text}");
            serde_json::from_str::<Value>(text).unwrap()["id"].as_str().unwrap().to_owned()
        }).collect();
        assert_eq!(ids.len(), 1, "{results:?}");
        // A deferral sets no interval, so only the key keeps it to one record.
        let results = race(deferred(&y, "2024-04-07", "2024-05-07"), "race-defer");
        let ids: HashSet<String> = results.iter().map(|(status, text)| {
            assert_eq!(*status, 201, "{text}");
            serde_json::from_str::<Value>(text).unwrap()["id"].as_str().unwrap().to_owned()
        }).collect();
        assert_eq!(ids.len(), 1, "{results:?}");
        let t = tally(app, &dr);
        assert_eq!(t["units"], 1);
        assert_eq!(t["deferrals"], 1);

        // Sixteen devices recording the same donor at once, each with its own key: the
        // eligibility decision inside the write transaction lets exactly one through.
        let z = donor(app, json!({ "full_name": "Z" }));
        let body = collected(&z, "whole_blood", 350, "2024-04-07");
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16).map(|i| {
                let (body, path, admin) = (body.clone(), path.clone(), admin.clone());
                s.spawn(move || {
                    let key = format!("device-{i}");
                    app.call_with("POST", &path, Some(&admin), Some(&body), &[("Idempotency-Key", &key)]).status
                })
            }).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 15, "{statuses:?}");
        assert_eq!(tally(app, &dr)["units"], 2);
    }

    fn void_restores_eligibility_and_counts(app) {
        let (dr, ev) = setup(app);
        let admin = app.admin().to_owned();
        let x = donor(app, json!({ "blood_group": "O+", "prior_donations": 2 }));
        let before = donor_view(app, &x);
        assert_eq!(before["donation_count"], 2);
        let id = donate_ok(app, &admin, &ev, collected(&x, "whole_blood", 350, "2024-04-07"));
        let after = donor_view(app, &x);
        assert_eq!(after["donation_count"], 3);
        assert_eq!(after["last_donation_at"], "2024-04-07T03:00:00Z");
        refused(&donate(app, &admin, &ev, collected(&x, "whole_blood", 350, "2024-05-01")), "interval", Some("2024-06-30"));
        let t = tally(app, &dr);
        assert_eq!((t["units"].as_i64(), t["donors"].as_i64(), t["volume_ml"].as_i64()), (Some(1), Some(1), Some(350)));

        let v = app.post(&format!("/api/v1/donations/{id}/void"), &admin, json!({ "reason": "nhập nhầm người" })).expect(200);
        assert_eq!(v["voided"], true);
        assert_eq!(v["id"], id);
        assert!(v["voided_at"].is_string());
        // Voiding again changes nothing and answers the record.
        let again = app.post(&format!("/api/v1/donations/{id}/void"), &admin, json!({ "reason": "lần hai" })).expect(200);
        assert_eq!(again["void_reason"], "nhập nhầm người");
        assert_eq!(app.get(&format!("/api/v1/donations/{id}"), &admin).expect(200)["voided"], true);

        let t = tally(app, &dr);
        assert_eq!(t["units"], 0);
        assert_eq!(t["volume_ml"], 0);
        assert_eq!(t["donors"], 0);
        assert_eq!(t["first_time_donors"], 0);
        assert_eq!(t["by_blood_group"]["O+"], 0);
        assert_eq!(t["by_event"][0]["units"], 0);
        let list = app.get("/api/v1/drives", &admin).expect(200);
        assert_eq!(list["items"][0]["units"], 0);
        let restored = donor_view(app, &x);
        assert_eq!(restored["donation_count"], 2);
        assert!(restored["last_donation_at"].is_null());
        // Eligible again at once.
        donate_ok(app, &admin, &ev, collected(&x, "whole_blood", 350, "2024-05-01"));
        assert_eq!(donor_view(app, &x)["donation_count"], 3);

        // A voided deferral stops deferring.
        let y = donor(app, json!({ "full_name": "Y" }));
        let def = donate_ok(app, &admin, &ev, deferred(&y, "2024-04-07", "2024-10-07"));
        refused(&donate(app, &admin, &ev, collected(&y, "whole_blood", 350, "2024-05-01")), "deferred", Some("2024-10-07"));
        app.post(&format!("/api/v1/donations/{def}/void"), &admin, json!({ "reason": "nhầm" })).expect(200);
        assert_eq!(tally(app, &dr)["deferrals"], 0);
        donate_ok(app, &admin, &ev, collected(&y, "whole_blood", 350, "2024-05-01"));

        // Each void is in the audit log, once.
        let mut conn = app.state.pool.get().unwrap();
        let page = hienmau_db::repo::audit::list(&mut conn, None, 100).unwrap();
        let voids: Vec<_> = page.items.iter().filter(|e| e.action == "donation_voided").collect();
        assert_eq!(voids.len(), 2);
        assert!(voids.iter().any(|e| e.detail.contains(&id) && e.donor_ids.contains(&x)));
    }
}
