//! The authorisation matrix, generated from the route table (`hienmau_api::http::routes::table()`)
//! and the policies declared there — not from a hand-kept list. Every route is called without a
//! token, as each role, as an API key, and as out-of-scope callers (another chapter, another
//! hospital, another hospital's key): 401, 403 and 404 must follow the policy, and no
//! out-of-scope object's id may appear in any answer.

use std::collections::BTreeMap;

use hienmau_api::http::auth::{Role, Scope};
use hienmau_api::http::routes::{table, RouteInfo};
use hienmau_tests::{backend_tests, TestApp};
use serde_json::json;

/// A caller of the matrix.
struct Caller {
    name: &'static str,
    token: String,
    role: Role,
}

/// Objects in scope of the "home" callers, and the ones they must not reach.
struct World {
    callers: Vec<Caller>,
    /// Path parameter values in scope of every allowed home caller, by path prefix.
    ids: BTreeMap<&'static str, String>,
    /// A chapter-scoped drive of a sibling chapter, for the out-of-scope coordinator.
    coord_outside: Caller,
    /// Another hospital's user and key, out of scope for hospital A's request.
    hospital_outside: Vec<Caller>,
    /// Ids that must never show up in an out-of-scope caller's answers.
    secret_drive: String,
    secret_request: String,
}

