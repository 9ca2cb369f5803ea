//! Every table's rows, written and read back, are equal: text, integers, doubles, booleans,
//! dates, microsecond timestamps and NULLs survive both backends.

use diesel::prelude::*;
use hienmau_db::models::{
    ApiKey, Award, DonorResponse, IdempotencyRecord, NewAuditEntry, NewDonor, NewUser, User,
    UserChanges,
};
use hienmau_db::repo::{
    audit, awards, chapters, donations, donors, drives, emergency, events, hospitals, idempotency,
    users,
};
use hienmau_db::schema::api_keys;
use hienmau_db::{new_id, now};

use crate::common::*;

#[test]
fn every_table_round_trips() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let backend = db.backend;

        // chapters: a root and a child (parent NULL and set).
        let root = chapter(conn, "Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let child = chapter(conn, "Hội Chữ thập đỏ phường Cam Đường", Some(&root));
        assert_eq!(child.path, format!("{}{}/", root.path, child.id));
        assert_eq!(
            chapters::find(conn, &root.id).expect("find"),
            Some(root.clone())
        );
        assert_eq!(chapters::get(conn, &child.id).expect("get"), child);
        assert_eq!(
            chapters::list(conn).expect("list"),
            vec![root.clone(), child.clone()]
        );

        // hospitals: NULL and set optional columns.
        let h = hospital(conn, "Bệnh viện Đa khoa tỉnh Lào Cai");
        assert_eq!(hospitals::find(conn, &h.id).expect("find"), Some(h.clone()));

        // users: every optional column set, `disabled` from its default, then changed.
        let t = now();
        let new = NewUser {
            id: new_id(),
            username: "điều-phối".to_owned(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$abc$def".to_owned(),
            role: "coordinator".to_owned(),
            chapter_id: Some(child.id.clone()),
            hospital_id: Some(h.id.clone()),
            created_at: t,
            updated_at: t,
        };
        let u = users::insert(conn, &new).expect("user");
        assert_eq!(
            u,
            User {
                id: new.id.clone(),
                username: new.username.clone(),
                password_hash: new.password_hash.clone(),
                role: new.role.clone(),
                chapter_id: new.chapter_id.clone(),
                hospital_id: new.hospital_id.clone(),
                disabled: false,
                created_at: t,
                updated_at: t,
                token_version: 0,
            }
        );
        assert_eq!(users::find(conn, &u.id).expect("find"), Some(u.clone()));
        let later = now();
        let changed = users::update(
            conn,
            &u.id,
            &UserChanges {
                disabled: Some(true),
                updated_at: Some(later),
                ..Default::default()
            },
        )
        .expect("update user");
        assert!(changed.disabled);
        assert_eq!(changed.updated_at, later);

        // api_keys: no repository yet; straight diesel, revoked_at set and NULL.
        for revoked_at in [Some(now()), None] {
            let k = ApiKey {
                id: new_id(),
                hospital_id: h.id.clone(),
                name: "HIS".to_owned(),
                key_hash: new_id(),
                created_by: u.id.clone(),
                created_at: now(),
                revoked_at,
            };
            diesel::insert_into(api_keys::table)
                .values(&k)
                .execute(conn)
                .expect("api key");
            let back: ApiKey = api_keys::table
                .find(&k.id)
                .select(ApiKey::as_select())
                .first(conn)
                .expect("api key back");
            assert_eq!(back, k, "{backend:?}");
        }

        // donors: every column set (double, dates, timestamps, booleans), and a minimal one.
        let mut full = donor_row("nguyen thi hoa");
        full.full_name = "Nguyễn Thị Hoa".to_owned();
        full.national_id = Some("010190012345".to_owned());
        full.blood_group = Some("AB-".to_owned());
        full.phone = Some("0912345678".to_owned());
        full.province = Some("Lào Cai".to_owned());
        full.province_folded = Some("lao cai".to_owned());
        full.commune = Some("Cam Đường".to_owned());
        full.commune_folded = Some("cam duong".to_owned());
        full.weight_kg = Some(52.75);
        full.reserve = true;
        full.reserve_since = Some(date(2024, 2, 29));
        full.prior_donations = 7;
        full.prior_last_donation_on = Some(date(2023, 12, 31));
        full.chapter_id = Some(child.id.clone());
        full.collected_count = 3;
        full.first_collected_on = Some(date(2025, 1, 2));
        full.last_donation_at = Some(now());
        full.last_component = Some("platelets".to_owned());
        full.next_eligible_on = Some(date(2025, 3, 1));
        full.deferred_until = Some(date(2025, 2, 1));
        full.permanently_deferred = true;
        donors::insert_row(conn, &full).expect("donor");
        // The minimal one through the application's insert struct: the counters come from
        // the columns' defaults, equal to the zeroed row.
        let minimal = donor_row("tran van an");
        let new = NewDonor {
            id: minimal.id.clone(),
            full_name: minimal.full_name.clone(),
            name_folded: minimal.name_folded.clone(),
            date_of_birth: minimal.date_of_birth,
            sex: minimal.sex.clone(),
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
            created_at: minimal.created_at,
            updated_at: minimal.updated_at,
        };
        donors::insert(conn, &new).expect("donor");
        assert_eq!(
            donors::find(conn, &full.id).expect("find"),
            Some(full.clone())
        );
        assert_eq!(
            donors::find(conn, &minimal.id).expect("find"),
            Some(minimal.clone())
        );
        assert_eq!(
            donors::find_by_national_id(conn, "010190012345").expect("by nid"),
            Some(full.clone())
        );
        assert_eq!(donors::find(conn, "missing").expect("find"), None);

        // drives and events.
        let mut drive = drive_row(&child.id, date(2025, 6, 10), date(2025, 6, 14));
        drive.target_units = Some(250);
        drive.created_by = Some(u.id.clone());
        drives::insert(conn, &drive).expect("drive");
        assert_eq!(
            drives::find(conn, &drive.id).expect("find"),
            Some(drive.clone())
        );
        let mut ev = event_row(&drive, date(2025, 6, 14));
        ev.province = Some("Lào Cai".to_owned());
        ev.commune = Some("Cam Đường".to_owned());
        events::insert(conn, &ev).expect("event");
        assert_eq!(events::find(conn, &ev.id).expect("find"), Some(ev.clone()));

        // emergency requests: every optional column set.
        let mut req = request_row(&h.id, now());
        req.needed_by = Some(at(2025, 6, 15, 23, 59));
        req.province = Some("Lào Cai".to_owned());
        req.province_folded = Some("lao cai".to_owned());
        req.commune = Some("Bắc Lệnh".to_owned());
        req.commune_folded = Some("bac lenh".to_owned());
        req.note = Some("ca mổ cấp cứu".to_owned());
        req.created_by_user = Some(u.id.clone());
        req.closed_at = Some(now());
        req.status = "fulfilled".to_owned();
        emergency::insert_request(conn, &req).expect("request");
        assert_eq!(
            emergency::find_request(conn, &req.id).expect("find"),
            Some(req.clone())
        );

        // donations: collected at an event with every optional column, deferred permanently
        // for a request.
        let mut d1 = donation_row(&full.id, &drive, &ev, now());
        d1.unit_code = Some("LC25-000001".to_owned());
        d1.client_ref = Some("tablet-7:42".to_owned());
        d1.client_ref_hash = Some("9f86d081".to_owned());
        d1.voided = true;
        d1.void_reason = Some("duplicate".to_owned());
        d1.voided_at = Some(now());
        d1.voided_by = Some(u.id.clone());
        donations::insert(conn, &d1).expect("donation");
        let mut d2 = deferred(
            donation_row(&minimal.id, &drive, &ev, now()),
            date(2026, 1, 1),
        );
        d2.event_id = None;
        d2.drive_id = None;
        d2.chapter_id = None;
        d2.emergency_request_id = Some(req.id.clone());
        d2.permanent = true;
        d2.deferred_until = None;
        donations::insert(conn, &d2).expect("donation");
        assert_eq!(
            donations::find(conn, &d1.id).expect("find"),
            Some(d1.clone())
        );
        assert_eq!(
            donations::find(conn, &d2.id).expect("find"),
            Some(d2.clone())
        );

        // donor responses.
        let resp = DonorResponse {
            id: new_id(),
            request_id: req.id.clone(),
            donor_id: full.id.clone(),
            response: "accepted".to_owned(),
            recorded_by: u.id.clone(),
            recorded_at: now(),
        };
        emergency::insert_response(conn, &resp).expect("response");
        assert_eq!(
            emergency::list_responses(conn, &req.id).expect("list"),
            vec![resp]
        );

        // awards.
        let award = Award {
            id: new_id(),
            donor_id: full.id.clone(),
            tier: 10,
            awarded_on: date(2025, 12, 26),
            note: Some("Giấy khen".to_owned()),
            recorded_by: u.id.clone(),
            created_at: now(),
            voided: false,
            void_reason: None,
            voided_at: None,
            voided_by: None,
        };
        awards::insert(conn, &award).expect("award");
        let mut award2 = award.clone();
        award2.id = new_id();
        award2.tier = 5;
        award2.note = None;
        awards::insert(conn, &award2).expect("award");
        assert_eq!(
            awards::list_for_donor(conn, &full.id).expect("list"),
            vec![award2, award]
        );

        // idempotency keys.
        let rec = IdempotencyRecord {
            id: new_id(),
            principal: u.id.clone(),
            idem_key: "k-1".to_owned(),
            request_hash: "abc".to_owned(),
            response_status: 201,
            response_body: r#"{"id":"x"}"#.to_owned(),
            created_at: now(),
        };
        assert_eq!(
            idempotency::insert_or_get(conn, &rec).expect("insert"),
            None
        );
        assert_eq!(
            idempotency::find(conn, &u.id, "k-1").expect("find"),
            Some(rec.clone())
        );

        // audit log: the database numbers the entries.
        let entries: Vec<NewAuditEntry> = (0..2)
            .map(|i| NewAuditEntry {
                id: new_id(),
                at: now(),
                action: "request.contacts".to_owned(),
                actor_user_id: (i == 0).then(|| u.id.clone()),
                actor_key_id: None,
                hospital_id: Some(h.id.clone()),
                request_id: Some(req.id.clone()),
                donor_ids: format!(r#"["{}"]"#, full.id),
                detail: "{}".to_owned(),
                prev_hash: (i == 1).then(|| "00".to_owned()),
                hash: Some(format!("h{i}")),
                http_request_id: (i == 0).then(|| "req-1".to_owned()),
                key_fp: (i == 0).then(|| "0123456789abcdef".to_owned()),
            })
            .collect();
        for e in &entries {
            audit::append(conn, e).expect("append");
        }
        let back = audit::all_in_order(conn).expect("audit");
        assert_eq!(back.len(), 2);
        assert!(back[0].seq < back[1].seq);
        for (b, e) in back.iter().zip(&entries) {
            let as_new = NewAuditEntry {
                id: b.id.clone(),
                at: b.at,
                action: b.action.clone(),
                actor_user_id: b.actor_user_id.clone(),
                actor_key_id: b.actor_key_id.clone(),
                hospital_id: b.hospital_id.clone(),
                request_id: b.request_id.clone(),
                donor_ids: b.donor_ids.clone(),
                detail: b.detail.clone(),
                prev_hash: b.prev_hash.clone(),
                hash: b.hash.clone(),
                http_request_id: b.http_request_id.clone(),
                key_fp: b.key_fp.clone(),
            };
            assert_eq!(&as_new, e, "{backend:?}");
        }
    }
}
