//! Registry reads (issue 16, item 5): every read that shows a CCCD or a phone (`GET /donors`
//! in the full view, `GET /donors/{id}`) is audited with the donor ids and counted against the
//! caller's budget of donors shown per hour, shared by every instance on the database; the
//! brief view is neither; paper-history edits belong to the registering chapter's scope; the
//! audit entry of an edit holds the old and new values of each audited field.

use std::time::Duration;

use hienmau_tests::{backend_tests, test_settings, TestApp, TestDatabase};
use serde_json::{json, Value};

const NID: &str = "010190123456";
const PHONE: &str = "0912345678";

fn donor(app: &TestApp, name: &str, group: &str) -> String {
    let body = json!({ "full_name": name, "date_of_birth": "1985-03-10", "sex": "male",
                       "blood_group": group, "phone": null });
    app.post("/api/v1/donors", app.admin(), app.with_chapter(body))
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Giàng Thị Dung, with a CCCD and a phone, registered by `chapter`.
fn dung(app: &TestApp, chapter: &str) -> String {
    let body = json!({ "full_name": "Giàng Thị Dung", "date_of_birth": "1990-05-01",
                       "sex": "female", "national_id": NID, "phone": PHONE, "blood_group": "O+",
                       "commune": "Sa Pa", "province": "Lào Cai", "chapter_id": chapter });
    app.post("/api/v1/donors", app.admin(), body).expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The audit log's newest entries, newest first.
fn audit(app: &TestApp, limit: usize) -> Vec<Value> {
    app.get(&format!("/api/v1/audit?limit={limit}"), app.admin())
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn newest(app: &TestApp) -> Value {
    audit(app, 1).remove(0)
}

/// The read entries (`donor_read`, `donors_listed`) of `user_id`, newest first.
fn reads_of(app: &TestApp, user_id: &str) -> Vec<Value> {
    audit(app, 500)
        .into_iter()
        .filter(|e| e["actor_user_id"] == user_id)
        .filter(|e| e["action"] == "donor_read" || e["action"] == "donors_listed")
        .collect()
}

backend_tests! {
    fn full_reads_are_audited_with_the_filter_count_and_donor_ids(app) {
        let chapter = app.registering_chapter();
        let (coord_id, coord) = app.user("coord", "coordinator", Some(&chapter), None);
        let dung = dung(app, &chapter);
        let a = donor(app, "Lò Văn An", "O+");
        donor(app, "Lò Văn Bình", "A+");

        // A page: the entry names the caller, the filter's shape, how many and which donors.
        let r = app.get("/api/v1/donors?blood_group=O%2B&limit=1", &coord);
        let page = r.expect(200);
        assert_eq!(ids(&page).len(), 1);
        let e = newest(app);
        assert_eq!(e["action"], "donors_listed", "{e}");
        assert_eq!(e["actor_user_id"], coord_id.as_str());
        assert_eq!(e["donor_ids"], json!(ids(&page)));
        assert_eq!(e["detail"]["count"], 1);
        assert_eq!(e["detail"]["view"], "full");
        assert_eq!(e["detail"]["filter"]["blood_group"], "O+");
        assert!(e["detail"]["filter"]["q"].is_null(), "{e}");
        assert_eq!(e["detail"]["cursor"], false);
        // The entry is tied to the HTTP request that made it.
        assert_eq!(e["http_request_id"].as_str(), r.header("x-request-id"), "{e}");
        // The next page: a cursor was followed.
        let cursor = page["next_cursor"].as_str().unwrap();
        let next = app.get(&format!("/api/v1/donors?blood_group=O%2B&limit=1&cursor={cursor}"), &coord).expect(200);
        let e = newest(app);
        assert_eq!(e["detail"]["cursor"], true);
        assert_eq!(e["donor_ids"], json!(ids(&next)));
        let mut both = [ids(&page), ids(&next)].concat();
        both.sort();
        let mut expected = vec![dung.clone(), a.clone()];
        expected.sort();
        assert_eq!(both, expected);

        // A search by CCCD, then by phone: the entry says how q was read and which donor was
        // shown, without the CCCD or phone searched for.
        for (q, kind) in [(NID, "national_id"), ("%2B84912345678", "phone")] {
            let found = app.get(&format!("/api/v1/donors?q={q}&reserve=false"), &coord).expect(200);
            assert_eq!(ids(&found), vec![dung.clone()]);
            let e = newest(app);
            assert_eq!(e["action"], "donors_listed");
            assert_eq!(e["donor_ids"], json!([dung]));
            assert_eq!(e["detail"]["filter"]["q"][kind], true, "{e}");
            assert_eq!(e["detail"]["filter"]["reserve"], false);
            let detail = e["detail"].to_string();
            assert!(!detail.contains(NID) && !detail.contains("912345678"), "{detail}");
        }
        // A search that finds no one is audited too (who looked for what).
        let none = app.get("/api/v1/donors?q=kh%C3%B4ng+ai", &coord).expect(200);
        assert!(ids(&none).is_empty());
        let e = newest(app);
        assert_eq!((e["action"].as_str(), e["detail"]["count"].as_i64()), (Some("donors_listed"), Some(0)));
        assert_eq!(e["detail"]["filter"]["q"]["words"], 2);
        assert_eq!(e["donor_ids"], json!([]));

        // One donor.
        let r = app.get(&format!("/api/v1/donors/{dung}"), &coord);
        assert_eq!(r.expect(200)["national_id"], NID);
        let e = newest(app);
        assert_eq!(e["action"], "donor_read");
        assert_eq!(e["actor_user_id"], coord_id.as_str());
        assert_eq!(e["donor_ids"], json!([dung]));
        assert_eq!(e["detail"]["count"], 1);
        // An unknown donor shows nothing and is not audited.
        let before = newest(app)["id"].clone();
        app.get(&format!("/api/v1/donors/{}", uuid::Uuid::new_v4()), &coord)
            .expect_problem(404, "not_found");
        assert_eq!(newest(app)["id"], before);
        assert_eq!(reads_of(app, &coord_id).len(), 6);
    }

    fn the_brief_view_shows_no_cccd_or_phone_and_is_not_audited(app) {
        let chapter = app.registering_chapter();
        let (honors_id, honors) = app.user("honors", "honors", None, None);
        let dung = dung(app, &chapter);
        let before = newest(app)["id"].clone();
        let brief = app.get("/api/v1/donors?q=dung&view=brief", &honors).expect(200);
        assert_eq!(ids(&brief), vec![dung.clone()]);
        let item = brief["items"][0].as_object().unwrap();
        let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["blood_group", "commune", "date_of_birth", "full_name", "id", "sex"]);
        assert_eq!(item["full_name"], "Giàng Thị Dung");
        assert_eq!(item["commune"], "Sa Pa");
        assert_eq!(item["blood_group"], "O+");
        assert!(!brief.to_string().contains(NID) && !brief.to_string().contains(PHONE));
        // The brief view matches names only: a CCCD look-up there would tell who holds it,
        // unaudited (the full view answers it, audited).
        assert!(ids(&app.get(&format!("/api/v1/donors?q={NID}&view=brief"), &honors).expect(200)).is_empty());
        // Paging works the same.
        donor(app, "Lò Văn An", "O+");
        let first = app.get("/api/v1/donors?view=brief&limit=1", &honors).expect(200);
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = app.get(&format!("/api/v1/donors?view=brief&limit=1&cursor={cursor}"), &honors).expect(200);
        assert_eq!(ids(&first).len() + ids(&second).len(), 2);
        assert_ne!(ids(&first), ids(&second));
        // None of it was audited (the newest entry is the second donor's creation).
        let e = newest(app);
        assert_eq!(e["action"], "donor_created", "{e}");
        assert!(reads_of(app, &honors_id).is_empty());
        assert_ne!(e["id"], before);
        // `view=full` is the default's explicit form; another view is 400.
        let full = app.get("/api/v1/donors?q=dung&view=full", &honors).expect(200);
        assert_eq!(full["items"][0]["national_id"], NID);
        assert_eq!(reads_of(app, &honors_id).len(), 1);
        for bad in ["summary", "BRIEF", ""] {
            app.get(&format!("/api/v1/donors?view={bad}"), &honors).expect_problem(400, "invalid_request");
        }
        app.get("/api/v1/donors?view=brief", &app.user("hosp", "hospital", None, Some(&app.hospital("BV"))).1)
            .expect_problem(403, "forbidden");
    }

    fn paper_history_is_edited_only_within_the_registering_chapters_scope(app) {
        let province = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let city = app.chapter("Hội Chữ thập đỏ phường Cốc Lếu", Some(&province));
        let other = app.chapter("Hội Chữ thập đỏ tỉnh Yên Bái", None);
        let (_, co_other) = app.user("co.other", "coordinator", Some(&other), None);
        let (_, co_province) = app.user("co.province", "coordinator", Some(&province), None);
        let (_, co_city) = app.user("co.city", "coordinator", Some(&city), None);
        let d = dung(app, &city);
        let path = format!("/api/v1/donors/{d}");
        // Another chapter's coordinator: 404 for either paper field, and nothing changes.
        for patch in [json!({ "prior_donations": 1000 }),
                      json!({ "prior_donations": 3, "prior_last_donation_on": "2020-01-01" }),
                      json!({ "prior_donations": 2, "commune": "Bắc Hà" })] {
            app.patch(&path, &co_other, patch).expect_problem(404, "not_found");
        }
        let stored = app.get(&path, app.admin()).expect(200);
        assert_eq!(stored["prior_donations"], 0);
        assert_eq!(stored["commune"], "Sa Pa");
        // Its other edits of the shared registry still go through, and so does re-sending the
        // stored paper count (a form sent whole).
        let r = app.patch(&path, &co_other, json!({ "commune": "Bắc Hà", "prior_donations": 0 })).expect(200);
        assert_eq!(r["commune"], "Bắc Hà");
        // The registering chapter's coordinator, one above it, and an admin may.
        let r = app.patch(&path, &co_city, json!({ "prior_donations": 2 })).expect(200);
        assert_eq!(r["prior_donations"], 2);
        let r = app.patch(&path, &co_province, json!({ "prior_last_donation_on": "2024-02-01" })).expect(200);
        assert_eq!(r["prior_last_donation_on"], "2024-02-01");
        let r = app.patch(&path, app.admin(), json!({ "prior_donations": 5 })).expect(200);
        assert_eq!(r["prior_donations"], 5);
        // Another chapter's coordinator may not clear the day either.
        app.patch(&path, &co_other, json!({ "prior_last_donation_on": null }))
            .expect_problem(404, "not_found");
        assert_eq!(app.get(&path, app.admin()).expect(200)["prior_last_donation_on"], "2024-02-01");
    }

    fn an_edit_is_audited_with_the_old_and_new_value_of_each_audited_field(app) {
        let chapter = app.registering_chapter();
        let (coord_id, coord) = app.user("coord", "coordinator", Some(&chapter), None);
        let d = dung(app, &chapter);
        let path = format!("/api/v1/donors/{d}");
        app.patch(&path, &coord, json!({
            "prior_donations": 4, "prior_last_donation_on": "2024-01-02",
            "national_id": "010190654321", "phone": "0987654321", "date_of_birth": "1990-06-01",
            "reserve": true, "blood_group": "A-", "commune": "Bắc Hà",
        })).expect(200);
        let e = newest(app);
        assert_eq!(e["action"], "donor_updated", "{e}");
        assert_eq!(e["actor_user_id"], coord_id.as_str());
        assert_eq!(e["donor_ids"], json!([d]));
        let changes = &e["detail"]["changes"];
        let expected = json!({
            "prior_donations": { "old": 0, "new": 4 },
            "prior_last_donation_on": { "old": null, "new": "2024-01-02" },
            "national_id": { "old": NID, "new": "010190654321" },
            "phone": { "old": PHONE, "new": "0987654321" },
            "date_of_birth": { "old": "1990-05-01", "new": "1990-06-01" },
            "reserve": { "old": false, "new": true },
            "blood_group": { "old": "O+", "new": "A-" },
        });
        assert_eq!(changes, &expected, "{e}");
        // Only what changed is listed; a field outside the list (commune) is not repeated.
        app.patch(&path, &coord, json!({ "phone": null, "reserve": true, "commune": "Sa Pa" })).expect(200);
        let changes = &newest(app)["detail"]["changes"];
        assert_eq!(changes, &json!({ "phone": { "old": "0987654321", "new": null } }));
        // Writes are not reads: none of this was counted or audited as a read.
        assert!(reads_of(app, &coord_id).is_empty());
    }

    fn the_donor_routes_document_the_budget_and_both_views(app) {
        let doc = app.call("GET", "/api/v1/openapi.json", None, None).expect(200);
        for path in ["/api/v1/donors", "/api/v1/donors/{id}"] {
            let op = &doc["paths"][path]["get"];
            assert!(op["responses"]["429"].is_object(), "GET {path} documents no 429");
            assert!(op["responses"]["503"].is_null(), "GET {path} is not an expensive route");
        }
        // Donor reads never wait for the expensive-work turn: not `limited` in the route table.
        for route in hienmau_api::http::routes::table() {
            if route.path.starts_with("/api/v1/donors") && route.method == actix_web::http::Method::GET {
                assert!(!route.policy.limited, "GET {} waits for the expensive-work gate", route.path);
            }
        }
        let list = &doc["paths"]["/api/v1/donors"]["get"];
        let view = list["parameters"].as_array().unwrap().iter()
            .find(|p| p["name"] == "view").expect("view parameter");
        assert_eq!(view["in"], "query");
        let schema = &list["responses"]["200"]["content"]["application/json"]["schema"];
        let pages: Vec<String> = if let Some(r) = schema["$ref"].as_str() {
            let name = r.rsplit('/').next().unwrap();
            doc["components"]["schemas"][name]["anyOf"].as_array().expect("anyOf").iter()
                .map(|s| s["$ref"].as_str().unwrap().to_owned()).collect()
        } else {
            panic!("200 of GET /donors: {schema}");
        };
        assert_eq!(pages, ["#/components/schemas/ListResponse_DonorOut", "#/components/schemas/ListResponse_DonorBrief"]);
        let brief = &doc["components"]["schemas"]["DonorBrief"]["properties"];
        let mut keys: Vec<&str> = brief.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["blood_group", "commune", "date_of_birth", "full_name", "id", "sex"]);
    }
}

/// The test settings with a budget of `n` donors shown per caller and hour.
fn budget(db: TestDatabase, n: u32) -> TestApp {
    let mut settings = test_settings(&db.url);
    settings.registry.donors_per_hour = n;
    TestApp::with_settings(db, settings)
}

fn run_budget(app: &TestApp) {
    let chapter = app.registering_chapter();
    let (coord_id, coord) = app.user("coord", "coordinator", Some(&chapter), None);
    let (_, honors) = app.user("honors", "honors", None, None);
    // Registering and editing donors is not reading them: none of it counts.
    let donors: Vec<String> = (0..6)
        .map(|i| {
            donor(
                app,
                &format!(
                    "Lò Văn {}",
                    ["An", "Bình", "Cường", "Dũng", "Giang", "Hà"][i]
                ),
                "O+",
            )
        })
        .collect();
    app.patch(
        &format!("/api/v1/donors/{}", donors[0]),
        &coord,
        json!({ "commune": "Sa Pa" }),
    )
    .expect(200);
    // The budget is 5: a page of 3, one donor, then a page of 2 would make 6: refused, with
    // the rest of the hour to wait, and it costs nothing (a page of 1 still fits).
    assert_eq!(
        ids(&app.get("/api/v1/donors?limit=3", &coord).expect(200)).len(),
        3
    );
    app.get(&format!("/api/v1/donors/{}", donors[5]), &coord)
        .expect(200);
    let refused = app.get("/api/v1/donors?limit=2", &coord);
    refused.expect_problem(429, "rate_limited");
    let retry: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        ids(&app.get("/api/v1/donors?limit=1", &coord).expect(200)).len(),
        1
    );
    // Spent: any further full read is refused, one donor or an empty page alike.
    app.get(&format!("/api/v1/donors/{}", donors[1]), &coord)
        .expect_problem(429, "rate_limited");
    app.get("/api/v1/donors?limit=1&q=kh%C3%B4ng+ai", &coord)
        .expect_problem(429, "rate_limited");
    // Only the reads that were answered are in the audit log.
    let reads = reads_of(app, &coord_id);
    let shown: i64 = reads
        .iter()
        .map(|e| e["detail"]["count"].as_i64().unwrap())
        .sum();
    assert_eq!((reads.len(), shown), (3, 5), "{reads:?}");
    // The brief view is neither counted nor refused, however much of it is read.
    for _ in 0..4 {
        let brief = app
            .get("/api/v1/donors?view=brief&limit=500", &coord)
            .expect(200);
        assert_eq!(ids(&brief).len(), 6);
    }
    assert_eq!(reads_of(app, &coord_id).len(), 3);
    // Writes still work for the caller whose budget is spent.
    app.patch(
        &format!("/api/v1/donors/{}", donors[0]),
        &coord,
        json!({ "commune": "Bắc Hà" }),
    )
    .expect(200);
    // The budget is per caller.
    assert_eq!(
        ids(&app.get("/api/v1/donors?limit=5", &honors).expect(200)).len(),
        5
    );
    app.get("/api/v1/donors?limit=1", &honors)
        .expect_problem(429, "rate_limited");
    assert_eq!(
        ids(&app.get("/api/v1/donors?limit=5", app.admin()).expect(200)).len(),
        5
    );
}

