//! Honors: tiers from configuration; donors due a tier around every threshold, with and
//! without awards, with prior donations, as of days before and after donations and awards;
//! `min_tier` and chapter filters; paging; the award rules; the CSV download.

use crate::drive_support::*;
use crate::honors_support::*;
use hienmau_tests::{backend_tests, TestApp};
use serde_json::{json, Value};

const THRESHOLDS: [i64; 9] = [5, 10, 15, 20, 30, 40, 50, 70, 100];

fn reached(count: i64) -> Option<i64> {
    THRESHOLDS.iter().rev().copied().find(|t| *t <= count)
}

fn award(app: &TestApp, token: &str, donor: &str, tier: i64, on: &str) -> hienmau_tests::Resp {
    app.post(
        "/api/v1/honors/awards",
        token,
        json!({ "donor_id": donor, "tier": tier, "awarded_on": on }),
    )
}

/// Today in the configured zone (Vietnam, UTC+7, no daylight saving).
fn today_in_vietnam() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive()
}

fn admin_token(app: &TestApp) -> String {
    app.admin().to_owned()
}

fn due(app: &TestApp, token: &str, query: &str) -> std::collections::BTreeMap<String, i64> {
    tiers_of(&eligible_all(app, token, query, 500))
}

backend_tests! {
    fn tiers_come_from_configuration_and_roles_are_enforced(app) {
        let w = World::new(app);
        let tiers = app.get("/api/v1/honors/tiers", &w.honors).expect(200);
        let thresholds: Vec<i64> = tiers.as_array().unwrap().iter().map(|t| t["threshold"].as_i64().unwrap()).collect();
        assert_eq!(thresholds, THRESHOLDS);
        assert_eq!(tiers[0]["name"], "Giấy khen của Hội Chữ thập đỏ tỉnh");
        assert_eq!(tiers[5]["name"], "Kỷ niệm chương Vì sự nghiệp nhân đạo");
        app.get("/api/v1/honors/tiers", app.admin()).expect(200);
        for token in [&w.co_province, &w.hospital] {
            app.get("/api/v1/honors/tiers", token).expect_problem(403, "forbidden");
            app.get("/api/v1/honors/eligible", token).expect_problem(403, "forbidden");
            award(app, token, &uuid::Uuid::new_v4().to_string(), 5, "2024-01-01").expect_problem(403, "forbidden");
        }
        app.call("GET", "/api/v1/honors/eligible", None, None).expect_problem(401, "unauthorized");
        // Unreadable parameters are 400; an unknown chapter is 404.
        app.get("/api/v1/honors/eligible?as_of=2024-13-01", &w.honors).expect_problem(400, "invalid_request");
        app.get("/api/v1/honors/eligible?min_tier=-5", &w.honors).expect_problem(400, "invalid_request");
        app.get("/api/v1/honors/eligible?limit=-1", &w.honors).expect_problem(400, "invalid_request");
        app.get("/api/v1/honors/eligible?cursor=%21%21", &w.honors).expect_problem(400, "invalid_request");
        app.get(&format!("/api/v1/honors/eligible?chapter_id={}", uuid::Uuid::new_v4()), &w.honors)
            .expect_problem(404, "not_found");
        let empty = app.get("/api/v1/honors/eligible", &w.honors).expect(200);
        assert_eq!(empty["items"], json!([]));
        assert!(empty["next_cursor"].is_null());
    }

    fn due_tiers_just_below_at_and_above_every_threshold(app) {
        let (_, honors) = app.user("honors1", "honors", None, None);
        // Prior (paper-era) donations only: they count as of any day.
        let mut donors: Vec<(String, i64)> = Vec::new();
        with_tx(app, |c| {
            for t in THRESHOLDS {
                for (label, count) in [("duoi", t - 1), ("dung", t), ("tren", t + 1)] {
                    let id = insert_donor(c, &donor_row(&format!("Nguyễn Văn {label} {t:03}"), count as i32));
                    donors.push((id, count));
                }
            }
            insert_donor(c, &donor_row("Không Có Gì", 0));
        });
        let list = eligible_all(app, &honors, "", 500);
        let got = tiers_of(&list);
        for (id, count) in &donors {
            assert_eq!(got.get(id).copied(), reached(*count), "count {count}");
        }
        assert_eq!(list.len(), donors.iter().filter(|(_, c)| reached(*c).is_some()).count());
        // Sorted by tier, then folded name; paging one by one walks the same list.
        let keys: Vec<(i64, String)> = list.iter()
            .map(|i| (i["tier"].as_i64().unwrap(), hienmau_domain::text::fold(i["full_name"].as_str().unwrap())))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let one_by_one = eligible_all(app, &honors, "", 1);
        assert_eq!(one_by_one, list);
        let item = list.iter().find(|i| i["tier"] == 40).unwrap();
        assert_eq!(item["tier_name"], "Kỷ niệm chương Vì sự nghiệp nhân đạo");
        assert_eq!(item["date_of_birth"], "1985-03-02");
        assert!(item["last_donation_at"].is_null());

        // Awards settle their tier and every one below; a higher tier reached later is due.
        let find = |count: i64| donors.iter().find(|(_, c)| *c == count).unwrap().0.clone();
        award(app, &honors, &find(10), 10, "2024-01-10").expect(201); // at 10, holds 10
        award(app, &honors, &find(21), 5, "2024-01-10").expect(201); // 21, holds 5 → 20 due
        award(app, &honors, &find(51), 50, "2024-01-10").expect(201); // 51, holds 50
        award(app, &honors, &find(100), 70, "2024-01-10").expect(201); // 100, holds 70 → 100 due
        award(app, &honors, &find(49), 20, "2024-01-10").expect(201); // 49 (due 40), holds 20 → 40
        award(app, &honors, &find(41), 40, "2024-01-10").expect(201); // 41, holds 40
        let got = due(app, &honors, "");
        assert_eq!(got.get(&find(10)), None);
        assert_eq!(got.get(&find(21)), Some(&20));
        assert_eq!(got.get(&find(51)), None);
        assert_eq!(got.get(&find(100)), Some(&100));
        assert_eq!(got.get(&find(49)), Some(&40));
        assert_eq!(got.get(&find(41)), None);
        // Before the awards' day, they do not count yet.
        let before = due(app, &honors, "as_of=2024-01-09");
        assert_eq!(before.get(&find(10)), Some(&10));
        assert_eq!(before.get(&find(51)), Some(&50));
        // min_tier keeps the due tier at or above it.
        let high = due(app, &honors, "min_tier=50");
        assert!(high.values().all(|t| *t >= 50));
        assert_eq!(high.len(), got.values().filter(|t| **t >= 50).count());
        assert!(high.contains_key(&find(100)));
        // The donor read agrees (it counts every award held).
        let d = app.get(&format!("/api/v1/donors/{}", find(21)), &honors).expect(200);
        assert_eq!(d["honor_due_tier"], 20);
    }

    fn as_of_before_and_after_donations_awards_and_chapters(app) {
        let w = World::new(app);
        let admin = app.admin().to_owned();
        let prov_drive = drive(app, &admin, &w.province, "2024-01-01", "2024-12-31");
        let city_drive = drive(app, &admin, &w.city, "2024-01-01", "2024-12-31");
        let prov_ev = event(app, &admin, &prov_drive, "2024-03-01");
        let city_ev = event(app, &admin, &city_drive, "2024-06-01");

        let a = donor(app, json!({ "full_name": "Giàng Thị An", "prior_donations": 4 }));
        let b = donor(app, json!({ "full_name": "Lò Văn Bình", "prior_donations": 9 }));
        let c = donor(app, json!({ "full_name": "Vàng A Chư", "prior_donations": 4 }));
        let d = donor(app, json!({ "full_name": "Đặng Thị Dung", "prior_donations": 4, "chapter_id": w.city }));
        let e = donor(app, json!({ "full_name": "Hoàng Văn Em", "prior_donations": 14 }));
        donate_ok(app, &admin, &prov_ev, collected(&a, "whole_blood", 350, "2024-03-01"));
        donate_ok(app, &admin, &city_ev, collected(&a, "whole_blood", 350, "2024-06-01"));
        donate_ok(app, &admin, &city_ev, collected(&b, "whole_blood", 350, "2024-06-01"));
        let voided = donate_ok(app, &admin, &prov_ev, collected(&c, "whole_blood", 350, "2024-03-01"));
        app.post(&format!("/api/v1/donations/{voided}/void"), &admin, json!({ "reason": "nhầm người" })).expect(200);
        donate_ok(app, &admin, &prov_ev, collected(&e, "whole_blood", 350, "2024-03-01"));
        // D's only donation is for an emergency request (no chapter): D is listed under the
        // chapter that registered them, the city (issue 15; before, under no chapter).
        with_tx(app, |conn| {
            let h = insert_hospital(conn);
            let r = insert_request(conn, &h, day("2024-04-01"));
            insert_donation(conn, &d, At::Emergency(&r), day("2024-04-01"), "collected", false);
            refresh(app, conn, &d);
        });

        // Before the first donation: B (9 prior) is due 5, E (14) is due 10.
        let before = due(app, &w.honors, "as_of=2024-02-29");
        assert_eq!(before, [(b.clone(), 5), (e.clone(), 10)].into_iter().collect());
        // On the day of the donations.
        let list = eligible_all(app, &w.honors, "as_of=2024-03-01", 500);
        let got = tiers_of(&list);
        assert_eq!(got, [(a.clone(), 5), (b.clone(), 5), (e.clone(), 15)].into_iter().collect());
        let item_a = list.iter().find(|i| i["donor_id"] == a.as_str()).unwrap();
        assert_eq!(item_a["donation_count"], 5);
        assert_eq!(item_a["last_donation_at"], "2024-03-01T03:00:00Z");
        assert_eq!(item_a["chapter_id"], w.province.as_str());
        assert_eq!(item_a["full_name"], "Giàng Thị An");
        // Later: A gave again in the city; B reached 10; D (emergency) reached 5.
        let june = eligible_all(app, &w.honors, "as_of=2024-06-01", 500);
        let got = tiers_of(&june);
        assert_eq!(got, [(a.clone(), 5), (b.clone(), 10), (d.clone(), 5), (e.clone(), 15)].into_iter().collect());
        let item_a = june.iter().find(|i| i["donor_id"] == a.as_str()).unwrap();
        assert_eq!(item_a["donation_count"], 6);
        assert_eq!(item_a["chapter_id"], w.city.as_str());
        assert_eq!(item_a["last_donation_at"], "2024-06-01T03:00:00Z");
        let item_d = june.iter().find(|i| i["donor_id"] == d.as_str()).unwrap();
        assert_eq!(item_d["chapter_id"], w.city.as_str());
        // Order: tier, then folded name (Đặng < Giàng).
        let order: Vec<&str> = june.iter().map(|i| i["donor_id"].as_str().unwrap()).collect();
        assert_eq!(order, [d.as_str(), a.as_str(), b.as_str(), e.as_str()]);

        // Filters.
        assert_eq!(due(app, &w.honors, "as_of=2024-06-01&min_tier=10"),
            [(b.clone(), 10), (e.clone(), 15)].into_iter().collect());
        assert_eq!(due(app, &w.honors, "as_of=2024-06-01&min_tier=11"),
            [(e.clone(), 15)].into_iter().collect());
        let province = due(app, &w.honors, &format!("as_of=2024-06-01&chapter_id={}", w.province));
        assert_eq!(province, [(a.clone(), 5), (b.clone(), 10), (d.clone(), 5), (e.clone(), 15)].into_iter().collect());
        let city = due(app, &w.honors, &format!("as_of=2024-06-01&chapter_id={}", w.city));
        assert_eq!(city, [(a.clone(), 5), (b.clone(), 10), (d.clone(), 5)].into_iter().collect());
        // As of March, A's chapter was the province: not in the city's list.
        let city_march = due(app, &w.honors, &format!("as_of=2024-03-01&chapter_id={}", w.city));
        assert!(city_march.is_empty());

        // Awards: the count as of awarded_on must reach the tier.
        let r = award(app, &w.honors, &a, 5, "2024-02-29");
        invalid_field(&r, "tier");
        let r = award(app, &w.honors, &a, 7, "2024-06-15");
        invalid_field(&r, "tier");
        let r = award(app, &w.honors, &a, 10, "2024-06-15");
        invalid_field(&r, "tier");
        let r = award(app, &w.honors, &uuid::Uuid::new_v4().to_string(), 5, "2024-06-15");
        invalid_field(&r, "donor_id");
        let r = award(app, &w.honors, &c, 5, "2024-06-15"); // the voided donation does not count
        invalid_field(&r, "tier");
        app.post("/api/v1/honors/awards", &w.honors, json!({ "donor_id": a, "tier": "five", "awarded_on": "2024-06-15" }))
            .expect_problem(400, "invalid_request");
        let body = award(app, &w.honors, &a, 5, "2024-06-15").expect(201);
        assert_eq!(body["donor_id"], a.as_str());
        assert_eq!(body["tier"], 5);
        assert_eq!(body["awarded_on"], "2024-06-15");
        assert_eq!(body["tier_name"], "Giấy khen của Hội Chữ thập đỏ tỉnh");
        award(app, &w.honors, &a, 5, "2024-06-16").expect_problem(409, "conflict");
        award(app, &admin, &b, 10, "2024-07-01").expect(201);
        award(app, &w.honors, &b, 5, "2024-07-01").expect_problem(409, "conflict");
        award(app, &w.honors, &b, 10, "2024-07-02").expect_problem(409, "conflict");

        // As of the day before an award the donor is still due; from that day, not.
        assert_eq!(due(app, &w.honors, "as_of=2024-06-14").get(&a), Some(&5));
        assert_eq!(due(app, &w.honors, "as_of=2024-06-15").get(&a), None);
        assert_eq!(due(app, &w.honors, "as_of=2024-06-30").get(&b), Some(&10));
        assert_eq!(due(app, &w.honors, "as_of=2024-07-01").get(&b), None);

        // A donor's awards are readable on the donor.
        let awards = app.get(&format!("/api/v1/donors/{b}/awards"), &w.co_city).expect(200);
        assert_eq!(awards.as_array().unwrap().len(), 1);
        assert_eq!(awards[0]["tier"], 10);
        assert_eq!(awards[0]["awarded_on"], "2024-07-01");
        app.get(&format!("/api/v1/donors/{b}/awards"), &w.hospital).expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/donors/{}/awards", uuid::Uuid::new_v4()), &w.honors).expect_problem(404, "not_found");
        let recorded: Vec<String> = audit_actions(app).into_iter()
            .filter(|(a, _)| a == "award_recorded").map(|(_, d)| d).collect();
        assert_eq!(recorded.len(), 2);
        assert!(recorded[0].contains(&a));
    }

    fn csv_download(app) {
        let w = World::new(app);
        let (dung, formula) = with_tx(app, |c| {
            let mut dung = donor_row("Giàng Thị Dung", 5);
            dung.phone = Some("0912345678".to_owned());
            dung.commune = Some("Phường Cốc Lếu".to_owned());
            dung.prior_last_donation_on = Some(day("2023-12-20"));
            let dung = insert_donor(c, &dung);
            let mut f = donor_row("=1+2 Lò Văn Sử", 10);
            f.commune = Some("@SUM(A1)".to_owned());
            let f = insert_donor(c, &f);
            insert_donor(c, &donor_row("Chưa Đủ", 4));
            (dung, f)
        });
        let r = app.call_with("GET", "/api/v1/honors/eligible?as_of=2024-01-01&limit=1", Some(&w.honors), None,
            &[("Accept", "text/csv")]);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.content_type, "text/csv; charset=utf-8");
        assert!(r.header("content-disposition").unwrap().starts_with("attachment"), "{:?}", r.headers);
        assert!(r.text.starts_with('\u{feff}'), "no BOM: {:?}", &r.text[..20]);
        let lines: Vec<&str> = r.text.trim_start_matches('\u{feff}').split("\r\n").collect();
        // Every cell quoted: a spreadsheet splitting on `;` keeps each whole.
        let quoted = |cells: &[&str]| cells.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(",");
        assert_eq!(lines[0], quoted(&["donor_id", "full_name", "date_of_birth", "donation_count", "tier", "tier_name", "last_donation_at", "phone", "commune", "province", "chapter_id"]));
        // The whole list (the limit is for JSON pages), a trailing line end.
        assert_eq!(lines.len(), 4, "{}", r.text);
        assert_eq!(lines[3], "");
        let tier = "Giấy khen của Hội Chữ thập đỏ tỉnh";
        assert_eq!(lines[1], quoted(&[&dung, "Giàng Thị Dung", "1985-03-02", "5", "5", tier, "2023-12-20", "0912345678", "Phường Cốc Lếu", "Lào Cai", ""]));
        assert_eq!(lines[2], quoted(&[&formula, "'=1+2 Lò Văn Sử", "1985-03-02", "10", "10", tier, "", "", "'@SUM(A1)", "Lào Cai", ""]));
        // The bytes: UTF-8 BOM, then UTF-8 text.
        let bytes = r.text.as_bytes();
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
        // The OpenAPI document names both representations.
        let doc = app.call("GET", "/api/v1/openapi.json", None, None).expect(200);
        let content = &doc["paths"]["/api/v1/honors/eligible"]["get"]["responses"]["200"]["content"];
        assert!(content["text/csv"].is_object(), "{content}");
        assert!(content["application/json"].is_object(), "{content}");
        // Each export is audited.
        let exports: Vec<String> = audit_actions(app).into_iter()
            .filter(|(a, _)| a == "honors_exported").map(|(_, d)| d).collect();
        assert_eq!(exports.len(), 1);
        let detail: Value = serde_json::from_str(&exports[0]).unwrap();
        assert_eq!(detail["as_of"], "2024-01-01");
        // An empty list is a header row only; JSON is still the default.
        let r = app.call_with("GET", "/api/v1/honors/eligible?as_of=2024-01-01&min_tier=100", Some(app.admin()), None,
            &[("Accept", "text/csv, */*;q=0.1")]);
        assert_eq!(r.status, 200);
        assert_eq!(r.text.trim_start_matches('\u{feff}').lines().count(), 1);
        let json_list = app.get("/api/v1/honors/eligible?as_of=2024-01-01", &w.honors).expect(200);
        assert_eq!(json_list["items"].as_array().unwrap().len(), 2);
        assert_eq!(audit_actions(app).iter().filter(|(a, _)| a == "honors_exported").count(), 2);
    }

    fn csv_cells_stay_whole_where_spreadsheets_split_on_semicolons(app) {
        let w = World::new(app);
        with_tx(app, |c| {
            let mut d = donor_row("Nguyễn Văn;=1+1", 5);
            d.commune = Some("  =HYPERLINK(\"x\")".to_owned());
            insert_donor(c, &d);
        });
        let r = app.call_with("GET", "/api/v1/honors/eligible?as_of=2024-01-01", Some(&w.honors), None,
            &[("Accept", "text/csv")]);
        assert_eq!(r.status, 200, "{}", r.text);
        let line = r.text.split("\r\n").nth(1).unwrap();
        // The name is one quoted cell, so a `;`-splitting reader never sees `=1+1` on its own.
        assert!(line.contains(",\"Nguyễn Văn;=1+1\","), "{line}");
        // A formula after leading blanks is neutralised too (quotes doubled inside the cell).
        assert!(line.contains(",\"'  =HYPERLINK(\"\"x\"\")\","), "{line}");
        for cell in line.split("\",\"") {
            let cell = cell.trim_matches('"');
            assert!(!cell.trim_start().starts_with(['=', '+', '-', '@']), "{cell} in {line}");
        }
    }

    fn an_award_in_the_future_is_refused_and_a_voided_award_stops_counting(app) {
        let w = World::new(app);
        let today = today_in_vietnam();
        let year = today.format("%Y").to_string();
        let tomorrow = (today + chrono::Days::new(1)).to_string();
        let today = today.to_string();
        let a = donor(app, json!({ "full_name": "Giàng Thị An", "prior_donations": 5, "chapter_id": w.city }));

        // awarded_on after today: 422 naming it; today is accepted.
        let r = award(app, &w.honors, &a, 5, &tomorrow);
        invalid_field(&r, "awarded_on");
        invalid_field(&award(app, &w.honors, &a, 5, "2999-01-01"), "awarded_on");
        let first = award(app, &w.honors, &a, 5, &today).expect(201);
        assert_eq!(first["voided"], false);
        assert!(first["void_reason"].is_null() && first["voided_at"].is_null());
        let first_id = first["id"].as_str().unwrap().to_owned();
        let report = |token: &str| app.get(&format!("/api/v1/reports/annual?year={year}"), token).expect(200);
        let donor_view = || app.get(&format!("/api/v1/donors/{a}"), &w.honors).expect(200);
        assert!(due(app, &w.honors, "").is_empty());
        assert!(donor_view()["honor_due_tier"].is_null());
        assert_eq!(report(&w.honors)["honor_due"], 0);
        award(app, &w.honors, &a, 5, &today).expect_problem(409, "conflict");

        // Voiding: honors and admin only; a reason is required; an unknown award is 404.
        let void = |token: &str, id: &str, body: Value| app.post(&format!("/api/v1/honors/awards/{id}/void"), token, body);
        for token in [&w.co_city, &w.co_province, &w.hospital] {
            void(token, &first_id, json!({ "reason": "nhầm" })).expect_problem(403, "forbidden");
        }
        invalid_field(&void(&w.honors, &first_id, json!({ "reason": "  " })), "reason");
        void(&w.honors, &first_id, json!({})).expect_problem(400, "invalid_request");
        void(&w.honors, &uuid::Uuid::new_v4().to_string(), json!({ "reason": "nhầm" })).expect_problem(404, "not_found");
        let voided = void(&w.honors, &first_id, json!({ "reason": "Nhầm người được khen" })).expect(200);
        assert_eq!(voided["id"], first_id.as_str());
        assert_eq!(voided["voided"], true);
        assert_eq!(voided["void_reason"], "Nhầm người được khen");
        assert!(voided["voided_at"].is_string());
        // Voiding again answers the award unchanged (the first reason stays).
        let again = void(app.admin(), &first_id, json!({ "reason": "lần hai" })).expect(200);
        assert_eq!(again["void_reason"], "Nhầm người được khen");

        // The voided award counts for nothing: the donor is due again everywhere.
        assert_eq!(due(app, &w.honors, ""), [(a.clone(), 5)].into_iter().collect());
        assert_eq!(due(app, &w.honors, &format!("chapter_id={}", w.city)), [(a.clone(), 5)].into_iter().collect());
        assert_eq!(donor_view()["honor_due_tier"], 5);
        assert_eq!(report(&w.honors)["honor_due"], 1);
        // It is kept, and shown as voided.
        let listed = app.get(&format!("/api/v1/donors/{a}/awards"), &w.co_city).expect(200);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["voided"], true);
        assert_eq!(listed[0]["void_reason"], "Nhầm người được khen");
        let audited: Vec<String> = audit_actions(app).into_iter()
            .filter(|(a, _)| a == "award_voided").map(|(_, d)| d).collect();
        assert_eq!(audited.len(), 1, "{audited:?}");
        assert!(audited[0].contains("Nhầm người được khen") && audited[0].contains(&first_id), "{}", audited[0]);

        // Re-awarded: 201, and settled again.
        let second = award(app, &admin_token(app), &a, 5, &today).expect(201);
        assert_ne!(second["id"], first["id"]);
        assert!(due(app, &w.honors, "").is_empty());
        assert!(donor_view()["honor_due_tier"].is_null());
        assert_eq!(report(&w.honors)["honor_due"], 0);
        award(app, &w.honors, &a, 5, &today).expect_problem(409, "conflict");
        let listed = app.get(&format!("/api/v1/donors/{a}/awards"), &w.honors).expect(200);
        let flags: Vec<bool> = listed.as_array().unwrap().iter().map(|x| x["voided"].as_bool().unwrap()).collect();
        assert_eq!(flags.len(), 2);
        assert_eq!(flags.iter().filter(|v| **v).count(), 1);
    }

    fn a_donor_with_only_emergency_donations_is_listed_under_the_registering_chapter(app) {
        let w = World::new(app);
        let other = app.chapter("Hội Chữ thập đỏ xã Bát Xát", None);
        // Registered by the city's coordinator (its own chapter by default); four paper-era
        // donations and one for an emergency request; and one with paper history only,
        // registered by an admin for the city.
        let e = app.post("/api/v1/donors", &w.co_city,
            json!({ "full_name": "Lò Thị Khẩn", "date_of_birth": "1990-05-17", "sex": "female",
                    "weight_kg": 55.0, "prior_donations": 4 })).expect(201);
        assert_eq!(e["chapter_id"], w.city.as_str());
        let e = e["id"].as_str().unwrap().to_owned();
        let p = donor(app, json!({ "full_name": "Vàng Văn Giấy", "prior_donations": 10, "chapter_id": w.city }));
        let elsewhere = donor(app, json!({ "full_name": "Sùng A Khác", "prior_donations": 5, "chapter_id": other }));
        with_tx(app, |conn| {
            let h = insert_hospital(conn);
            let r = insert_request(conn, &h, day("2024-04-01"));
            insert_donation(conn, &e, At::Emergency(&r), day("2024-04-01"), "collected", false);
            refresh(app, conn, &e);
        });
        for chapter in [&w.city, &w.province] {
            for as_of in ["as_of=2024-12-31", ""] {
                let q = format!("{as_of}&chapter_id={chapter}");
                assert_eq!(due(app, &w.honors, &q),
                    [(e.clone(), 5), (p.clone(), 10)].into_iter().collect(), "{q}");
            }
        }
        assert_eq!(due(app, &w.honors, &format!("chapter_id={other}")),
            [(elsewhere.clone(), 5)].into_iter().collect());
        // Before the emergency donation E had 4: not due.
        assert_eq!(due(app, &w.honors, &format!("as_of=2024-03-31&chapter_id={}", w.city)),
            [(p.clone(), 10)].into_iter().collect());
        // The CSV names the registering chapter too.
        let r = app.call_with("GET", &format!("/api/v1/honors/eligible?chapter_id={}", w.city),
            Some(&w.honors), None, &[("Accept", "text/csv")]);
        assert_eq!(r.status, 200, "{}", r.text);
        let line = r.text.split("\r\n").find(|l| l.starts_with(&format!("\"{e}\""))).unwrap_or_else(|| panic!("{}", r.text));
        assert!(line.ends_with(&format!(",\"{}\"", w.city)), "{line}");
        // The annual report of the city: the emergency unit and the donor due.
        let rep = app.get(&format!("/api/v1/reports/annual?year=2024&chapter_id={}", w.city), &w.honors).expect(200);
        assert_eq!(rep["emergency_units"], 1);
        assert_eq!(rep["units"], 1);
        assert_eq!(rep["donors"], 1);
        assert_eq!(rep["honor_due"], 2);
        // A coordinator's report is always scoped: it shows them too.
        let own = app.get("/api/v1/reports/annual?year=2024", &w.co_city).expect(200);
        assert_eq!(own["emergency_units"], 1);
        assert_eq!(own["honor_due"], 2);
        let other_rep = app.get(&format!("/api/v1/reports/annual?year=2024&chapter_id={other}"), &w.honors).expect(200);
        assert_eq!(other_rep["emergency_units"], 0);
        assert_eq!(other_rep["honor_due"], 1);
    }
}
