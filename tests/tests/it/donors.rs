//! Donors: roles, validation, duplicates, search, filters, paging, derived fields.

use chrono::{Duration, NaiveDate};
use hienmau_tests::{backend_tests, TestApp};
use serde_json::{json, Value};

const DUNG_NID: &str = "010190123456";

/// Giàng Thị Dung, a complete valid donor.
fn dung() -> Value {
    json!({
        "full_name": "Giàng Thị Dung",
        "date_of_birth": "1990-05-01",
        "sex": "female",
        "national_id": DUNG_NID,
        "blood_group": "O+",
        "phone": "0912345678",
        "province": "Lào Cai",
        "commune": "Sa Pa",
        "weight_kg": 52.5,
    })
}

/// A minimal valid donor.
fn minimal(name: &str) -> Value {
    json!({ "full_name": name, "date_of_birth": "1985-03-10", "sex": "male" })
}

fn with(mut base: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn create(app: &TestApp, body: Value) -> Value {
    app.post("/api/v1/donors", app.admin(), app.with_chapter(body))
        .expect(201)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["full_name"].as_str().unwrap().to_owned())
        .collect()
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {problem}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

fn today(app: &TestApp) -> NaiveDate {
    app.state.zone.today()
}

/// Searches with an already URL-encoded query string.
fn search(app: &TestApp, query: &str) -> Value {
    app.get(&format!("/api/v1/donors?{query}"), app.admin())
        .expect(200)
}

const DONOR_FIELDS: [&str; 19] = [
    "id",
    "full_name",
    "date_of_birth",
    "sex",
    "national_id",
    "blood_group",
    "phone",
    "province",
    "commune",
    "weight_kg",
    "reserve",
    "reserve_since",
    "prior_donations",
    "prior_last_donation_on",
    "donation_count",
    "last_donation_at",
    "next_eligible_on",
    "honor_eligible",
    "honor_due_tier",
];

backend_tests! {
    fn create_and_read_a_donor(app) {
        let d = create(app, dung());
        for f in DONOR_FIELDS {
            assert!(d.get(f).is_some(), "Donor lacks {f}: {d}");
        }
        assert_eq!(d["full_name"], "Giàng Thị Dung");
        assert_eq!(d["date_of_birth"], "1990-05-01");
        assert_eq!(d["sex"], "female");
        assert_eq!(d["national_id"], DUNG_NID);
        assert_eq!(d["blood_group"], "O+");
        assert_eq!(d["phone"], "0912345678");
        assert_eq!(d["province"], "Lào Cai");
        assert_eq!(d["commune"], "Sa Pa");
        assert_eq!(d["weight_kg"], 52.5);
        assert_eq!(d["reserve"], false);
        assert!(d["reserve_since"].is_null());
        assert_eq!(d["prior_donations"], 0);
        assert!(d["prior_last_donation_on"].is_null());
        assert_eq!(d["donation_count"], 0);
        assert!(d["last_donation_at"].is_null());
        // Never donated, aged 18–60: eligible today.
        assert_eq!(d["next_eligible_on"], today(app).to_string());
        assert_eq!(d["honor_eligible"], false);
        assert!(d["honor_due_tier"].is_null());
        let got = app.get(&format!("/api/v1/donors/{}", id_of(&d)), app.admin()).expect(200);
        assert_eq!(got, d);
        // Minimal body: the optional fields are null.
        let m = create(app, minimal("Lò Văn Minh"));
        for f in ["national_id", "blood_group", "phone", "province", "commune", "weight_kg"] {
            assert!(m[f].is_null(), "{f} should be null: {m}");
        }
        // Normalised forms: phone stored nationally, blood group canonical, name trimmed.
        let n = create(app, with(minimal("  Vàng A Sáng  "), json!({
            "phone": "+84 98 765 4321", "blood_group": "ab-",
        })));
        assert_eq!(n["full_name"], "Vàng A Sáng");
        assert_eq!(n["phone"], "0987654321");
        assert_eq!(n["blood_group"], "AB-");
        // Unknown and malformed ids.
        app.get(&format!("/api/v1/donors/{}", uuid::Uuid::new_v4()), app.admin())
            .expect_problem(404, "not_found");
        app.get("/api/v1/donors/not-a-uuid", app.admin()).expect_problem(400, "invalid_request");
    }

    fn donor_endpoints_by_role(app) {
        let chapter = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let hospital = app.hospital("Bệnh viện Đa khoa tỉnh Lào Cai");
        let coordinator = app.user("coord", "coordinator", Some(&chapter), None).1;
        let hosp = app.user("hosp", "hospital", None, Some(&hospital)).1;
        let honors = app.user("hon", "honors", None, None).1;
        let admin = app.admin().to_owned();

        // Create: admin and coordinator.
        let by_admin = app.post("/api/v1/donors", &admin, app.with_chapter(minimal("Admin Made"))).expect(201);
        let by_coord = app.post("/api/v1/donors", &coordinator, minimal("Coordinator Made")).expect(201);
        for token in [&hosp, &honors] {
            app.post("/api/v1/donors", token, minimal("Refused")).expect_problem(403, "forbidden");
        }
        app.call("POST", "/api/v1/donors", None, Some(&minimal("Anonymous")))
            .expect_problem(401, "unauthorized");

        // Read: admin, coordinator, honors — donors are one registry, whoever created them.
        for token in [&admin, &coordinator, &honors] {
            for d in [&by_admin, &by_coord] {
                app.get(&format!("/api/v1/donors/{}", id_of(d)), token).expect(200);
            }
            let list = app.get("/api/v1/donors", token).expect(200);
            assert_eq!(list["items"].as_array().unwrap().len(), 2);
        }
        app.get(&format!("/api/v1/donors/{}", id_of(&by_admin)), &hosp).expect_problem(403, "forbidden");
        app.get("/api/v1/donors", &hosp).expect_problem(403, "forbidden");
        app.call("GET", "/api/v1/donors", None, None).expect_problem(401, "unauthorized");
        app.call("GET", &format!("/api/v1/donors/{}", id_of(&by_admin)), None, None)
            .expect_problem(401, "unauthorized");

        // Update: admin and coordinator, on any donor.
        let path = format!("/api/v1/donors/{}", id_of(&by_admin));
        app.patch(&path, &admin, json!({ "province": "Lào Cai" })).expect(200);
        let r = app.patch(&path, &coordinator, json!({ "commune": "Bắc Hà" })).expect(200);
        assert_eq!(r["province"], "Lào Cai");
        assert_eq!(r["commune"], "Bắc Hà");
        for token in [&hosp, &honors] {
            app.patch(&path, token, json!({ "commune": "X" })).expect_problem(403, "forbidden");
        }
        app.call("PATCH", &path, None, Some(&json!({ "commune": "X" })))
            .expect_problem(401, "unauthorized");
        // The refused calls changed nothing.
        assert_eq!(app.get(&path, &admin).expect(200)["commune"], "Bắc Hà");
    }

    fn each_validation_rule_names_its_field(app) {
        let tomorrow = (today(app) + Duration::days(1)).to_string();
        let cases: Vec<(Value, &str)> = vec![
            (json!({ "full_name": "" }), "full_name"),
            (json!({ "full_name": "   " }), "full_name"),
            (json!({ "full_name": "x".repeat(201) }), "full_name"),
            (json!({ "full_name": "Giàng\u{0007}Dung" }), "full_name"),
            (json!({ "date_of_birth": tomorrow, "national_id": null }), "date_of_birth"),
            (json!({ "date_of_birth": "1899-12-31", "national_id": null }), "date_of_birth"),
            // Not 12 digits; a bad province code; the wrong sex; the wrong century; the wrong year.
            (json!({ "national_id": "01019012345" }), "national_id"),
            (json!({ "national_id": "01019012345a" }), "national_id"),
            (json!({ "national_id": "099190123456" }), "national_id"),
            (json!({ "sex": "male" }), "national_id"),
            (json!({ "date_of_birth": "2001-05-01" }), "national_id"),
            (json!({ "date_of_birth": "1991-05-01" }), "national_id"),
            (json!({ "blood_group": "C+" }), "blood_group"),
            (json!({ "blood_group": "O" }), "blood_group"),
            (json!({ "phone": "12345" }), "phone"),
            (json!({ "phone": "0212345678" }), "phone"),
            (json!({ "phone": "+1 415 555 0100" }), "phone"),
            (json!({ "province": "p".repeat(101) }), "province"),
            (json!({ "commune": "c".repeat(101) }), "commune"),
            (json!({ "weight_kg": 0 }), "weight_kg"),
            (json!({ "weight_kg": -5.5 }), "weight_kg"),
            (json!({ "weight_kg": 300 }), "weight_kg"),
            (json!({ "prior_donations": -1 }), "prior_donations"),
            (json!({ "prior_donations": 1001 }), "prior_donations"),
            (json!({ "prior_last_donation_on": tomorrow }), "prior_last_donation_on"),
            (json!({ "prior_last_donation_on": "1990-04-30" }), "prior_last_donation_on"),
        ];
        for (patch, field) in cases {
            let body = with(dung(), patch.clone());
            let r = app.post("/api/v1/donors", app.admin(), app.with_chapter(body));
            let problem = r.expect_problem(422, "invalid_request");
            assert_eq!(fields(&problem), [field], "{patch}: {problem}");
            assert!(problem["errors"][0]["message"].as_str().unwrap().len() > 3);
        }
        // Several faults at once: one error each.
        let r = app.post("/api/v1/donors", app.admin(), app.with_chapter(with(dung(), json!({
            "full_name": "", "phone": "1", "prior_donations": -3,
        }))));
        let mut f = fields(&r.expect_problem(422, "invalid_request"));
        f.sort();
        assert_eq!(f, ["full_name", "phone", "prior_donations"]);
        // Nothing was stored by the refusals.
        assert!(search(app, "").get("items").unwrap().as_array().unwrap().is_empty());
        // The boundaries that are allowed.
        create(app, with(dung(), json!({
            "weight_kg": 299.9, "prior_donations": 1000,
            "prior_last_donation_on": today(app).to_string(),
        })));
    }

    fn unreadable_bodies_are_400(app) {
        let a = app.admin();
        let raw = |body: &[u8], ct: &str| app.call_raw("POST", "/api/v1/donors", Some(a), ct, body);
        raw(b"{\"full_name\": \"Dung\",", "application/json").expect_problem(400, "invalid_request");
        raw(b"not json at all", "application/json").expect_problem(400, "invalid_request");
        raw(b"[]", "application/json").expect_problem(400, "invalid_request");
        raw(&serde_json::to_vec(&dung()).unwrap(), "text/plain").expect_problem(400, "invalid_request");
        let wrong_types = [
            json!({ "full_name": 42 }),
            json!({ "date_of_birth": "01/05/1990" }),
            json!({ "date_of_birth": "1990-02-30" }),
            json!({ "sex": "other" }),
            json!({ "sex": 1 }),
            json!({ "weight_kg": "heavy" }),
            json!({ "reserve": "yes" }),
            json!({ "prior_donations": 2.5 }),
            json!({ "prior_donations": "3" }),
            json!({ "national_id": 10190123456_i64 }),
            json!({ "prior_last_donation_on": "yesterday" }),
            json!({ "favourite_colour": "red" }),
        ];
        for patch in wrong_types {
            app.post("/api/v1/donors", a, with(dung(), patch.clone()))
                .expect_problem(400, "invalid_request");
        }
        for missing in ["full_name", "date_of_birth", "sex"] {
            let mut body = dung();
            body.as_object_mut().unwrap().remove(missing);
            app.post("/api/v1/donors", a, body).expect_problem(400, "invalid_request");
        }
        // PATCH too.
        let d = create(app, dung());
        let path = format!("/api/v1/donors/{}", id_of(&d));
        app.call_raw("PATCH", &path, Some(a), "application/json", b"{")
            .expect_problem(400, "invalid_request");
        app.patch(&path, a, json!({ "weight_kg": "heavy" })).expect_problem(400, "invalid_request");
        app.patch(&path, a, json!({ "nickname": "D" })).expect_problem(400, "invalid_request");
        app.patch("/api/v1/donors/123", a, json!({})).expect_problem(400, "invalid_request");
    }

    fn duplicate_national_id_is_409_with_the_existing_id(app) {
        let first = create(app, dung());
        let r = app.post("/api/v1/donors", app.admin(), app.with_chapter(with(dung(), json!({ "full_name": "Giàng T. Dung" }))));
        let problem = r.expect_problem(409, "conflict");
        assert_eq!(problem["existing_id"], first["id"]);
        // With surrounding spaces, it is the same id.
        let r = app.post("/api/v1/donors", app.admin(), app.with_chapter(with(dung(), json!({ "national_id": format!(" {DUNG_NID} ") }))));
        assert_eq!(r.expect_problem(409, "conflict")["existing_id"], first["id"]);
        // Donors without a national id are never duplicates of each other.
        create(app, minimal("Không Có Căn Cước"));
        create(app, minimal("Không Có Căn Cước"));
        // PATCH to another donor's national id: 409 naming that donor.
        let other = create(app, with(dung(), json!({ "national_id": "010190654321", "phone": null })));
        let r = app.patch(&format!("/api/v1/donors/{}", id_of(&other)), app.admin(), json!({ "national_id": DUNG_NID }));
        assert_eq!(r.expect_problem(409, "conflict")["existing_id"], first["id"]);
        // Re-sending one's own national id is no conflict.
        app.patch(&format!("/api/v1/donors/{}", id_of(&first)), app.admin(), json!({ "national_id": DUNG_NID }))
            .expect(200);
        // Only one Giàng Thị Dung with that id exists.
        assert_eq!(ids(&search(app, &format!("q={DUNG_NID}"))), [id_of(&first)]);
    }

    fn partial_updates(app) {
        let d = create(app, dung());
        let path = format!("/api/v1/donors/{}", id_of(&d));
        let a = app.admin();
        // One field changes; the rest stay.
        let r = app.patch(&path, a, json!({ "weight_kg": 55 })).expect(200);
        assert_eq!(r["weight_kg"], 55.0);
        assert_eq!(r["phone"], "0912345678");
        assert_eq!(r["national_id"], DUNG_NID);
        // An empty patch changes nothing.
        let same = app.patch(&path, a, json!({})).expect(200);
        assert_eq!(same, r);
        // null clears optional fields.
        let r = app.patch(&path, a, json!({ "phone": null, "commune": null, "weight_kg": null })).expect(200);
        assert!(r["phone"].is_null() && r["commune"].is_null() && r["weight_kg"].is_null());
        assert_eq!(r["province"], "Lào Cai");
        // A new phone in the international form is stored nationally.
        let r = app.patch(&path, a, json!({ "phone": "+84 86 123 4567" })).expect(200);
        assert_eq!(r["phone"], "0861234567");
        // The same rules: changing sex re-checks the stored national id.
        let p = app.patch(&path, a, json!({ "sex": "male" })).expect_problem(422, "invalid_request");
        assert_eq!(fields(&p), ["national_id"]);
        // ...and changing the birth date too.
        let p = app.patch(&path, a, json!({ "date_of_birth": "1992-05-01" })).expect_problem(422, "invalid_request");
        assert_eq!(fields(&p), ["national_id"]);
        // Sex and national id together are fine.
        let r = app.patch(&path, a, json!({ "sex": "male", "national_id": "010090123456" })).expect(200);
        assert_eq!(r["sex"], "male");
        // Each rule applies to a patch.
        for (patch, field) in [
            (json!({ "full_name": "" }), "full_name"),
            (json!({ "full_name": null }), "full_name"),
            (json!({ "sex": null }), "sex"),
            (json!({ "date_of_birth": null }), "date_of_birth"),
            (json!({ "prior_donations": null }), "prior_donations"),
            (json!({ "reserve": null }), "reserve"),
            (json!({ "blood_group": "Z" }), "blood_group"),
            (json!({ "phone": "0123" }), "phone"),
            (json!({ "weight_kg": 0 }), "weight_kg"),
            (json!({ "prior_donations": -1 }), "prior_donations"),
            (json!({ "prior_last_donation_on": "1980-01-01" }), "prior_last_donation_on"),
        ] {
            let p = app.patch(&path, a, patch.clone()).expect_problem(422, "invalid_request");
            assert_eq!(fields(&p), [field], "{patch}");
        }
        // The refusals changed nothing.
        let now = app.get(&path, a).expect(200);
        assert_eq!(now["full_name"], "Giàng Thị Dung");
        assert_eq!(now["sex"], "male");
        // Clearing the national id.
        let r = app.patch(&path, a, json!({ "national_id": null })).expect(200);
        assert!(r["national_id"].is_null());
        // A renamed donor is found by the new name, not the old.
        app.patch(&path, a, json!({ "full_name": "Giàng A Dũng" })).expect(200);
        assert_eq!(ids(&search(app, "q=dung")), [id_of(&d)]);
        assert!(ids(&search(app, "q=thi")).is_empty());
        app.patch(&format!("/api/v1/donors/{}", uuid::Uuid::new_v4()), a, json!({ "province": "X" }))
            .expect_problem(404, "not_found");
    }

    fn reserve_consent_is_dated_and_withdrawn(app) {
        let a = app.admin();
        let today = today(app).to_string();
        let d = create(app, with(dung(), json!({ "reserve": true })));
        assert_eq!(d["reserve"], true);
        assert_eq!(d["reserve_since"], today);
        let path = format!("/api/v1/donors/{}", id_of(&d));
        // Staying in keeps the date.
        let r = app.patch(&path, a, json!({ "reserve": true, "commune": "Bát Xát" })).expect(200);
        assert_eq!(r["reserve_since"], today);
        // Withdrawal at once.
        let r = app.patch(&path, a, json!({ "reserve": false })).expect(200);
        assert_eq!(r["reserve"], false);
        assert!(r["reserve_since"].is_null());
        assert!(ids(&search(app, "reserve=true")).is_empty());
        // Joining again dates the new consent.
        let r = app.patch(&path, a, json!({ "reserve": true })).expect(200);
        assert_eq!(r["reserve_since"], today);
        // Not in the reserve by default.
        let other = create(app, minimal("Lò Văn Minh"));
        assert_eq!(other["reserve"], false);
        assert!(other["reserve_since"].is_null());
        let explicit = create(app, with(minimal("Lò Văn Tâm"), json!({ "reserve": false })));
        assert!(explicit["reserve_since"].is_null());
    }

    fn search_ignores_case_diacritics_and_word_order(app) {
        let dung = create(app, dung());
        let others = [
            "Nguyễn Văn An", "Dung Thị Hoa", "Giàng A Páo", "Đặng Thị Dung", "Thào Giang Dũng",
        ];
        let mut other_ids = Vec::new();
        for (i, n) in others.iter().enumerate() {
            other_ids.push(id_of(&create(app, with(minimal(n), json!({ "phone": format!("09{:08}", i + 1) })))));
        }
        let dung_id = id_of(&dung);
        for q in ["giang+thi+dung", "dung+giang", "Gi%C3%A0ng+Th%E1%BB%8B+Dung", "GIANG+THI+DUNG",
                  "thi+dung+giang", "gi%C3%A0ng%20dung%20th%E1%BB%8B", "++giang++thi++dung++"] {
            let found = ids(&search(app, &format!("q={q}")));
            assert!(found.contains(&dung_id), "{q} finds Giàng Thị Dung: {found:?}");
            // "Thào Giang Dũng" also has giang and dung, but not "thi".
            assert!(!found.contains(&other_ids[4]) || !q.contains("thi"), "{q}: {found:?}");
        }
        assert_eq!(ids(&search(app, "q=giang+thi+dung")), [dung_id.as_str()]);
        // Both have "dung" and "giang": Giàng Thị Dung and Thào Giang Dũng.
        let mut both = ids(&search(app, "q=dung+giang"));
        both.sort();
        let mut want = vec![dung_id.clone(), other_ids[4].clone()];
        want.sort();
        assert_eq!(both, want);
        // "đ" folds to "d".
        let found = names(&search(app, "q=%C4%91%E1%BA%B7ng"));
        assert_eq!(found, ["Đặng Thị Dung"]);
        // Substrings of words match too (names that contain each word).
        assert_eq!(names(&search(app, "q=nguy")), ["Nguyễn Văn An"]);
        // No match.
        assert!(ids(&search(app, "q=zzz")).is_empty());
        // The exact national id.
        assert_eq!(ids(&search(app, &format!("q={DUNG_NID}"))), [dung_id.as_str()]);
        assert!(ids(&search(app, "q=010190123457")).is_empty());
        // The phone in both forms (and spaced).
        for q in ["0912345678", "%2B84912345678", "%2B84+912+345+678", "84912345678", "0912.345.678"] {
            assert_eq!(ids(&search(app, &format!("q={q}"))), [dung_id.as_str()], "phone {q}");
        }
        // An empty q lists everyone.
        assert_eq!(ids(&search(app, "q=")).len(), 6);
        assert_eq!(ids(&search(app, "")).len(), 6);
    }

    fn filters_by_blood_group_and_reserve(app) {
        let a = create(app, with(minimal("An O Pos Reserve"), json!({ "blood_group": "O+", "reserve": true })));
        let b = create(app, with(minimal("Binh O Pos"), json!({ "blood_group": "O+" })));
        let c = create(app, with(minimal("Cuong O Neg Reserve"), json!({ "blood_group": "O-", "reserve": true })));
        let d = create(app, minimal("Dung Unknown Group"));
        assert_eq!(ids(&search(app, "blood_group=O%2B")), [id_of(&a), id_of(&b)]);
        assert_eq!(ids(&search(app, "blood_group=O-")), [id_of(&c)]);
        assert_eq!(ids(&search(app, "blood_group=o-")), [id_of(&c)]);
        assert!(ids(&search(app, "blood_group=AB-")).is_empty());
        assert_eq!(ids(&search(app, "reserve=true")), [id_of(&a), id_of(&c)]);
        assert_eq!(ids(&search(app, "reserve=false")), [id_of(&b), id_of(&d)]);
        assert_eq!(ids(&search(app, "reserve=true&blood_group=O%2B")), [id_of(&a)]);
        assert_eq!(ids(&search(app, "q=reserve&blood_group=O-")), [id_of(&c)]);
        assert!(ids(&search(app, "q=binh&reserve=true")).is_empty());
        let admin = app.admin();
        app.get("/api/v1/donors?blood_group=C%2B", admin).expect_problem(400, "invalid_request");
        app.get("/api/v1/donors?reserve=maybe", admin).expect_problem(400, "invalid_request");
        app.get("/api/v1/donors?limit=-1", admin).expect_problem(400, "invalid_request");
        app.get("/api/v1/donors?limit=ten", admin).expect_problem(400, "invalid_request");
        app.get("/api/v1/donors?cursor=%21%21", admin).expect_problem(400, "invalid_request");
        // A well-encoded cursor that this API did not issue.
        app.get("/api/v1/donors?cursor=aGVsbG8", admin).expect_problem(400, "invalid_request");
    }

    fn paging_has_no_gaps_or_repeats(app) {
        // Two share a name, so the id breaks the tie.
        let names = ["Hoàng Thị Hằng", "Lò Văn Minh", "Vàng A Sáng", "Đinh Công Tráng",
                     "Ánh Nguyễn", "Lò Văn Minh", "Bùi Thị Xuân"];
        let mut created: Vec<String> = names.iter().map(|n| id_of(&create(app, minimal(n)))).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("limit=3&cursor={c}"),
                None => "limit=3".to_owned(),
            };
            let page = search(app, &path);
            pages += 1;
            let n = page["items"].as_array().unwrap().len();
            assert!(n <= 3);
            seen.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
            assert!(pages < 10, "paging does not end");
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 7);
        let all = ids(&search(app, "limit=100"));
        assert_eq!(seen, all, "pages concatenate to the full ordered list");
        seen.sort();
        seen.dedup();
        created.sort();
        assert_eq!(seen, created);
        // Sorted by name ignoring diacritics: Ánh, Bùi, Đinh, Hoàng, Lò, Lò, Vàng.
        let ordered = names_of_all(app);
        assert_eq!(ordered[0], "Ánh Nguyễn");
        assert_eq!(ordered[1], "Bùi Thị Xuân");
        assert_eq!(ordered[2], "Đinh Công Tráng");
        assert_eq!(ordered[6], "Vàng A Sáng");
        // A large limit is capped, not refused; limit=0 still answers.
        search(app, "limit=100000");
        search(app, "limit=0");
        // Paging a filtered search.
        let first = search(app, "q=l%C3%B2&limit=1");
        assert_eq!(first["items"].as_array().unwrap().len(), 1);
        let c = first["next_cursor"].as_str().unwrap();
        let second = search(app, &format!("q=l%C3%B2&limit=1&cursor={c}"));
        assert_eq!(second["items"].as_array().unwrap().len(), 1);
        assert!(second["next_cursor"].is_null());
        assert_ne!(ids(&first), ids(&second));
    }

    fn counts_and_honors_from_prior_donations(app) {
        let p4 = create(app, with(minimal("Four Times"), json!({ "prior_donations": 4 })));
        assert_eq!(p4["donation_count"], 4);
        assert_eq!(p4["honor_eligible"], false);
        assert!(p4["honor_due_tier"].is_null());
        let p5 = create(app, with(minimal("Five Times"), json!({ "prior_donations": 5 })));
        assert_eq!(p5["donation_count"], 5);
        assert_eq!(p5["honor_eligible"], true);
        assert_eq!(p5["honor_due_tier"], 5);
        let p12 = create(app, with(minimal("Twelve Times"), json!({ "prior_donations": 12 })));
        assert_eq!(p12["honor_eligible"], true);
        assert_eq!(p12["honor_due_tier"], 10);
        // Raising the count by PATCH moves the tier.
        let r = app.patch(&format!("/api/v1/donors/{}", id_of(&p4)), app.admin(), json!({ "prior_donations": 20 })).expect(200);
        assert_eq!(r["donation_count"], 20);
        assert_eq!(r["honor_due_tier"], 20);
        // The list shows the same figures.
        let listed = search(app, "q=five+times");
        assert_eq!(listed["items"][0], p5);
    }

    fn interval_and_last_donation_from_prior_records(app) {
        let today = today(app);
        let ten_days_ago = today - Duration::days(10);
        let d = create(app, with(minimal("Recent Donor"), json!({
            "prior_donations": 3, "prior_last_donation_on": ten_days_ago.to_string(),
        })));
        assert_eq!(d["prior_last_donation_on"], ten_days_ago.to_string());
        // Whole blood: 84 days after the last prior donation.
        assert_eq!(d["next_eligible_on"], (ten_days_ago + Duration::days(84)).to_string());
        // last_donation_at: the start of that day in Asia/Ho_Chi_Minh (UTC+7), in UTC.
        let start = (ten_days_ago - Duration::days(1)).format("%Y-%m-%dT17:00:00Z").to_string();
        assert_eq!(d["last_donation_at"], start);
        // A long-ago donation leaves the donor eligible today.
        let old = create(app, with(minimal("Old Donor"), json!({
            "prior_donations": 1, "prior_last_donation_on": "2015-01-01",
        })));
        assert_eq!(old["next_eligible_on"], today.to_string());
        // Under 18: eligible from the 18th birthday.
        let dob = NaiveDate::from_ymd_opt(chrono::Datelike::year(&today) - 17, 1, 15).unwrap();
        let young = create(app, json!({ "full_name": "Young Donor", "date_of_birth": dob.to_string(), "sex": "female" }));
        let eighteen = NaiveDate::from_ymd_opt(chrono::Datelike::year(&dob) + 18, 1, 15).unwrap();
        assert_eq!(young["next_eligible_on"], eighteen.to_string());
        // Over 60: never.
        let old_age = create(app, json!({ "full_name": "Retired Donor", "date_of_birth": "1950-01-01", "sex": "male" }));
        assert!(old_age["next_eligible_on"].is_null());
        // Clearing the prior date clears the interval.
        let r = app.patch(&format!("/api/v1/donors/{}", id_of(&d)), app.admin(), json!({ "prior_last_donation_on": null })).expect(200);
        assert_eq!(r["next_eligible_on"], today.to_string());
        assert!(r["last_donation_at"].is_null());
    }
}

