//! The offline batch: independent items, each `client_ref` recorded at most once per event,
//! re-sends recording nothing twice (also when they race), the size limit, roles and scope.

use std::collections::HashSet;

use crate::drive_support::*;
use hienmau_tests::{backend_tests, Resp, TestApp};
use serde_json::{json, Value};

fn batch(app: &TestApp, token: &str, event: &str, items: Vec<Value>) -> Resp {
    app.post(
        &format!("/api/v1/events/{event}/donations/batch"),
        token,
        json!({ "items": items }),
    )
}

fn with_ref(client_ref: &str, mut body: Value) -> Value {
    body["client_ref"] = json!(client_ref);
    body
}

fn statuses(results: &Value) -> Vec<i64> {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect()
}

backend_tests! {
    fn batch_items_are_independent_and_resent_once(app) {
        let chapter = app.chapter("Lào Cai", None);
        let admin = app.admin().to_owned();
        let dr = drive(app, &admin, &chapter, "2024-04-01", "2024-04-30");
        let ev = event(app, &admin, &dr, "2024-04-07");
        let a = donor(app, json!({ "full_name": "A", "blood_group": "O+" }));
        let b = donor(app, json!({ "full_name": "B", "blood_group": "A-" }));
        let c = donor(app, json!({ "full_name": "C" }));
        let young = donor(app, json!({ "full_name": "Young", "date_of_birth": "2010-01-01" }));
        let items = vec![
            with_ref("r1", collected(&a, "whole_blood", 350, "2024-04-07")),
            with_ref("r2", collected(&b, "whole_blood", 450, "2024-04-07")),
            with_ref("r3", deferred(&c, "2024-04-07", "2024-04-14")),
            with_ref("r4", collected(&young, "whole_blood", 350, "2024-04-07")),
            collected(&c, "whole_blood", 350, "2024-04-07"),
            with_ref("r6", collected(&c, "blood", 350, "2024-04-07")),
            json!("not an object"),
            // Sees r1 of this same batch: the interval refuses it.
            with_ref("r8", collected(&a, "platelets", 250, "2024-04-08")),
            // The same item twice in one batch is recorded once.
            with_ref("r2", collected(&b, "whole_blood", 450, "2024-04-07")),
            with_ref("", collected(&c, "whole_blood", 350, "2024-04-07")),
        ];
        let first = batch(app, &admin, &ev, items.clone()).expect(200);
        assert_eq!(statuses(&first), vec![201, 201, 201, 422, 422, 400, 400, 422, 200, 422], "{first}");
        let results = first["results"].as_array().unwrap();
        assert_eq!(results[0]["client_ref"], "r1");
        assert_eq!(results[0]["donation"]["client_ref"], "r1");
        assert_eq!(results[0]["donation"]["event_id"], ev);
        assert!(results[0].get("error").is_none());
        assert_eq!(results[2]["donation"]["outcome"], "deferred");
        assert_eq!(results[3]["error"]["code"], "donor_not_eligible");
        assert_eq!(results[3]["error"]["reason"], "too_young");
        assert_eq!(results[3]["error"]["next_eligible_on"], "2028-01-01");
        assert!(results[3].get("donation").is_none());
        assert_eq!(results[4]["error"]["code"], "invalid_request");
        assert_eq!(results[4]["error"]["errors"][0]["field"], "client_ref");
        assert!(results[4]["client_ref"].is_null());
        assert_eq!(results[5]["error"]["code"], "invalid_request");
        assert_eq!(results[5]["error"]["status"], 400);
        assert_eq!(results[7]["error"]["reason"], "interval");
        assert_eq!(results[7]["error"]["next_eligible_on"], "2024-06-30");
        assert_eq!(results[8]["donation"]["id"], results[1]["donation"]["id"]);
        for r in results {
            if let Some(e) = r.get("error") {
                for key in ["type", "title", "detail", "code", "status"] {
                    assert!(!e[key].is_null(), "{r}");
                }
            }
        }
        let ids: Vec<Value> = results[..3].iter().map(|r| r["donation"]["id"].clone()).collect();
        let t = tally(app, &dr);
        assert_eq!((t["units"].as_i64(), t["deferrals"].as_i64(), t["volume_ml"].as_i64()), (Some(2), Some(1), Some(800)));

        // The whole batch re-sent after a dropped connection: nothing is recorded twice,
        // and the failed items are judged afresh (and fail again).
        let again = batch(app, &admin, &ev, items.clone()).expect(200);
        assert_eq!(statuses(&again), vec![200, 200, 200, 422, 422, 400, 400, 422, 200, 422], "{again}");
        let again_ids: Vec<Value> = again["results"].as_array().unwrap()[..3].iter().map(|r| r["donation"]["id"].clone()).collect();
        assert_eq!(again_ids, ids);
        let t = tally(app, &dr);
        assert_eq!((t["units"].as_i64(), t["deferrals"].as_i64()), (Some(2), Some(1)));

        // The same client_ref with another body.
        let r = batch(app, &admin, &ev, vec![with_ref("r1", collected(&a, "whole_blood", 250, "2024-04-07"))]).expect(200);
        assert_eq!(statuses(&r), vec![422]);
        assert_eq!(r["results"][0]["error"]["code"], "idempotency_key_reused");
        // A failed item fixed and re-sent under its reference is judged afresh.
        let old_enough = donor(app, json!({ "full_name": "Adult" }));
        let r = batch(app, &admin, &ev, vec![with_ref("r4", collected(&old_enough, "whole_blood", 350, "2024-04-07"))]).expect(200);
        assert_eq!(statuses(&r), vec![201]);
        // The same client_ref at another event is another record.
        let ev2 = event(app, &admin, &dr, "2024-04-08");
        let other = donor(app, json!({ "full_name": "Other" }));
        let r = batch(app, &admin, &ev2, vec![with_ref("r1", collected(&other, "whole_blood", 350, "2024-04-08"))]).expect(200);
        assert_eq!(statuses(&r), vec![201]);
        let t = tally(app, &dr);
        assert_eq!(t["units"], 4);
        assert_eq!(t["by_event"], json!([{ "event_id": ev, "units": 3 }, { "event_id": ev2, "units": 1 }]));
        // An empty batch is fine.
        assert_eq!(batch(app, &admin, &ev, vec![]).expect(200)["results"], json!([]));
    }

    fn batch_limits_roles_and_scope(app) {
        let w = World::new(app);
        let prov_drive = drive(app, &w.co_province, &w.province, "2024-04-01", "2024-04-30");
        let city_drive = drive(app, &w.co_city, &w.city, "2024-04-01", "2024-04-30");
        let prov_ev = event(app, &w.co_province, &prov_drive, "2024-04-07");
        let city_ev = event(app, &w.co_city, &city_drive, "2024-04-07");
        let x = donor(app, json!({}));
        let item = with_ref("x1", collected(&x, "whole_blood", 350, "2024-04-07"));
        batch(app, &w.co_city, &prov_ev, vec![item.clone()]).expect_problem(404, "not_found");
        batch(app, &w.honors, &prov_ev, vec![item.clone()]).expect_problem(403, "forbidden");
        batch(app, &w.hospital, &prov_ev, vec![item.clone()]).expect_problem(403, "forbidden");
        app.call("POST", &format!("/api/v1/events/{prov_ev}/donations/batch"), None, Some(&json!({ "items": [] })))
            .expect_problem(401, "unauthorized");
        app.post(&format!("/api/v1/events/{prov_ev}/donations/batch"), &w.co_province, json!({ "items": "nope" }))
            .expect_problem(400, "invalid_request");
        // More than 1,000 items is 413, and records nothing.
        let many: Vec<Value> = (0..1001).map(|i| with_ref(&format!("m{i}"), collected(&x, "whole_blood", 350, "2024-04-07"))).collect();
        batch(app, &w.co_province, &city_ev, many).expect_problem(413, "payload_too_large");
        assert_eq!(tally(app, &city_drive)["units"], 0);
        // The parent's coordinator reaches the child's event.
        let r = batch(app, &w.co_province, &city_ev, vec![item]).expect(200);
        assert_eq!(statuses(&r), vec![201]);
    }

    fn a_full_batch_and_racing_resends(app) {
        let chapter = app.chapter("Lào Cai", None);
        let admin = app.admin().to_owned();
        let dr = drive(app, &admin, &chapter, "2024-04-01", "2024-04-30");
        let ev = event(app, &admin, &dr, "2024-04-07");
        // 1,000 items (the limit): 500 donors, each collected once then refused once.
        let mut conn = app.state.pool.get().unwrap();
        let donors: Vec<String> = (0..500).map(|i| {
            let id = uuid::Uuid::new_v4().to_string();
            let now = hienmau_db::now();
            let row = hienmau_db::models::Donor {
                id: id.clone(), full_name: format!("Người hiến {i}"), name_folded: format!("nguoi hien {i}"),
                date_of_birth: "1990-01-01".parse().unwrap(), sex: "male".into(), national_id: None,
                blood_group: Some("O+".into()), phone: None, province: None, province_folded: None,
                commune: None, commune_folded: None, weight_kg: Some(60.0), reserve: false, reserve_since: None,
                prior_donations: 0, prior_last_donation_on: None, chapter_id: None, collected_count: 0,
                first_collected_on: None, last_donation_at: None, last_component: None, next_eligible_on: None,
                deferred_until: None, permanently_deferred: false, created_at: now, updated_at: now, last_chapter_id: None,
            };
            hienmau_db::repo::donors::insert_row(&mut conn, &row).unwrap();
            id
        }).collect();
        drop(conn);
        let mut items = Vec::new();
        for (i, d) in donors.iter().enumerate() {
            items.push(with_ref(&format!("a{i}"), collected(d, "whole_blood", 450, "2024-04-07")));
            items.push(with_ref(&format!("b{i}"), collected(d, "whole_blood", 450, "2024-04-08")));
        }
        let r = batch(app, &admin, &ev, items.clone()).expect(200);
        let s = statuses(&r);
        assert_eq!(s.len(), 1000);
        assert_eq!(s.iter().filter(|x| **x == 201).count(), 500);
        assert_eq!(s.iter().filter(|x| **x == 422).count(), 500);
        assert_eq!(tally(app, &dr)["units"], 500);

        // Eight devices re-send a smaller batch at once: each item is recorded once.
        let fresh: Vec<String> = (0..5).map(|i| donor(app, json!({ "full_name": format!("Mới {i}") }))).collect();
        let small: Vec<Value> = fresh.iter().enumerate()
            .map(|(i, d)| with_ref(&format!("s{i}"), collected(d, "whole_blood", 350, "2024-04-07")))
            .collect();
        let answers: Vec<Value> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..8).map(|_| {
                let (small, ev, admin) = (small.clone(), ev.clone(), admin.clone());
                sc.spawn(move || batch(app, &admin, &ev, small).expect(200))
            }).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for i in 0..5 {
            let ids: HashSet<String> = answers.iter().map(|a| {
                let r = &a["results"][i];
                assert!(r["status"] == 201 || r["status"] == 200, "{r}");
                r["donation"]["id"].as_str().unwrap().to_owned()
            }).collect();
            assert_eq!(ids.len(), 1);
        }
        let created: usize = answers.iter().map(|a| statuses(a).iter().filter(|s| **s == 201).count()).sum();
        assert_eq!(created, 5);
        assert_eq!(tally(app, &dr)["units"], 505);
    }
}
