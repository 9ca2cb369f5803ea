//! Deferrals (issue 15, items 3, 6 and 12): the reason catalogue and its minimums at events, in
//! batches and for emergency requests; deferrals noted after the drive
//! (`POST /donors/{id}/deferrals`); voiding a permanent deferral (admins only); the audit of a
//! blood-group change.

use chrono::{Duration, NaiveDate};
use hienmau_tests::{backend_tests, TestApp};
use serde_json::{json, Value};

use crate::drive_support::{self, donate, donor, invalid_field, refused, tally, World};
use crate::emergency_support::{self as es, ago, candidate_ids, request_id, today};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// The catalogue as served: (code, min_days).
fn catalogue(app: &TestApp) -> Vec<(String, Option<i64>)> {
    app.get("/api/v1/deferral-reasons", app.admin())
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_owned(),
                r["min_days"].as_i64(),
            )
        })
        .collect()
}

/// A deferral body at an event on `day`.
fn deferral(
    donor: &str,
    day: &str,
    reason: &str,
    until: Option<NaiveDate>,
    permanent: Option<bool>,
) -> Value {
    let mut b = json!({ "donor_id": donor, "component": "whole_blood", "outcome": "deferred",
                        "donated_at": drive_support::at(day), "deferral_reason": reason });
    if let Some(u) = until {
        b["deferred_until"] = json!(u);
    }
    if let Some(p) = permanent {
        b["permanent"] = json!(p);
    }
    b
}

fn note(app: &TestApp, token: &str, donor: &str, body: Value) -> hienmau_tests::Resp {
    app.post(&format!("/api/v1/donors/{donor}/deferrals"), token, body)
}

/// A donor registered by the coordinator `token` (its chapter is the registering one).
fn registered_by(app: &TestApp, token: &str, name: &str, extra: Value) -> String {
    let mut body = json!({ "full_name": name, "date_of_birth": "1990-05-17", "sex": "female",
                           "weight_kg": 55.0 });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    id(&app.post("/api/v1/donors", token, body).expect(201))
}

fn newest_audit(app: &TestApp, action: &str) -> Value {
    es::audit(app, 50)
        .into_iter()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in the audit log"))
}

