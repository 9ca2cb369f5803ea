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
        let d = donor(app, json!({ "full_name": "Đặng Thị Dung", "prior_donations": 4 }));
        let e = donor(app, json!({ "full_name": "Hoàng Văn Em", "prior_donations": 14 }));
        donate_ok(app, &admin, &prov_ev, collected(&a, "whole_blood", 350, "2024-03-01"));
        donate_ok(app, &admin, &city_ev, collected(&a, "whole_blood", 350, "2024-06-01"));
        donate_ok(app, &admin, &city_ev, collected(&b, "whole_blood", 350, "2024-06-01"));
        let voided = donate_ok(app, &admin, &prov_ev, collected(&c, "whole_blood", 350, "2024-03-01"));
        app.post(&format!("/api/v1/donations/{voided}/void"), &admin, json!({ "reason": "nhầm người" })).expect(200);
        donate_ok(app, &admin, &prov_ev, collected(&e, "whole_blood", 350, "2024-03-01"));
        // D's latest donation is for an emergency request: no chapter.
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
        assert!(item_d["chapter_id"].is_null());
        // Order: tier, then folded name (Đặng < Giàng).
        let order: Vec<&str> = june.iter().map(|i| i["donor_id"].as_str().unwrap()).collect();
        assert_eq!(order, [d.as_str(), a.as_str(), b.as_str(), e.as_str()]);

        // Filters.
        assert_eq!(due(app, &w.honors, "as_of=2024-06-01&min_tier=10"),
            [(b.clone(), 10), (e.clone(), 15)].into_iter().collect());
        assert_eq!(due(app, &w.honors, "as_of=2024-06-01&min_tier=11"),
            [(e.clone(), 15)].into_iter().collect());
        let province = due(app, &w.honors, &format!("as_of=2024-06-01&chapter_id={}", w.province));
        assert_eq!(province, [(a.clone(), 5), (b.clone(), 10), (e.clone(), 15)].into_iter().collect());
        let city = due(app, &w.honors, &format!("as_of=2024-06-01&chapter_id={}", w.city));
        assert_eq!(city, [(a.clone(), 5), (b.clone(), 10)].into_iter().collect());
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
        assert_eq!(lines[0], "donor_id,full_name,date_of_birth,donation_count,tier,tier_name,last_donation_at,phone,commune,province,chapter_id");
        // The whole list (the limit is for JSON pages), a trailing line end.
        assert_eq!(lines.len(), 4, "{}", r.text);
        assert_eq!(lines[3], "");
        assert_eq!(lines[1], format!("{dung},Giàng Thị Dung,1985-03-02,5,5,Giấy khen của Hội Chữ thập đỏ tỉnh,2023-12-20,0912345678,Phường Cốc Lếu,Lào Cai,"));
        assert_eq!(lines[2], format!("{formula},'=1+2 Lò Văn Sử,1985-03-02,10,10,Giấy khen của Hội Chữ thập đỏ tỉnh,,,'@SUM(A1),Lào Cai,"));
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
}