#[test]
fn the_budget_refuses_full_reads_past_it_sqlite() {
    run_budget(&budget(TestDatabase::sqlite(), 5));
}

#[test]
fn the_budget_refuses_full_reads_past_it_postgres() {
    match TestDatabase::postgres() {
        Some(db) => run_budget(&budget(db, 5)),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}

/// A second instance of the application on `app`'s database (same settings, own pool, own
/// in-memory state), as a second stateless server behind a load balancer would be.
fn second_instance(app: &TestApp) -> (String, actix_web::dev::ServerHandle) {
    let state = hienmau_api::http::startup::build_state((*app.state.settings).clone())
        .expect("second state");
    let (addr, handle) = hienmau_tests::serve(state);
    (format!("http://{addr}"), handle)
}

/// The hour (UTC) a read falls in, as the budget counts it.
fn hour_now() -> i64 {
    chrono::Utc::now().timestamp() / 3600
}

fn run_shared_budget(app: &TestApp) {
    const BUDGET: usize = 7;
    let chapter = app.registering_chapter();
    let (coord_id, coord) = app.user("coord", "coordinator", Some(&chapter), None);
    let d = donor(app, "Lò Văn An", "O+");
    let (second, handle) = second_instance(app);
    let hour = hour_now();
    // 20 concurrent reads of one donor by one caller, split over the two instances.
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (coord, d, second) = (&coord, &d, &second);
                s.spawn(move || {
                    let path = format!("/api/v1/donors/{d}");
                    if i % 2 == 0 {
                        app.get(&path, coord).status
                    } else {
                        status_of_get(&format!("{second}{path}"), coord)
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(ok + limited, 20, "{statuses:?}");
    if hour_now() == hour {
        assert_eq!(ok, BUDGET, "{statuses:?}");
        assert_eq!(reads_of(app, &coord_id).len(), BUDGET);
    } else {
        // The clock hour turned during the run: each hour has its own budget.
        assert!(ok <= 2 * BUDGET, "{statuses:?}");
    }
    let _ = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(handle.stop(false));
    })
    .join();
}

/// The status of a GET with a bearer token (to the second instance).
fn status_of_get(url: &str, token: &str) -> u16 {
    let req = ureq::get(url)
        .timeout(Duration::from_secs(60))
        .set("Authorization", &format!("Bearer {token}"));
    match req.call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

#[test]
fn the_budget_holds_across_instances_sqlite() {
    run_shared_budget(&budget(TestDatabase::sqlite(), 7));
}

#[test]
fn the_budget_holds_across_instances_postgres() {
    match TestDatabase::postgres() {
        Some(db) => run_shared_budget(&budget(db, 7)),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}

/// Reads in disguise spend the budget too: an edit that changes nothing (its answer is the
/// whole record) and a search that finds no one (it still answers a question); the brief view
/// does not look up a CCCD or a phone (that would tell who holds the number, unaudited).
fn run_disguised_reads(app: &TestApp) {
    let chapter = app.registering_chapter();
    let (_, coord) = app.user("coord", "coordinator", Some(&chapter), None);
    let dung = dung(app, &chapter);
    let other = donor(app, "Lò Văn An", "A+");
    for q in [NID, PHONE, "+84 912 345 678"] {
        let url = format!(
            "/api/v1/donors?view=brief&q={}",
            q.replace(' ', "%20").replace('+', "%2B")
        );
        let page = app.get(&url, &coord).expect(200);
        assert!(ids(&page).is_empty(), "brief view looked up {q}: {page}");
    }
    let brief = app
        .get("/api/v1/donors?view=brief&q=giang%20dung", &coord)
        .expect(200);
    assert_eq!(ids(&brief), vec![dung.clone()]);
    // Budget 3: a change is free, a no-op edit costs one, an empty search one, a read one.
    app.patch(
        &format!("/api/v1/donors/{dung}"),
        &coord,
        json!({ "commune": "Bát Xát" }),
    )
    .expect(200);
    app.patch(&format!("/api/v1/donors/{dung}"), &coord, json!({}))
        .expect(200);
    app.get("/api/v1/donors?q=kh%C3%B4ng%20ai", &coord)
        .expect(200);
    app.get(&format!("/api/v1/donors/{other}"), &coord)
        .expect(200);
    app.patch(&format!("/api/v1/donors/{dung}"), &coord, json!({}))
        .expect_problem(429, "rate_limited");
    app.get("/api/v1/donors?q=kh%C3%B4ng%20ai", &coord)
        .expect_problem(429, "rate_limited");
    // A real change is still not a read.
    app.patch(
        &format!("/api/v1/donors/{dung}"),
        &coord,
        json!({ "commune": "Sa Pa" }),
    )
    .expect(200);
}

#[test]
fn disguised_reads_spend_the_budget_sqlite() {
    run_disguised_reads(&budget(TestDatabase::sqlite(), 3));
}

#[test]
fn disguised_reads_spend_the_budget_postgres() {
    match TestDatabase::postgres() {
        Some(db) => run_disguised_reads(&budget(db, 3)),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}
