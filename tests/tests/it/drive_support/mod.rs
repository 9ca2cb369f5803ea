//! Helpers for the drive, donation and batch tests: a small chapter tree with users of every
//! role, and shorthands for drives, events, donors and donations.

use hienmau_tests::{Resp, TestApp};
use serde_json::{json, Value};

/// A province chapter with one chapter below it, and a user of each role.
pub struct World {
    pub province: String,
    pub city: String,
    /// Coordinator of the province (reaches the city too).
    pub co_province: String,
    /// Coordinator of the city only.
    pub co_city: String,
    pub honors: String,
    pub hospital: String,
}

impl World {
    pub fn new(app: &TestApp) -> Self {
        let province = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let city = app.chapter("Hội Chữ thập đỏ phường Cốc Lếu", Some(&province));
        let hospital_id = app.hospital("Bệnh viện Đa khoa tỉnh Lào Cai");
        let (_, co_province) = app.user("co_province", "coordinator", Some(&province), None);
        let (_, co_city) = app.user("co_city", "coordinator", Some(&city), None);
        let (_, honors) = app.user("honors1", "honors", None, None);
        let (_, hospital) = app.user("hospital1", "hospital", None, Some(&hospital_id));
        World {
            province,
            city,
            co_province,
            co_city,
            honors,
            hospital,
        }
    }
}

/// An instant on `day` at 10:00 in Vietnam.
pub fn at(day: &str) -> String {
    format!("{day}T03:00:00Z")
}

/// Creates a drive; returns its id.
pub fn drive(app: &TestApp, token: &str, chapter: &str, starts: &str, ends: &str) -> String {
    app.post(
        "/api/v1/drives",
        token,
        json!({ "name": format!("Drive {starts}"), "chapter_id": chapter,
                "starts_on": starts, "ends_on": ends }),
    )
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates an event of a drive; returns its id.
pub fn event(app: &TestApp, token: &str, drive: &str, held_on: &str) -> String {
    app.post(
        &format!("/api/v1/drives/{drive}/events"),
        token,
        json!({ "site": format!("Site {held_on}"), "held_on": held_on }),
    )
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a donor (as admin) from the defaults overridden by `extra`; returns its id.
pub fn donor(app: &TestApp, extra: Value) -> String {
    let mut body = json!({ "full_name": "Giàng Thị Dung", "date_of_birth": "1990-05-17",
                           "sex": "female", "weight_kg": 55.0 });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/api/v1/donors", app.admin(), app.with_chapter(body))
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A collection body.
pub fn collected(donor: &str, component: &str, volume: i64, day: &str) -> Value {
    json!({ "donor_id": donor, "component": component, "volume_ml": volume,
            "outcome": "collected", "donated_at": at(day) })
}

/// A temporary deferral body.
pub fn deferred(donor: &str, day: &str, until: &str) -> Value {
    json!({ "donor_id": donor, "component": "whole_blood", "volume_ml": 0,
            "outcome": "deferred", "donated_at": at(day),
            "deferral_reason": "cảm cúm", "deferred_until": until })
}

/// Posts a donation at an event.
pub fn donate(app: &TestApp, token: &str, event: &str, body: Value) -> Resp {
    app.post(&format!("/api/v1/events/{event}/donations"), token, body)
}

/// Posts a donation that must be recorded; returns its id.
pub fn donate_ok(app: &TestApp, token: &str, event: &str, body: Value) -> String {
    donate(app, token, event, body).expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asserts a `donor_not_eligible` refusal with its reason and next day (None: null).
#[track_caller]
pub fn refused(r: &Resp, reason: &str, next: Option<&str>) {
    let body = r.expect_problem(422, "donor_not_eligible");
    assert_eq!(body["reason"], reason, "{}", r.text);
    assert!(
        body.as_object().unwrap().contains_key("next_eligible_on"),
        "{}",
        r.text
    );
    match next {
        Some(d) => assert_eq!(body["next_eligible_on"], d, "{}", r.text),
        None => assert!(body["next_eligible_on"].is_null(), "{}", r.text),
    }
}

/// Asserts a 422 `invalid_request` naming `field`.
#[track_caller]
pub fn invalid_field(r: &Resp, field: &str) {
    let body = r.expect_problem(422, "invalid_request");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&field), "{field} not in {}", r.text);
}

/// The drive's tally.
pub fn tally(app: &TestApp, drive: &str) -> Value {
    app.get(&format!("/api/v1/drives/{drive}/tally"), app.admin())
        .expect(200)
}