fn id(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

fn world(app: &TestApp) -> World {
    let province = app.chapter("Tỉnh", None);
    let city = app.chapter("Thành phố", Some(&province));
    let other = app.chapter("Huyện khác", Some(&province));
    let hospital_a = app.hospital("Bệnh viện A");
    let hospital_b = app.hospital("Bệnh viện B");
    let (_, coord) = app.user("coord.province", "coordinator", Some(&province), None);
    let (_, coord_other) = app.user("coord.other", "coordinator", Some(&other), None);
    let (_, hosp_a) = app.user("hosp.a", "hospital", None, Some(&hospital_a));
    let (_, hosp_b) = app.user("hosp.b", "hospital", None, Some(&hospital_b));
    let (_, honors) = app.user("honors", "honors", None, None);
    let (victim_user, _) = app.user("someone", "honors", None, None);
    let admin = app.admin().to_owned();
    let key = |h: &str| {
        app.post(
            &format!("/api/v1/hospitals/{h}/api-keys"),
            &admin,
            json!({ "name": "his" }),
        )
        .expect(201)
    };
    let key_a = key(&hospital_a)["key"].as_str().unwrap().to_owned();
    let key_b = key(&hospital_b)["key"].as_str().unwrap().to_owned();
    let spare_key = id(&key(&hospital_a));

    let donor = id(&app
        .post(
            "/api/v1/donors",
            &admin,
            app.with_chapter(json!({ "full_name": "Giàng Thị Dung", "date_of_birth": "1990-05-01", "sex": "female",
                    "blood_group": "O+", "weight_kg": 55, "reserve": true, "phone": "0912345678" })),
        )
        .expect(201));
    let drive = id(&app
        .post(
            "/api/v1/drives",
            &admin,
            json!({ "name": "Hành trình đỏ", "chapter_id": city, "starts_on": "2024-01-01", "ends_on": "2030-12-31" }),
        )
        .expect(201));
    let event = id(&app
        .post(
            &format!("/api/v1/drives/{drive}/events"),
            &admin,
            json!({ "site": "Nhà văn hóa", "held_on": "2025-03-01" }),
        )
        .expect(201));
    let donation = id(&app
        .post(
            &format!("/api/v1/events/{event}/donations"),
            &admin,
            json!({ "donor_id": donor, "component": "whole_blood", "volume_ml": 350,
                    "outcome": "collected", "donated_at": "2025-03-01T03:00:00Z" }),
        )
        .expect(201));
    let honoured = id(&app
        .post(
            "/api/v1/donors",
            &admin,
            app.with_chapter(
                json!({ "full_name": "Lò Văn Khen", "date_of_birth": "1980-01-01",
                    "sex": "male", "prior_donations": 5 }),
            ),
        )
        .expect(201));
    let award = id(&app
        .post(
            "/api/v1/honors/awards",
            &admin,
            json!({ "donor_id": honoured, "tier": 5, "awarded_on": "2025-01-01" }),
        )
        .expect(201));
    let request = id(&app
        .post(
            "/api/v1/emergency-requests",
            &admin,
            json!({ "blood_group": "O+", "component": "red_cells", "units_needed": 2,
                    "urgency": "urgent", "hospital_id": hospital_a }),
        )
        .expect(201));

    let ids = BTreeMap::from([
        ("/api/v1/users/", victim_user),
        ("/api/v1/donors/", donor),
        ("/api/v1/drives/", drive.clone()),
        ("/api/v1/events/", event),
        ("/api/v1/donations/", donation),
        ("/api/v1/hospitals/", hospital_a),
        ("/api/v1/api-keys/", spare_key),
        ("/api/v1/honors/awards/", award),
        ("/api/v1/emergency-requests/", request.clone()),
    ]);
    World {
        callers: vec![
            Caller {
                name: "admin",
                token: admin,
                role: Role::Admin,
            },
            Caller {
                name: "coordinator",
                token: coord,
                role: Role::Coordinator,
            },
            Caller {
                name: "hospital",
                token: hosp_a,
                role: Role::Hospital,
            },
            Caller {
                name: "hospital key",
                token: key_a,
                role: Role::Hospital,
            },
            Caller {
                name: "honors",
                token: honors,
                role: Role::Honors,
            },
        ],
        ids,
        coord_outside: Caller {
            name: "other chapter's coordinator",
            token: coord_other,
            role: Role::Coordinator,
        },
        hospital_outside: vec![
            Caller {
                name: "other hospital",
                token: hosp_b,
                role: Role::Hospital,
            },
            Caller {
                name: "other hospital's key",
                token: key_b,
                role: Role::Hospital,
            },
        ],
        secret_drive: drive,
        secret_request: request,
    }
}

/// The concrete path of a route: `{id}` replaced by the in-scope object of its prefix.
fn concrete(route: &RouteInfo, ids: &BTreeMap<&'static str, String>) -> String {
    let Some((prefix, rest)) = route.path.split_once("{id}") else {
        return route.path.clone();
    };
    let value = ids
        .get(prefix)
        .unwrap_or_else(|| panic!("no fixture for {}: add one to the matrix", route.path));
    format!("{prefix}{value}{rest}")
}

fn call(app: &TestApp, route: &RouteInfo, path: &str, token: Option<&str>) -> hienmau_tests::Resp {
    let method = route.method.as_str();
    let body = (method != "GET" && method != "DELETE").then(|| json!({}));
    app.call(method, path, token, body.as_ref())
}

backend_tests! {
    fn every_route_follows_its_policy(app) {
        let w = world(app);
        let routes = table();
        let documented = app.call("GET", "/api/v1/openapi.json", None, None).expect(200);
        let mut cells = 0;
        // Mutating calls last, so that a cancelled request or a revoked key does not change
        // what the reads see.
        let mut ordered: Vec<&RouteInfo> = routes.iter().collect();
        ordered.sort_by_key(|r| r.method.as_str() != "GET");
        for route in ordered {
            let path = concrete(route, &w.ids);
            let policy = route.policy;
            if policy.public {
                continue;
            }
            assert!(!policy.roles.is_empty(), "{} {} allows nobody", route.method, route.path);
            if route.path.starts_with("/api/v1/") {
                let key = route.path.trim_start_matches("/api/v1").to_owned();
                let key = format!("/api/v1{key}");
                let op = &documented["paths"][&key][route.method.as_str().to_lowercase()];
                assert!(op.is_object(), "{} {} is not in the OpenAPI document", route.method, key);
            }

            // No token, a malformed one: 401 problem+json.
            for token in [None, Some("not-a-token"), Some("hmk_not-a-key")] {
                call(app, route, &path, token).expect_problem(401, "unauthorized");
                cells += 1;
            }
            for caller in &w.callers {
                let r = call(app, route, &path, Some(&caller.token));
                cells += 1;
                if policy.allows(caller.role) {
                    assert!(
                        ![401, 403, 404, 500].contains(&r.status),
                        "{} {} as {}: {} {}", route.method, path, caller.name, r.status, r.text
                    );
                } else {
                    assert_eq!(
                        r.status, 403,
                        "{} {} as {}: {}", route.method, path, caller.name, r.text
                    );
                    r.expect_problem(403, "forbidden");
                }
            }
            // Out of scope: 404 on every object route (every fixture under a scoped route
            // belongs to the home chapter or hospital), and the home objects' ids nowhere in
            // any answer (lists, tallies, errors).
            let outsiders: Vec<(&Caller, &str)> = match policy.scope {
                Scope::Chapter => vec![(&w.coord_outside, w.secret_drive.as_str())],
                Scope::Hospital => w.hospital_outside.iter().map(|c| (c, w.secret_request.as_str())).collect(),
                Scope::None => Vec::new(),
            };
            for (caller, secret) in outsiders {
                if !policy.allows(caller.role) {
                    continue;
                }
                let r = call(app, route, &path, Some(&caller.token));
                cells += 1;
                assert!(
                    !r.text.contains(secret),
                    "{} {} as {} leaks {secret}: {}", route.method, path, caller.name, r.text
                );
                if route.path.contains("{id}") {
                    if route.method.as_str() == "GET" {
                        r.expect_problem(404, "not_found");
                    } else {
                        assert!(
                            r.status >= 400 && r.status != 500,
                            "{} {} as {}: {} {}", route.method, path, caller.name, r.status, r.text
                        );
                    }
                } else {
                    assert!(r.status != 500, "{} {} as {}: {}", route.method, path, caller.name, r.text);
                }
            }
        }
        eprintln!("authorisation matrix: {} routes, {cells} cells checked", routes.len());
        assert!(cells > 100);
    }
}
