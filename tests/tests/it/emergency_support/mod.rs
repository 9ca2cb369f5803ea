//! Helpers for the emergency tests: dates relative to today, reserve donors, requests,
//! candidates, and an independent encoding of the compatibility rules (domain rules §2),
//! typed in again here so the tests share no code with the implementation.

use chrono::{Datelike, Duration, NaiveDate};
use hienmau_tests::{Resp, TestApp};
use serde_json::{json, Value};

pub const GROUPS: [&str; 8] = ["O+", "O-", "A+", "A-", "B+", "B-", "AB+", "AB-"];
pub const COMPONENTS: [&str; 4] = ["whole_blood", "red_cells", "platelets", "plasma"];

/// Today in the application's zone.
pub fn today(app: &TestApp) -> NaiveDate {
    app.state.zone.today()
}

/// The day `days` before today, `YYYY-MM-DD`.
pub fn ago(app: &TestApp, days: i64) -> NaiveDate {
    today(app) - Duration::days(days)
}

/// 10:00 in Vietnam on `day`, RFC 3339.
pub fn at(day: NaiveDate) -> String {
    format!("{day}T03:00:00Z")
}

/// Full years of age on `on` (a 29 February birthday counts on 1 March in common years).
pub fn age_on(dob: NaiveDate, on: NaiveDate) -> i32 {
    let years = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        years - 1
    } else {
        years
    }
}

/// Patient ABO → donor ABOs, red cells (domain rules §2).
fn red_cells_from(patient: &str) -> &'static [&'static str] {
    match patient {
        "O" => &["O"],
        "A" => &["A", "O"],
        "B" => &["B", "O"],
        "AB" => &["AB", "A", "B", "O"],
        _ => unreachable!(),
    }
}

/// Patient ABO → donor ABOs, plasma (domain rules §2).
fn plasma_from(patient: &str) -> &'static [&'static str] {
    match patient {
        "O" => &["O", "A", "B", "AB"],
        "A" => &["A", "AB"],
        "B" => &["B", "AB"],
        "AB" => &["AB"],
        _ => unreachable!(),
    }
}

fn split(group: &str) -> (&str, bool) {
    let (abo, rh) = group.split_at(group.len() - 1);
    (abo, rh == "+")
}

/// The rules as the table says them: None = incompatible, else "identical"/"compatible".
pub fn expected_match(patient: &str, donor: &str, component: &str) -> Option<&'static str> {
    let (pa, p_pos) = split(patient);
    let (da, d_pos) = split(donor);
    // Rh− patients get Rh− red cells, whole blood and platelets; plasma ignores RhD.
    let rh_ok = p_pos || !d_pos;
    let ok = match component {
        "red_cells" => red_cells_from(pa).contains(&da) && rh_ok,
        "whole_blood" => pa == da && rh_ok,
        "plasma" => plasma_from(pa).contains(&da),
        "platelets" => (pa == da || plasma_from(pa).contains(&da)) && rh_ok,
        _ => unreachable!(),
    };
    if !ok {
        return None;
    }
    let identical = if component == "plasma" {
        pa == da
    } else {
        patient == donor
    };
    Some(if identical { "identical" } else { "compatible" })
}

/// The minimum weight for giving `component` (defaults of the circular): whole blood by sex,
/// apheresis (red cells, platelets, plasma) 50 kg for everyone (Art. 4.2(b)).
pub fn min_weight(component: &str, sex: &str) -> f64 {
    match (component, sex) {
        ("whole_blood", "female") => 42.0,
        ("whole_blood", _) => 45.0,
        _ => 50.0,
    }
}

/// Days to wait after a donation of `component`.
pub fn interval_after(component: &str) -> i64 {
    match component {
        "whole_blood" | "red_cells" => 84,
        _ => 14,
    }
}

/// A hospital with a user; (hospital id, token).
pub fn hospital_user(app: &TestApp, name: &str) -> (String, String) {
    let h = app.hospital(&format!("Bệnh viện {name}"));
    let (_, token) = app.user(name, "hospital", None, Some(&h));
    (h, token)
}

