//! Emergency candidates and units against the rules: the whole compatibility table (8 patient
//! groups × 4 components × 8 donor groups) for the candidates and for the units recorded, a
//! property-style test over random donors (reserve, withdrawn, declined, recent donations,
//! deferrals, age, weight) on fixed seeds, and the apheresis weight minimum of the candidates.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::emergency_support::*;
use chrono::{Duration, Months, NaiveDate};
use hienmau_tests::{backend_tests, TestApp};
use serde_json::json;

/// What the test knows about a random donor.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    group: Option<&'static str>,
    reserve: bool,
    sex: &'static str,
    weight: Option<f64>,
    dob: NaiveDate,
    /// The last collection: day and the interval it sets.
    last: Option<(NaiveDate, i64)>,
    /// A deferral: Some(until) or None for permanent.
    deferral: Option<Option<NaiveDate>>,
}

impl Known {
    /// Eligible today for `component` by the date, age and weight rules.
    fn eligible(&self, component: &str, today: NaiveDate) -> bool {
        let age = age_on(self.dob, today);
        if !(18..=60).contains(&age) {
            return false;
        }
        if let Some(w) = self.weight {
            if w < min_weight(component, self.sex) {
                return false;
            }
        }
        if let Some((day, interval)) = self.last {
            if today < day + Duration::days(interval) {
                return false;
            }
        }
        match self.deferral {
            Some(None) => false,
            Some(Some(until)) => today >= until,
            None => true,
        }
    }
}

/// Creates one random donor; returns what the test knows about it.
fn random_donor(app: &TestApp, rng: &mut Rng, event: &str, n: usize) -> Known {
    let today = today(app);
    let group = if rng.chance(11) {
        None
    } else {
        Some(*rng.pick(&GROUPS))
    };
    let sex = *rng.pick(&["male", "female"]);
    let weight = if rng.chance(10) {
        None
    } else {
        Some(rng.range(40, 75) as f64)
    };
    // Mostly any adult age; some exactly on the age limits.
    let years_back = |y: u32| today.checked_sub_months(Months::new(12 * y)).unwrap();
    let dob = match rng.range(0, 9) {
        0 => years_back(18),                     // 18 today: eligible
        1 => years_back(18) + Duration::days(1), // 18 tomorrow
        2 => years_back(61),                     // 61 today: too old
        3 => years_back(61) + Duration::days(1), // 60 until tomorrow
        _ => today - Duration::days(rng.range(16 * 365, 63 * 365)),
    };
    let reserve = rng.chance(80);
    let mut body = json!({ "full_name": format!("Người hiến {n}"), "date_of_birth": dob,
                           "sex": sex, "reserve": reserve, "weight_kg": weight,
                           "blood_group": group });
    let history = rng.range(0, 9);
    let mut last = None;
    if history < 2 {
        // Paper-era last donation, counted as whole blood.
        let day = today - Duration::days(rng.range(1, 200));
        if day > dob {
            body["prior_last_donation_on"] = json!(day);
            body["prior_donations"] = json!(3);
            last = Some((day, 84));
        }
    }
    let id = app
        .post("/api/v1/donors", app.admin(), app.with_chapter(body))
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if (2..5).contains(&history) {
        let component = *rng.pick(&COMPONENTS);
        let days = rng.range(1, 200);
        let r = give(app, event, &id, component, days);
        match r.status {
            201 => last = Some((ago(app, days), interval_after(component))),
            422 => {} // refused (too young then, too light): nothing recorded
            _ => panic!("{}", r.text),
        }
    }
    let mut deferral = None;
    if rng.chance(25) {
        let days = rng.range(0, 60);
        let day = ago(app, days);
        let until = if rng.chance(20) {
            None
        } else {
            Some(day + Duration::days(rng.range(1, 120)))
        };
        defer(app, event, &id, days, until).expect(201);
        deferral = Some(until);
    }
    let mut in_reserve = reserve;
    if reserve && rng.chance(15) {
        // Withdrawn: never offered again.
        app.patch(
            &format!("/api/v1/donors/{id}"),
            app.admin(),
            json!({ "reserve": false }),
        )
        .expect(200);
        in_reserve = false;
    }
    Known {
        id,
        group,
        reserve: in_reserve,
        sex,
        weight,
        dob,
        last,
        deferral,
    }
}

