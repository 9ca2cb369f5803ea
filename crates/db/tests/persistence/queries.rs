//! The queries with logic in them: donor search and paging, drive listing by overlap and
//! subtree, the drive tally, honors, histories, requests; and the update helpers.

use hienmau_db::models::{
    Award, Donor, DonorChanges, DonorResponse, DonorStats, Drive, DriveChanges,
};
use hienmau_db::repo::donors::DonorFilter;
use hienmau_db::repo::drives::DriveFilter;
use hienmau_db::repo::{awards, donations, donors, drives, emergency, events};
use hienmau_db::{new_id, now, DbConn, DbError};

use crate::common::*;

fn names(page: &[Donor]) -> Vec<&str> {
    page.iter().map(|d| d.name_folded.as_str()).collect()
}

/// Every page of a donor search, checking each page's size.
fn all_pages(conn: &mut DbConn, filter: &DonorFilter, limit: i64) -> Vec<Donor> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = donors::search(conn, filter, after.as_deref(), limit).expect("search");
        assert!(page.items.len() as i64 <= limit);
        out.extend(page.items.iter().cloned());
        match page.next {
            Some(next) => {
                assert_eq!(
                    page.items.len() as i64,
                    limit,
                    "a page before the last is full"
                );
                after = Some(next);
            }
            None => return out,
        }
    }
}

