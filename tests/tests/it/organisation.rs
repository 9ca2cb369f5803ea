//! Organisation: chapters, hospitals, users — each endpoint for each role, and the rules.

use hienmau_tests::{backend_tests, TestApp};
use serde_json::{json, Value};

/// One token per role (admin, coordinator, hospital, honors).
struct Tokens {
    admin: String,
    coordinator: String,
    hospital: String,
    honors: String,
}

fn tokens(app: &TestApp) -> Tokens {
    let chapter = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
    let hospital = app.hospital("Bệnh viện Đa khoa tỉnh Lào Cai");
    Tokens {
        admin: app.admin().to_owned(),
        coordinator: app.user("coord", "coordinator", Some(&chapter), None).1,
        hospital: app.user("hosp", "hospital", None, Some(&hospital)).1,
        honors: app.user("hon", "honors", None, None).1,
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

backend_tests! {
    fn chapters_form_a_tree(app) {
        let root = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let city = app.chapter("Hội Chữ thập đỏ thành phố Lào Cai", Some(&root));
        let ward = app.chapter("Chi hội phường Cốc Lếu", Some(&city));
        let other = app.chapter("Hội Chữ thập đỏ tỉnh Yên Bái", None);
        let list = app.get("/api/v1/chapters", app.admin()).expect(200);
        assert!(list["next_cursor"].is_null());
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        let pos = |id: &str| items.iter().position(|c| c["id"] == id).unwrap();
        assert!(pos(&root) < pos(&city) && pos(&city) < pos(&ward), "parents before children");
        assert_eq!(items[pos(&city)]["parent_id"], root.as_str());
        assert_eq!(items[pos(&ward)]["parent_id"], city.as_str());
        assert!(items[pos(&root)]["parent_id"].is_null());
        assert!(items[pos(&other)]["parent_id"].is_null());
        assert_eq!(items[pos(&ward)]["name"], "Chi hội phường Cốc Lếu");
        // Paging.
        let page = app.get("/api/v1/chapters?limit=3", app.admin()).expect(200);
        assert_eq!(page["items"].as_array().unwrap().len(), 3);
        let cursor = page["next_cursor"].as_str().unwrap();
        let rest = app.get(&format!("/api/v1/chapters?limit=3&cursor={cursor}"), app.admin()).expect(200);
        let mut all = ids(&page);
        all.extend(ids(&rest));
        assert_eq!(all, ids(&list));
        app.get("/api/v1/chapters?limit=-1", app.admin()).expect_problem(400, "invalid_request");
        app.get("/api/v1/chapters?cursor=!!!", app.admin()).expect_problem(400, "invalid_request");
    }

    fn chapter_rules(app) {
        let a = app.admin();
        app.post("/api/v1/chapters", a, json!({ "name": "  " })).expect_problem(422, "invalid_request");
        let r = app.post("/api/v1/chapters", a, json!({ "name": "X", "parent_id": uuid::Uuid::new_v4() }));
        let body = r.expect_problem(422, "invalid_request");
        assert_eq!(body["errors"][0]["field"], "parent_id");
        app.post("/api/v1/chapters", a, json!({ "name": "X", "parent_id": "not-a-uuid" }))
            .expect_problem(400, "invalid_request");
        app.post("/api/v1/chapters", a, json!({ "name": 7 })).expect_problem(400, "invalid_request");
        app.post("/api/v1/chapters", a, json!({ "name": "X", "colour": "red" }))
            .expect_problem(400, "invalid_request");
        app.call_raw("POST", "/api/v1/chapters", Some(a), "application/json", b"{oops")
            .expect_problem(400, "invalid_request");
    }

    fn chapter_endpoints_by_role(app) {
        let t = tokens(app);
        for token in [&t.admin, &t.coordinator, &t.hospital, &t.honors] {
            app.get("/api/v1/chapters", token).expect(200);
        }
        app.call("GET", "/api/v1/chapters", None, None).expect_problem(401, "unauthorized");
        let body = json!({ "name": "Chi hội mới" });
        app.post("/api/v1/chapters", &t.admin, body.clone()).expect(201);
        for token in [&t.coordinator, &t.hospital, &t.honors] {
            app.post("/api/v1/chapters", token, body.clone()).expect_problem(403, "forbidden");
        }
        app.call("POST", "/api/v1/chapters", None, Some(&body)).expect_problem(401, "unauthorized");
    }

    fn hospital_endpoints_by_role(app) {
        let t = tokens(app);
        let body = json!({ "name": "Bệnh viện Sản Nhi", "province": "Lào Cai", "commune": "Cam Đường" });
        let created = app.post("/api/v1/hospitals", &t.admin, body.clone()).expect(201);
        assert_eq!(created["name"], "Bệnh viện Sản Nhi");
        assert_eq!(created["province"], "Lào Cai");
        assert_eq!(created["commune"], "Cam Đường");
        assert!(created["id"].is_string());
        for token in [&t.coordinator, &t.hospital, &t.honors] {
            app.post("/api/v1/hospitals", token, body.clone()).expect_problem(403, "forbidden");
        }
        app.call("POST", "/api/v1/hospitals", None, Some(&body)).expect_problem(401, "unauthorized");
        let list = app.get("/api/v1/hospitals", &t.admin).expect(200);
        assert!(ids(&list).contains(&created["id"].as_str().unwrap().to_owned()));
        app.call("GET", "/api/v1/hospitals", None, None).expect_problem(401, "unauthorized");
        for token in [&t.coordinator, &t.hospital, &t.honors] {
            app.get("/api/v1/hospitals", token).expect_problem(403, "forbidden");
        }
        app.post("/api/v1/hospitals", &t.admin, json!({ "name": "" })).expect_problem(422, "invalid_request");
        app.post("/api/v1/hospitals", &t.admin, json!({ "province": "Lào Cai" }))
            .expect_problem(400, "invalid_request");
    }

    fn user_endpoints_by_role(app) {
        let t = tokens(app);
        let list = app.get("/api/v1/users", &t.admin).expect(200);
        let names: Vec<&str> = list["items"].as_array().unwrap().iter()
            .map(|u| u["username"].as_str().unwrap()).collect();
        for n in ["admin", "coord", "hosp", "hon"] {
            assert!(names.contains(&n), "{n} in {names:?}");
        }
        for u in list["items"].as_array().unwrap() {
            assert!(u.get("password").is_none() && u.get("password_hash").is_none());
        }
        let body = json!({ "username": "newbie", "password": "twelve chars!", "role": "honors" });
        let other_id = list["items"][0]["id"].as_str().unwrap().to_owned();
        for token in [&t.coordinator, &t.hospital, &t.honors] {
            app.get("/api/v1/users", token).expect_problem(403, "forbidden");
            app.post("/api/v1/users", token, body.clone()).expect_problem(403, "forbidden");
            app.patch(&format!("/api/v1/users/{other_id}"), token, json!({ "disabled": true }))
                .expect_problem(403, "forbidden");
        }
        app.call("GET", "/api/v1/users", None, None).expect_problem(401, "unauthorized");
        app.call("POST", "/api/v1/users", None, Some(&body)).expect_problem(401, "unauthorized");
        app.call("PATCH", &format!("/api/v1/users/{other_id}"), None, Some(&json!({ "disabled": true })))
            .expect_problem(401, "unauthorized");
        let created = app.post("/api/v1/users", &t.admin, body).expect(201);
        assert_eq!(created["username"], "newbie");
        assert_eq!(created["role"], "honors");
        assert_eq!(created["disabled"], false);
        assert!(created["chapter_id"].is_null() && created["hospital_id"].is_null());
        assert!(created.get("password").is_none());
    }

    fn user_rules(app) {
        let a = app.admin();
        let chapter = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let hospital = app.hospital("Bệnh viện Đa khoa tỉnh Lào Cai");
        let ok = app.post("/api/v1/users", a, json!({
            "username": "coord1", "password": "long enough pw", "role": "coordinator", "chapter_id": chapter,
        })).expect(201);
        assert_eq!(ok["chapter_id"], chapter.as_str());
        let ok = app.post("/api/v1/users", a, json!({
            "username": "hosp1", "password": "long enough pw", "role": "hospital", "hospital_id": hospital,
        })).expect(201);
        assert_eq!(ok["hospital_id"], hospital.as_str());
        // A taken username.
        let r = app.post("/api/v1/users", a, json!({
            "username": "coord1", "password": "long enough pw", "role": "honors",
        }));
        r.expect_problem(409, "conflict");
        let field_of = |body: Value| -> Vec<String> {
            body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
        };
        // A coordinator without a chapter.
        let body = app.post("/api/v1/users", a, json!({
            "username": "coord2", "password": "long enough pw", "role": "coordinator",
        })).expect_problem(422, "invalid_request");
        assert_eq!(field_of(body), ["chapter_id"]);
        // A hospital user without a hospital.
        let body = app.post("/api/v1/users", a, json!({
            "username": "hosp2", "password": "long enough pw", "role": "hospital",
        })).expect_problem(422, "invalid_request");
        assert_eq!(field_of(body), ["hospital_id"]);
        // A password under 12 characters.
        let body = app.post("/api/v1/users", a, json!({
            "username": "hon3", "password": "elevenchars", "role": "honors",
        })).expect_problem(422, "invalid_request");
        assert_eq!(field_of(body), ["password"]);
        // An unknown chapter.
        let body = app.post("/api/v1/users", a, json!({
            "username": "coord3", "password": "long enough pw", "role": "coordinator", "chapter_id": uuid::Uuid::new_v4(),
        })).expect_problem(422, "invalid_request");
        assert_eq!(field_of(body), ["chapter_id"]);
        // An unknown role is an unknown enum value: 400.
        app.post("/api/v1/users", a, json!({
            "username": "x", "password": "long enough pw", "role": "superuser",
        })).expect_problem(400, "invalid_request");
        // A short password on reset.
        let id = ok["id"].as_str().unwrap();
        let body = app.patch(&format!("/api/v1/users/{id}"), a, json!({ "password": "short" }))
            .expect_problem(422, "invalid_request");
        assert_eq!(field_of(body), ["password"]);
        // Unknown user, bad id.
        app.patch(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()), a, json!({ "disabled": true }))
            .expect_problem(404, "not_found");
        app.patch("/api/v1/users/not-a-uuid", a, json!({ "disabled": true }))
            .expect_problem(400, "invalid_request");
        app.patch(&format!("/api/v1/users/{id}"), a, json!({ "disabled": "yes" }))
            .expect_problem(400, "invalid_request");
    }
}