backend_tests! {
    fn candidates_follow_the_compatibility_table(app) {
        let (_, token) = hospital_user(app, "bv_bang");
        let mut by_id: HashMap<String, &str> = HashMap::new();
        for g in GROUPS {
            let id = reserve_donor(app, &format!("Người hiến {g}"), g, json!({}));
            by_id.insert(id, g);
        }
        for patient in GROUPS {
            for component in COMPONENTS {
                let req = request_id(app, &token, json!({ "blood_group": patient, "component": component }));
                let items = candidates(app, &token, &req);
                let got: BTreeMap<String, String> = items
                    .iter()
                    .map(|c| {
                        let id = c["donor_id"].as_str().unwrap();
                        let group = by_id[id];
                        assert_eq!(c["blood_group"], group, "{c}");
                        (group.to_owned(), c["match"].as_str().unwrap().to_owned())
                    })
                    .collect();
                let want: BTreeMap<String, String> = GROUPS
                    .iter()
                    .filter_map(|d| expected_match(patient, d, component).map(|m| ((*d).to_owned(), m.to_owned())))
                    .collect();
                assert_eq!(got, want, "patient {patient}, {component}");
                // Identical first.
                let labels: Vec<&str> = items.iter().map(|c| c["match"].as_str().unwrap()).collect();
                let mut sorted = labels.clone();
                sorted.sort_by_key(|m| *m != "identical");
                assert_eq!(labels, sorted, "patient {patient}, {component}");
            }
        }
        // Spot checks of the table's corners, in case both encodings share a mistake.
        let some = |p: &str, c: &str| {
            let req = request_id(app, &token, json!({ "blood_group": p, "component": c }));
            candidates(app, &token, &req)
                .iter()
                .map(|c| format!("{}:{}", c["blood_group"].as_str().unwrap(), &c["match"].as_str().unwrap()[..1]))
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(some("O-", "red_cells"), BTreeSet::from(["O-:i".to_owned()]));
        assert_eq!(some("AB+", "plasma"), BTreeSet::from(["AB+:i".to_owned(), "AB-:i".to_owned()]));
        assert_eq!(
            some("AB-", "red_cells"),
            ["AB-:i", "A-:c", "B-:c", "O-:c"].iter().map(|s| (*s).to_owned()).collect()
        );
        assert_eq!(some("A+", "whole_blood"), BTreeSet::from(["A+:i".to_owned(), "A-:c".to_owned()]));
        assert_eq!(
            some("O+", "platelets"),
            ["O+:i", "O-:c", "A+:c", "A-:c", "B+:c", "B-:c", "AB+:c", "AB-:c"].iter().map(|s| (*s).to_owned()).collect()
        );
    }

    fn random_donors_are_never_wrongly_offered(app) {
        let (_, token) = hospital_user(app, "bv_ngau_nhien");
        let event = past_event(app);
        let today = today(app);
        let mut known: Vec<Known> = Vec::new();
        let mut n = 0;
        let (mut offered, mut expected_out) = (0, 0);
        // `EMERGENCY_SEED` shifts the seeds, to explore beyond the fixed ones.
        let shift: u64 = std::env::var("EMERGENCY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        for seed in [7_u64, 2024, 9_999] {
            let seed = seed.wrapping_add(shift);
            let mut rng = Rng::new(seed);
            // At most 99 donors in all, so a candidates call (limit 100) returns every one.
            for _ in 0..33 {
                n += 1;
                known.push(random_donor(app, &mut rng, &event, n));
            }
            for _ in 0..6 {
                let patient = *rng.pick(&GROUPS);
                let component = *rng.pick(&COMPONENTS);
                // 10 units: a cap of 100 disclosed donors, so every candidate is listed.
                let req = request_id(app, &token, json!({
                    "blood_group": patient, "component": component, "units_needed": 10,
                    "province": "Lào Cai", "commune": "Cốc Lếu" }));
                let mut declined = HashSet::new();
                for k in &known {
                    if rng.chance(12) {
                        let answer = *rng.pick(&["accepted", "declined", "no_answer"]);
                        // The admin answers for any donor (a hospital only for those shown).
                        respond(app, app.admin(), &req, &k.id, answer).expect(201);
                        if answer == "declined" {
                            declined.insert(k.id.clone());
                        }
                    }
                }
                let items = candidates(app, &token, &req);
                let by_id: HashMap<&str, &Known> = known.iter().map(|k| (k.id.as_str(), k)).collect();
                for c in &items {
                    let k = by_id[c["donor_id"].as_str().unwrap()];
                    let group = k.group.expect("a candidate has a blood group");
                    let m = expected_match(patient, group, component);
                    assert!(m.is_some(), "incompatible {group} for {patient} {component}: {k:?}");
                    assert_eq!(c["match"], m.unwrap(), "{k:?}");
                    assert!(k.reserve, "outside the reserve or withdrawn: {k:?}");
                    assert!(!declined.contains(&k.id), "declined: {k:?}");
                    assert!(k.eligible(component, today), "ineligible today for {component}: {k:?}");
                }
                // And nobody who qualifies is missing.
                let got: BTreeSet<&str> = items.iter().map(|c| c["donor_id"].as_str().unwrap()).collect();
                let want: BTreeSet<&str> = known
                    .iter()
                    .filter(|k| {
                        k.reserve
                            && !declined.contains(&k.id)
                            && k.group.is_some_and(|g| expected_match(patient, g, component).is_some())
                            && k.eligible(component, today)
                    })
                    .map(|k| k.id.as_str())
                    .collect();
                let missing: Vec<&Known> = want.difference(&got).map(|id| by_id[id]).collect();
                assert!(missing.is_empty(), "seed {seed}, {patient} {component}: missing {missing:?}");
                assert_eq!(got, want);
                offered += got.len();
                expected_out += known.len() - want.len();
            }
        }
        // The random mix exercises both sides.
        assert!(offered > 20 && expected_out > 100, "{offered} offered, {expected_out} left out");
    }
}

/// Places of the tier test: commune names repeat across provinces, and some donors have none.
const PROVINCES: [Option<&str>; 4] = [Some("lao cai"), Some("yen bai"), Some("ha noi"), None];
const COMMUNES: [Option<&str>; 4] = [Some("coc leu"), Some("bac cuong"), Some("kim tan"), None];

/// A random reserve-heavy donor written straight to the database, with the fields the
/// candidates order reads: recorded and paper-era last donations on a few shared days (some at
/// midnight, where SQLite's text and PostgreSQL's timestamp compare differently), eligibility
/// days, deferrals, places.
fn tier_donor(
    rng: &mut Rng,
    today: NaiveDate,
    now: chrono::NaiveDateTime,
) -> hienmau_db::models::Donor {
    let day = |rng: &mut Rng| today - Duration::days(rng.range(0, 12) * 37 + 1);
    let (last_at, prior_on) = match rng.range(0, 5) {
        0 | 1 => (None, None),
        2 => (None, Some(day(rng))),
        3 => (
            Some(
                day(rng)
                    .and_hms_opt(rng.range(0, 2) as u32 * 9, 0, 0)
                    .unwrap(),
            ),
            None,
        ),
        _ => (Some(day(rng).and_hms_opt(0, 0, 0).unwrap()), Some(day(rng))),
    };
    let next_eligible_on = match (last_at, prior_on) {
        (None, None) if rng.chance(85) => None,
        _ if rng.chance(10) => None,
        _ => Some(today + Duration::days(rng.range(-200, 60))),
    };
    hienmau_db::models::Donor {
        id: uuid::Uuid::new_v4().to_string(),
        full_name: "Người hiến".to_owned(),
        name_folded: "nguoi hien".to_owned(),
        date_of_birth: today - Duration::days(rng.range(16 * 365, 64 * 365)),
        sex: (*rng.pick(&["male", "female"])).to_owned(),
        national_id: None,
        blood_group: if rng.chance(4) {
            None
        } else {
            Some((*rng.pick(&GROUPS)).to_owned())
        },
        phone: None,
        province: None,
        province_folded: rng.pick(&PROVINCES).map(str::to_owned),
        commune: None,
        commune_folded: rng.pick(&COMMUNES).map(str::to_owned),
        weight_kg: if rng.chance(10) {
            None
        } else {
            Some(rng.range(40, 75) as f64)
        },
        reserve: rng.chance(90),
        reserve_since: None,
        prior_donations: i32::from(prior_on.is_some()) * 3,
        prior_last_donation_on: prior_on,
        chapter_id: None,
        collected_count: i32::from(last_at.is_some()),
        first_collected_on: last_at.map(|t| t.date()),
        last_donation_at: last_at,
        last_component: None,
        next_eligible_on,
        deferred_until: if rng.chance(8) {
            Some(today + Duration::days(rng.range(-30, 30)))
        } else {
            None
        },
        permanently_deferred: rng.chance(3),
        created_at: now,
        updated_at: now,
        last_chapter_id: None,
    }
}

backend_tests! {
    fn tiers_give_the_reference_order(app) {
        use hienmau_db::repo::candidates::{find, find_reference, CandidateQuery};
        let (_, token) = hospital_user(app, "bv_tang");
        let today = today(app);
        let now = today.and_hms_opt(12, 0, 0).unwrap();
        let mut rng = Rng::new(4_242);
        let requests: Vec<String> = (0..4)
            .map(|_| request_id(app, &token, json!({ "blood_group": "O+", "component": "red_cells" })))
            .collect();
        let mut conn = app.state.pool.get().unwrap();
        let mut ids = Vec::new();
        for _ in 0..900 {
            let d = tier_donor(&mut rng, today, now);
            hienmau_db::repo::donors::insert_row(&mut conn, &d).unwrap();
            ids.push(d.id);
        }
        for (n, id) in ids.iter().enumerate() {
            if rng.chance(8) {
                let answer = *rng.pick(&["accepted", "declined", "declined", "no_answer"]);
                let row = hienmau_db::models::DonorResponse {
                    id: uuid::Uuid::new_v4().to_string(),
                    request_id: requests[n % requests.len()].clone(),
                    donor_id: id.clone(),
                    response: answer.to_owned(),
                    recorded_by: "test".to_owned(),
                    recorded_at: now,
                };
                hienmau_db::repo::emergency::insert_response(&mut conn, &row).unwrap();
            }
        }
        let years_back = |y: u32| today.checked_sub_months(Months::new(12 * y)).unwrap();
        let (mut compared, mut nonempty) = (0, 0);
        for round in 0..120 {
            // Random disjoint identical and compatible lists, sometimes with no identical group.
            let mut groups: Vec<String> = GROUPS.iter().map(|g| (*g).to_owned()).collect();
            for i in (1..groups.len()).rev() {
                groups.swap(i, rng.range(0, i as i64) as usize);
            }
            let n_identical = rng.range(0, 2) as usize;
            let n_compatible = rng.range(0, 5) as usize;
            let identical = groups[..n_identical].to_vec();
            let compatible = groups[n_identical..n_identical + n_compatible].to_vec();
            let q = CandidateQuery {
                request_id: rng.pick(&requests).clone(),
                identical_groups: identical,
                compatible_groups: compatible,
                today,
                born_after: years_back(61),
                born_on_or_before: years_back(18),
                min_weight_female_kg: *rng.pick(&[42.0, 50.0]),
                min_weight_male_kg: *rng.pick(&[45.0, 50.0]),
                commune_folded: rng.pick(&[Some("coc leu"), Some("kim tan"), Some("nowhere"), None]).map(str::to_owned),
                province_folded: rng.pick(&[Some("lao cai"), Some("ha noi"), None]).map(str::to_owned),
                limit: *rng.pick(&[1_i64, 5, 20, 200]),
            };
            let want: Vec<String> = find_reference(&mut conn, &q).unwrap().into_iter().map(|d| d.id).collect();
            let got: Vec<String> = find(&mut conn, &q).unwrap().into_iter().map(|d| d.id).collect();
            assert_eq!(got, want, "round {round}: {q:?}");
            compared += 1;
            if want.len() > 5 {
                nonempty += 1;
            }
        }
        assert!(compared == 120 && nonempty > 40, "{nonempty} of {compared} requests had candidates");
    }
}

/// Posts a collected emergency unit of `component` (250 ml) for `request`.
fn unit_for(
    app: &TestApp,
    token: &str,
    request: &str,
    donor: &str,
    component: &str,
) -> hienmau_tests::Resp {
    app.post(
        &format!("/api/v1/emergency-requests/{request}/donations"),
        token,
        json!({ "donor_id": donor, "component": component, "volume_ml": 250, "outcome": "collected" }),
    )
}

fn request_state(app: &TestApp, token: &str, request: &str) -> (i64, String) {
    let r = app
        .get(&format!("/api/v1/emergency-requests/{request}"), token)
        .expect(200);
    (
        r["units_received"].as_i64().unwrap(),
        r["status"].as_str().unwrap().to_owned(),
    )
}

fn donation_count(app: &TestApp, donor: &str) -> i64 {
    app.get(&format!("/api/v1/donors/{donor}"), app.admin())
        .expect(200)["donation_count"]
        .as_i64()
        .unwrap()
}

backend_tests! {
    fn emergency_units_follow_the_compatibility_table(app) {
        let (_, token) = hospital_user(app, "bv_don_vi");
        // One donor per group (55 kg: enough for every component), created once; each unit
        // accepted is voided at once so the donor is free for the next case.
        let donors: Vec<(&str, String)> = GROUPS
            .iter()
            .map(|g| (*g, reserve_donor(app, &format!("Người hiến {g}"), g, json!({}))))
            .collect();
        let untyped = reserve_donor(app, "Chưa rõ nhóm", "O+", json!({ "blood_group": null }));
        let void = |id: &str| {
            app.post(&format!("/api/v1/donations/{id}/void"), app.admin(), json!({ "reason": "bảng tương thích" }))
                .expect(200);
        };
        let (mut accepted, mut refused) = (0, 0);
        // The admin records: a hospital names only donors its candidates showed it, and they
        // are compatible by construction (the disclosure tests cover that side).
        let admin = app.admin();
        for patient in GROUPS {
            for (ci, component) in COMPONENTS.iter().enumerate() {
                let req = request_id(app, &token, json!({ "blood_group": patient, "component": component, "units_needed": 8 }));
                for (group, donor) in &donors {
                    let r = unit_for(app, admin, &req, donor, component);
                    if expected_match(patient, group, component).is_some() {
                        let d = r.expect(201);
                        assert_eq!(d["emergency_request_id"], req.as_str());
                        void(d["id"].as_str().unwrap());
                        accepted += 1;
                    } else {
                        let p = r.expect_problem(422, "incompatible_donor");
                        assert!(p["detail"].as_str().unwrap().contains(patient), "{p}");
                        refused += 1;
                    }
                }
                // A donor of unknown group fits no patient.
                unit_for(app, admin, &req, &untyped, component).expect_problem(422, "incompatible_donor");
                // The patient's own group, but another component than the request's: refused
                // for the hospital too, once it was shown the donor.
                let same = &donors.iter().find(|(g, _)| *g == patient).unwrap().1;
                let other = COMPONENTS[(ci + 1) % COMPONENTS.len()];
                unit_for(app, admin, &req, same, other).expect_problem(422, "incompatible_donor");
                if candidate_ids(app, &token, &req).contains(same) {
                    unit_for(app, &token, &req, same, other).expect_problem(422, "incompatible_donor");
                }
                assert_eq!(request_state(app, &token, &req), (0, "open".to_owned()), "{patient} {component}");
            }
        }
        assert_eq!(accepted + refused, 8 * 4 * 8);
        // Both sides of the table were exercised (§2 has 102 compatible triples).
        assert_eq!(accepted, 102);
        // Nothing was recorded by a refusal: no donor counts a unit (the accepted ones were
        // voided).
        for (_, d) in donors.iter().chain([("?", untyped.clone())].iter()) {
            assert_eq!(donation_count(app, d), 0, "{d}");
        }
    }

    fn emergency_deferrals_closed_requests_and_apheresis_weights(app) {
        let (_, token) = hospital_user(app, "bv_dong");
        let o_pos = reserve_donor(app, "O dương", "O+", json!({}));
        let untyped = reserve_donor(app, "Chưa rõ", "O+", json!({ "blood_group": null }));
        let req = request_id(app, &token, json!({ "blood_group": "O-", "component": "red_cells", "units_needed": 1 }));
        let path = format!("/api/v1/emergency-requests/{req}/donations");
        // Donors the candidates do not offer are recorded by the admin (a hospital names only
        // donors it was shown).
        let admin = app.admin();
        // A deferral takes no blood: it is recorded for the request whatever the donor's group
        // (and its component), and counts no unit.
        let deferral = |donor: &str, component: &str| {
            json!({ "donor_id": donor, "component": component, "outcome": "deferred",
                    "deferral_reason": "huyết áp thấp", "deferred_until": ago(app, -7) })
        };
        app.post(&path, admin, deferral(&o_pos, "red_cells")).expect(201);
        app.post(&path, admin, deferral(&untyped, "plasma")).expect(201);
        assert_eq!(request_state(app, &token, &req), (0, "open".to_owned()));
        // Compatibility is judged before the weight: an O+ donor of unknown weight is
        // incompatible, not missing a weight.
        let o_pos_light = reserve_donor(app, "O dương không cân", "O+", json!({ "weight_kg": null }));
        unit_for(app, admin, &req, &o_pos_light, "red_cells").expect_problem(422, "incompatible_donor");
        // A compatible donor with no weight on record: the weight measured at screening is
        // needed, and it becomes the donor's weight.
        let o_neg = reserve_donor(app, "O âm", "O-", json!({ "weight_kg": null }));
        assert!(candidate_ids(app, &token, &req).contains(&o_neg));
        let r = unit_for(app, &token, &req, &o_neg, "red_cells");
        let p = r.expect_problem(422, "invalid_request");
        assert_eq!(p["errors"][0]["field"], "weight_kg", "{p}");
        let d = app.post(&path, &token, json!({ "donor_id": o_neg, "component": "red_cells", "volume_ml": 450,
            "outcome": "collected", "weight_kg": 52.5 })).expect(201);
        assert_eq!(d["volume_ml"], 450);
        let donor = app.get(&format!("/api/v1/donors/{o_neg}"), app.admin()).expect(200);
        assert_eq!(donor["weight_kg"], 52.5);
        assert_eq!(request_state(app, &token, &req), (1, "fulfilled".to_owned()));
        // Fulfilled: no more units, even a compatible one (409), and nothing recorded.
        let o_neg2 = reserve_donor(app, "O âm hai", "O-", json!({}));
        unit_for(app, &token, &req, &o_neg2, "red_cells").expect_problem(409, "conflict");
        app.post(&path, &token, deferral(&o_neg2, "red_cells")).expect_problem(409, "conflict");
        // Cancelled: the same.
        let req2 = request_id(app, &token, json!({ "blood_group": "O-", "component": "red_cells" }));
        app.post(&format!("/api/v1/emergency-requests/{req2}/cancel"), &token, json!({})).expect(200);
        unit_for(app, &token, &req2, &o_neg2, "red_cells").expect_problem(409, "conflict");
        assert_eq!(donation_count(app, &o_neg2), 0);

        // Apheresis (red cells, platelets, plasma) needs 50 kg, women included: a 49 kg
        // woman is offered for whole blood only, a 50 kg one for everything.
        let f49 = reserve_donor(app, "Nữ 49 cân", "AB+", json!({ "weight_kg": 49.0 }));
        let f50 = reserve_donor(app, "Nữ 50 cân", "AB+", json!({ "weight_kg": 50.0 }));
        let m49 = reserve_donor(app, "Nam 49 cân", "AB+", json!({ "weight_kg": 49.0, "sex": "male" }));
        for component in COMPONENTS {
            let req = request_id(app, &token, json!({ "blood_group": "AB+", "component": component }));
            let ids = candidate_ids(app, &token, &req);
            let whole = component == "whole_blood";
            assert_eq!(ids.contains(&f49), whole, "{component}");
            assert_eq!(ids.contains(&m49), whole, "{component}");
            assert!(ids.contains(&f50), "{component}");
            if !whole {
                let r = unit_for(app, admin, &req, &f49, component);
                assert_eq!(r.expect_problem(422, "donor_not_eligible")["reason"], "underweight");
            }
        }
    }
}
