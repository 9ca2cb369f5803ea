//! The annual report: a province built like Lào Cai's 2023 report (16 drives across
//! chapters, 6,544 units at events, 461 emergency units, 30 donors reaching 5 donations that
//! year) with noise around it (other years, voided records, deferrals, awards), checked
//! exactly; chapter scope, coordinators, roles and parameters.

use std::collections::BTreeMap;

use crate::honors_support::*;
use hienmau_tests::{backend_tests, TestApp};
use serde_json::Value;

const CHAPTER_NAMES: [&str; 6] = [
    "Hội Chữ thập đỏ tỉnh Lào Cai",
    "Hội Chữ thập đỏ phường Cốc Lếu",
    "Hội Chữ thập đỏ phường Sa Pa",
    "Hội Chữ thập đỏ xã Bát Xát",
    "Hội Chữ thập đỏ xã Bảo Thắng",
    "Hội Chữ thập đỏ xã Bắc Hà",
];
/// The chapter (index into CHAPTER_NAMES) of each of the 16 drives of 2023.
const ALLOC: [usize; 16] = [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 0, 0];

struct Province {
    chapters: Vec<String>,
    /// Units of 2023 per chapter index.
    chapter_units: Vec<i64>,
    /// (drive id, units in 2023) of the 16 drives.
    drives: Vec<(String, i64)>,
    events_2023: i64,
    new_donors: i64,
    donors: i64,
    deferrals: i64,
    /// (event id, drive id) of the 2024 drive.
    last_event: (String, String),
}