backend_tests! {
    fn the_catalogue_is_served_to_every_signed_in_role(app) {
        let w = World::new(app);
        let h = app.hospital("Bệnh viện Sa Pa");
        let key = app.post(&format!("/api/v1/hospitals/{h}/api-keys"), app.admin(), json!({ "name": "his" }))
            .expect(201)["key"].as_str().unwrap().to_owned();
        let admin = app.admin().to_owned();
        for token in [&admin, &w.co_city, &w.honors, &w.hospital, &key] {
            let items = app.get("/api/v1/deferral-reasons", token).expect(200);
            assert_eq!(items.as_array().unwrap().len(), 17, "{items}");
        }
        app.call("GET", "/api/v1/deferral-reasons", None, None).expect_problem(401, "unauthorized");
        let items = app.get("/api/v1/deferral-reasons", &admin).expect(200);
        let tattoo = items.as_array().unwrap().iter().find(|r| r["code"] == "tattoo_piercing").unwrap();
        assert_eq!(tattoo["min_days"], 182);
        assert!(!tattoo["label_vi"].as_str().unwrap().is_empty());
        assert_eq!(tattoo["label_en"], "Tattoo or body piercing");
        let keys: Vec<&String> = tattoo.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{tattoo}");
        let tti = items.as_array().unwrap().iter().find(|r| r["code"] == "tti_positive").unwrap();
        assert!(tti["min_days"].is_null());
        let cat = catalogue(app);
        for (code, days) in [("surgery", Some(365)), ("infection_cured", Some(28)), ("flu_cold", Some(7)),
                             ("low_hemoglobin", Some(7)), ("chronic_disease", None)] {
            assert!(cat.contains(&(code.to_owned(), days)), "{code}: {cat:?}");
        }
    }

    fn every_catalogue_minimum_holds_at_an_event(app) {
        let chapter = app.chapter("Lào Cai", None);
        let admin = app.admin().to_owned();
        let d = drive_support::drive(app, &admin, &chapter, "2023-01-01", "2025-12-31");
        let ev = drive_support::event(app, &admin, &d, "2024-03-01");
        let day: NaiveDate = "2024-03-01".parse().unwrap();
        let cat = catalogue(app);
        assert_eq!(cat.len(), 17);
        for (code, min_days) in &cat {
            let x = donor(app, json!({ "full_name": format!("Người hiến {code}") }));
            match min_days {
                Some(n) => {
                    let at = day + Duration::days(*n);
                    // One day short of the minimum: refused, naming deferred_until.
                    let r = donate(app, &admin, &ev, deferral(&x, "2024-03-01", code, Some(at - Duration::days(1)), None));
                    invalid_field(&r, "deferred_until");
                    // Trimmed, the code is still the code.
                    let r = donate(app, &admin, &ev, deferral(&x, "2024-03-01", &format!("  {code} "), Some(at - Duration::days(1)), None));
                    invalid_field(&r, "deferred_until");
                    // At the minimum: recorded.
                    let rec = donate(app, &admin, &ev, deferral(&x, "2024-03-01", code, Some(at), None)).expect(201);
                    assert_eq!(rec["deferred_until"], json!(at));
                    assert_eq!(rec["deferral_reason"], json!(code));
                }
                None => {
                    // A permanent code without permanent: true.
                    let r = donate(app, &admin, &ev, deferral(&x, "2024-03-01", code, Some(day + Duration::days(3650)), None));
                    invalid_field(&r, "permanent");
                    let r = donate(app, &admin, &ev, deferral(&x, "2024-03-01", code, None, Some(false)));
                    invalid_field(&r, "permanent");
                    let rec = donate(app, &admin, &ev, deferral(&x, "2024-03-01", code, None, Some(true))).expect(201);
                    assert_eq!(rec["permanent"], true);
                }
            }
        }
        // A permanent deferral satisfies any minimum.
        let x = donor(app, json!({ "full_name": "Xăm vĩnh viễn" }));
        donate(app, &admin, &ev, deferral(&x, "2024-03-01", "tattoo_piercing", None, Some(true))).expect(201);
        // Free text keeps today's rule: any until-date after the day.
        let x = donor(app, json!({ "full_name": "Tự do" }));
        donate(app, &admin, &ev, deferral(&x, "2024-03-01", "xăm mình", Some(day + Duration::days(1)), None)).expect(201);
        let x = donor(app, json!({ "full_name": "Tự do 2" }));
        donate(app, &admin, &ev, deferral(&x, "2024-03-01", "Tattoo_piercing", Some(day + Duration::days(1)), None)).expect(201);
        // The batch and emergency paths apply the same rule.
        let x = donor(app, json!({ "full_name": "Lô" }));
        let mut item = deferral(&x, "2024-03-01", "tattoo_piercing", Some(day + Duration::days(30)), None);
        item["client_ref"] = json!("a1");
        let out = app.post(&format!("/api/v1/events/{ev}/donations/batch"), &admin, json!({ "items": [item] })).expect(200);
        assert_eq!(out["results"][0]["status"], 422, "{out}");
        assert_eq!(out["results"][0]["error"]["errors"][0]["field"], "deferred_until", "{out}");
        let (_, hospital) = es::hospital_user(app, "bv_sapa");
        let req = request_id(app, &hospital, json!({}));
        let r = app.post(&format!("/api/v1/emergency-requests/{req}/donations"), &admin,
            json!({ "donor_id": x, "component": "red_cells", "outcome": "deferred",
                    "deferral_reason": "flu_cold", "deferred_until": today(app) + Duration::days(6) }));
        invalid_field(&r, "deferred_until");
    }

    fn a_deferral_noted_after_the_drive(app) {
        let w = World::new(app);
        let other = app.chapter("Hội Chữ thập đỏ huyện Bát Xát", Some(&w.province));
        let (_, co_other) = app.user("co_other", "coordinator", Some(&other), None);
        let dr = drive_support::drive(app, &w.co_city, &w.city, &ago(app, 30).to_string(), &today(app).to_string());
        let ev = drive_support::event(app, &w.co_city, &dr, &today(app).to_string());
        let x = registered_by(app, &w.co_city, "Lý Thị Mai", json!({}));
        let year = today(app).format("%Y").to_string();
        let report = |app: &TestApp| app.get(&format!("/api/v1/reports/annual?year={year}"), app.admin()).expect(200)["deferrals"].as_i64().unwrap();
        let before = report(app);

        // Roles and scope: hospital and honors 403; another chapter's coordinator 404.
        let body = json!({ "deferral_reason": "infection_cured", "deferred_until": ago(app, 5) + Duration::days(28),
                           "noted_on": ago(app, 5) });
        note(app, &w.hospital, &x, body.clone()).expect_problem(403, "forbidden");
        note(app, &w.honors, &x, body.clone()).expect_problem(403, "forbidden");
        note(app, &co_other, &x, body.clone()).expect_problem(404, "not_found");
        note(app, &w.co_city, &uuid::Uuid::new_v4().to_string(), body.clone()).expect_problem(404, "not_found");
        // The catalogue counts from noted_on; noted_on is not in the future.
        let mut short = body.clone();
        short["deferred_until"] = json!(ago(app, 5) + Duration::days(27));
        invalid_field(&note(app, &w.co_city, &x, short), "deferred_until");
        let mut future = body.clone();
        future["noted_on"] = json!(today(app) + Duration::days(1));
        invalid_field(&note(app, &w.co_city, &x, future), "noted_on");
        invalid_field(&note(app, &w.co_city, &x, json!({ "deferral_reason": "tti_positive" })), "permanent");
        invalid_field(&note(app, &w.co_city, &x, json!({ "deferral_reason": " ", "deferred_until": today(app) + Duration::days(9) })), "deferral_reason");

        // The registering chapter's coordinator records it.
        let rec = note(app, &w.co_city, &x, body.clone()).expect(201);
        assert_eq!(rec["outcome"], "deferred");
        assert!(rec["event_id"].is_null() && rec["drive_id"].is_null() && rec["emergency_request_id"].is_null(), "{rec}");
        assert_eq!(rec["deferral_reason"], "infection_cured");
        let until = ago(app, 5) + Duration::days(28);
        assert_eq!(rec["deferred_until"], json!(until));
        let donation = id(&rec);
        let entry = newest_audit(app, "deferral_recorded");
        assert_eq!(entry["detail"]["donation_id"], json!(donation));
        assert_eq!(entry["donor_ids"], json!([x]));
        let view = app.get(&format!("/api/v1/donors/{x}"), app.admin()).expect(200);
        assert_eq!(view["next_eligible_on"], json!(until));

        // A donation at the event before the until date is refused.
        let give = json!({ "donor_id": x, "component": "whole_blood", "volume_ml": 350, "outcome": "collected" });
        refused(&donate(app, &w.co_city, &ev, give.clone()), "deferred", Some(&until.to_string()));

        // Not a deferral at the drive, nor at screening in the report.
        assert_eq!(tally(app, &dr)["deferrals"], 0);
        assert_eq!(report(app), before);
        // (An event deferral does count, both places.)
        let y = registered_by(app, &w.co_city, "Lò Văn Sáng", json!({}));
        donate(app, &w.co_city, &ev, json!({ "donor_id": y, "component": "whole_blood", "outcome": "deferred",
            "deferral_reason": "flu_cold", "deferred_until": today(app) + Duration::days(7) })).expect(201);
        assert_eq!(tally(app, &dr)["deferrals"], 1);
        assert_eq!(report(app), before + 1);

        // The parent chapter's coordinator and the admin reach it; it reads and voids like any
        // record of the registering chapter.
        app.get(&format!("/api/v1/donations/{donation}"), &w.co_province).expect(200);
        app.get(&format!("/api/v1/donations/{donation}"), &co_other).expect_problem(404, "not_found");
        app.post(&format!("/api/v1/donations/{donation}/void"), &w.co_city, json!({ "reason": "kết quả nhầm người" })).expect(200);
        donate(app, &w.co_city, &ev, give).expect(201);

        // A permanent result (positive HBsAg), by the parent chapter's coordinator.
        let z = registered_by(app, &w.co_city, "Hầu A Páo", json!({}));
        let rec = note(app, &w.co_province, &z, json!({ "deferral_reason": "tti_positive", "permanent": true })).expect(201);
        assert_eq!(rec["permanent"], true);
        let view = app.get(&format!("/api/v1/donors/{z}"), app.admin()).expect(200);
        assert!(view["next_eligible_on"].is_null(), "{view}");
        refused(&donate(app, &w.co_city, &ev, json!({ "donor_id": z, "component": "whole_blood", "volume_ml": 350, "outcome": "collected" })), "permanently_deferred", None);
        // Free text for an admin, on a donor of any chapter.
        let v = donor(app, json!({ "full_name": "Sùng Thị Lan" }));
        note(app, app.admin(), &v, json!({ "deferral_reason": "chờ kết quả xét nghiệm lại", "deferred_until": today(app) + Duration::days(1) })).expect(201);
    }

    fn voiding_a_permanent_deferral_is_for_admins(app) {
        let chapter = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let (_, co) = app.user("co_laocai", "coordinator", Some(&chapter), None);
        let dr = drive_support::drive(app, &co, &chapter, &ago(app, 30).to_string(), &today(app).to_string());
        let ev = drive_support::event(app, &co, &dr, &today(app).to_string());
        let x = es::reserve_donor(app, "Giàng A Tủa", "O-", json!({}));
        let (_, hospital) = es::hospital_user(app, "bv_laocai");
        let req = request_id(app, &hospital, json!({ "blood_group": "O-" }));
        assert!(candidate_ids(app, &hospital, &req).contains(&x));

        let d = id(&donate(app, &co, &ev, json!({ "donor_id": x, "component": "whole_blood", "outcome": "deferred",
            "deferral_reason": "tti_positive", "permanent": true })).expect(201));
        assert!(!candidate_ids(app, &hospital, &req).contains(&x));

        // A coordinator (in scope): 403, and nothing changes.
        let void = json!({ "reason": "xét nghiệm khẳng định âm tính" });
        app.post(&format!("/api/v1/donations/{d}/void"), &co, void.clone()).expect_problem(403, "forbidden");
        let rec = app.get(&format!("/api/v1/donations/{d}"), &co).expect(200);
        assert_eq!(rec["voided"], false);
        assert!(app.get(&format!("/api/v1/donors/{x}"), app.admin()).expect(200)["next_eligible_on"].is_null());
        assert!(!candidate_ids(app, &hospital, &req).contains(&x));
        assert!(es::audit(app, 20).iter().all(|e| e["action"] != "donation_voided"));

        // The admin: 200, the donor eligible and back on the candidates list; the reason audited.
        let rec = app.post(&format!("/api/v1/donations/{d}/void"), app.admin(), void).expect(200);
        assert_eq!(rec["voided"], true);
        assert_eq!(rec["void_reason"], "xét nghiệm khẳng định âm tính");
        let view = app.get(&format!("/api/v1/donors/{x}"), app.admin()).expect(200);
        assert!(view["next_eligible_on"].is_null() || view["next_eligible_on"].as_str().unwrap() <= today(app).to_string().as_str(), "{view}");
        assert!(candidate_ids(app, &hospital, &req).contains(&x));
        let entry = newest_audit(app, "donation_voided");
        assert_eq!(entry["detail"]["donation_id"], json!(d));
        assert_eq!(entry["detail"]["reason"], "xét nghiệm khẳng định âm tính");
        assert_eq!(entry["detail"]["permanent"], true);
        // Already voided: still the admin's only.
        app.post(&format!("/api/v1/donations/{d}/void"), &co, json!({ "reason": "lại" })).expect_problem(403, "forbidden");

        // A temporary deferral stays the coordinator's to void.
        let y = es::reserve_donor(app, "Vàng Seo Chứ", "O-", json!({}));
        let t = id(&donate(app, &co, &ev, json!({ "donor_id": y, "component": "whole_blood", "outcome": "deferred",
            "deferral_reason": "flu_cold", "deferred_until": today(app) + Duration::days(7) })).expect(201));
        app.post(&format!("/api/v1/donations/{t}/void"), &co, json!({ "reason": "nhầm" })).expect(200);
    }

    fn a_blood_group_change_is_audited_with_old_and_new(app) {
        let x = donor(app, json!({ "blood_group": "O+", "phone": "0912345678" }));
        app.patch(&format!("/api/v1/donors/{x}"), app.admin(), json!({ "blood_group": "A-" })).expect(200);
        let entry = newest_audit(app, "donor_updated");
        assert_eq!(entry["donor_ids"], json!([x]));
        assert_eq!(entry["detail"]["changes"]["blood_group"], json!({ "old": "O+", "new": "A-" }), "{entry}");
        // Cleared (a mistyped group withdrawn until retested).
        app.patch(&format!("/api/v1/donors/{x}"), app.admin(), json!({ "blood_group": null })).expect(200);
        let entry = newest_audit(app, "donor_updated");
        assert_eq!(entry["detail"]["changes"]["blood_group"], json!({ "old": "A-", "new": null }), "{entry}");
        // An edit that leaves the group alone does not repeat it.
        app.patch(&format!("/api/v1/donors/{x}"), app.admin(), json!({ "phone": "0987654321" })).expect(200);
        let entry = newest_audit(app, "donor_updated");
        let changes = entry["detail"]["changes"].as_object().unwrap();
        assert!(!changes.contains_key("blood_group"), "{entry}");
        assert_eq!(changes["phone"], json!({ "old": "0912345678", "new": "0987654321" }));
    }
}
