//! Hostile input: bodies over the limit (with and without Content-Length), invalid UTF-8,
//! wrong types, unknown enum values, extreme numbers and dates, and hostile strings in every
//! text field and query parameter. Every answer is below 500, every refusal problem+json;
//! control characters are 422 wherever text is accepted; accepted text round-trips byte for
//! byte and is found by search.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use hienmau_tests::{backend_tests, test_settings, Resp, TestApp, TestDatabase};
use serde_json::{json, Value};

/// Strings that have broken other systems.
fn hostile() -> Vec<String> {
    let mut v: Vec<String> = [
        "' OR 1=1 --",
        "'; DROP TABLE donors; --",
        "\" OR \"\"=\"",
        "%",
        "_",
        "%_%",
        "\\",
        "\\\\%",
        "*",
        "(",
        "[a-z]",
        "<script>alert(1)</script>",
        "../../../../etc/passwd",
        "${jndi:ldap://x/a}",
        "{{7*7}}",
        "%00",
        "null",
        "NaN",
        "Nguyễn Thị Ánh Tuyết",
        "Giàng A Páo 日本語 العربية русский ελληνικά",
        "😀🩸👩🏽‍⚕️",
        "e\u{301}\u{301}\u{301}",
        "\u{FEFF}bom",
        "zero\u{200B}width",
        "\u{FFFD}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("Ă".repeat(200));
    v
}

/// Strings every text field must refuse with 422.
fn refused_text() -> Vec<String> {
    [
        "\u{0}",
        "a\u{0}b",
        "nul at end\u{0}",
        "bell\u{7}",
        "esc\u{1b}[31m",
        "line\nbreak",
        "cr\rlf",
        "tab\tinside",
        "del\u{7f}",
        "c1\u{85}x",
        "rtl \u{202E}gnp.exe",
        "isolate \u{2067}x\u{2069}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain(["A".repeat(10_000), "Ư".repeat(10_000), "😀".repeat(5_000)])
    .collect()
}

/// What no single-line text field accepts: control characters, bidi overrides and isolates.
fn forbidden(c: char) -> bool {
    c.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Percent-encodes everything but unreserved characters.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Below 500; refusals are problem+json with the code of their status.
#[track_caller]
fn sane(r: &Resp, what: &str) {
    assert!(r.status < 500, "{what}: {} {}", r.status, r.text);
    if r.status >= 400 {
        assert_eq!(
            r.content_type, "application/problem+json",
            "{what}: {}",
            r.text
        );
        let v = r.json();
        assert_eq!(v["status"], r.status, "{what}: {}", r.text);
        assert!(v["code"].is_string(), "{what}: {}", r.text);
    }
}

/// A 422 naming `field`.
#[track_caller]
fn refused(r: &Resp, field: &str, what: &str) {
    assert_eq!(r.status, 422, "{what} in {field}: {}", r.text);
    sane(r, what);
    let v = r.json();
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert!(fields.contains(&field), "{what}: {field} not in {}", r.text);
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

struct World {
    chapter: String,
    hospital: String,
    donor: String,
    drive: String,
    event: String,
    donation: String,
    request: String,
}

fn world(app: &TestApp) -> World {
    let chapter = app.chapter("Hội Chữ thập đỏ tỉnh", None);
    let hospital = app.hospital("Bệnh viện tỉnh");
    let donor = id(&app
        .post(
            "/api/v1/donors",
            app.admin(),
            app.with_chapter(
                json!({ "full_name": "Lò Văn Bình", "date_of_birth": "1990-01-01", "sex": "male",
                    "blood_group": "O+", "weight_kg": 60 }),
            ),
        )
        .expect(201));
    let today = app.state.zone.today();
    let drive = id(&app
        .post(
            "/api/v1/drives",
            app.admin(),
            json!({ "name": "Hành trình đỏ", "chapter_id": chapter,
                    "starts_on": today - chrono::Duration::days(10), "ends_on": today + chrono::Duration::days(10) }),
        )
        .expect(201));
    let event = id(&app
        .post(
            &format!("/api/v1/drives/{drive}/events"),
            app.admin(),
            json!({ "site": "Nhà văn hóa", "held_on": today }),
        )
        .expect(201));
    let donation = id(&app
        .post(
            &format!("/api/v1/events/{event}/donations"),
            app.admin(),
            json!({ "donor_id": donor, "component": "whole_blood", "volume_ml": 350, "outcome": "collected" }),
        )
        .expect(201));
    let request = id(&app
        .post(
            "/api/v1/emergency-requests",
            app.admin(),
            json!({ "hospital_id": hospital, "blood_group": "O+", "component": "red_cells",
                    "units_needed": 2, "urgency": "urgent" }),
        )
        .expect(201));
    World {
        chapter,
        hospital,
        donor,
        drive,
        event,
        donation,
        request,
    }
}

/// (method, path, body with `{}` where the text goes, the field's name).
fn text_fields(w: &World) -> Vec<(&'static str, String, Value, &'static str)> {
    let t = "{}";
    let dob = "1990-01-01";
    vec![
        (
            "POST",
            "/api/v1/chapters".into(),
            json!({ "name": t }),
            "name",
        ),
        (
            "POST",
            "/api/v1/hospitals".into(),
            json!({ "name": t }),
            "name",
        ),
        (
            "POST",
            "/api/v1/hospitals".into(),
            json!({ "name": "BV", "province": t }),
            "province",
        ),
        (
            "POST",
            "/api/v1/hospitals".into(),
            json!({ "name": "BV", "commune": t }),
            "commune",
        ),
        (
            "POST",
            "/api/v1/users".into(),
            json!({ "username": t, "password": "correct horse battery", "role": "honors" }),
            "username",
        ),
        (
            "POST",
            "/api/v1/donors".into(),
            json!({ "full_name": t, "date_of_birth": dob, "sex": "female" }),
            "full_name",
        ),
        (
            "POST",
            "/api/v1/donors".into(),
            json!({ "full_name": "A", "date_of_birth": dob, "sex": "female", "province": t }),
            "province",
        ),
        (
            "POST",
            "/api/v1/donors".into(),
            json!({ "full_name": "A", "date_of_birth": dob, "sex": "female", "commune": t }),
            "commune",
        ),
        (
            "POST",
            "/api/v1/donors".into(),
            json!({ "full_name": "A", "date_of_birth": dob, "sex": "female", "national_id": t }),
            "national_id",
        ),
        (
            "POST",
            "/api/v1/donors".into(),
            json!({ "full_name": "A", "date_of_birth": dob, "sex": "female", "phone": t }),
            "phone",
        ),
        (
            "POST",
            "/api/v1/donors".into(),
            json!({ "full_name": "A", "date_of_birth": dob, "sex": "female", "blood_group": t }),
            "blood_group",
        ),
        (
            "PATCH",
            format!("/api/v1/donors/{}", w.donor),
            json!({ "full_name": t }),
            "full_name",
        ),
        (
            "PATCH",
            format!("/api/v1/donors/{}", w.donor),
            json!({ "commune": t }),
            "commune",
        ),
        (
            "POST",
            "/api/v1/drives".into(),
            json!({ "name": t, "chapter_id": w.chapter, "starts_on": "2024-01-01", "ends_on": "2024-01-02" }),
            "name",
        ),
        (
            "PATCH",
            format!("/api/v1/drives/{}", w.drive),
            json!({ "name": t }),
            "name",
        ),
        (
            "POST",
            format!("/api/v1/drives/{}/events", w.drive),
            json!({ "site": t, "held_on": "2024-01-01" }),
            "site",
        ),
        (
            "POST",
            format!("/api/v1/drives/{}/events", w.drive),
            json!({ "site": "S", "held_on": "2024-01-01", "province": t }),
            "province",
        ),
        (
            "POST",
            format!("/api/v1/hospitals/{}/api-keys", w.hospital),
            json!({ "name": t }),
            "name",
        ),
        (
            "POST",
            format!("/api/v1/events/{}/donations", w.event),
            json!({ "donor_id": w.donor, "component": "whole_blood", "volume_ml": 350,
                 "outcome": "collected", "unit_code": t }),
            "unit_code",
        ),
        (
            "POST",
            format!("/api/v1/events/{}/donations", w.event),
            json!({ "donor_id": w.donor, "component": "whole_blood", "outcome": "deferred",
                 "deferral_reason": t, "permanent": true }),
            "deferral_reason",
        ),
        (
            "POST",
            format!("/api/v1/donations/{}/void", w.donation),
            json!({ "reason": t }),
            "reason",
        ),
        (
            "POST",
            "/api/v1/emergency-requests".into(),
            json!({ "hospital_id": w.hospital, "blood_group": "O+", "component": "red_cells",
                 "units_needed": 1, "urgency": "routine", "note": t }),
            "note",
        ),
        (
            "POST",
            "/api/v1/emergency-requests".into(),
            json!({ "hospital_id": w.hospital, "blood_group": "O+", "component": "red_cells",
                 "units_needed": 1, "urgency": "routine", "province": t }),
            "province",
        ),
        (
            "POST",
            "/api/v1/honors/awards".into(),
            json!({ "donor_id": w.donor, "tier": 5, "awarded_on": "2024-01-01", "note": t }),
            "note",
        ),
    ]
}

fn fill(body: &Value, text: &str) -> Value {
    match body {
        Value::String(s) if s == "{}" => Value::String(text.to_owned()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), fill(v, text))).collect())
        }
        other => other.clone(),
    }
}