#[test]
fn donor_search_matches_filters_and_pages() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let backend = db.backend;
        let mk = |name: &str,
                  nid: Option<&str>,
                  phone: Option<&str>,
                  group: Option<&str>,
                  reserve: bool| {
            let mut d = donor_row(name);
            d.national_id = nid.map(str::to_owned);
            d.phone = phone.map(str::to_owned);
            d.blood_group = group.map(str::to_owned);
            d.reserve = reserve;
            d
        };
        let rows = vec![
            mk(
                "nguyen van an",
                Some("001090000001"),
                Some("0912000001"),
                Some("O+"),
                true,
            ),
            mk(
                "nguyen thi binh",
                None,
                Some("0912000002"),
                Some("A+"),
                false,
            ),
            mk("tran van an", None, None, Some("B+"), true),
            mk("tran van an", None, None, Some("O+"), false),
            mk("pham van cuong", Some("001090000002"), None, None, false),
            mk("le thi 50% off", None, None, Some("O+"), false),
            mk("vu_thi mai", None, None, Some("AB-"), true),
            mk("tran  van an", None, None, None, false),
        ];
        for r in &rows {
            donors::insert_row(conn, r).expect("donor");
        }
        let mut sorted = rows.clone();
        sorted.sort_by(|a, b| (&a.name_folded, &a.id).cmp(&(&b.name_folded, &b.id)));

        let search = |conn: &mut DbConn, f: DonorFilter| -> Vec<Donor> {
            donors::search(conn, &f, None, 100).expect("search").items
        };
        let words = |ws: &[&str]| ws.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();

        // Every word must be in the name.
        let r = search(
            conn,
            DonorFilter {
                words: words(&["nguyen", "an"]),
                ..Default::default()
            },
        );
        assert_eq!(names(&r), vec!["nguyen van an"], "{backend:?}");
        let r = search(
            conn,
            DonorFilter {
                words: words(&["van", "an"]),
                ..Default::default()
            },
        );
        // Substrings, not whole words: "an" is in "van" too. The names with "van" whole and
        // a word starting with "an" after it come first (rank 0), then the others.
        assert_eq!(
            names(&r),
            vec![
                "nguyen van an",
                "tran  van an",
                "tran van an",
                "tran van an",
                "pham van cuong"
            ],
            "{backend:?}"
        );
        assert!(r[2].id < r[3].id, "equal names ordered by id");

        // Alternatives: words OR national id OR phone.
        let r = search(
            conn,
            DonorFilter {
                words: words(&["tran"]),
                phone: Some("0912000002".to_owned()),
                ..Default::default()
            },
        );
        assert_eq!(
            names(&r),
            vec![
                "nguyen thi binh",
                "tran  van an",
                "tran van an",
                "tran van an"
            ],
            "{backend:?}"
        );
        let r = search(
            conn,
            DonorFilter {
                words: words(&["zzz"]),
                national_id: Some("001090000002".to_owned()),
                ..Default::default()
            },
        );
        assert_eq!(names(&r), vec!["pham van cuong"]);
        let r = search(
            conn,
            DonorFilter {
                phone: Some("0912000001".to_owned()),
                ..Default::default()
            },
        );
        assert_eq!(names(&r), vec!["nguyen van an"]);
        let r = search(
            conn,
            DonorFilter {
                national_id: Some("999".to_owned()),
                ..Default::default()
            },
        );
        assert!(r.is_empty());

        // Group and reserve narrow the alternatives.
        let r = search(
            conn,
            DonorFilter {
                words: words(&["an"]),
                blood_group: Some("O+".to_owned()),
                ..Default::default()
            },
        );
        assert_eq!(names(&r), vec!["nguyen van an", "tran van an"]);
        let r = search(
            conn,
            DonorFilter {
                reserve: Some(true),
                ..Default::default()
            },
        );
        assert_eq!(
            names(&r),
            vec!["nguyen van an", "tran van an", "vu_thi mai"]
        );
        let r = search(
            conn,
            DonorFilter {
                phone: Some("0912000001".to_owned()),
                reserve: Some(false),
                ..Default::default()
            },
        );
        assert!(r.is_empty(), "reserve ANDs with the phone");

        // LIKE metacharacters are literal.
        let r = search(
            conn,
            DonorFilter {
                words: words(&["%"]),
                ..Default::default()
            },
        );
        assert_eq!(names(&r), vec!["le thi 50% off"], "{backend:?}");
        let r = search(
            conn,
            DonorFilter {
                words: words(&["_"]),
                ..Default::default()
            },
        );
        assert_eq!(names(&r), vec!["vu_thi mai"], "{backend:?}");
        let r = search(
            conn,
            DonorFilter {
                words: words(&["0%o"]),
                ..Default::default()
            },
        );
        assert!(r.is_empty(), "% does not match any run: {backend:?}");

        // No filter: everyone, in (name_folded, id) order; paging without gaps or repeats.
        let everyone = search(conn, DonorFilter::default());
        assert_eq!(everyone, sorted);
        for limit in [1, 2, 3, 8, 9] {
            assert_eq!(
                all_pages(conn, &DonorFilter::default(), limit),
                sorted,
                "limit {limit}"
            );
        }
        let van = DonorFilter {
            words: words(&["van"]),
            ..Default::default()
        };
        let van_all = search(conn, van.clone());
        assert_eq!(van_all.len(), 5);
        assert_eq!(all_pages(conn, &van, 2), van_all);

        // The cursor is "{rank}\t{name_folded}\t{id}" of the page's last row.
        let page = donors::search(conn, &DonorFilter::default(), None, 2).expect("page");
        let last = &page.items[1];
        assert_eq!(
            page.next,
            Some(format!("0\t{}\t{}", last.name_folded, last.id))
        );
        for bad in ["no tab", "2\tname\tid", "x\tname\tid", "0\tno second tab"] {
            assert!(
                matches!(
                    donors::search(conn, &DonorFilter::default(), Some(bad), 2),
                    Err(DbError::BadCursor)
                ),
                "{bad:?}"
            );
        }
    }
}

