//! Emergency requests: opening and validation, API keys, scoping and roles, candidate order
//! and exclusions, call-up answers, emergency donations (fulfilment, idempotency), cancelling,
//! and the disclosure audit.

use crate::emergency_support::*;
use hienmau_tests::{backend_tests, TestApp};
use serde_json::{json, Value};

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn get_request(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(&format!("/api/v1/emergency-requests/{id}"), token)
        .expect(200)
}

fn emergency_donation(
    app: &TestApp,
    token: &str,
    request: &str,
    body: Value,
) -> hienmau_tests::Resp {
    app.post(
        &format!("/api/v1/emergency-requests/{request}/donations"),
        token,
        body,
    )
}

fn unit(donor: &str) -> Value {
    json!({ "donor_id": donor, "component": "red_cells", "volume_ml": 250, "outcome": "collected" })
}

backend_tests! {
    fn opening_and_validation(app) {
        let (hospital, token) = hospital_user(app, "bv_tinh");
        let (other, _) = hospital_user(app, "bv_khac");
        let r = open_request(app, &token, json!({
            "blood_group": "o-", "component": "platelets", "units_needed": 3, "urgency": "critical",
            "needed_by": "2030-01-01T12:00:00Z", "province": "Lào Cai", "commune": "Phường Cốc Lếu",
            "note": "Sản phụ băng huyết\nphòng mổ 2" }));
        assert_eq!(r["hospital_id"], hospital);
        assert_eq!(r["blood_group"], "O-");
        assert_eq!(r["component"], "platelets");
        assert_eq!(r["units_needed"], 3);
        assert_eq!(r["units_received"], 0);
        assert_eq!(r["urgency"], "critical");
        assert_eq!(r["status"], "open");
        assert_eq!(r["needed_by"], "2030-01-01T12:00:00Z");
        assert_eq!(r["commune"], "Phường Cốc Lếu");
        for f in ["id", "opened_at", "created_at"] {
            assert!(r[f].is_string(), "{f}: {r}");
        }
        // A request taken by phone, recorded afterwards: by the hospital within 7 days, by an
        // admin later.
        let phoned_at = (chrono::Utc::now() - chrono::Duration::days(6)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let recent = open_request(app, &token, json!({ "opened_at": phoned_at }));
        assert_eq!(recent["opened_at"], phoned_at.as_str());
        app.post("/api/v1/emergency-requests", &token, json!({ "blood_group": "O+", "component": "red_cells",
            "units_needed": 1, "urgency": "urgent", "opened_at": "2025-03-01T01:02:03Z" }))
            .expect_problem(422, "invalid_request");
        let phoned = app.post("/api/v1/emergency-requests", app.admin(), json!({ "blood_group": "O+",
            "component": "red_cells", "units_needed": 1, "urgency": "urgent",
            "opened_at": "2025-03-01T01:02:03Z", "hospital_id": hospital })).expect(201);
        assert_eq!(phoned["opened_at"], "2025-03-01T01:02:03Z");
        let id = r["id"].as_str().unwrap();
        assert_eq!(get_request(app, &token, id)["id"], id);

        let post = |body: Value| app.post("/api/v1/emergency-requests", &token, body);
        let base = json!({ "blood_group": "O+", "component": "red_cells", "units_needed": 1, "urgency": "urgent" });
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        post(with("blood_group", json!("X+"))).expect_problem(422, "invalid_request");
        post(with("component", json!("blood"))).expect_problem(400, "invalid_request");
        post(with("urgency", json!("soon"))).expect_problem(400, "invalid_request");
        post(with("units_needed", json!(0))).expect_problem(422, "invalid_request");
        post(with("units_needed", json!(1001))).expect_problem(422, "invalid_request");
        post(with("units_needed", json!("two"))).expect_problem(400, "invalid_request");
        post(with("opened_at", json!("2999-01-01T00:00:00Z"))).expect_problem(422, "invalid_request");
        post(with("opened_at", json!("yesterday"))).expect_problem(400, "invalid_request");
        post(with("note", json!("x".repeat(2001)))).expect_problem(422, "invalid_request");
        post(with("surprise", json!(1))).expect_problem(400, "invalid_request");
        post(with("hospital_id", json!(other))).expect_problem(422, "invalid_request");
        post(with("hospital_id", json!(hospital))).expect(201);
        // An admin names the hospital.
        let admin = app.admin();
        app.post("/api/v1/emergency-requests", admin, base.clone()).expect_problem(422, "invalid_request");
        app.post("/api/v1/emergency-requests", admin, with("hospital_id", json!(uuid::Uuid::new_v4())))
            .expect_problem(422, "invalid_request");
        let by_admin = app.post("/api/v1/emergency-requests", admin, with("hospital_id", json!(other))).expect(201);
        assert_eq!(by_admin["hospital_id"], other);

        // Lists: own only, newest opened first, status filter, paging.
        let mine = app.get("/api/v1/emergency-requests", &token).expect(200);
        let mine = ids(&mine);
        assert_eq!(mine.len(), 4);
        assert!(!mine.contains(&by_admin["id"].as_str().unwrap().to_owned()));
        assert_eq!(mine.last().unwrap(), phoned["id"].as_str().unwrap());
        let all = app.get("/api/v1/emergency-requests", admin).expect(200);
        assert_eq!(ids(&all).len(), 5);
        let only_other = app.get(&format!("/api/v1/emergency-requests?hospital_id={other}"), admin).expect(200);
        assert_eq!(ids(&only_other), [by_admin["id"].as_str().unwrap()]);
        let page1 = app.get("/api/v1/emergency-requests?limit=2", &token).expect(200);
        assert_eq!(ids(&page1).len(), 2);
        let cursor = page1["next_cursor"].as_str().unwrap();
        let page2 = app.get(&format!("/api/v1/emergency-requests?limit=2&cursor={cursor}"), &token).expect(200);
        assert_eq!([ids(&page1), ids(&page2)].concat(), mine);
        assert!(page2["next_cursor"].is_null());
        app.get("/api/v1/emergency-requests?status=open", &token).expect(200);
        app.get("/api/v1/emergency-requests?status=bogus", &token).expect_problem(400, "invalid_request");
        app.get("/api/v1/emergency-requests?cursor=!!", &token).expect_problem(400, "invalid_request");
        app.get(&format!("/api/v1/emergency-requests?hospital_id={other}"), &token).expect_problem(404, "not_found");
    }

    fn api_keys_act_as_their_hospital_until_revoked(app) {
        let (hospital, user_token) = hospital_user(app, "bv_key");
        let (_, coordinator) = app.user("dieu_phoi", "coordinator", Some(&app.chapter("Lào Cai", None)), None);
        let path = format!("/api/v1/hospitals/{hospital}/api-keys");
        app.post(&path, &user_token, json!({ "name": "HIS" })).expect_problem(403, "forbidden");
        app.post(&path, &coordinator, json!({ "name": "HIS" })).expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/hospitals/{}/api-keys", uuid::Uuid::new_v4()), app.admin(), json!({ "name": "HIS" }))
            .expect_problem(404, "not_found");
        app.post(&path, app.admin(), json!({ "name": " " })).expect_problem(422, "invalid_request");
        let created = app.post(&path, app.admin(), json!({ "name": "HIS bệnh viện" })).expect(201);
        let key = created["key"].as_str().unwrap().to_owned();
        let key_id = created["id"].as_str().unwrap().to_owned();
        assert!(key.starts_with("hmk_") && key.len() >= 4 + 43, "{key}");
        assert_eq!(created["name"], "HIS bệnh viện");
        // Listed without the secret.
        let listed = app.get(&path, app.admin()).expect(200);
        assert_eq!(listed["items"][0]["id"], key_id.as_str());
        assert!(listed["items"][0].get("key").is_none());
        assert!(!listed.to_string().contains(&key));
        app.get(&path, &user_token).expect_problem(403, "forbidden");

        // The key acts as the hospital.
        let r = open_request(app, &key, json!({}));
        assert_eq!(r["hospital_id"], hospital);
        assert_eq!(r["created_by_key"], key_id.as_str());
        assert!(r["created_by_user"].is_null());
        let req = r["id"].as_str().unwrap();
        get_request(app, &user_token, req);
        let donor = reserve_donor(app, "Lò Văn Minh", "O+", json!({}));
        assert_eq!(candidate_ids(app, &key, req), [donor]);
        let entry = &audit(app, 1)[0];
        assert_eq!(entry["action"], "contact_disclosed");
        assert_eq!(entry["actor_key_id"], key_id.as_str());
        assert!(entry["actor_user_id"].is_null());
        assert_eq!(entry["hospital_id"], hospital);
        // Keys act as the hospital role only.
        app.get("/api/v1/donors", &key).expect_problem(403, "forbidden");
        app.get("/api/v1/audit", &key).expect_problem(403, "forbidden");

        // Revoked: 401 from then on.
        let del = format!("/api/v1/api-keys/{key_id}");
        app.call("DELETE", &del, Some(user_token.as_str()), None).expect_problem(403, "forbidden");
        app.call("DELETE", &del, Some(app.admin()), None).expect(204);
        app.get("/api/v1/emergency-requests", &key).expect_problem(401, "unauthorized");
        app.call("DELETE", &del, Some(app.admin()), None).expect(204);
        app.call("DELETE", &format!("/api/v1/api-keys/{}", uuid::Uuid::new_v4()), Some(app.admin()), None)
            .expect_problem(404, "not_found");
        let listed = app.get(&path, app.admin()).expect(200);
        assert!(listed["items"][0]["revoked_at"].is_string());
        // A made-up key is 401 too.
        app.get("/api/v1/emergency-requests", "hmk_not-a-real-key").expect_problem(401, "unauthorized");
        let actions: Vec<String> = audit(app, 50).iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert!(actions.contains(&"api_key_created".to_owned()), "{actions:?}");
        assert_eq!(actions.iter().filter(|a| *a == "api_key_revoked").count(), 1, "{actions:?}");
    }

    fn hospitals_reach_only_their_own_requests(app) {
        let (_, a) = hospital_user(app, "bv_a");
        let (hb, b) = hospital_user(app, "bv_b");
        let chapter = app.chapter("Lào Cai", None);
        let (_, coordinator) = app.user("dieu_phoi", "coordinator", Some(&chapter), None);
        let (_, honors) = app.user("khen_thuong", "honors", None, None);
        let donor = reserve_donor(app, "Lò Văn Minh", "O+", json!({}));
        let req_b = request_id(app, &b, json!({}));
        let key_b = app.post(&format!("/api/v1/hospitals/{hb}/api-keys"), app.admin(), json!({ "name": "b" }))
            .expect(201)["key"].as_str().unwrap().to_owned();

        let under = |suffix: &str| format!("/api/v1/emergency-requests/{req_b}{suffix}");
        let response = json!({ "donor_id": donor, "response": "accepted" });
        let calls: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", under(""), None),
            ("GET", under("/candidates"), None),
            ("GET", under("/responses"), None),
            ("POST", under("/responses"), Some(response.clone())),
            ("POST", under("/donations"), Some(unit(&donor))),
            ("POST", under("/cancel"), None),
        ];
        for (method, path, body) in &calls {
            app.call(method, path, Some(a.as_str()), body.as_ref()).expect_problem(404, "not_found");
            app.call(method, path, Some(coordinator.as_str()), body.as_ref()).expect_problem(403, "forbidden");
            app.call(method, path, Some(honors.as_str()), body.as_ref()).expect_problem(403, "forbidden");
            app.call(method, path, None, body.as_ref()).expect_problem(401, "unauthorized");
        }
        for token in [&coordinator, &honors] {
            app.get("/api/v1/emergency-requests", token).expect_problem(403, "forbidden");
            app.post("/api/v1/emergency-requests", token, json!({ "blood_group": "O+", "component": "red_cells",
                "units_needed": 1, "urgency": "urgent" })).expect_problem(403, "forbidden");
        }
        // Unknown requests look the same as another hospital's.
        let unknown = uuid::Uuid::new_v4();
        app.get(&format!("/api/v1/emergency-requests/{unknown}"), &a).expect_problem(404, "not_found");
        app.get("/api/v1/emergency-requests/not-a-uuid", &a).expect_problem(400, "invalid_request");
        // A's list does not show B's request.
        assert!(ids(&app.get("/api/v1/emergency-requests", &a).expect(200)).is_empty());
        // Nothing above disclosed anything.
        assert!(audit(app, 100).iter().all(|e| e["action"] != "contact_disclosed"));
        // B (user or key) and the admin reach it.
        for token in [&b, &key_b, &app.admin().to_owned()] {
            app.get(&under(""), token).expect(200);
            app.get(&under("/candidates"), token).expect(200);
            app.get(&under("/responses"), token).expect(200);
        }
        // Only admins read the audit log.
        for token in [&a, &b, &key_b, &coordinator, &honors] {
            app.get("/api/v1/audit", token).expect_problem(403, "forbidden");
        }
        app.call("GET", "/api/v1/audit", None, None).expect_problem(401, "unauthorized");
    }

    fn candidates_are_ordered_by_match_place_and_time_since_last_donation(app) {
        let (_, token) = hospital_user(app, "bv_thu_tu");
        let event = past_event(app);
        let here = json!({ "province": "Lào Cai", "commune": "Phường Cốc Lếu" });
        let place = |province: &str, commune: &str| json!({ "province": province, "commune": commune });
        // Identical group (O-), same commune (written differently: case and diacritics ignored).
        let a = reserve_donor(app, "A never", "O-", place("lào cai", "PHUONG COC LEU"));
        let b = reserve_donor(app, "B 200 days (recorded)", "O-", here.clone());
        assert_eq!(give(app, &event, &b, "whole_blood", 200).status, 201);
        let c = reserve_donor(app, "C 100 days (paper)", "O-",
            json!({ "province": "Lào Cai", "commune": "Phường Cốc Lếu", "prior_donations": 2, "prior_last_donation_on": ago(app, 100) }));
        let h = reserve_donor(app, "H 150 days (paper)", "O-",
            json!({ "province": "Lào Cai", "commune": "Phường Cốc Lếu", "prior_donations": 1, "prior_last_donation_on": ago(app, 150) }));
        // Same province, another commune.
        let d = reserve_donor(app, "D province", "O-", place("Lào Cai", "Xã Bản Phiệt"));
        // Elsewhere: another province (one with a commune of the same name), or unknown.
        let e = reserve_donor(app, "E elsewhere 300 days", "O-",
            json!({ "province": "Yên Bái", "commune": "Xã Khác", "prior_donations": 1, "prior_last_donation_on": ago(app, 300) }));
        let f = reserve_donor(app, "F same commune name, other province", "O-", place("Hà Giang", "Phường Cốc Lếu"));
        let u = reserve_donor(app, "U no address", "O-", json!({ "prior_donations": 1, "prior_last_donation_on": ago(app, 400) }));
        // The identical group for an O+ patient (the O- donors above are compatible then).
        let g = reserve_donor(app, "G compatible, same commune, never", "O+", here.clone());

        // Patient O+ for red cells: O+ identical, O- compatible.
        let req = request_id(app, &token, json!({ "blood_group": "O+", "component": "red_cells",
            "province": "Lào Cai", "commune": "Phường Cốc Lếu" }));
        let got = candidate_ids(app, &token, &req);
        assert_eq!(got, [g.clone(), a.clone(), b.clone(), h.clone(), c.clone(), d.clone(), f.clone(), u.clone(), e.clone()]);

        // Patient O-: only O- donors, all identical, the same place order.
        let req = request_id(app, &token, json!({ "blood_group": "O-", "component": "red_cells",
            "province": "Lào Cai", "commune": "Phường Cốc Lếu" }));
        let items = candidates(app, &token, &req);
        let got: Vec<&str> = items.iter().map(|c| c["donor_id"].as_str().unwrap()).collect();
        assert_eq!(got, [&a, &b, &h, &c, &d, &f, &u, &e].map(String::as_str));
        assert!(items.iter().all(|c| c["match"] == "identical"));
        // Items carry the contact details and the last donation (paper-era: that day's start).
        let first = &items[0];
        for field in ["donor_id", "full_name", "blood_group", "phone", "province", "commune", "last_donation_at", "match"] {
            assert!(first.as_object().unwrap().contains_key(field), "{field}: {first}");
        }
        assert!(first["last_donation_at"].is_null());
        let c_item = items.iter().find(|i| i["donor_id"] == c.as_str()).unwrap();
        assert_eq!(c_item["last_donation_at"], format!("{}T17:00:00Z", ago(app, 101)));

        // A request without a place: match, then time since the last donation only.
        let req = request_id(app, &token, json!({ "blood_group": "O-", "component": "red_cells" }));
        let got = candidate_ids(app, &token, &req);
        let mut never = got[..3].to_vec();
        never.sort();
        let mut want = vec![a.clone(), d.clone(), f.clone()];
        want.sort();
        assert_eq!(never, want, "never donated first (in id order)");
        assert_eq!(got[3..], [u.clone(), e.clone(), b.clone(), h.clone(), c.clone()]);

        // limit
        let r = candidates_resp(app, &token, &req, 2).expect(200);
        assert_eq!(r["items"].as_array().unwrap().len(), 2);
        candidates_resp(app, &token, &req, -1).expect_problem(400, "invalid_request");
        assert_eq!(candidates_resp(app, &token, &req, 1000).expect(200)["items"].as_array().unwrap().len(), 8);
        app.get(&format!("/api/v1/emergency-requests/{req}/candidates"), &token).expect(200);
    }

    fn recent_donors_deferred_withdrawn_and_declined_are_left_out(app) {
        let (_, token) = hospital_user(app, "bv_loai");
        let event = past_event(app);
        let ok = reserve_donor(app, "Đủ điều kiện", "B+", json!({}));
        let ten_days = reserve_donor(app, "Hiến 10 ngày trước", "B+", json!({}));
        assert_eq!(give(app, &event, &ten_days, "whole_blood", 10).status, 201);
        let platelets_ten = reserve_donor(app, "Tiểu cầu 10 ngày trước", "B+", json!({}));
        assert_eq!(give(app, &event, &platelets_ten, "platelets", 10).status, 201);
        let platelets_twenty = reserve_donor(app, "Tiểu cầu 20 ngày trước", "B+", json!({}));
        assert_eq!(give(app, &event, &platelets_twenty, "platelets", 20).status, 201);
        let paper_ten = reserve_donor(app, "Giấy 10 ngày trước", "B+",
            json!({ "prior_donations": 4, "prior_last_donation_on": ago(app, 10) }));
        let paper_ninety = reserve_donor(app, "Giấy 90 ngày trước", "B+",
            json!({ "prior_donations": 4, "prior_last_donation_on": ago(app, 90) }));
        let deferred = reserve_donor(app, "Hoãn", "B+", json!({}));
        defer(app, &event, &deferred, 3, Some(ago(app, -20))).expect(201);
        let deferral_over = reserve_donor(app, "Hết hoãn", "B+", json!({}));
        defer(app, &event, &deferral_over, 30, Some(ago(app, 2))).expect(201);
        let permanent = reserve_donor(app, "Hoãn vĩnh viễn", "B+", json!({}));
        defer(app, &event, &permanent, 30, None).expect(201);
        let not_reserve = reserve_donor(app, "Không dự bị", "B+", json!({ "reserve": false }));
        let withdrawn = reserve_donor(app, "Rút lui", "B+", json!({}));
        let too_young = reserve_donor(app, "Chưa đủ tuổi", "B+", json!({ "date_of_birth": ago(app, 17 * 366) }));
        let too_old = reserve_donor(app, "Quá tuổi", "B+", json!({ "date_of_birth": "1950-01-01" }));
        let light = reserve_donor(app, "Nhẹ cân", "B+", json!({ "weight_kg": 41.0 }));
        let no_group = reserve_donor(app, "Chưa biết nhóm", "B+", json!({}));
        app.patch(&format!("/api/v1/donors/{no_group}"), app.admin(), json!({ "blood_group": null })).expect(200);
        let req = request_id(app, &token, json!({ "blood_group": "B+", "component": "whole_blood" }));
        let mut got = candidate_ids(app, &token, &req);
        got.sort();
        let mut want = vec![ok.clone(), platelets_twenty.clone(), paper_ninety.clone(), deferral_over.clone(), withdrawn.clone()];
        want.sort();
        assert_eq!(got, want);
        let _ = (ten_days, platelets_ten, paper_ten, deferred, permanent, not_reserve, too_young, too_old, light);

        // Withdrawing takes effect at once.
        app.patch(&format!("/api/v1/donors/{withdrawn}"), app.admin(), json!({ "reserve": false })).expect(200);
        assert!(!candidate_ids(app, &token, &req).contains(&withdrawn));
        // Platelets need 50 kg: a 45 kg donor is offered whole blood, not platelets.
        let forty_five = reserve_donor(app, "45 cân", "B+", json!({ "weight_kg": 45.0 }));
        assert!(candidate_ids(app, &token, &req).contains(&forty_five));
        let plt = request_id(app, &token, json!({ "blood_group": "B+", "component": "platelets" }));
        assert!(!candidate_ids(app, &token, &plt).contains(&forty_five));

        // Declined: never again for this request; other answers keep the donor; another
        // request still offers them.
        respond(app, &token, &req, &ok, "no_answer").expect(201);
        assert!(candidate_ids(app, &token, &req).contains(&ok));
        let answer = respond(app, &token, &req, &ok, "declined").expect(201);
        assert_eq!(answer["response"], "declined");
        assert_eq!(answer["donor_id"], ok.as_str());
        assert_eq!(answer["request_id"], req.as_str());
        assert!(answer["recorded_by"].is_string() && answer["recorded_at"].is_string());
        assert!(!candidate_ids(app, &token, &req).contains(&ok));
        respond(app, &token, &req, &ok, "accepted").expect(201);
        assert!(!candidate_ids(app, &token, &req).contains(&ok));
        let req2 = request_id(app, &token, json!({ "blood_group": "B+", "component": "whole_blood" }));
        assert!(candidate_ids(app, &token, &req2).contains(&ok));
        let answers = app.get(&format!("/api/v1/emergency-requests/{req}/responses"), &token).expect(200);
        assert_eq!(answers["items"].as_array().unwrap().len(), 3);
        // Answers are read strictly.
        respond(app, &token, &req, &ok, "maybe").expect_problem(400, "invalid_request");
        respond(app, &token, &req, &uuid::Uuid::new_v4().to_string(), "accepted").expect_problem(422, "invalid_request");
        respond(app, &token, &req, "nope", "accepted").expect_problem(400, "invalid_request");
    }

    fn emergency_donations_fulfil_the_request(app) {
        let (_, token) = hospital_user(app, "bv_du");
        let d1 = reserve_donor(app, "Một", "A+", json!({ "prior_donations": 4 }));
        let d2 = reserve_donor(app, "Hai", "A+", json!({}));
        let d3 = reserve_donor(app, "Ba", "A+", json!({}));
        let req = request_id(app, &token, json!({ "blood_group": "A+", "units_needed": 2 }));
        assert_eq!(candidate_ids(app, &token, &req).len(), 3);

        let first = emergency_donation(app, &token, &req, unit(&d1)).expect(201);
        assert_eq!(first["emergency_request_id"], req.as_str());
        assert!(first["event_id"].is_null());
        assert_eq!(first["outcome"], "collected");
        assert!(first["unit_code"].is_string());
        let r = get_request(app, &token, &req);
        assert_eq!((r["units_received"].as_i64(), r["status"].as_str()), (Some(1), Some("open")));
        // The unit counts in the donor's total and starts the interval.
        let donor = app.get(&format!("/api/v1/donors/{d1}"), app.admin()).expect(200);
        assert_eq!(donor["donation_count"], 5);
        assert!(!candidate_ids(app, &token, &req).contains(&d1));
        emergency_donation(app, &token, &req, unit(&d1)).expect_problem(422, "donor_not_eligible");
        // A deferral takes no unit.
        emergency_donation(app, &token, &req, json!({ "donor_id": d3, "component": "red_cells",
            "outcome": "deferred", "deferral_reason": "sốt", "deferred_until": ago(app, -7) })).expect(201);
        let r = get_request(app, &token, &req);
        assert_eq!((r["units_received"].as_i64(), r["status"].as_str()), (Some(1), Some("open")));
        emergency_donation(app, &token, &req, json!({ "donor_id": d2 })).expect_problem(400, "invalid_request");
        emergency_donation(app, &token, &req, unit(&uuid::Uuid::new_v4().to_string())).expect_problem(422, "invalid_request");
        // The second unit fulfils it.
        emergency_donation(app, &token, &req, unit(&d2)).expect(201);
        let r = get_request(app, &token, &req);
        assert_eq!((r["units_received"].as_i64(), r["status"].as_str()), (Some(2), Some("fulfilled")));
        assert!(r["closed_at"].is_string());
        // Closed for more.
        let d4 = reserve_donor(app, "Bốn", "A+", json!({}));
        emergency_donation(app, &token, &req, unit(&d4)).expect_problem(409, "conflict");
        candidates_resp(app, &token, &req, 20).expect_problem(409, "conflict");
        respond(app, &token, &req, &d4, "accepted").expect_problem(409, "conflict");
        app.post(&format!("/api/v1/emergency-requests/{req}/cancel"), &token, json!({})).expect_problem(409, "conflict");
        let fulfilled = app.get("/api/v1/emergency-requests?status=fulfilled", &token).expect(200);
        assert_eq!(ids(&fulfilled), [req.as_str()]);

        // Voiding a unit (admin) reopens the request.
        let unit_id = first["id"].as_str().unwrap();
        app.post(&format!("/api/v1/donations/{unit_id}/void"), app.admin(), json!({ "reason": "nhập nhầm" })).expect(200);
        let r = get_request(app, &token, &req);
        assert_eq!((r["units_received"].as_i64(), r["status"].as_str()), (Some(1), Some("open")));
        assert!(r["closed_at"].is_null());
        assert!(candidate_ids(app, &token, &req).contains(&d4));
        emergency_donation(app, &token, &req, unit(&d4)).expect(201);
        assert_eq!(get_request(app, &token, &req)["status"], "fulfilled");
    }

    fn emergency_donations_are_idempotent(app) {
        let (_, token) = hospital_user(app, "bv_idem");
        let d1 = reserve_donor(app, "Một", "AB-", json!({}));
        let d2 = reserve_donor(app, "Hai", "AB-", json!({}));
        let req = request_id(app, &token, json!({ "blood_group": "AB-", "units_needed": 1 }));
        assert_eq!(candidate_ids(app, &token, &req).len(), 2);
        let path = format!("/api/v1/emergency-requests/{req}/donations");
        let send = |key: &str, body: &Value| app.call_with("POST", &path, Some(token.as_str()), Some(body), &[("Idempotency-Key", key)]);
        let first = send("k-1", &unit(&d1));
        let body1 = first.expect(201);
        let again = send("k-1", &unit(&d1));
        assert_eq!(again.expect(201), body1);
        assert_eq!(again.header("Idempotency-Key"), Some("replayed"));
        let r = get_request(app, &token, &req);
        assert_eq!((r["units_received"].as_i64(), r["status"].as_str()), (Some(1), Some("fulfilled")));
        // Replayed even though the request is fulfilled now; another body is refused.
        assert_eq!(send("k-1", &unit(&d1)).expect(201), body1);
        send("k-1", &unit(&d2)).expect_problem(422, "idempotency_key_reused");
        send("k-2", &unit(&d2)).expect_problem(409, "conflict");
        assert_eq!(get_request(app, &token, &req)["units_received"], 1);
        let donor = app.get(&format!("/api/v1/donors/{d1}"), app.admin()).expect(200);
        assert_eq!(donor["donation_count"], 1);
        // A failed request records nothing: its key is judged afresh.
        let req2 = request_id(app, &token, json!({ "blood_group": "AB-", "units_needed": 1 }));
        assert!(candidate_ids(app, &token, &req2).contains(&d2));
        let path2 = format!("/api/v1/emergency-requests/{req2}/donations");
        let bad = json!({ "donor_id": d2, "component": "red_cells", "volume_ml": 5000, "outcome": "collected" });
        app.call_with("POST", &path2, Some(token.as_str()), Some(&bad), &[("Idempotency-Key", "k-3")]).expect_problem(422, "invalid_request");
        app.call_with("POST", &path2, Some(token.as_str()), Some(&bad), &[("Idempotency-Key", "k-3")]).expect_problem(422, "invalid_request");
        // The same key at another request is another request: refused.
        app.call_with("POST", &path2, Some(token.as_str()), Some(&unit(&d1)), &[("Idempotency-Key", "k-1")])
            .expect_problem(422, "idempotency_key_reused");
    }

    fn cancelling(app) {
        let (_, token) = hospital_user(app, "bv_huy");
        let donor = reserve_donor(app, "Một", "O+", json!({}));
        let req = request_id(app, &token, json!({}));
        let cancel = format!("/api/v1/emergency-requests/{req}/cancel");
        let r = app.call("POST", &cancel, Some(token.as_str()), None).expect(200);
        assert_eq!(r["status"], "cancelled");
        assert!(r["closed_at"].is_string());
        // Again: unchanged.
        let again = app.call("POST", &cancel, Some(token.as_str()), None).expect(200);
        assert_eq!(again["closed_at"], r["closed_at"]);
        assert_eq!(get_request(app, &token, &req)["status"], "cancelled");
        emergency_donation(app, &token, &req, unit(&donor)).expect_problem(409, "conflict");
        candidates_resp(app, &token, &req, 20).expect_problem(409, "conflict");
        respond(app, &token, &req, &donor, "accepted").expect_problem(409, "conflict");
        let cancelled = app.get("/api/v1/emergency-requests?status=cancelled", &token).expect(200);
        assert_eq!(ids(&cancelled), [req.as_str()]);
        let open = app.get("/api/v1/emergency-requests?status=open", &token).expect(200);
        assert!(ids(&open).is_empty());
        // The admin cancels any hospital's request.
        let req2 = request_id(app, &token, json!({}));
        app.call("POST", &format!("/api/v1/emergency-requests/{req2}/cancel"), Some(app.admin()), None).expect(200);
        let actions: Vec<String> = audit(app, 20).iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert_eq!(actions.iter().filter(|a| *a == "emergency_request_cancelled").count(), 2);
    }

    fn every_candidates_call_is_audited(app) {
        let (hospital, token) = hospital_user(app, "bv_nhat_ky");
        let user_id = app.get("/api/v1/users", app.admin()).expect(200)["items"]
            .as_array().unwrap().iter()
            .find(|u| u["username"] == "bv_nhat_ky").unwrap()["id"].as_str().unwrap().to_owned();
        let d1 = reserve_donor(app, "Một", "O-", json!({ "phone": "0912345678" }));
        let d2 = reserve_donor(app, "Hai", "O-", json!({}));
        let req = request_id(app, &token, json!({ "blood_group": "O-" }));
        let before = audit(app, 500).len();

        let items = candidates(app, &token, &req);
        assert_eq!(items.len(), 2);
        assert_eq!(items.iter().find(|c| c["donor_id"] == d1.as_str()).unwrap()["phone"], "0912345678");
        let entry = audit(app, 1)[0].clone();
        assert_eq!(entry["action"], "contact_disclosed");
        assert_eq!(entry["request_id"], req.as_str());
        assert_eq!(entry["hospital_id"], hospital);
        assert_eq!(entry["actor_user_id"], user_id);
        assert!(entry["actor_key_id"].is_null());
        assert!(entry["at"].is_string() && entry["id"].is_string() && entry["detail"].is_object());
        let mut named: Vec<String> = entry["donor_ids"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
        named.sort();
        let mut want = vec![d1.clone(), d2.clone()];
        want.sort();
        assert_eq!(named, want);

        // One entry per call, naming exactly the donors of that answer.
        respond(app, &token, &req, &d1, "declined").expect(201);
        let second = candidate_ids(app, &token, &req);
        assert_eq!(second, [d2.as_str()]);
        let first_page = app.get("/api/v1/audit?limit=1", app.admin()).expect(200);
        let entry = &first_page["items"][0];
        assert_eq!(entry["donor_ids"], json!([d2]));
        let limited = candidates_resp(app, &token, &req, 1).expect(200);
        assert_eq!(limited["items"].as_array().unwrap().len(), 1);
        let all = audit(app, 500);
        assert_eq!(all.len(), before + 3);
        assert_eq!(all.iter().filter(|e| e["action"] == "contact_disclosed").count(), 3);

        // The admin sees it too, and is logged as the actor with the request's hospital.
        candidates(app, app.admin(), &req);
        let entry = audit(app, 1)[0].clone();
        assert_eq!(entry["hospital_id"], hospital);
        assert!(entry["actor_user_id"].is_string());
        assert_ne!(entry["actor_user_id"], user_id);

        // Paging: newest first, each entry once.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/audit?limit=3&cursor={c}"),
                None => "/api/v1/audit?limit=3".to_owned(),
            };
            let page = app.get(&path, app.admin()).expect(200);
            seen.extend(page["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let all: Vec<String> = audit(app, 500).iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(seen, all);
        app.get("/api/v1/audit?cursor=bm9wZQ", app.admin()).expect_problem(400, "invalid_request");
        app.get("/api/v1/audit?limit=-1", app.admin()).expect_problem(400, "invalid_request");
    }
}
