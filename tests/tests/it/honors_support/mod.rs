//! Helpers for the honors, report and import tests: rows written straight through the
//! repositories (thousands of donations in one transaction), and shorthands for the honors
//! endpoints.

use chrono::{NaiveDate, NaiveDateTime};
use hienmau_db::models::{Donation, Donor, Drive, EmergencyRequest, Event, Hospital};
use hienmau_db::repo;
use hienmau_db::DbConn;
use hienmau_tests::TestApp;
use serde_json::Value;

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// 10:00 in Vietnam on `d`, as stored (UTC).
pub fn ten_am(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(3, 0, 0).unwrap()
}

/// Runs `f` in one write transaction on the application's database.
pub fn with_tx<T>(app: &TestApp, f: impl FnOnce(&mut DbConn) -> T) -> T {
    let mut conn = app.state.pool.get().unwrap();
    hienmau_db::write_tx::<_, hienmau_db::DbError, _>(&mut conn, |c| Ok(f(c))).unwrap()
}

/// A donor row (not yet inserted).
pub fn donor_row(name: &str, prior: i32) -> Donor {
    let now = hienmau_db::now();
    Donor {
        id: hienmau_db::new_id(),
        full_name: name.to_owned(),
        name_folded: hienmau_domain::text::fold(name),
        date_of_birth: day("1985-03-02"),
        sex: "male".to_owned(),
        national_id: None,
        blood_group: Some("O+".to_owned()),
        phone: None,
        province: Some("Lào Cai".to_owned()),
        province_folded: Some("lao cai".to_owned()),
        commune: None,
        commune_folded: None,
        weight_kg: Some(60.0),
        reserve: false,
        reserve_since: None,
        prior_donations: prior,
        prior_last_donation_on: None,
        chapter_id: None,
        collected_count: 0,
        first_collected_on: None,
        last_donation_at: None,
        last_component: None,
        next_eligible_on: None,
        deferred_until: None,
        permanently_deferred: false,
        created_at: now,
        updated_at: now,
        last_chapter_id: None,
    }
}

pub fn insert_donor(conn: &mut DbConn, row: &Donor) -> String {
    repo::donors::insert_row(conn, row).unwrap();
    row.id.clone()
}

pub fn insert_drive(conn: &mut DbConn, chapter: &str, name: &str, from: &str, to: &str) -> String {
    let row = Drive {
        id: hienmau_db::new_id(),
        name: name.to_owned(),
        chapter_id: chapter.to_owned(),
        starts_on: day(from),
        ends_on: day(to),
        target_units: None,
        created_by: None,
        created_at: hienmau_db::now(),
    };
    repo::drives::insert(conn, &row).unwrap();
    row.id
}

pub fn insert_event(conn: &mut DbConn, drive: &str, held_on: &str) -> String {
    let row = Event {
        id: hienmau_db::new_id(),
        drive_id: drive.to_owned(),
        site: format!("Điểm hiến máu {held_on}"),
        held_on: day(held_on),
        province: None,
        commune: None,
        created_at: hienmau_db::now(),
    };
    repo::events::insert(conn, &row).unwrap();
    row.id
}

pub fn insert_hospital(conn: &mut DbConn) -> String {
    let row = Hospital {
        id: hienmau_db::new_id(),
        name: "Bệnh viện Đa khoa tỉnh".to_owned(),
        province: None,
        commune: None,
        created_at: hienmau_db::now(),
    };
    repo::hospitals::insert(conn, &row).unwrap();
    row.id
}

pub fn insert_request(conn: &mut DbConn, hospital: &str, opened: NaiveDate) -> String {
    let row = EmergencyRequest {
        id: hienmau_db::new_id(),
        hospital_id: hospital.to_owned(),
        blood_group: "O+".to_owned(),
        component: "whole_blood".to_owned(),
        units_needed: 1000,
        units_received: 0,
        urgency: "urgent".to_owned(),
        status: "open".to_owned(),
        needed_by: None,
        province: None,
        province_folded: None,
        commune: None,
        commune_folded: None,
        note: None,
        opened_at: ten_am(opened),
        created_by_user: None,
        created_by_key: None,
        created_at: hienmau_db::now(),
        closed_at: None,
        disclosure_cap: None,
    };
    repo::emergency::insert_request(conn, &row).unwrap();
    row.id
}

/// Where a donation is recorded.
#[derive(Clone, Copy)]
pub enum At<'a> {
    /// (event, drive, chapter)
    Event(&'a str, &'a str, &'a str),
    Emergency(&'a str),
}

/// Inserts a donation as the write path would store it.
pub fn insert_donation(
    conn: &mut DbConn,
    donor: &str,
    at: At<'_>,
    on: NaiveDate,
    outcome: &str,
    voided: bool,
) -> String {
    let (event_id, drive_id, chapter_id, request) = match at {
        At::Event(e, d, c) => (Some(e), Some(d), Some(c), None),
        At::Emergency(r) => (None, None, None, Some(r)),
    };
    let id = hienmau_db::new_id();
    let row = Donation {
        id: id.clone(),
        donor_id: donor.to_owned(),
        event_id: event_id.map(str::to_owned),
        emergency_request_id: request.map(str::to_owned),
        drive_id: drive_id.map(str::to_owned),
        chapter_id: chapter_id.map(str::to_owned),
        component: "whole_blood".to_owned(),
        volume_ml: if outcome == "collected" { 350 } else { 0 },
        outcome: outcome.to_owned(),
        donated_at: ten_am(on),
        donated_on: on,
        unit_code: (outcome == "collected").then(|| format!("T-{id}")),
        deferral_reason: (outcome != "collected").then(|| "cảm cúm".to_owned()),
        deferred_until: (outcome != "collected").then(|| on + chrono::Days::new(7)),
        permanent: false,
        voided,
        void_reason: voided.then(|| "nhập nhầm".to_owned()),
        voided_at: voided.then(hienmau_db::now),
        voided_by: None,
        recorded_by: "test".to_owned(),
        client_ref: None,
        client_ref_hash: None,
        created_at: hienmau_db::now(),
    };
    repo::donations::insert(conn, &row).unwrap();
    id
}

/// Refreshes a donor's counters as the donation write path does.
pub fn refresh(app: &TestApp, conn: &mut DbConn, donor: &str) {
    hienmau_api::app::donations::refresh_stats(conn, &app.state.settings.eligibility, donor)
        .unwrap();
}

/// Every page of `GET /honors/eligible?{query}` (walked with `limit`), concatenated.
pub fn eligible_all(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/honors/eligible?limit={limit}");
        if !query.is_empty() {
            path.push('&');
            path.push_str(query);
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&path, token).expect(200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        out.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    out
}

/// (donor_id → tier) of a list.
pub fn tiers_of(items: &[Value]) -> std::collections::BTreeMap<String, i64> {
    items
        .iter()
        .map(|i| {
            (
                i["donor_id"].as_str().unwrap().to_owned(),
                i["tier"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The audit actions recorded, oldest first.
pub fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.state.pool.get().unwrap();
    repo::audit::all_in_order(&mut conn)
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect()
}