#[test]
fn donor_update_stats_and_lock() {
    for (_db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let mut d = donor_row("hoang van nam");
        d.phone = Some("0987000000".to_owned());
        donors::insert_row(conn, &d).expect("donor");

        let t = now();
        let updated = donors::update(
            conn,
            &d.id,
            &DonorChanges {
                full_name: Some("Hoàng Văn Nam".to_owned()),
                phone: Some(None),
                weight_kg: Some(Some(61.5)),
                updated_at: Some(t),
                ..Default::default()
            },
        )
        .expect("update");
        assert_eq!(updated.full_name, "Hoàng Văn Nam");
        assert_eq!(updated.phone, None, "Some(None) clears");
        assert_eq!(updated.weight_kg, Some(61.5));
        assert_eq!(updated.updated_at, t);
        assert_eq!(updated.name_folded, d.name_folded, "None leaves");
        assert_eq!(
            donors::update(conn, &d.id, &DonorChanges::default()).expect("empty update"),
            updated
        );
        assert!(matches!(
            donors::update(conn, "missing", &DonorChanges::default()),
            Err(DbError::NotFound)
        ));
        assert!(matches!(
            donors::update(
                conn,
                "missing",
                &DonorChanges {
                    reserve: Some(true),
                    ..Default::default()
                }
            ),
            Err(DbError::NotFound)
        ));

        let stats = DonorStats {
            collected_count: 2,
            first_collected_on: Some(date(2025, 1, 5)),
            last_donation_at: Some(now()),
            last_component: Some("whole_blood".to_owned()),
            next_eligible_on: Some(date(2025, 6, 1)),
            deferred_until: None,
            permanently_deferred: false,
            last_chapter_id: None,
        };
        donors::set_stats(conn, &d.id, &stats).expect("stats");
        let back = donors::find(conn, &d.id).expect("find").expect("donor");
        assert_eq!(back.collected_count, 2);
        assert_eq!(back.first_collected_on, stats.first_collected_on);
        assert_eq!(back.last_donation_at, stats.last_donation_at);
        assert_eq!(back.next_eligible_on, stats.next_eligible_on);
        // None in the stats writes NULL.
        let cleared = DonorStats::default();
        donors::set_stats(conn, &d.id, &cleared).expect("stats");
        let back = donors::find(conn, &d.id).expect("find").expect("donor");
        assert_eq!(back.first_collected_on, None);
        assert_eq!(back.last_component, None);
        assert!(matches!(
            donors::set_stats(conn, "missing", &stats),
            Err(DbError::NotFound)
        ));

        let before = donors::find(conn, &d.id).expect("find");
        assert!(hienmau_db::write_tx(conn, |c| donors::lock(c, &d.id)).expect("lock"));
        assert_eq!(
            donors::find(conn, &d.id).expect("find"),
            before,
            "lock changes nothing"
        );
        assert!(!donors::lock(conn, "missing").expect("lock"));
    }
}

#[test]
fn drives_list_by_overlap_and_subtree() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let root = chapter(conn, "province", None);
        let child = chapter(conn, "city", Some(&root));
        let grandchild = chapter(conn, "ward", Some(&child));
        let other = chapter(conn, "other province", None);
        let mk = |conn: &mut DbConn, ch: &str, s: (u32, u32), e: (u32, u32), y: i32| {
            let d = drive_row(ch, date(y, s.0, s.1), date(y, e.0, e.1));
            drives::insert(conn, &d).expect("drive");
            d
        };
        let d1 = mk(conn, &root.id, (1, 1), (1, 3), 2025);
        let d2 = mk(conn, &child.id, (1, 3), (1, 5), 2025);
        let d3 = mk(conn, &other.id, (1, 10), (1, 10), 2025);
        let d4 = mk(conn, &grandchild.id, (12, 31), (12, 31), 2024);
        let d4 = {
            // Spans the new year: Dec 31 2024 – Jan 1 2025.
            let ch = drives::update(
                conn,
                &d4.id,
                &DriveChanges {
                    ends_on: Some(date(2025, 1, 1)),
                    ..Default::default()
                },
            )
            .expect("update");
            assert_eq!(ch.ends_on, date(2025, 1, 1));
            ch
        };
        let d5 = mk(conn, &child.id, (2, 1), (2, 2), 2025);
        let d6 = mk(conn, &other.id, (1, 1), (1, 1), 2025);

        let ids = |v: &[Drive]| v.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
        let by_start = |mut v: Vec<&Drive>| {
            v.sort_by(|a, b| (a.starts_on, &a.id).cmp(&(b.starts_on, &b.id)));
            v.into_iter().map(|d| d.id.clone()).collect::<Vec<_>>()
        };
        let list = |conn: &mut DbConn, f: DriveFilter| {
            drives::list(conn, &f, None, 100).expect("list").items
        };

        let all = list(conn, DriveFilter::default());
        assert_eq!(
            ids(&all),
            by_start(vec![&d1, &d2, &d3, &d4, &d5, &d6]),
            "{:?}",
            db.backend
        );

        // At least one day in [Jan 3, Jan 10]: ends on the first day, starts on the last.
        let r = list(
            conn,
            DriveFilter {
                overlaps: Some((date(2025, 1, 3), date(2025, 1, 10))),
                ..Default::default()
            },
        );
        assert_eq!(ids(&r), by_start(vec![&d1, &d2, &d3]));
        // The year 2024 catches the drive spanning new year.
        let r = list(
            conn,
            DriveFilter {
                overlaps: Some((date(2024, 1, 1), date(2024, 12, 31))),
                ..Default::default()
            },
        );
        assert_eq!(ids(&r), vec![d4.id.clone()]);

        // Subtrees.
        let r = list(
            conn,
            DriveFilter {
                chapter_path_prefix: Some(root.path.clone()),
                ..Default::default()
            },
        );
        assert_eq!(ids(&r), by_start(vec![&d1, &d2, &d4, &d5]));
        let r = list(
            conn,
            DriveFilter {
                chapter_path_prefix: Some(child.path.clone()),
                ..Default::default()
            },
        );
        assert_eq!(ids(&r), by_start(vec![&d2, &d4, &d5]));
        let r = list(
            conn,
            DriveFilter {
                overlaps: Some((date(2025, 1, 1), date(2025, 1, 1))),
                chapter_path_prefix: Some(root.path.clone()),
            },
        );
        assert_eq!(ids(&r), by_start(vec![&d1, &d4]));

        // Paging, ties on starts_on broken by id.
        for limit in [1, 2, 4, 6, 7] {
            let mut got = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = drives::list(conn, &DriveFilter::default(), after.as_deref(), limit)
                    .expect("page");
                got.extend(page.items);
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            assert_eq!(got, all, "limit {limit}");
        }
        let page = drives::list(conn, &DriveFilter::default(), None, 1).expect("page");
        assert_eq!(
            page.next,
            Some(format!("{}\t{}", all[0].starts_on, all[0].id))
        );
        assert!(matches!(
            drives::list(conn, &DriveFilter::default(), Some("not-a-date\tx"), 1),
            Err(DbError::BadCursor)
        ));

        // Updates.
        let changed = drives::update(
            conn,
            &d5.id,
            &DriveChanges {
                name: Some("Hành trình đỏ".to_owned()),
                target_units: Some(Some(300)),
                ..Default::default()
            },
        )
        .expect("update");
        assert_eq!(changed.name, "Hành trình đỏ");
        assert_eq!(changed.target_units, Some(300));
        assert_eq!(
            drives::update(conn, &d5.id, &DriveChanges::default()).expect("noop"),
            changed
        );
        assert!(matches!(
            drives::update(conn, "missing", &DriveChanges::default()),
            Err(DbError::NotFound)
        ));
    }
}

