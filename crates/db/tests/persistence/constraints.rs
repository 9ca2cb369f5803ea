//! Unique constraints surface as `DbError::UniqueViolation` naming the column on both
//! backends, foreign keys as `ForeignKeyViolation`, and the audit log refuses changes.

use diesel::prelude::*;
use hienmau_db::models::{ApiKey, Award, Chapter, IdempotencyRecord, NewAuditEntry, NewUser};
use hienmau_db::repo::{audit, awards, donations, donors, drives, events, users};
use hienmau_db::schema::{api_keys, audit_log, chapters, idempotency_keys};
use hienmau_db::{new_id, now, DbError};

use crate::common::*;

#[track_caller]
fn assert_unique_on<T: std::fmt::Debug>(r: Result<T, DbError>, column: &str) {
    match r {
        Err(e) => assert!(
            e.is_unique_on(column),
            "expected unique on {column}, got {e:?}"
        ),
        Ok(v) => panic!("expected unique on {column}, got Ok({v:?})"),
    }
}

#[test]
fn unique_constraints_fire() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let backend = db.backend;

        // donors.national_id (NULLs do not collide).
        let mut a = donor_row("a");
        a.national_id = Some("001090000001".to_owned());
        donors::insert_row(conn, &a).expect("donor");
        let mut b = donor_row("b");
        b.national_id = a.national_id.clone();
        assert_unique_on(donors::insert_row(conn, &b), "national_id");
        donors::insert_row(conn, &donor_row("c")).expect("NULL national id");
        donors::insert_row(conn, &donor_row("d")).expect("second NULL national id");

        // donations.unit_code and (event_id, client_ref).
        let ch = chapter(conn, "chapter", None);
        let drive = drive_row(&ch.id, date(2025, 1, 1), date(2025, 1, 2));
        drives::insert(conn, &drive).expect("drive");
        let ev = event_row(&drive, date(2025, 1, 1));
        events::insert(conn, &ev).expect("event");
        let mut d1 = donation_row(&a.id, &drive, &ev, at(2025, 1, 1, 9, 0));
        d1.unit_code = Some("U-1".to_owned());
        d1.client_ref = Some("ref-1".to_owned());
        donations::insert(conn, &d1).expect("donation");
        let mut d2 = donation_row(&a.id, &drive, &ev, at(2025, 1, 1, 9, 0));
        d2.unit_code = Some("U-1".to_owned());
        assert_unique_on(donations::insert(conn, &d2), "unit_code");
        let mut d3 = donation_row(&a.id, &drive, &ev, at(2025, 1, 1, 9, 0));
        d3.client_ref = Some("ref-1".to_owned());
        assert_unique_on(donations::insert(conn, &d3), "client_ref");
        d3.client_ref = Some("ref-2".to_owned());
        donations::insert(conn, &d3).expect("another client_ref");

        // idempotency_keys (principal, idem_key): the raw insert, not insert_or_get.
        let rec = IdempotencyRecord {
            id: new_id(),
            principal: "user-1".to_owned(),
            idem_key: "key-1".to_owned(),
            request_hash: "h".to_owned(),
            response_status: 0,
            response_body: String::new(),
            created_at: now(),
        };
        diesel::insert_into(idempotency_keys::table)
            .values(&rec)
            .execute(conn)
            .expect("first key");
        let again = IdempotencyRecord {
            id: new_id(),
            ..rec.clone()
        };
        assert_unique_on(
            diesel::insert_into(idempotency_keys::table)
                .values(&again)
                .execute(conn)
                .map_err(DbError::from),
            "idem_key",
        );
        let other_principal = IdempotencyRecord {
            id: new_id(),
            principal: "user-2".to_owned(),
            ..rec.clone()
        };
        diesel::insert_into(idempotency_keys::table)
            .values(&other_principal)
            .execute(conn)
            .expect("same key, other caller");

        // users.username.
        let u = user(conn, "admin");
        let dup = NewUser {
            id: new_id(),
            username: u.username.clone(),
            password_hash: u.password_hash.clone(),
            role: u.role.clone(),
            chapter_id: None,
            hospital_id: None,
            created_at: u.created_at,
            updated_at: u.updated_at,
        };
        assert_unique_on(users::insert(conn, &dup), "username");

        // awards (donor_id, tier).
        let award = Award {
            id: new_id(),
            donor_id: a.id.clone(),
            tier: 5,
            awarded_on: date(2025, 12, 26),
            note: None,
            recorded_by: u.id.clone(),
            created_at: now(),
            voided: false,
            void_reason: None,
            voided_at: None,
            voided_by: None,
        };
        awards::insert(conn, &award).expect("award");
        assert_unique_on(
            awards::insert(
                conn,
                &Award {
                    id: new_id(),
                    ..award.clone()
                },
            ),
            "tier",
        );
        // Once voided, the award no longer holds the tier: it may be awarded again, once.
        assert!(awards::void(conn, &award.id, "nhầm", &u.id, now()).expect("void"));
        assert!(!awards::void(conn, &award.id, "again", &u.id, now()).expect("void twice"));
        let again = Award {
            id: new_id(),
            ..award.clone()
        };
        awards::insert(conn, &again).expect("re-award after void");
        assert_unique_on(
            awards::insert(
                conn,
                &Award {
                    id: new_id(),
                    ..award.clone()
                },
            ),
            "tier",
        );

        // chapters.path.
        let twin = Chapter {
            id: new_id(),
            name: "twin".to_owned(),
            parent_id: None,
            path: ch.path.clone(),
            created_at: now(),
        };
        assert_unique_on(
            diesel::insert_into(chapters::table)
                .values(&twin)
                .execute(conn)
                .map_err(DbError::from),
            "path",
        );

        // api_keys.key_hash.
        let h = hospital(conn, "H");
        let key = ApiKey {
            id: new_id(),
            hospital_id: h.id.clone(),
            name: "k".to_owned(),
            key_hash: "sha256-of-the-key".to_owned(),
            created_by: u.id.clone(),
            created_at: now(),
            revoked_at: None,
        };
        diesel::insert_into(api_keys::table)
            .values(&key)
            .execute(conn)
            .expect("key");
        assert_unique_on(
            diesel::insert_into(api_keys::table)
                .values(&ApiKey {
                    id: new_id(),
                    ..key.clone()
                })
                .execute(conn)
                .map_err(DbError::from),
            "key_hash",
        );

        eprintln!("unique constraints ok on {backend:?}");
    }
}