fn build(app: &TestApp) -> Province {
    let root = app.chapter(CHAPTER_NAMES[0], None);
    let mut chapters = vec![root.clone()];
    for name in &CHAPTER_NAMES[1..] {
        chapters.push(app.chapter(name, Some(&root)));
    }
    // Units per drive: 320 + 10 i, the remainder on the first, 6,544 in all.
    let mut units: Vec<i64> = (0..16).map(|i| 320 + 10 * i).collect();
    let rest = 6544 - units.iter().sum::<i64>();
    units[0] += rest;
    assert_eq!(units.iter().sum::<i64>(), 6544);

    let mut province = Province {
        chapters: chapters.clone(),
        chapter_units: vec![0; 6],
        drives: Vec::new(),
        events_2023: 0,
        new_donors: 0,
        donors: 0,
        deferrals: 0,
        last_event: (String::new(), String::new()),
    };
    with_tx(app, |c| {
        // The 16 drives: the first spans New Year (from 2022-12-15), the others lie in 2023.
        let mut events: Vec<(String, String, String, chrono::NaiveDate)> = Vec::new();
        for (i, chapter_ix) in ALLOC.iter().enumerate() {
            let chapter = &chapters[*chapter_ix];
            let (from, to, days) = if i == 0 {
                (
                    "2022-12-15".to_owned(),
                    "2023-01-15".to_owned(),
                    ["2023-01-05", "2023-01-10"],
                )
            } else {
                let m = (i % 12) + 1;
                (
                    format!("2023-{m:02}-01"),
                    format!("2023-{m:02}-28"),
                    ["", ""],
                )
            };
            let d = insert_drive(c, chapter, &format!("Hành trình đỏ {i:02}"), &from, &to);
            let mut evs = Vec::new();
            for (k, first_drive_day) in days.iter().enumerate() {
                let held = if i == 0 {
                    day(first_drive_day)
                } else {
                    day(&from) + chrono::Days::new(4 + 10 * k as u64)
                };
                let e = insert_event(c, &d, &held.to_string());
                evs.push((e, d.clone(), chapter.clone(), held));
                province.events_2023 += 1;
            }
            events.extend(evs);
            province.drives.push((d, units[i]));
            province.chapter_units[*chapter_ix] += units[i];
        }
        // Each regular donor gives twice in 2023; the first 30 have 3 paper-era donations and
        // so reach 5 this year. Unit k goes to donor k / 2.
        let mut donor_ids = Vec::new();
        for n in 0..3272 {
            let prior = if n < 30 { 3 } else { 0 };
            donor_ids.push(insert_donor(
                c,
                &donor_row(&format!("Người hiến {n:05}"), prior),
            ));
        }
        let mut k = 0usize;
        for (i, (_, n)) in province.drives.clone().iter().enumerate() {
            for j in 0..*n {
                let (e, d, ch, held) = &events[2 * i + (j as usize % 2)];
                insert_donation(
                    c,
                    &donor_ids[k / 2],
                    At::Event(e, d, ch),
                    *held,
                    "collected",
                    false,
                );
                k += 1;
            }
        }
        assert_eq!(k, 6544);
        // Noise that must not count: donations of 2022 at the New Year drive (their donors are
        // not new), voided records, a drive of 2022 and one of 2024.
        let (e0, d0, ch0, _) = events[0].clone();
        for id in &donor_ids[100..110] {
            insert_donation(
                c,
                id,
                At::Event(&e0, &d0, &ch0),
                day("2022-12-20"),
                "collected",
                false,
            );
        }
        for id in &donor_ids[200..203] {
            insert_donation(
                c,
                id,
                At::Event(&e0, &d0, &ch0),
                day("2023-01-05"),
                "collected",
                true,
            );
        }
        let old = insert_drive(
            c,
            &chapters[1],
            "Chủ nhật đỏ 2022",
            "2022-03-01",
            "2022-03-31",
        );
        let old_ev = insert_event(c, &old, "2022-03-05");
        let next = insert_drive(
            c,
            &chapters[1],
            "Chủ nhật đỏ 2024",
            "2024-03-01",
            "2024-03-31",
        );
        let next_ev = insert_event(c, &next, "2024-03-05");
        province.last_event = (next_ev.clone(), next.clone());
        for n in 300..305 {
            insert_donation(
                c,
                &donor_ids[n],
                At::Event(&old_ev, &old, &chapters[1]),
                day("2022-03-05"),
                "collected",
                false,
            );
            insert_donation(
                c,
                &donor_ids[n + 10],
                At::Event(&next_ev, &next, &chapters[1]),
                day("2024-03-05"),
                "collected",
                false,
            );
        }
        // Deferrals of 2023: five at events, one voided.
        for id in &donor_ids[400..405] {
            insert_donation(
                c,
                id,
                At::Event(&e0, &d0, &ch0),
                day("2023-01-10"),
                "deferred",
                false,
            );
        }
        insert_donation(
            c,
            &donor_ids[405],
            At::Event(&e0, &d0, &ch0),
            day("2023-01-10"),
            "deferred",
            true,
        );

        // The emergency reserve: 461 units from 461 reserve donors over 50 requests, two
        // emergency deferrals, one voided unit; 20 donors who joined the reserve in 2024.
        let hospital = insert_hospital(c);
        let requests: Vec<String> = (0..50)
            .map(|i| insert_request(c, &hospital, day("2023-01-01") + chrono::Days::new(7 * i)))
            .collect();
        for n in 0..461u64 {
            let mut row = donor_row(&format!("Dự bị {n:03}"), 0);
            row.reserve = true;
            row.reserve_since = Some(day("2022-06-01"));
            let id = insert_donor(c, &row);
            let on = day("2023-01-02") + chrono::Days::new(n % 360);
            insert_donation(
                c,
                &id,
                At::Emergency(&requests[(n % 50) as usize]),
                on,
                "collected",
                false,
            );
        }
        insert_donation(
            c,
            &donor_ids[500],
            At::Emergency(&requests[0]),
            day("2023-05-05"),
            "deferred",
            false,
        );
        insert_donation(
            c,
            &donor_ids[501],
            At::Emergency(&requests[0]),
            day("2023-05-05"),
            "deferred",
            false,
        );
        insert_donation(
            c,
            &donor_ids[502],
            At::Emergency(&requests[1]),
            day("2023-05-05"),
            "collected",
            true,
        );
        for n in 0..20 {
            let mut row = donor_row(&format!("Dự bị mới {n:02}"), 0);
            row.reserve = true;
            row.reserve_since = Some(day("2024-02-01"));
            insert_donor(c, &row);
        }
        // Honors noise: a donor who held the 10 award since 2022 (not due); a donor who
        // reaches 5 only in 2024; an award dated 2024 does not settle 2023 (donor 29 stays due).
        let mut held = donor_row("Đã khen 10", 10);
        held.prior_last_donation_on = Some(day("2021-01-01"));
        let held = insert_donor(c, &held);
        hienmau_db::repo::awards::insert(
            c,
            &hienmau_db::models::Award {
                id: hienmau_db::new_id(),
                donor_id: held,
                tier: 10,
                awarded_on: day("2022-01-01"),
                note: None,
                recorded_by: "test".to_owned(),
                created_at: hienmau_db::now(),
                voided: false,
                void_reason: None,
                voided_at: None,
                voided_by: None,
            },
        )
        .unwrap();
        let later = insert_donor(c, &donor_row("Đủ năm 2024", 4));
        insert_donation(
            c,
            &later,
            At::Event(&next_ev, &next, &chapters[1]),
            day("2024-03-05"),
            "collected",
            false,
        );
        hienmau_db::repo::awards::insert(
            c,
            &hienmau_db::models::Award {
                id: hienmau_db::new_id(),
                donor_id: donor_ids[29].clone(),
                tier: 5,
                awarded_on: day("2024-01-10"),
                note: None,
                recorded_by: "test".to_owned(),
                created_at: hienmau_db::now(),
                voided: false,
                void_reason: None,
                voided_at: None,
                voided_by: None,
            },
        )
        .unwrap();
        // The fixture writes rows directly; keep the donors' counters as the write path does.
        use diesel::prelude::*;
        let ids: Vec<String> = hienmau_db::schema::donors::table
            .select(hienmau_db::schema::donors::id)
            .load(c)
            .unwrap();
        for id in ids {
            refresh(app, c, &id);
        }
    });
    province.donors = 3272 + 461;
    // Not new: the 30 with paper history, the 10 + 5 who gave in 2022.
    province.new_donors = 3272 - 30 - 10 - 5 + 461;
    province.deferrals = 5 + 2;
    province
}