#[test]
fn tally_counts_by_hand() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let backend = db.backend;
        let ch = chapter(conn, "chapter", None);
        let h = hospital(conn, "hospital");
        let req = request_row(&h.id, at(2025, 4, 1, 8, 0));
        emergency::insert_request(conn, &req).expect("request");

        let past = drive_row(&ch.id, date(2025, 5, 10), date(2025, 5, 10));
        drives::insert(conn, &past).expect("drive");
        let ep = event_row(&past, date(2025, 5, 10));
        events::insert(conn, &ep).expect("event");
        let drive = drive_row(&ch.id, date(2025, 6, 1), date(2025, 6, 3));
        drives::insert(conn, &drive).expect("drive");
        // Inserted out of date order: by_event is by held_on.
        let e3 = event_row(&drive, date(2025, 6, 3));
        let e1 = event_row(&drive, date(2025, 6, 1));
        let e2 = event_row(&drive, date(2025, 6, 2));
        for e in [&e3, &e1, &e2] {
            events::insert(conn, e).expect("event");
        }
        assert_eq!(
            events::list_for_drive(conn, &drive.id).expect("events"),
            vec![e1.clone(), e2.clone(), e3.clone()]
        );

        let donor = |conn: &mut DbConn, name: &str, group: Option<&str>, prior: i32| {
            let mut d = donor_row(name);
            d.blood_group = group.map(str::to_owned);
            d.prior_donations = prior;
            donors::insert_row(conn, &d).expect("donor");
            d
        };
        let a = donor(conn, "a", Some("O+"), 0);
        let b = donor(conn, "b", Some("A+"), 0);
        let c = donor(conn, "c", None, 3);
        let d = donor(conn, "d", Some("O+"), 0);
        let e = donor(conn, "e", Some("O+"), 0);
        let f = donor(conn, "f", Some("AB+"), 0);
        let g = donor(conn, "g", Some("B+"), 0);
        let hh = donor(conn, "h", Some("B+"), 0);

        let ins = |conn: &mut DbConn, row: hienmau_db::models::Donation| {
            donations::insert(conn, &row).expect("donation");
            row
        };
        let may = at(2025, 5, 10, 9, 0);
        // A: collected at the past drive first; not first-time here.
        ins(conn, donation_row(&a.id, &past, &ep, may));
        ins(conn, donation_row(&a.id, &drive, &e1, at(2025, 6, 1, 9, 0)));
        // B: first-time, twice here (450 + 250).
        let mut b1 = donation_row(&b.id, &drive, &e1, at(2025, 6, 1, 9, 30));
        b1.volume_ml = 450;
        ins(conn, b1);
        let mut b2 = donation_row(&b.id, &drive, &e2, at(2025, 6, 2, 9, 30));
        b2.volume_ml = 250;
        b2.component = "platelets".to_owned();
        ins(conn, b2);
        // C: prior paper donations: not first-time; unknown group.
        ins(
            conn,
            donation_row(&c.id, &drive, &e2, at(2025, 6, 2, 10, 0)),
        );
        // D: an earlier collection that was voided does not count: first-time.
        let d_past = ins(conn, donation_row(&d.id, &past, &ep, may));
        donations::void(conn, &d_past.id, "wrong donor", "tester", now()).expect("void");
        ins(
            conn,
            donation_row(&d.id, &drive, &e2, at(2025, 6, 2, 11, 0)),
        );
        // E: deferred here only.
        ins(
            conn,
            deferred(
                donation_row(&e.id, &drive, &e1, at(2025, 6, 1, 10, 0)),
                date(2025, 7, 1),
            ),
        );
        // F: a collection and a deferral here, both voided.
        let f1 = ins(
            conn,
            donation_row(&f.id, &drive, &e2, at(2025, 6, 2, 12, 0)),
        );
        let f2 = ins(
            conn,
            deferred(
                donation_row(&f.id, &drive, &e2, at(2025, 6, 2, 12, 5)),
                date(2025, 7, 1),
            ),
        );
        donations::void(conn, &f1.id, "test", "tester", now()).expect("void");
        donations::void(conn, &f2.id, "test", "tester", now()).expect("void");
        // G: gave for an emergency request in April: not first-time here.
        let mut g0 = donation_row(&g.id, &past, &ep, at(2025, 4, 1, 12, 0));
        g0.event_id = None;
        g0.drive_id = None;
        g0.emergency_request_id = Some(req.id.clone());
        ins(conn, g0);
        ins(
            conn,
            donation_row(&g.id, &drive, &e1, at(2025, 6, 1, 11, 0)),
        );
        // H: only deferred before: first-time here.
        ins(
            conn,
            deferred(donation_row(&hh.id, &past, &ep, may), date(2025, 5, 20)),
        );
        ins(
            conn,
            donation_row(&hh.id, &drive, &e1, at(2025, 6, 1, 12, 0)),
        );

        let t = donations::tally(conn, &drive.id).expect("tally");
        assert_eq!(
            t,
            donations::Tally {
                units: 7,
                volume_ml: 350 + 450 + 250 + 350 + 350 + 350 + 350,
                deferrals: 1,
                donors: 6,
                first_time_donors: 3,
                by_blood_group: vec![
                    ("A+".to_owned(), 2),
                    ("B+".to_owned(), 2),
                    ("O+".to_owned(), 2),
                    ("unknown".to_owned(), 1),
                ],
                by_event: vec![(e1.id.clone(), 4), (e2.id.clone(), 3), (e3.id.clone(), 0)],
            },
            "{backend:?}"
        );

        let empty = drive_row(&ch.id, date(2025, 8, 1), date(2025, 8, 1));
        drives::insert(conn, &empty).expect("drive");
        assert_eq!(
            donations::tally(conn, &empty.id).expect("tally"),
            donations::Tally::default()
        );

        assert_eq!(
            drives::units_by_drive(conn, &[drive.id.clone(), past.id.clone(), empty.id.clone()])
                .expect("units"),
            vec![
                (drive.id.clone(), 7),
                (past.id.clone(), 1),
                (empty.id.clone(), 0)
            ]
        );
        assert_eq!(
            donations::count_for_request(conn, &req.id).expect("count"),
            1
        );

        // History: not voided, both outcomes, by (donated_at, id).
        let hist = donations::history(conn, &hh.id).expect("history");
        assert_eq!(hist.len(), 2);
        assert_eq!(hist[0].outcome, "deferred");
        assert_eq!(hist[1].outcome, "collected");
        assert!(donations::history(conn, &f.id).expect("history").is_empty());
        let hist_d = donations::history(conn, &d.id).expect("history");
        assert_eq!(hist_d.len(), 1, "the voided one is left out");
    }
}

