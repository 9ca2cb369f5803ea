//! Drives and events: roles, the coordinator's scope (a chapter and those below it), dates,
//! the list with units, paging, and the tally checked number by number.

use crate::drive_support::*;
use hienmau_tests::backend_tests;
use serde_json::json;

backend_tests! {
    fn drive_roles_and_scope(app) {
        let w = World::new(app);
        // A coordinator creates drives in its chapter and below, never above.
        let city_drive = drive(app, &w.co_province, &w.city, "2024-04-01", "2024-04-30");
        let prov_drive = drive(app, &w.co_province, &w.province, "2024-06-01", "2024-06-14");
        let own = drive(app, &w.co_city, &w.city, "2024-07-01", "2024-07-01");
        let body = json!({ "name": "X", "chapter_id": w.province, "starts_on": "2024-01-01", "ends_on": "2024-01-02" });
        app.post("/api/v1/drives", &w.co_city, body.clone()).expect_problem(404, "not_found");
        app.post("/api/v1/drives", &w.honors, body.clone()).expect_problem(403, "forbidden");
        app.post("/api/v1/drives", &w.hospital, body.clone()).expect_problem(403, "forbidden");
        app.call("POST", "/api/v1/drives", None, Some(&body)).expect_problem(401, "unauthorized");
        app.call("POST", "/api/v1/drives", Some("not-a-token"), Some(&body)).expect_problem(401, "unauthorized");

        // Reading one drive.
        let created = app.get(&format!("/api/v1/drives/{city_drive}"), &w.co_city).expect(200);
        assert_eq!(created["chapter_id"], w.city);
        assert_eq!(created["starts_on"], "2024-04-01");
        assert_eq!(created["ends_on"], "2024-04-30");
        assert!(created["target_units"].is_null());
        assert_eq!(created["units"], 0);
        app.get(&format!("/api/v1/drives/{prov_drive}"), &w.co_province).expect(200);
        app.get(&format!("/api/v1/drives/{prov_drive}"), &w.co_city).expect_problem(404, "not_found");
        app.get(&format!("/api/v1/drives/{prov_drive}"), &w.honors).expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/drives/{prov_drive}"), &w.hospital).expect_problem(403, "forbidden");
        app.call("GET", &format!("/api/v1/drives/{prov_drive}"), None, None).expect_problem(401, "unauthorized");
        app.get("/api/v1/drives/not-a-uuid", app.admin()).expect_problem(400, "invalid_request");
        app.get(&format!("/api/v1/drives/{}", uuid::Uuid::new_v4()), app.admin()).expect_problem(404, "not_found");

        // Lists follow the scope.
        let ids = |token: &str, query: &str| -> Vec<String> {
            app.get(&format!("/api/v1/drives{query}"), token).expect(200)["items"]
                .as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(ids(app.admin(), ""), vec![city_drive.clone(), prov_drive.clone(), own.clone()]);
        assert_eq!(ids(&w.co_province, ""), vec![city_drive.clone(), prov_drive.clone(), own.clone()]);
        assert_eq!(ids(&w.co_city, ""), vec![city_drive.clone(), own.clone()]);
        assert_eq!(ids(&w.co_province, &format!("?chapter_id={}", w.city)), vec![city_drive.clone(), own.clone()]);
        assert_eq!(ids(app.admin(), &format!("?chapter_id={}", w.province)).len(), 3);
        app.get(&format!("/api/v1/drives?chapter_id={}", w.province), &w.co_city).expect_problem(404, "not_found");
        app.get(&format!("/api/v1/drives?chapter_id={}", uuid::Uuid::new_v4()), app.admin()).expect_problem(422, "invalid_request");
        app.get("/api/v1/drives", &w.honors).expect_problem(403, "forbidden");
        app.get("/api/v1/drives", &w.hospital).expect_problem(403, "forbidden");
        app.call("GET", "/api/v1/drives", None, None).expect_problem(401, "unauthorized");
        app.get("/api/v1/drives?year=abc", app.admin()).expect_problem(400, "invalid_request");
        app.get("/api/v1/drives?limit=-1", app.admin()).expect_problem(400, "invalid_request");
        app.get("/api/v1/drives?cursor=%%%", app.admin()).expect_problem(400, "invalid_request");

        // PATCH in scope only.
        let patch = json!({ "name": "Hành trình Đỏ 2024", "target_units": 300 });
        let d = app.patch(&format!("/api/v1/drives/{city_drive}"), &w.co_city, patch.clone()).expect(200);
        assert_eq!(d["name"], "Hành trình Đỏ 2024");
        assert_eq!(d["target_units"], 300);
        app.patch(&format!("/api/v1/drives/{prov_drive}"), &w.co_city, patch.clone()).expect_problem(404, "not_found");
        app.patch(&format!("/api/v1/drives/{prov_drive}"), &w.honors, patch).expect_problem(403, "forbidden");
        let d = app.patch(&format!("/api/v1/drives/{city_drive}"), &w.co_city, json!({ "target_units": null })).expect(200);
        assert!(d["target_units"].is_null());
        assert_eq!(d["name"], "Hành trình Đỏ 2024");

        // Events: in scope only.
        let ev = event(app, &w.co_province, &city_drive, "2024-04-07");
        let ev_body = json!({ "site": "Nhà văn hóa", "held_on": "2024-06-02" });
        app.post(&format!("/api/v1/drives/{prov_drive}/events"), &w.co_city, ev_body.clone()).expect_problem(404, "not_found");
        app.post(&format!("/api/v1/drives/{prov_drive}/events"), &w.honors, ev_body.clone()).expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/drives/{prov_drive}/events"), &w.hospital, ev_body.clone()).expect_problem(403, "forbidden");
        app.call("POST", &format!("/api/v1/drives/{prov_drive}/events"), None, Some(&ev_body)).expect_problem(401, "unauthorized");
        app.post(&format!("/api/v1/drives/{prov_drive}/events"), &w.co_province, ev_body).expect(201);
        let events = app.get(&format!("/api/v1/drives/{city_drive}/events"), &w.co_city).expect(200);
        assert_eq!(events["items"].as_array().unwrap().len(), 1);
        assert_eq!(events["items"][0]["id"], ev);
        assert_eq!(events["items"][0]["drive_id"], city_drive);
        assert_eq!(events["items"][0]["held_on"], "2024-04-07");
        assert!(events["next_cursor"].is_null());
        app.get(&format!("/api/v1/drives/{prov_drive}/events"), &w.co_city).expect_problem(404, "not_found");
        app.get(&format!("/api/v1/drives/{prov_drive}/events"), &w.honors).expect_problem(403, "forbidden");
        app.call("GET", &format!("/api/v1/drives/{prov_drive}/events"), None, None).expect_problem(401, "unauthorized");
        app.get(&format!("/api/v1/events/{ev}"), &w.co_city).expect(200);
        app.get(&format!("/api/v1/events/{ev}"), &w.hospital).expect_problem(403, "forbidden");

        // Tally: in scope only.
        app.get(&format!("/api/v1/drives/{city_drive}/tally"), &w.co_city).expect(200);
        app.get(&format!("/api/v1/drives/{prov_drive}/tally"), &w.co_city).expect_problem(404, "not_found");
        app.get(&format!("/api/v1/drives/{prov_drive}/tally"), &w.co_province).expect(200);
        app.get(&format!("/api/v1/drives/{prov_drive}/tally"), &w.honors).expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/drives/{prov_drive}/tally"), &w.hospital).expect_problem(403, "forbidden");
        app.call("GET", &format!("/api/v1/drives/{prov_drive}/tally"), None, None).expect_problem(401, "unauthorized");
    }

    fn drive_and_event_dates(app) {
        let chapter = app.chapter("Lào Cai", None);
        let admin = app.admin().to_owned();
        let r = app.post("/api/v1/drives", &admin, json!({ "name": "Tết", "chapter_id": chapter,
            "starts_on": "2024-02-10", "ends_on": "2024-02-09" }));
        invalid_field(&r, "ends_on");
        let r = app.post("/api/v1/drives", &admin, json!({ "name": " ", "chapter_id": chapter,
            "starts_on": "2024-02-10", "ends_on": "2024-02-10", "target_units": -1 }));
        invalid_field(&r, "name");
        invalid_field(&r, "target_units");
        let r = app.post("/api/v1/drives", &admin, json!({ "name": "Tết", "chapter_id": uuid::Uuid::new_v4(),
            "starts_on": "2024-02-10", "ends_on": "2024-02-10" }));
        invalid_field(&r, "chapter_id");
        app.post("/api/v1/drives", &admin, json!({ "name": "Tết", "chapter_id": chapter,
            "starts_on": "2024-02-30", "ends_on": "2024-03-01" })).expect_problem(400, "invalid_request");
        app.post("/api/v1/drives", &admin, json!({ "name": "Tết", "chapter_id": "nope",
            "starts_on": "2024-02-10", "ends_on": "2024-03-01" })).expect_problem(400, "invalid_request");
        // A one-day drive is fine.
        let body = app.post("/api/v1/drives", &admin, json!({ "name": "Ngày hội", "chapter_id": chapter,
            "starts_on": "2024-04-07", "ends_on": "2024-04-07", "target_units": 120 })).expect(201);
        assert_eq!(body["target_units"], 120);
        assert_eq!(body["name"], "Ngày hội");
        let one_day = body["id"].as_str().unwrap().to_owned();
        event(app, &admin, &one_day, "2024-04-07");
        for day in ["2024-04-06", "2024-04-08"] {
            let r = app.post(&format!("/api/v1/drives/{one_day}/events"), &admin, json!({ "site": "Sân vận động", "held_on": day }));
            invalid_field(&r, "held_on");
        }
        let r = app.post(&format!("/api/v1/drives/{one_day}/events"), &admin, json!({ "site": "", "held_on": "2024-04-07" }));
        invalid_field(&r, "site");
        app.post(&format!("/api/v1/drives/{one_day}/events"), &admin, json!({ "site": "A", "held_on": "7/4/2024" }))
            .expect_problem(400, "invalid_request");

        // Moving the dates may not leave an event outside them.
        let r = app.patch(&format!("/api/v1/drives/{one_day}"), &admin, json!({ "starts_on": "2024-04-08", "ends_on": "2024-04-09" }));
        invalid_field(&r, "starts_on");
        let r = app.patch(&format!("/api/v1/drives/{one_day}"), &admin, json!({ "ends_on": "2024-04-01" }));
        invalid_field(&r, "ends_on");
        let d = app.patch(&format!("/api/v1/drives/{one_day}"), &admin, json!({ "ends_on": "2024-04-10" })).expect(200);
        assert_eq!(d["ends_on"], "2024-04-10");
        assert_eq!(d["starts_on"], "2024-04-07");
    }

    fn drive_list_by_year_with_units_and_paging(app) {
        let chapter = app.chapter("Lào Cai", None);
        let admin = app.admin().to_owned();
        let d2023 = drive(app, &admin, &chapter, "2023-12-20", "2024-01-05");
        let d2024 = drive(app, &admin, &chapter, "2024-04-01", "2024-04-30");
        let d2025 = drive(app, &admin, &chapter, "2025-01-01", "2025-01-31");
        let ev = event(app, &admin, &d2024, "2024-04-07");
        for i in 0..3 {
            let donor = donor(app, json!({ "full_name": format!("Người {i}") }));
            donate_ok(app, &admin, &ev, collected(&donor, "whole_blood", 350, "2024-04-07"));
        }
        let list = |q: &str| app.get(&format!("/api/v1/drives{q}"), &admin).expect(200);
        let items = list("?year=2024")["items"].as_array().unwrap().clone();
        let ids: Vec<&str> = items.iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![d2023.as_str(), d2024.as_str()]);
        assert_eq!(items[0]["units"], 0);
        assert_eq!(items[1]["units"], 3);
        assert_eq!(list("?year=2025")["items"].as_array().unwrap().len(), 1);
        assert_eq!(list("?year=2022")["items"].as_array().unwrap().len(), 0);
        assert_eq!(app.get(&format!("/api/v1/drives/{d2024}"), &admin).expect(200)["units"], 3);

        // Paging walks every drive once.
        let first = list("?limit=2");
        assert_eq!(first["items"].as_array().unwrap().len(), 2);
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let second = list(&format!("?limit=2&cursor={cursor}"));
        assert_eq!(second["items"].as_array().unwrap().len(), 1);
        assert_eq!(second["items"][0]["id"], d2025);
        assert!(second["next_cursor"].is_null());
    }

    fn tally_number_by_number(app) {
        let chapter = app.chapter("Lào Cai", None);
        let admin = app.admin().to_owned();
        let old = drive(app, &admin, &chapter, "2023-06-01", "2023-06-30");
        let old_ev = event(app, &admin, &old, "2023-06-14");
        let dr = drive(app, &admin, &chapter, "2024-01-01", "2024-06-30");
        app.patch(&format!("/api/v1/drives/{dr}"), &admin, json!({ "target_units": 10 })).expect(200);
        let e1 = event(app, &admin, &dr, "2024-01-10");
        let e2 = event(app, &admin, &dr, "2024-01-20");
        let e3 = event(app, &admin, &dr, "2024-04-15");

        let a = donor(app, json!({ "full_name": "A", "blood_group": "O+" }));
        let b = donor(app, json!({ "full_name": "B", "blood_group": "A+", "prior_donations": 3 }));
        let c = donor(app, json!({ "full_name": "C", "blood_group": "O+" }));
        let d = donor(app, json!({ "full_name": "D" }));
        let e = donor(app, json!({ "full_name": "E", "blood_group": "B-" }));
        let f = donor(app, json!({ "full_name": "F", "blood_group": "AB+" }));

        // C's first donation ever was at the older drive.
        donate_ok(app, &admin, &old_ev, collected(&c, "whole_blood", 350, "2023-06-14"));
        donate_ok(app, &admin, &e1, collected(&a, "whole_blood", 450, "2024-01-10"));
        donate_ok(app, &admin, &e1, collected(&b, "whole_blood", 350, "2024-01-10"));
        donate_ok(app, &admin, &e1, deferred(&e, "2024-01-10", "2024-02-10"));
        donate_ok(app, &admin, &e2, collected(&c, "platelets", 250, "2024-01-20"));
        donate_ok(app, &admin, &e2, collected(&d, "whole_blood", 250, "2024-01-20"));
        let mistake = donate_ok(app, &admin, &e2, collected(&f, "whole_blood", 350, "2024-01-20"));
        donate_ok(app, &admin, &e3, collected(&a, "whole_blood", 350, "2024-04-15"));
        app.post(&format!("/api/v1/donations/{mistake}/void"), &admin, json!({ "reason": "nhập nhầm" })).expect(200);

        let t = tally(app, &dr);
        assert_eq!(t["drive_id"], dr);
        assert_eq!(t["units"], 5, "{t}");               // A twice, B, C, D; F voided
        assert_eq!(t["volume_ml"], 450 + 350 + 250 + 250 + 350);
        assert_eq!(t["deferrals"], 1);                  // E
        assert_eq!(t["donors"], 4);                     // A, B, C, D
        assert_eq!(t["first_time_donors"], 2);          // A and D (B has paper donations, C gave in 2023)
        assert_eq!(t["target_units"], 10);
        assert_eq!(t["by_blood_group"], json!({
            "O+": 3, "O-": 0, "A+": 1, "A-": 0, "B+": 0, "B-": 0, "AB+": 0, "AB-": 0, "unknown": 1
        }));
        assert_eq!(t["by_event"], json!([
            { "event_id": e1, "units": 2 },
            { "event_id": e2, "units": 2 },
            { "event_id": e3, "units": 1 },
        ]));
        let t_old = tally(app, &old);
        assert_eq!(t_old["units"], 1);
        assert_eq!(t_old["volume_ml"], 350);
        assert_eq!(t_old["donors"], 1);
        assert_eq!(t_old["first_time_donors"], 1);
        assert_eq!(t_old["deferrals"], 0);
        assert!(t_old["target_units"].is_null());
        assert_eq!(t_old["by_blood_group"], json!({
            "O+": 1, "O-": 0, "A+": 0, "A-": 0, "B+": 0, "B-": 0, "AB+": 0, "AB-": 0
        }));
        // An empty drive has every group at 0 and its events at 0.
        let empty = drive(app, &admin, &chapter, "2024-09-01", "2024-09-02");
        let ev = event(app, &admin, &empty, "2024-09-01");
        let t = tally(app, &empty);
        assert_eq!(t["units"], 0);
        assert_eq!(t["volume_ml"], 0);
        assert_eq!(t["by_event"], json!([{ "event_id": ev, "units": 0 }]));
        assert_eq!(t["by_blood_group"].as_object().unwrap().len(), 8);
    }
}