fn names_of_all(app: &TestApp) -> Vec<String> {
    names(&search(app, "limit=100"))
}

backend_tests! {
    fn openapi_describes_the_donor_endpoints(app) {
        let doc = app.call("GET", "/api/v1/openapi.json", None, None).expect(200);
        let paths = &doc["paths"];
        let statuses = |path: &str, method: &str| -> Vec<String> {
            let op = &paths[path][method];
            assert!(op.is_object(), "{method} {path} missing");
            op["responses"].as_object().unwrap().keys().cloned().collect()
        };
        let mut post = statuses("/api/v1/donors", "post");
        post.sort();
        // 404: a coordinator naming a chapter outside its scope (issue 15).
        assert_eq!(post, ["201", "400", "401", "403", "404", "409", "413", "422"]);
        for s in ["200", "400", "401", "403"] {
            assert!(statuses("/api/v1/donors", "get").contains(&s.to_owned()));
        }
        for s in ["200", "400", "401", "403", "404"] {
            assert!(statuses("/api/v1/donors/{id}", "get").contains(&s.to_owned()));
        }
        for s in ["200", "400", "401", "403", "404", "409", "422"] {
            assert!(statuses("/api/v1/donors/{id}", "patch").contains(&s.to_owned()));
        }
        let schemas = &doc["components"]["schemas"];
        for f in DONOR_FIELDS {
            assert!(schemas["DonorOut"]["properties"][f].is_object(), "DonorOut.{f}");
        }
        for s in ["NewDonor", "DonorPatch"] {
            assert!(schemas[s].is_object(), "{s}");
        }
        let params: Vec<&str> = paths["/api/v1/donors"]["get"]["parameters"].as_array().unwrap()
            .iter().map(|p| p["name"].as_str().unwrap()).collect();
        for p in ["q", "blood_group", "reserve", "limit", "cursor"] {
            assert!(params.contains(&p), "parameter {p}");
        }
    }
}