#[test]
fn first_time_ties_and_history_order() {
    for (_db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let ch = chapter(conn, "chapter", None);
        let x = drive_row(&ch.id, date(2025, 3, 1), date(2025, 3, 1));
        let y = drive_row(&ch.id, date(2025, 3, 1), date(2025, 3, 1));
        drives::insert(conn, &x).expect("drive");
        drives::insert(conn, &y).expect("drive");
        let ex = event_row(&x, date(2025, 3, 1));
        let ey = event_row(&y, date(2025, 3, 1));
        events::insert(conn, &ex).expect("event");
        events::insert(conn, &ey).expect("event");
        let d = donor_row("twin timestamps");
        donors::insert_row(conn, &d).expect("donor");
        // Two collections at the same instant at two drives: exactly one drive counts the
        // donor as first-time (ties broken by id).
        let t = at(2025, 3, 1, 8, 0);
        let mut rows = vec![
            donation_row(&d.id, &x, &ex, t),
            donation_row(&d.id, &y, &ey, t),
        ];
        // A later one, inserted first, microseconds apart.
        let mut later = donation_row(&d.id, &x, &ex, t + chrono::TimeDelta::microseconds(1));
        later.outcome = "deferred".to_owned();
        donations::insert(conn, &later).expect("donation");
        for r in &rows {
            donations::insert(conn, r).expect("donation");
        }
        let fx = donations::tally(conn, &x.id)
            .expect("tally")
            .first_time_donors;
        let fy = donations::tally(conn, &y.id)
            .expect("tally")
            .first_time_donors;
        assert_eq!(fx + fy, 1);

        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows.push(later);
        assert_eq!(donations::history(conn, &d.id).expect("history"), rows);
    }
}

