//! Fixtures: fresh databases and rows with every required field filled.

#![allow(
    dead_code,
    clippy::allow_attributes,
    reason = "each test module uses a different part of the helpers"
)]

use chrono::{NaiveDate, NaiveDateTime};
use diesel::migration::MigrationSource;
use diesel_migrations::MigrationHarness;
use hienmau_db::conn::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use hienmau_db::models::{
    Chapter, Donation, Donor, Drive, EmergencyRequest, Event, Hospital, NewUser, User,
};
use hienmau_db::repo::{chapters, hospitals, users};
use hienmau_db::testing::TestDatabase;
use hienmau_db::{new_id, now, DbConn, DbPool};

/// Every backend available, each with a migrated pool. Keep the `TestDatabase` alive while
/// the pool is used: dropping it removes the database.
pub fn databases() -> Vec<(TestDatabase, DbPool)> {
    TestDatabase::all()
        .into_iter()
        .map(|db| {
            let pool = db.pool();
            (db, pool)
        })
        .collect()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

pub fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    date(y, m, d).and_hms_opt(h, min, 0).expect("valid time")
}

pub fn chapter(conn: &mut DbConn, name: &str, parent: Option<&Chapter>) -> Chapter {
    chapters::insert(conn, &new_id(), name, parent.map(|p| p.id.as_str())).expect("chapter")
}

pub fn hospital(conn: &mut DbConn, name: &str) -> Hospital {
    let row = Hospital {
        id: new_id(),
        name: name.to_owned(),
        province: Some("Lào Cai".to_owned()),
        commune: None,
        created_at: now(),
    };
    hospitals::insert(conn, &row).expect("hospital");
    row
}

pub fn user(conn: &mut DbConn, username: &str) -> User {
    let t = now();
    let row = NewUser {
        id: new_id(),
        username: username.to_owned(),
        password_hash: "$argon2id$stub".to_owned(),
        role: "admin".to_owned(),
        chapter_id: None,
        hospital_id: None,
        created_at: t,
        updated_at: t,
    };
    users::insert(conn, &row).expect("user")
}

/// A donor row with only the required fields (the rest NULL or default).
pub fn donor_row(name_folded: &str) -> Donor {
    let t = now();
    Donor {
        id: new_id(),
        full_name: name_folded.to_uppercase(),
        name_folded: name_folded.to_owned(),
        date_of_birth: date(1990, 5, 17),
        sex: "female".to_owned(),
        national_id: None,
        blood_group: None,
        phone: None,
        province: None,
        province_folded: None,
        commune: None,
        commune_folded: None,
        weight_kg: None,
        reserve: false,
        reserve_since: None,
        prior_donations: 0,
        prior_last_donation_on: None,
        chapter_id: None,
        collected_count: 0,
        first_collected_on: None,
        last_donation_at: None,
        last_component: None,
        next_eligible_on: None,
        deferred_until: None,
        permanently_deferred: false,
        created_at: t,
        updated_at: t,
        last_chapter_id: None,
    }
}

pub fn drive_row(chapter_id: &str, starts_on: NaiveDate, ends_on: NaiveDate) -> Drive {
    Drive {
        id: new_id(),
        name: format!("Drive {starts_on}"),
        chapter_id: chapter_id.to_owned(),
        starts_on,
        ends_on,
        target_units: None,
        created_by: None,
        created_at: now(),
    }
}

pub fn event_row(drive: &Drive, held_on: NaiveDate) -> Event {
    Event {
        id: new_id(),
        drive_id: drive.id.clone(),
        site: format!("Site {held_on}"),
        held_on,
        province: None,
        commune: None,
        created_at: now(),
    }
}

/// A collected whole-blood donation of 350 ml at `event` (of `drive`) at `donated_at`.
pub fn donation_row(
    donor_id: &str,
    drive: &Drive,
    event: &Event,
    donated_at: NaiveDateTime,
) -> Donation {
    Donation {
        id: new_id(),
        donor_id: donor_id.to_owned(),
        event_id: Some(event.id.clone()),
        emergency_request_id: None,
        drive_id: Some(drive.id.clone()),
        chapter_id: Some(drive.chapter_id.clone()),
        component: "whole_blood".to_owned(),
        volume_ml: 350,
        outcome: "collected".to_owned(),
        donated_at,
        donated_on: donated_at.date(),
        unit_code: None,
        deferral_reason: None,
        deferred_until: None,
        permanent: false,
        voided: false,
        void_reason: None,
        voided_at: None,
        voided_by: None,
        recorded_by: "tester".to_owned(),
        client_ref: None,
        client_ref_hash: None,
        created_at: now(),
    }
}

/// The same donation as deferred at screening (no blood taken).
pub fn deferred(mut d: Donation, until: NaiveDate) -> Donation {
    d.outcome = "deferred".to_owned();
    d.volume_ml = 0;
    d.deferral_reason = Some("low hemoglobin".to_owned());
    d.deferred_until = Some(until);
    d
}

pub fn request_row(hospital_id: &str, opened_at: NaiveDateTime) -> EmergencyRequest {
    EmergencyRequest {
        id: new_id(),
        hospital_id: hospital_id.to_owned(),
        blood_group: "O-".to_owned(),
        component: "red_cells".to_owned(),
        units_needed: 3,
        units_received: 0,
        urgency: "critical".to_owned(),
        status: "open".to_owned(),
        needed_by: None,
        province: None,
        province_folded: None,
        commune: None,
        commune_folded: None,
        note: None,
        opened_at,
        created_by_user: None,
        created_by_key: None,
        created_at: now(),
        closed_at: None,
        disclosure_cap: None,
    }
}

/// Reverts every migration, then migrates up to (not including) the first one whose name
/// contains `name`: the state of a database made before that migration.
pub fn migrate_just_before(conn: &mut DbConn, name: &str) {
    fn go<C, S>(c: &mut C, source: impl Fn() -> S, name: &str)
    where
        C: MigrationHarness<C::Backend> + diesel::Connection,
        S: MigrationSource<C::Backend>,
    {
        c.revert_all_migrations(source()).expect("revert");
        loop {
            let pending = c.pending_migrations(source()).expect("pending");
            let next = pending.first().expect("the named migration exists");
            if next.name().to_string().contains(name) {
                return;
            }
            c.run_migration(next.as_ref()).expect("migrate");
        }
    }
    match conn {
        DbConn::Sqlite(c) => go(c, || SQLITE_MIGRATIONS, name),
        DbConn::Pg(c) => go(c, || POSTGRES_MIGRATIONS, name),
    }
}

/// Runs the pending migrations; the error as text.
pub fn migrate_rest(conn: &mut DbConn) -> Result<(), String> {
    let r = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(drop),
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop),
    };
    r.map_err(|e| e.to_string())
}