fn report(app: &TestApp, token: &str, query: &str) -> Value {
    app.get(&format!("/api/v1/reports/annual?{query}"), token)
        .expect(200)
}

backend_tests! {
    fn a_province_like_lao_cai_2023(app) {
        let p = build(app);
        let (_, honors) = app.user("honors1", "honors", None, None);
        let r = report(app, &honors, "year=2023");
        assert_eq!(r["year"], 2023);
        assert_eq!(r["drives"], 16);
        assert_eq!(r["drive_units"], 6544);
        assert_eq!(r["emergency_units"], 461);
        assert_eq!(r["units"], 7005);
        assert_eq!(r["honor_due"], 30);
        assert_eq!(r["volume_ml"], 7005 * 350);
        assert_eq!(r["events"], p.events_2023);
        assert_eq!(r["donors"], p.donors);
        assert_eq!(r["new_donors"], p.new_donors);
        assert_eq!(r["deferrals"], p.deferrals);
        assert_eq!(r["reserve_donors"], 461);
        assert!(r["chapter_id"].is_null());

        // The chapter ranking: most units first, exactly.
        let mut want: Vec<(String, i64)> = p.chapters.iter().cloned().zip(p.chapter_units.iter().copied()).collect();
        want.sort_by_key(|w| std::cmp::Reverse(w.1));
        let distinct: std::collections::BTreeSet<i64> = p.chapter_units.iter().copied().collect();
        assert_eq!(distinct.len(), 6, "the fixture's chapter totals must differ");
        let got: Vec<(String, i64)> = r["by_chapter"].as_array().unwrap().iter()
            .map(|c| (c["chapter_id"].as_str().unwrap().to_owned(), c["units"].as_i64().unwrap()))
            .collect();
        assert_eq!(got, want);
        let leading = r["by_chapter"][0]["name"].as_str().unwrap().to_owned();
        let lead_ix = p.chapters.iter().position(|c| *c == want[0].0).unwrap();
        assert_eq!(leading, CHAPTER_NAMES[lead_ix]);
        // Drives: the 16 of the year, with their units, most first.
        let by_drive: BTreeMap<String, i64> = r["by_drive"].as_array().unwrap().iter()
            .map(|d| (d["drive_id"].as_str().unwrap().to_owned(), d["units"].as_i64().unwrap()))
            .collect();
        assert_eq!(by_drive, p.drives.iter().cloned().collect::<BTreeMap<_, _>>());
        let units: Vec<i64> = r["by_drive"].as_array().unwrap().iter().map(|d| d["units"].as_i64().unwrap()).collect();
        assert!(units.windows(2).all(|w| w[0] >= w[1]));

        // Other years see only their own records.
        let r22 = report(app, &honors, "year=2022");
        assert_eq!(r22["drives"], 2); // the 2022 drive and the New Year one
        assert_eq!(r22["drive_units"], 15);
        assert_eq!(r22["emergency_units"], 0);
        assert_eq!(r22["honor_due"], 0);
        let r24 = report(app, &honors, "year=2024");
        assert_eq!(r24["drives"], 1);
        assert_eq!(r24["units"], 6);
        assert_eq!(r24["reserve_donors"], 481);
        // 2024: the donor who reached 5 in 2024 and donor 29 (awarded 5 in 2024) no longer;
        // the other 29 are still due 5.
        assert_eq!(r24["honor_due"], 30);

        // A chapter's subtree: its drives and units only; emergency units have no chapter.
        let ix = 2;
        let chapter = &p.chapters[ix];
        let rc = report(app, &honors, &format!("year=2023&chapter_id={chapter}"));
        assert_eq!(rc["chapter_id"], chapter.as_str());
        assert_eq!(rc["drive_units"], p.chapter_units[ix]);
        assert_eq!(rc["emergency_units"], 0);
        assert_eq!(rc["units"], p.chapter_units[ix]);
        assert_eq!(rc["drives"], ALLOC.iter().filter(|a| **a == ix).count());
        assert_eq!(rc["by_chapter"].as_array().unwrap().len(), 1);
        assert_eq!(rc["reserve_donors"], 0);
        let root = report(app, &honors, &format!("year=2023&chapter_id={}", p.chapters[0]));
        assert_eq!(root["drive_units"], 6544);
        assert_eq!(root["emergency_units"], 0);
        assert_eq!(root["drives"], 16);

        // A coordinator: always its subtree; another chapter is 404.
        let (_, co) = app.user("co_sapa", "coordinator", Some(chapter), None);
        let own = report(app, &co, "year=2023");
        assert_eq!(own["drive_units"], p.chapter_units[ix]);
        assert_eq!(own["chapter_id"], chapter.as_str());
        assert_eq!(report(app, &co, &format!("year=2023&chapter_id={chapter}"))["units"], p.chapter_units[ix]);
        app.get(&format!("/api/v1/reports/annual?year=2023&chapter_id={}", p.chapters[0]), &co).expect_problem(404, "not_found");
        app.get(&format!("/api/v1/reports/annual?year=2023&chapter_id={}", p.chapters[1]), &co).expect_problem(404, "not_found");
        let (_, co_root) = app.user("co_root", "coordinator", Some(&p.chapters[0]), None);
        assert_eq!(report(app, &co_root, "year=2023")["drive_units"], 6544);
        assert_eq!(report(app, &co_root, &format!("year=2023&chapter_id={chapter}"))["drive_units"], p.chapter_units[ix]);
        // Admin too.
        assert_eq!(report(app, app.admin(), "year=2023")["units"], 7005);
    }

    fn honors_from_the_counters_match_honors_from_the_donations(app) {
        use hienmau_db::repo::honors::{due_page_from, source_for, DueQuery, DueSource};
        let p = build(app);
        let thresholds: Vec<u32> =
            app.state.settings.honors.tiers.tiers().iter().map(|t| t.threshold).collect();
        with_tx(app, |c| {
            // A voided latest donation and an emergency latest donation on top of the fixture.
            let v = insert_donor(c, &donor_row("Hủy gần nhất", 4));
            insert_donation(c, &v, At::Event(&p.last_event.0, &p.last_event.1, &p.chapters[3]), day("2024-03-01"), "collected", false);
            insert_donation(c, &v, At::Event(&p.last_event.0, &p.last_event.1, &p.chapters[4]), day("2024-03-02"), "collected", true);
            let h = insert_hospital(c);
            let r = insert_request(c, &h, day("2024-03-03"));
            let e = insert_donor(c, &donor_row("Khẩn cấp gần nhất", 9));
            insert_donation(c, &e, At::Event(&p.last_event.0, &p.last_event.1, &p.chapters[2]), day("2024-03-01"), "collected", false);
            insert_donation(c, &e, At::Emergency(&r), day("2024-03-03"), "collected", false);
            refresh(app, c, &v);
            refresh(app, c, &e);

            let last_day = day("2024-12-31");
            assert_eq!(source_for(c, last_day).unwrap(), DueSource::Counters);
            assert_eq!(source_for(c, day("2024-03-02")).unwrap(), DueSource::Later);
            let path = hienmau_db::repo::chapters::find(c, &p.chapters[3]).unwrap().unwrap().path;
            let mut sizes = Vec::new();
            for (min_tier, prefix) in [(None, None), (Some(10), None), (None, Some(path))] {
                let q = DueQuery { as_of: last_day, thresholds: thresholds.clone(), min_tier, chapter_path_prefix: prefix };
                let from_counters = due_page_from(c, &q, DueSource::Counters, None, 100_000).unwrap();
                let from_donations = due_page_from(c, &q, DueSource::Donations, None, 100_000).unwrap();
                assert_eq!(from_counters.items, from_donations.items, "{q:?}");
                sizes.push(from_donations.items.len());
            }
            // The whole list, the one due 10, and the one chapter's (none of them empty).
            assert!(sizes.iter().all(|n| *n > 0), "{sizes:?}");

            // Past days: the counters less the later donations give the same rows and count as
            // the donations up to the day, for every day on which some donor's state differs.
            let path = hienmau_db::repo::chapters::find(c, &p.chapters[3]).unwrap().unwrap().path;
            let mut differs = 0;
            for d in ["2019-12-31", "2022-06-30", "2023-12-31", "2024-03-01", "2024-03-02"] {
                let as_of = day(d);
                assert_eq!(source_for(c, as_of).unwrap(), DueSource::Later, "{d}");
                for (min_tier, prefix) in [(None, None), (Some(10), None), (None, Some(path.clone()))] {
                    let q = DueQuery { as_of, thresholds: thresholds.clone(), min_tier, chapter_path_prefix: prefix };
                    let later = due_page_from(c, &q, DueSource::Later, None, 100_000).unwrap().items;
                    let reference = due_page_from(c, &q, DueSource::Donations, None, 100_000).unwrap().items;
                    assert_eq!(later, reference, "{q:?}");
                    let counters = due_page_from(c, &q, DueSource::Counters, None, 100_000).unwrap().items;
                    differs += usize::from(counters != reference);
                    assert_eq!(hienmau_db::repo::honors::due_count(c, &q).unwrap(), reference.len() as i64, "{q:?}");
                }
            }
            // Otherwise the comparison above proves nothing about the later donations.
            assert!(differs > 0, "no past day where the counters alone are wrong");
            let q = DueQuery { as_of: last_day, thresholds: thresholds.clone(), min_tier: None, chapter_path_prefix: None };
            let rows = due_page_from(c, &q, DueSource::Counters, None, 100_000).unwrap().items;
            let ev = rows.iter().find(|r| r.donor_id == v).unwrap();
            assert_eq!((ev.donation_count, ev.chapter_id.as_deref()), (5, Some(p.chapters[3].as_str())));
            let em = rows.iter().find(|r| r.donor_id == e).unwrap();
            assert_eq!((em.donation_count, em.chapter_id.as_deref()), (11, None));
        });
    }

    fn parameters_and_roles(app) {
        let root = app.chapter("Tỉnh", None);
        let h = app.hospital("Bệnh viện");
        let (_, hospital) = app.user("hosp1", "hospital", None, Some(&h));
        let (_, honors) = app.user("honors1", "honors", None, None);
        let (_, co) = app.user("co1", "coordinator", Some(&root), None);
        app.get("/api/v1/reports/annual?year=2023", &hospital).expect_problem(403, "forbidden");
        app.call("GET", "/api/v1/reports/annual?year=2023", None, None).expect_problem(401, "unauthorized");
        for token in [honors.as_str(), co.as_str(), app.admin()] {
            app.get("/api/v1/reports/annual", token).expect_problem(400, "invalid_request");
            app.get("/api/v1/reports/annual?year=abc", token).expect_problem(400, "invalid_request");
            app.get("/api/v1/reports/annual?year=2023&chapter_id=nope", token).expect_problem(400, "invalid_request");
            let r = app.get("/api/v1/reports/annual?year=1899", token);
            r.expect_problem(422, "invalid_request");
            app.get("/api/v1/reports/annual?year=2201", token).expect_problem(422, "invalid_request");
            app.get(&format!("/api/v1/reports/annual?year=2023&chapter_id={}", uuid::Uuid::new_v4()), token)
                .expect_problem(404, "not_found");
            let empty = app.get("/api/v1/reports/annual?year=2200", token).expect(200);
            for field in ["drives", "events", "units", "drive_units", "emergency_units", "volume_ml",
                          "deferrals", "donors", "new_donors", "reserve_donors", "honor_due"] {
                assert_eq!(empty[field], 0, "{field}");
            }
            assert_eq!(empty["by_chapter"], serde_json::json!([]));
            assert_eq!(empty["by_drive"], serde_json::json!([]));
        }
    }

    fn units_with_subordinates_on_a_three_level_chapter_tree(app) {
        // Province (no drive of its own) > district-level chapter (3 units) > commune (4 units
        // at drives and 1 emergency unit of a donor it registered); a sibling commune with no
        // units is not listed.
        let province = app.chapter("Hội Chữ thập đỏ tỉnh Lào Cai", None);
        let city = app.chapter("Hội Chữ thập đỏ thành phố Lào Cai", Some(&province));
        let commune = app.chapter("Hội Chữ thập đỏ phường Cốc Lếu", Some(&city));
        let idle = app.chapter("Hội Chữ thập đỏ phường Kim Tân", Some(&city));
        let (_, honors) = app.user("honors1", "honors", None, None);
        let (_, co_city) = app.user("co_city", "coordinator", Some(&city), None);
        with_tx(app, |c| {
            let dc = insert_drive(c, &city, "Hành trình đỏ thành phố", "2024-01-01", "2024-12-31");
            let ec = insert_event(c, &dc, "2024-05-01");
            let dm = insert_drive(c, &commune, "Chủ nhật đỏ Cốc Lếu", "2024-01-01", "2024-12-31");
            let em = insert_event(c, &dm, "2024-06-01");
            for n in 0..3 {
                let id = insert_donor(c, &donor_row(&format!("Thành phố {n}"), 0));
                insert_donation(c, &id, At::Event(&ec, &dc, &city), day("2024-05-01"), "collected", false);
            }
            for n in 0..4 {
                let id = insert_donor(c, &donor_row(&format!("Cốc Lếu {n}"), 0));
                insert_donation(c, &id, At::Event(&em, &dm, &commune), day("2024-06-01"), "collected", false);
            }
            let mut row = donor_row("Khẩn cấp Cốc Lếu", 0);
            row.chapter_id = Some(commune.clone());
            let id = insert_donor(c, &row);
            let h = insert_hospital(c);
            let r = insert_request(c, &h, day("2024-07-01"));
            insert_donation(c, &id, At::Emergency(&r), day("2024-07-01"), "collected", false);
            // An emergency unit of a donor registered nowhere counts only without a chapter.
            let nowhere = insert_donor(c, &donor_row("Không chi hội", 0));
            insert_donation(c, &nowhere, At::Emergency(&r), day("2024-07-02"), "collected", false);
        });
        let rows = |r: &Value| -> Vec<(String, i64, i64)> {
            r["by_chapter"].as_array().unwrap().iter()
                .map(|c| (c["chapter_id"].as_str().unwrap().to_owned(),
                          c["units"].as_i64().unwrap(),
                          c["units_with_subordinates"].as_i64().unwrap()))
                .collect()
        };
        let all = app.get("/api/v1/reports/annual?year=2024", &honors).expect(200);
        assert_eq!(all["units"], 9);
        assert_eq!(all["emergency_units"], 2);
        // Most own units first: the commune (4 + 1), the city (3), the province (0).
        assert_eq!(rows(&all), [
            (commune.clone(), 5, 5),
            (city.clone(), 3, 8),
            (province.clone(), 0, 8),
        ]);
        assert!(!rows(&all).iter().any(|r| r.0 == idle));
        assert_eq!(all["by_chapter"][2]["name"], "Hội Chữ thập đỏ tỉnh Lào Cai");
        // The city's report: the chapters above it are not listed.
        for (token, query) in [(&honors, format!("year=2024&chapter_id={city}")), (&co_city, "year=2024".to_owned())] {
            let r = app.get(&format!("/api/v1/reports/annual?{query}"), token).expect(200);
            assert_eq!(r["units"], 8);
            assert_eq!(r["emergency_units"], 1);
            assert_eq!(rows(&r), [(commune.clone(), 5, 5), (city.clone(), 3, 8)]);
        }
        let r = app.get(&format!("/api/v1/reports/annual?year=2024&chapter_id={commune}"), &honors).expect(200);
        assert_eq!(r["units"], 5);
        assert_eq!(r["drive_units"], 4);
        assert_eq!(r["emergency_units"], 1);
        assert_eq!(r["donors"], 5);
        assert_eq!(r["new_donors"], 5);
        assert_eq!(rows(&r), [(commune.clone(), 5, 5)]);
        let r = app.get(&format!("/api/v1/reports/annual?year=2024&chapter_id={idle}"), &honors).expect(200);
        assert_eq!(r["units"], 0);
        assert_eq!(r["by_chapter"], serde_json::json!([]));
    }
}