#[test]
fn client_refs_voids_and_awards() {
    for (_db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let ch = chapter(conn, "chapter", None);
        let drive = drive_row(&ch.id, date(2025, 3, 1), date(2025, 3, 1));
        drives::insert(conn, &drive).expect("drive");
        let ev = event_row(&drive, date(2025, 3, 1));
        events::insert(conn, &ev).expect("event");
        let d = donor_row("donor");
        donors::insert_row(conn, &d).expect("donor");

        let mut row = donation_row(&d.id, &drive, &ev, at(2025, 3, 1, 8, 0));
        row.client_ref = Some("dev-1:1".to_owned());
        donations::insert(conn, &row).expect("donation");
        assert_eq!(
            donations::find_by_client_ref(conn, &ev.id, "dev-1:1").expect("find"),
            Some(row.clone())
        );
        assert_eq!(
            donations::find_by_client_ref(conn, &ev.id, "dev-1:2").expect("find"),
            None
        );
        assert_eq!(
            donations::find_by_client_ref(conn, "other", "dev-1:1").expect("find"),
            None
        );

        let when = now();
        let voided =
            donations::void(conn, &row.id, "entered twice", "admin-1", when).expect("void");
        assert!(voided.voided);
        assert_eq!(voided.void_reason.as_deref(), Some("entered twice"));
        assert_eq!(voided.voided_by.as_deref(), Some("admin-1"));
        assert_eq!(voided.voided_at, Some(when));
        let again = donations::void(conn, &row.id, "other", "admin-2", now()).expect("void");
        assert_eq!(again, voided, "the first void stands");
        assert!(matches!(
            donations::void(conn, "missing", "x", "y", now()),
            Err(DbError::NotFound)
        ));

        assert_eq!(awards::highest_tier(conn, &d.id).expect("tier"), None);
        assert!(awards::list_for_donor(conn, &d.id)
            .expect("list")
            .is_empty());
        for tier in [5, 20, 10] {
            awards::insert(
                conn,
                &Award {
                    id: new_id(),
                    donor_id: d.id.clone(),
                    tier,
                    awarded_on: date(2025, 12, 26),
                    note: None,
                    recorded_by: "honors".to_owned(),
                    created_at: now(),
                    voided: false,
                    void_reason: None,
                    voided_at: None,
                    voided_by: None,
                },
            )
            .expect("award");
        }
        assert_eq!(awards::highest_tier(conn, &d.id).expect("tier"), Some(20));
        let tiers: Vec<i32> = awards::list_for_donor(conn, &d.id)
            .expect("list")
            .iter()
            .map(|a| a.tier)
            .collect();
        assert_eq!(tiers, vec![5, 10, 20]);
    }
}