#[test]
fn foreign_keys_fire() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let ch = chapter(conn, "chapter", None);
        let drive = drive_row(&ch.id, date(2025, 1, 1), date(2025, 1, 2));
        drives::insert(conn, &drive).expect("drive");
        let ev = event_row(&drive, date(2025, 1, 1));
        events::insert(conn, &ev).expect("event");
        let orphan = donation_row("no-such-donor", &drive, &ev, at(2025, 1, 1, 9, 0));
        let r = donations::insert(conn, &orphan);
        assert!(
            matches!(r, Err(DbError::ForeignKeyViolation(_))),
            "{:?}: {r:?}",
            db.backend
        );
        let r = drives::insert(
            conn,
            &drive_row("no-such-chapter", date(2025, 1, 1), date(2025, 1, 1)),
        );
        assert!(matches!(r, Err(DbError::ForeignKeyViolation(_))), "{r:?}");
    }
}

#[test]
fn audit_log_refuses_update_and_delete() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let entry = NewAuditEntry {
            id: new_id(),
            at: now(),
            action: "donor.read".to_owned(),
            actor_user_id: None,
            actor_key_id: None,
            hospital_id: None,
            request_id: None,
            donor_ids: "[]".to_owned(),
            detail: "{}".to_owned(),
            prev_hash: None,
            hash: None,
            http_request_id: None,
            key_fp: None,
        };
        audit::append(conn, &entry).expect("append");
        let before = audit::all_in_order(conn).expect("read");

        let updated = diesel::update(audit_log::table)
            .set(audit_log::action.eq("tampered"))
            .execute(conn);
        assert!(updated.is_err(), "{:?}: UPDATE allowed", db.backend);
        let deleted = diesel::delete(audit_log::table).execute(conn);
        assert!(deleted.is_err(), "{:?}: DELETE allowed", db.backend);

        assert_eq!(audit::all_in_order(conn).expect("read"), before);
    }
}