/// A reserve donor of `group` (female, 55 kg, 34 years old), `extra` overriding fields.
pub fn reserve_donor(app: &TestApp, name: &str, group: &str, extra: Value) -> String {
    let mut body = json!({ "full_name": name, "date_of_birth": "1990-05-17", "sex": "female",
                           "weight_kg": 55.0, "blood_group": group, "reserve": true });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/api/v1/donors", app.admin(), app.with_chapter(body))
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Opens a request; `extra` overrides the defaults (O+, red cells, 2 units, urgent).
pub fn open_request(app: &TestApp, token: &str, extra: Value) -> Value {
    let mut body = json!({ "blood_group": "O+", "component": "red_cells",
                           "units_needed": 2, "urgency": "urgent" });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/api/v1/emergency-requests", token, body)
        .expect(201)
}

/// The id of a request opened with `extra`.
pub fn request_id(app: &TestApp, token: &str, extra: Value) -> String {
    open_request(app, token, extra)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The candidates call.
pub fn candidates_resp(app: &TestApp, token: &str, request: &str, limit: i64) -> Resp {
    app.get(
        &format!("/api/v1/emergency-requests/{request}/candidates?limit={limit}"),
        token,
    )
}

/// The candidates (at most 100).
pub fn candidates(app: &TestApp, token: &str, request: &str) -> Vec<Value> {
    candidates_resp(app, token, request, 100).expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The candidates' donor ids, in order.
pub fn candidate_ids(app: &TestApp, token: &str, request: &str) -> Vec<String> {
    candidates(app, token, request)
        .iter()
        .map(|c| c["donor_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Records a donor's answer.
pub fn respond(app: &TestApp, token: &str, request: &str, donor: &str, response: &str) -> Resp {
    app.post(
        &format!("/api/v1/emergency-requests/{request}/responses"),
        token,
        json!({ "donor_id": donor, "response": response }),
    )
}

/// A chapter, a drive over the last 400 days and today, and one event today; the event id.
pub fn past_event(app: &TestApp) -> String {
    let chapter = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
    let drive = app
        .post(
            "/api/v1/drives",
            app.admin(),
            json!({ "name": "Hành trình đỏ", "chapter_id": chapter,
                    "starts_on": ago(app, 400), "ends_on": today(app) }),
        )
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/drives/{drive}/events"),
        app.admin(),
        json!({ "site": "Nhà văn hoá", "held_on": today(app) }),
    )
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A collection at the event `days` ago (0: now).
pub fn give(app: &TestApp, event: &str, donor: &str, component: &str, days: i64) -> Resp {
    let mut body = json!({ "donor_id": donor, "component": component, "volume_ml": 250,
                           "outcome": "collected" });
    if days > 0 {
        body["donated_at"] = json!(at(ago(app, days)));
    }
    app.post(
        &format!("/api/v1/events/{event}/donations"),
        app.admin(),
        body,
    )
}

/// A deferral at the event `days` ago (0: now), until a day or permanent (None).
pub fn defer(app: &TestApp, event: &str, donor: &str, days: i64, until: Option<NaiveDate>) -> Resp {
    let mut body = json!({ "donor_id": donor, "component": "whole_blood",
                           "outcome": "deferred", "deferral_reason": "huyết áp thấp" });
    if days > 0 {
        body["donated_at"] = json!(at(ago(app, days)));
    }
    match until {
        Some(u) => body["deferred_until"] = json!(u),
        None => body["permanent"] = json!(true),
    }
    app.post(
        &format!("/api/v1/events/{event}/donations"),
        app.admin(),
        body,
    )
}

/// The audit log's newest entries (admin).
pub fn audit(app: &TestApp, limit: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/audit?limit={limit}"), app.admin())
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A small deterministic generator (xorshift64*), for the property-style tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo + 1).unwrap();
        lo + i64::try_from(self.next() % span).unwrap()
    }

    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = usize::try_from(self.next() % items.len() as u64).unwrap();
        &items[i]
    }
}