#[test]
fn emergency_requests_list_and_status() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let h1 = hospital(conn, "h1");
        let h2 = hospital(conn, "h2");
        let mut all = Vec::new();
        for (i, (h, status, opened)) in [
            (&h1, "open", at(2025, 1, 1, 8, 0)),
            (&h1, "fulfilled", at(2025, 1, 2, 8, 0)),
            (&h2, "open", at(2025, 1, 2, 8, 0)),
            (&h1, "open", at(2025, 1, 3, 8, 0)),
            (
                &h2,
                "cancelled",
                at(2025, 1, 1, 8, 0) + chrono::TimeDelta::microseconds(123_456),
            ),
            (&h1, "open", at(2025, 1, 2, 8, 0)),
        ]
        .into_iter()
        .enumerate()
        {
            let mut r = request_row(&h.id, opened);
            r.status = status.to_owned();
            r.units_needed = i as i32 + 1;
            emergency::insert_request(conn, &r).expect("request");
            all.push(r);
        }
        let mut newest_first = all.clone();
        newest_first.sort_by(|a, b| (b.opened_at, &b.id).cmp(&(a.opened_at, &a.id)));
        let list = |conn: &mut DbConn, h: Option<&str>, s: Option<&str>, limit: i64| {
            let mut got = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page =
                    emergency::list_requests(conn, h, s, after.as_deref(), limit).expect("list");
                got.extend(page.items);
                match page.next {
                    Some(n) => after = Some(n),
                    None => return got,
                }
            }
        };
        for limit in [1, 2, 5, 6, 10] {
            assert_eq!(
                list(conn, None, None, limit),
                newest_first,
                "{:?} limit {limit}",
                db.backend
            );
        }
        let h1_open: Vec<_> = newest_first
            .iter()
            .filter(|r| r.hospital_id == h1.id && r.status == "open")
            .cloned()
            .collect();
        assert_eq!(h1_open.len(), 3);
        assert_eq!(list(conn, Some(&h1.id), Some("open"), 1), h1_open);
        assert_eq!(list(conn, Some(&h2.id), None, 1).len(), 2);
        assert_eq!(list(conn, None, Some("cancelled"), 1).len(), 1);
        assert!(matches!(
            emergency::list_requests(conn, None, None, Some("garbage\tid"), 1),
            Err(DbError::BadCursor)
        ));

        let r = &all[0];
        let closed = now();
        emergency::update_request_status(conn, &r.id, "fulfilled", 3, Some(closed))
            .expect("status");
        let back = emergency::find_request(conn, &r.id)
            .expect("find")
            .expect("request");
        assert_eq!(back.status, "fulfilled");
        assert_eq!(back.units_received, 3);
        assert_eq!(back.closed_at, Some(closed));
        emergency::update_request_status(conn, &r.id, "open", 3, None).expect("reopen");
        let back = emergency::find_request(conn, &r.id)
            .expect("find")
            .expect("request");
        assert_eq!(back.closed_at, None);
        assert!(matches!(
            emergency::update_request_status(conn, "missing", "open", 0, None),
            Err(DbError::NotFound)
        ));

        // Responses by (recorded_at, id).
        let donor = donor_row("reserve donor");
        donors::insert_row(conn, &donor).expect("donor");
        let mk = |resp: &str, t| DonorResponse {
            id: new_id(),
            request_id: r.id.clone(),
            donor_id: donor.id.clone(),
            response: resp.to_owned(),
            recorded_by: "h1-user".to_owned(),
            recorded_at: t,
        };
        let later = mk("accepted", at(2025, 1, 1, 9, 0));
        let earlier = mk("no_answer", at(2025, 1, 1, 8, 30));
        emergency::insert_response(conn, &later).expect("response");
        emergency::insert_response(conn, &earlier).expect("response");
        assert_eq!(
            emergency::list_responses(conn, &r.id).expect("list"),
            vec![earlier, later]
        );
        assert!(emergency::list_responses(conn, &all[1].id)
            .expect("list")
            .is_empty());
    }
}