backend_tests! {
    fn hostile_strings_in_every_text_field(app) {
        let w = world(app);
        let fields = text_fields(&w);
        for (method, path, body, field) in &fields {
            for s in hostile() {
                let r = app.call(method, path, Some(app.admin()), Some(&fill(body, &s)));
                sane(&r, &format!("{method} {path} {field}={s:?}"));
            }
            // An emergency request's note is multi-line: line breaks and tabs are text there.
            let multiline = *field == "note" && path.contains("emergency");
            for s in refused_text() {
                let r = app.call(method, path, Some(app.admin()), Some(&fill(body, &s)));
                let what = format!("{method} {path} {field}={:?}", s.chars().take(20).collect::<String>());
                if multiline && s.chars().all(|c| !forbidden(c) || matches!(c, '\n' | '\r' | '\t')) && s.len() < 100 {
                    assert_eq!(r.expect(201)["note"], s.as_str(), "{what}");
                } else {
                    refused(&r, field, &what);
                }
            }
        }
        // The batch judges each item: a hostile client_ref is that item's 422, not the batch's.
        for s in refused_text() {
            let r = app.post(
                &format!("/api/v1/events/{}/donations/batch", w.event),
                app.admin(),
                json!({ "items": [{ "client_ref": s, "donor_id": w.donor, "component": "whole_blood",
                                    "outcome": "deferred", "deferral_reason": "x", "permanent": true }] }),
            );
            sane(&r, "batch");
            let v = r.expect(200);
            assert_eq!(v["results"][0]["status"], 422, "{}", r.text);
        }
        // Sign-in: any username is just a failed sign-in.
        for s in hostile().into_iter().chain(refused_text()) {
            let r = app.call("POST", "/api/v1/auth/login", None,
                Some(&json!({ "username": s, "password": s })));
            sane(&r, "login");
            assert_eq!(r.status, 401, "login {s:?}: {}", r.text);
        }
    }

    fn hostile_query_parameters(app) {
        let w = world(app);
        let admin = app.admin();
        let lists = [
            "/api/v1/donors", "/api/v1/chapters", "/api/v1/users", "/api/v1/hospitals",
            "/api/v1/drives", "/api/v1/audit", "/api/v1/emergency-requests",
            "/api/v1/honors/eligible",
        ];
        for s in hostile().into_iter().chain(refused_text()) {
            let e = enc(&s);
            let r = app.get(&format!("/api/v1/donors?q={e}"), admin);
            sane(&r, &format!("q={s:?}"));
            if s.trim().chars().any(forbidden) || s.chars().count() > 200 {
                assert_eq!(r.status, 422, "q={s:?}: {}", r.text);
            }
            for q in [
                format!("/api/v1/donors?blood_group={e}"),
                format!("/api/v1/emergency-requests?status={e}"),
                format!("/api/v1/honors/eligible?as_of={e}"),
                format!("/api/v1/honors/eligible?min_tier={e}"),
                format!("/api/v1/reports/annual?year={e}"),
                format!("/api/v1/drives?year={e}"),
                format!("/api/v1/drives?chapter_id={e}"),
                format!("/api/v1/donors?limit={e}"),
                format!("/api/v1/emergency-requests/{}/candidates?limit={e}", w.request),
            ] {
                sane(&app.get(&q, admin), &q);
            }
            for list in lists {
                let r = app.get(&format!("{list}?cursor={e}"), admin);
                sane(&r, &format!("{list} cursor={s:?}"));
            }
            // Hostile path segments where ids go.
            for p in ["donors", "drives", "events", "donations", "emergency-requests"] {
                let r = app.get(&format!("/api/v1/{p}/{e}"), admin);
                sane(&r, &format!("/{p}/{s:?}"));
                assert!(r.status == 400 || r.status == 404, "/{p}/{s:?}: {}", r.text);
            }
        }
        // A cursor that decodes to text with NUL or other garbage is 400, not a database error.
        for raw in ["\u{0}", "a\u{0}b", "\u{1}|\u{0}", "' OR 1=1 --"] {
            use base64::Engine;
            let c = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
            for list in lists {
                let r = app.get(&format!("{list}?cursor={c}"), admin);
                sane(&r, &format!("{list} cursor {raw:?}"));
            }
        }
    }

    fn accepted_text_round_trips_byte_for_byte(app) {
        let names = [
            "Giàng Thị Dũng 🩸 '; DROP TABLE donors; --",
            "Nguyễn 100% _Anh_ \\ \"Quốc\"",
            "Hoàng Văn Ánh ق 日本 Ελένη",
            "e\u{301} decomposed Nguyê\u{303}n",
        ];
        for name in names {
            let created = app
                .post("/api/v1/donors", app.admin(),
                      app.with_chapter(json!({ "full_name": name, "date_of_birth": "1991-02-03", "sex": "female",
                              "province": name, "commune": "Ô Quý Hồ 🏔" })))
                .expect(201);
            assert_eq!(created["full_name"], name);
            let got = app.get(&format!("/api/v1/donors/{}", id(&created)), app.admin()).expect(200);
            assert_eq!(got["full_name"].as_str().unwrap().as_bytes(), name.as_bytes());
            assert_eq!(got["province"].as_str().unwrap().as_bytes(), name.as_bytes());
            assert_eq!(got["commune"], "Ô Quý Hồ 🏔");
        }
        // Found by search, metacharacters taken literally.
        let find = |q: &str| -> Vec<String> {
            app.get(&format!("/api/v1/donors?q={}", enc(q)), app.admin()).expect(200)["items"]
                .as_array().unwrap().iter()
                .map(|d| d["full_name"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(find("giang dung"), vec![names[0].to_owned()]);
        assert_eq!(find("DROP TABLE"), vec![names[0].to_owned()]);
        assert_eq!(find("100%"), vec![names[1].to_owned()]);
        assert_eq!(find("_anh_"), vec![names[1].to_owned()]);
        assert!(find("%").len() <= 1, "a bare % must not match everything");
        assert!(find("_").len() <= 1, "a bare _ must not match everything");
        assert!(find("' OR 1=1 --").is_empty() || find("' OR 1=1 --").len() == 1);
        // The donors table is still there.
        assert!(app.get("/api/v1/donors?limit=500", app.admin()).expect(200)["items"]
            .as_array().unwrap().len() >= names.len());
        // Other text: a chapter, a drive, an event site.
        let chapter = app.post("/api/v1/chapters", app.admin(),
            json!({ "name": "Chi hội 'Bản Phố' % _ 🩸" })).expect(201);
        assert_eq!(chapter["name"], "Chi hội 'Bản Phố' % _ 🩸");
    }

    fn wrong_types_enums_numbers_and_dates(app) {
        let w = world(app);
        let admin = app.admin();
        let base = json!({ "full_name": "Trần Văn Tư", "date_of_birth": "1990-01-01", "sex": "male" });
        let with = |k: &str, v: Value| { let mut b = base.clone(); b[k] = v; b };
        // Wrong types and unknown enum values: 400.
        for (k, v) in [
            ("full_name", json!(42)), ("full_name", json!(["a"])), ("full_name", json!({ "a": 1 })),
            ("date_of_birth", json!(19900101)), ("date_of_birth", json!("01/01/1990")),
            ("date_of_birth", json!("1990-02-30")), ("date_of_birth", json!("")),
            ("sex", json!("other")), ("sex", json!(1)), ("sex", json!(null)),
            ("reserve", json!("yes")), ("weight_kg", json!("60")), ("prior_donations", json!(1.5)),
            ("prior_donations", json!("3")), ("unknown_field", json!(1)),
        ] {
            let r = app.post("/api/v1/donors", admin, app.with_chapter(with(k, v.clone())));
            assert_eq!(r.status, 400, "{k}={v}: {}", r.text);
            r.expect_problem(400, "invalid_request");
        }
        // Huge and negative numbers: 4xx, never 500.
        for v in [json!(1e308), json!(-1e308), json!(9_223_372_036_854_775_807_i64),
                  json!(9_223_372_036_854_775_808_u64), json!(-9_223_372_036_854_775_808_i64),
                  json!(-1), json!(0), json!(2_147_483_648_i64), json!(1e20), json!(0.000001)] {
            for k in ["weight_kg", "prior_donations"] {
                let r = app.post("/api/v1/donors", admin, app.with_chapter(with(k, v.clone())));
                sane(&r, &format!("{k}={v}"));
                assert!(r.status == 201 || (400..500).contains(&r.status), "{k}={v}: {}", r.text);
            }
            for (path, body) in [
                (format!("/api/v1/events/{}/donations", w.event),
                 json!({ "donor_id": w.donor, "component": "plasma", "outcome": "collected", "volume_ml": v })),
                ("/api/v1/emergency-requests".to_owned(),
                 json!({ "hospital_id": w.hospital, "blood_group": "A+", "component": "plasma",
                         "urgency": "critical", "units_needed": v })),
                ("/api/v1/drives".to_owned(),
                 json!({ "name": "D", "chapter_id": w.chapter, "starts_on": "2024-01-01",
                         "ends_on": "2024-01-02", "target_units": v })),
                ("/api/v1/honors/awards".to_owned(),
                 json!({ "donor_id": w.donor, "tier": v, "awarded_on": "2024-01-01" })),
            ] {
                let r = app.post(&path, admin, body);
                sane(&r, &format!("{path} {v}"));
            }
            for q in ["limit", "year"] {
                sane(&app.get(&format!("/api/v1/drives?{q}={v}"), admin), q);
            }
            sane(&app.get(&format!("/api/v1/reports/annual?year={v}"), admin), "report year");
        }
        // Far-past and far-future dates.
        for d in ["0001-01-01", "1899-12-31", "9999-12-31", "+10000-01-01", "-0001-01-01", "2024-13-01"] {
            let r = app.post("/api/v1/donors", admin, app.with_chapter(with("date_of_birth", json!(d))));
            assert!((400..500).contains(&r.status), "dob {d}: {}", r.text);
            sane(&r, d);
            for body in [
                json!({ "name": "D", "chapter_id": w.chapter, "starts_on": d, "ends_on": d }),
                json!({ "name": "D", "chapter_id": w.chapter, "starts_on": "2024-01-01", "ends_on": d }),
            ] {
                sane(&app.post("/api/v1/drives", admin, body), d);
            }
            sane(&app.post(&format!("/api/v1/drives/{}/events", w.drive), admin,
                json!({ "site": "S", "held_on": d })), d);
            sane(&app.post(&format!("/api/v1/events/{}/donations", w.event), admin,
                json!({ "donor_id": w.donor, "component": "plasma", "outcome": "collected",
                        "volume_ml": 500, "donated_at": format!("{d}T00:00:00Z") })), d);
            sane(&app.post("/api/v1/honors/awards", admin,
                json!({ "donor_id": w.donor, "tier": 5, "awarded_on": d })), d);
            sane(&app.get(&format!("/api/v1/honors/eligible?as_of={d}"), admin), d);
            sane(&app.post("/api/v1/emergency-requests", admin,
                json!({ "hospital_id": w.hospital, "blood_group": "A+", "component": "plasma",
                        "urgency": "critical", "units_needed": 1, "opened_at": format!("{d}T00:00:00Z"),
                        "needed_by": format!("{d}T00:00:00Z") })), d);
        }
        for y in ["0", "1", "-5", "9999", "10000", "2147483648", "1e3", "2023.0"] {
            sane(&app.get(&format!("/api/v1/reports/annual?year={y}"), admin), y);
            sane(&app.get(&format!("/api/v1/drives?year={y}"), admin), y);
        }
        // Not JSON objects.
        for raw in ["[]", "[null, null]", "\"text\"", "42", "null", "true", "{", "{\"a\":}", ""] {
            let r = app.call_raw("POST", "/api/v1/chapters", Some(admin), "application/json", raw.as_bytes());
            r.expect_problem(400, "invalid_request");
            let r = app.call_raw("PATCH", &format!("/api/v1/users/{}", uuid::Uuid::new_v4()),
                Some(admin), "application/json", raw.as_bytes());
            assert!(r.status == 400 || r.status == 404, "{raw}: {}", r.text);
        }
        // Whole numbers written with a fraction are integers (JSON Schema says so).
        let r = app.post("/api/v1/donors", admin, app.with_chapter(with("prior_donations", json!(3.0))));
        assert_eq!(r.expect(201)["prior_donations"], 3);
        // Deeply nested JSON.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let r = app.call_raw("POST", "/api/v1/chapters", Some(admin), "application/json", deep.as_bytes());
        r.expect_problem(400, "invalid_request");
        // Wrong content types.
        for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""] {
            let r = app.call_raw("POST", "/api/v1/chapters", Some(admin), ct, b"{\"name\":\"x\"}");
            sane(&r, ct);
            assert!((400..500).contains(&r.status), "{ct}: {}", r.text);
        }
    }

    fn invalid_utf8_is_400(app) {
        for bytes in [
            &b"{\"name\": \"\xff\xfe\"}"[..],
            &b"{\"name\": \"\xc3\x28\"}"[..],
            &b"{\"name\": \"\xed\xa0\x80\"}"[..],      // an encoded surrogate
            &b"{\"name\": \"\\ud800\"}"[..],           // a lone surrogate escape
            &b"\xef\xbb\xbf{\"name\": \"bom\"}"[..],   // a byte-order mark
            &b"{\"name\": \"a\"}\x00"[..],
        ] {
            let r = app.call_raw("POST", "/api/v1/chapters", Some(app.admin()), "application/json", bytes);
            r.expect_problem(400, "invalid_request");
        }
        let r = app.call_raw("POST", "/api/v1/auth/login", None, "application/json",
            b"{\"username\": \"\xff\", \"password\": \"x\"}");
        r.expect_problem(400, "invalid_request");
    }
}

/// A raw HTTP/1.1 exchange (for what ureq will not send); returns (status, head, body).
fn raw_http(base: &str, request: &[u8]) -> (u16, String, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer (and close) before the whole body is sent: ignore write errors.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn small_limit_app(db: TestDatabase) -> TestApp {
    let mut settings = test_settings(&db.url);
    settings.limits.json_body_bytes = 4096;
    TestApp::with_settings(db, settings)
}

fn body_limits(app: &TestApp) {
    let admin = app.admin().to_owned();
    let big =
        json!({ "full_name": "A".repeat(10_000), "date_of_birth": "1990-01-01", "sex": "male" });
    // With Content-Length.
    for path in ["/api/v1/donors", "/api/v1/chapters", "/api/v1/auth/login"] {
        let r = app.call("POST", path, Some(&admin), Some(&big));
        let v = r.expect_problem(413, "payload_too_large");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(v["detail"].as_str().unwrap().contains("4096"), "{}", r.text);
    }
    // A body just under the limit is read (and judged on its merits).
    let ok = json!({ "full_name": "A".repeat(100), "date_of_birth": "1990-01-01", "sex": "male" });
    app.post("/api/v1/donors", &admin, app.with_chapter(ok))
        .expect(201);
    // Chunked, without Content-Length.
    let payload = serde_json::to_vec(&big).unwrap();
    let mut req = format!(
        "POST /api/v1/donors HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in payload.chunks(1000) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let (status, head, body) = raw_http(&app.base, &req);
    assert_eq!(status, 413, "{head}\n{body}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert!(lower.contains("x-content-type-options: nosniff"), "{head}");
    assert!(body.contains("payload_too_large"), "{body}");
    // A Content-Length that lies about a huge body is refused without reading it.
    let req = format!(
        "POST /api/v1/donors HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000000000\r\nConnection: close\r\n\r\n{{"
    );
    let (status, head, body) = raw_http(&app.base, req.as_bytes());
    assert_eq!(status, 413, "{head}\n{body}");
    // Without a token, a big body is 401 (the policy runs before the body is read).
    let r = app.call("POST", "/api/v1/donors", None, Some(&big));
    r.expect_problem(401, "unauthorized");
}

#[test]
fn body_over_the_limit_is_413_sqlite() {
    body_limits(&small_limit_app(TestDatabase::sqlite()));
}

#[test]
fn body_over_the_limit_is_413_postgres() {
    match TestDatabase::postgres() {
        Some(db) => body_limits(&small_limit_app(db)),
        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
    }
}