backend_tests! {
    fn racing_registrations_of_one_national_id_give_one_donor(app) {
        let results: Vec<(u16, Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| {
                    let r = app.post("/api/v1/donors", app.admin(), app.with_chapter(dung()));
                    (r.status, r.json())
                }))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let created: Vec<&Value> = results.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b).collect();
        assert_eq!(created.len(), 1, "{results:?}");
        for (status, body) in &results {
            if *status != 201 {
                assert_eq!(*status, 409, "{body}");
                assert_eq!(body["code"], "conflict");
                assert_eq!(body["existing_id"], created[0]["id"]);
            }
        }
    }
}

backend_tests! {
    fn the_registering_chapter_is_required_of_an_admin_and_scoped_for_a_coordinator(app) {
        let province = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let city = app.chapter("Hội Chữ thập đỏ phường Cốc Lếu", Some(&province));
        let other = app.chapter("Hội Chữ thập đỏ tỉnh Yên Bái", None);
        let (_, co_province) = app.user("co_province", "coordinator", Some(&province), None);
        let (_, co_city) = app.user("co_city", "coordinator", Some(&city), None);
        let admin = app.admin().to_owned();
        // An admin must name it.
        let r = app.post("/api/v1/donors", &admin, minimal("Không Chi Hội"));
        assert_eq!(r.expect_problem(422, "invalid_request")["errors"][0]["field"], "chapter_id", "{}", r.text);
        let r = app.post("/api/v1/donors", &admin, with(minimal("Chi Hội Lạ"), json!({ "chapter_id": uuid::Uuid::new_v4() })));
        assert_eq!(r.expect_problem(422, "invalid_request")["errors"][0]["field"], "chapter_id");
        app.post("/api/v1/donors", &admin, with(minimal("Sai Dạng"), json!({ "chapter_id": "city" })))
            .expect_problem(400, "invalid_request");
        let by_admin = app.post("/api/v1/donors", &admin, with(minimal("Admin Made"), json!({ "chapter_id": other }))).expect(201);
        assert_eq!(by_admin["chapter_id"], other.as_str());
        // A coordinator: its own chapter by default, or one in its scope; outside it, 404.
        let own = app.post("/api/v1/donors", &co_province, minimal("Của Tỉnh")).expect(201);
        assert_eq!(own["chapter_id"], province.as_str());
        let below = app.post("/api/v1/donors", &co_province, with(minimal("Của Phường"), json!({ "chapter_id": city }))).expect(201);
        assert_eq!(below["chapter_id"], city.as_str());
        app.post("/api/v1/donors", &co_city, with(minimal("Lên Tỉnh"), json!({ "chapter_id": province })))
            .expect_problem(404, "not_found");
        app.post("/api/v1/donors", &co_city, with(minimal("Sang Yên Bái"), json!({ "chapter_id": other })))
            .expect_problem(404, "not_found");
        // The chapter is shown on reads.
        let read = app.get(&format!("/api/v1/donors/{}", id_of(&below)), &co_city).expect(200);
        assert_eq!(read["chapter_id"], city.as_str());
        let total = app.get("/api/v1/donors?limit=500", &admin).expect(200)["items"].as_array().unwrap().len();
        assert_eq!(total, 3, "nothing stored for a refused registration");
    }

    fn a_last_paper_donation_needs_paper_donations(app) {
        let on = json!({ "prior_last_donation_on": "2024-03-01" });
        // On create: with prior_donations 0, or absent (0).
        for body in [with(with(minimal("Lò Văn A"), on.clone()), json!({ "prior_donations": 0 })),
                     with(minimal("Lò Văn B"), on.clone())] {
            let r = app.post("/api/v1/donors", app.admin(), app.with_chapter(body));
            let p = r.expect_problem(422, "invalid_request");
            assert_eq!(p["errors"][0]["field"], "prior_last_donation_on", "{p}");
        }
        let d = create(app, with(with(minimal("Lò Văn C"), on.clone()), json!({ "prior_donations": 2 })));
        assert_eq!(d["prior_last_donation_on"], "2024-03-01");
        let path = format!("/api/v1/donors/{}", id_of(&d));
        // PATCH, against the stored values: dropping the count alone leaves a stored day.
        let r = app.patch(&path, app.admin(), json!({ "prior_donations": 0 }));
        assert_eq!(r.expect_problem(422, "invalid_request")["errors"][0]["field"], "prior_last_donation_on");
        let cleared = app.patch(&path, app.admin(), json!({ "prior_donations": 0, "prior_last_donation_on": null })).expect(200);
        assert_eq!(cleared["prior_donations"], 0);
        assert!(cleared["prior_last_donation_on"].is_null());
        // With a stored count of 0, a day alone is refused; with a count it is accepted.
        let r = app.patch(&path, app.admin(), on.clone());
        assert_eq!(r.expect_problem(422, "invalid_request")["errors"][0]["field"], "prior_last_donation_on");
        let back = app.patch(&path, app.admin(), with(on.clone(), json!({ "prior_donations": 1 }))).expect(200);
        assert_eq!(back["prior_donations"], 1);
        assert_eq!(back["prior_last_donation_on"], "2024-03-01");
        // A count without a day is fine.
        app.patch(&path, app.admin(), json!({ "prior_last_donation_on": null })).expect(200);
    }
}
