//! The national data set: deterministic for a seed, sizes and end date, generated in chunks
//! and handed to a [`Sink`] (the bulk loaders, or a test's collector).
//!
//! The model, in order:
//! 1. Chapters: the national Red Cross and one chapter per province (34).
//! 2. Per province, a calendar: drives that tile the ten years (12 to 40 a year, by size) and
//!    events inside each drive (48 to 600 a year, by size, about 150 collections each), every
//!    event at a site in one of the province's communes.
//! 3. Per donor, a number of visits (the total is exactly `donations`), a home province and
//!    commune, and visit days planned so that consecutive visits are at least 84 days apart
//!    after each one is moved to the next event day of the province (the plan's step is 84 days
//!    plus the province's longest gap between event days). About 4 % of visits end in a short
//!    deferral (7 or 28 days), never reaching the next visit.
//! 4. The donor's counters are computed as the server's donation transaction computes them,
//!    with the domain's own `next_eligible_on`.
//!
//! Each donor draws from its own generator seeded by (seed, index), so a donor's data does not
//! depend on the chunk size.

use std::collections::HashSet;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use hienmau_db::models::{Chapter, Donation, Donor, Drive, Event};
use hienmau_domain::eligibility::{self, Deferral, EligibilityRules, PastDonation};
use hienmau_domain::person::age_on;
use hienmau_domain::text::fold;
use hienmau_domain::{Component, Sex};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::names;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Params {
    /// Donors registered.
    pub donors: u64,
    /// Donation records (collections and deferrals) over the period.
    pub donations: u64,
    /// Length of the history in years.
    pub years: u32,
    /// The last day of the history (in the configured zone).
    pub end: NaiveDate,
    /// The seed of every random choice.
    pub seed: u64,
    /// Share of donors in the emergency reserve.
    pub reserve_share: f64,
    /// Share of donors who are RhD negative.
    pub rh_negative_share: f64,
    /// How many provinces (the first N of the 34).
    pub provinces: usize,
    /// Communes per province (3,321 nationally: about 98 each).
    pub communes_per_province: usize,
    /// Donors per chunk handed to the sink.
    pub chunk_donors: usize,
    /// "Today", for choosing donors that may give today (the logging workloads).
    pub today: NaiveDate,
    /// How many donors eligible today to set aside for the logging workloads.
    pub loggable_wanted: usize,
}

/// Where generated rows go.
pub trait Sink {
    /// Why a write failed.
    type Error;
    /// Chapters (once, first).
    fn chapters(&mut self, rows: Vec<Chapter>) -> Result<(), Self::Error>;
    /// Drives (once, after the chapters).
    fn drives(&mut self, rows: Vec<Drive>) -> Result<(), Self::Error>;
    /// Events (once, after the drives).
    fn events(&mut self, rows: Vec<Event>) -> Result<(), Self::Error>;
    /// A chunk of donors and then their donations.
    fn chunk(&mut self, donors: Vec<Donor>, donations: Vec<Donation>) -> Result<(), Self::Error>;
}

/// What the workloads need to know about the generated data.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Chapters written.
    pub chapters: u64,
    /// Drives written, with their ids.
    pub drive_ids: Vec<String>,
    /// Events written.
    pub events: u64,
    /// Donors written.
    pub donors: u64,
    /// Donation records written.
    pub donations: u64,
    /// Collected among them.
    pub collected: u64,
    /// Deferred among them.
    pub deferred: u64,
    /// Donors in the reserve.
    pub reserve: u64,
    /// A sample of donor ids (donor reads).
    pub donor_sample: Vec<String>,
    /// Search terms as a coordinator types them (two folded words of a real name, or a phone).
    pub search_terms: Vec<String>,
    /// Folded full names of sampled donors (the one-, three-word and short-word searches).
    pub search_names: Vec<String>,
    /// National ids of sampled donors (exact look-ups).
    pub search_national_ids: Vec<String>,
    /// Phones of sampled donors (exact look-ups).
    pub search_phones: Vec<String>,
    /// Donors who may give whole blood today (the logging workloads take from these).
    pub loggable: Vec<String>,
    /// The last complete year of the history.
    pub report_year: i32,
    /// Province chapters: (id, name).
    pub provinces: Vec<(String, String)>,
    /// Communes of the first province (emergency requests name one).
    pub sample_communes: Vec<String>,
}

/// One province's calendar.
struct Calendar {
    chapter_id: String,
    name: String,
    code: u32,
    weight: f64,
    communes: Vec<String>,
    /// Event days as day numbers from the period start, sorted, with the event index.
    days: Vec<(i32, u32)>,
    /// The longest distance between consecutive event days (and from the period start).
    max_gap: i32,
}

/// A compact record of a generated event.
struct EventInfo {
    id: String,
    drive_id: String,
    chapter_id: String,
    day: NaiveDate,
}

fn uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.gen())
        .into_uuid()
        .to_string()
}

/// 2016-01-01T00:00:00Z in Unix milliseconds: the clock of [`load_order_id`].
const LOAD_EPOCH_MS: u64 = 1_451_606_400_000;

/// The id of the `seq`-th row of a table in load order: a UUIDv7 whose timestamp is the
/// row's place (1 ms apart) and whose other bits are random, as an importer calling
/// `Uuid::now_v7` for each row would give. The primary keys then grow at their end: with
/// random v4 ids every row of a 20 M load was a probe into a random page of a B-tree larger
/// than the cache, and the load slowed as it grew (26,000 rows/s at 2 M on SQLite).
fn load_order_id(seq: u64, rng: &mut StdRng) -> String {
    uuid::Builder::from_unix_timestamp_millis(LOAD_EPOCH_MS + seq, &rng.gen())
        .into_uuid()
        .to_string()
}

fn pick_weighted<T: Copy>(rng: &mut StdRng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// The seed of donor `i`'s own generator (splitmix64 of the pair).
fn donor_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The local time of day (UTC+7) a donation is recorded, as a UTC instant.
fn instant(day: NaiveDate, rng: &mut StdRng) -> NaiveDateTime {
    let minutes = 7 * 60 + rng.gen_range(0..9 * 60);
    let local = day.and_time(NaiveTime::MIN) + TimeDelta::minutes(minutes);
    local - TimeDelta::hours(7)
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A unit code unique by construction: the record's global index in 8 letters of the
/// server's alphabet, then the day. Imported history keeps the bag codes of the system it
/// came from; these are numbered in load order, as a sequential barcode series is, so the
/// unique index on unit codes grows at its end (the server's own codes, `HM-YYYYMMDD-` and
/// 8 random letters, are for new collections).
fn unit_code(day: NaiveDate, mut index: u64) -> String {
    let mut tail = [b'A'; 8];
    for slot in tail.iter_mut().rev() {
        *slot = ALPHABET[(index % 32) as usize];
        index /= 32;
    }
    format!(
        "LG-{}-{}",
        String::from_utf8_lossy(&tail),
        day.format("%Y%m%d")
    )
}

/// Generates the data set into `sink`.
pub fn generate<S: Sink>(p: &Params, sink: &mut S) -> Result<Summary, S::Error> {
    let mut rng = StdRng::seed_from_u64(p.seed);
    let start = p
        .end
        .checked_sub_months(Months::new(12 * p.years))
        .unwrap_or(p.end)
        + TimeDelta::days(1);
    let period_days = (p.end - start).num_days() as i32 + 1;
    let created = start.and_time(NaiveTime::MIN) - TimeDelta::days(30);
    let mut summary = Summary {
        report_year: if p.end.month() == 12 && p.end.day() == 31 {
            p.end.year()
        } else {
            p.end.year() - 1
        },
        ..Summary::default()
    };

    // 1. Chapters.
    let root_id = uuid(&mut rng);
    let mut chapters = vec![Chapter {
        id: root_id.clone(),
        name: "Trung ương Hội Chữ thập đỏ Việt Nam".to_owned(),
        parent_id: None,
        path: format!("/{root_id}/"),
        created_at: created,
    }];
    let provinces = &names::PROVINCES[..p.provinces.clamp(1, names::PROVINCES.len())];
    let total_weight: f64 = provinces.iter().map(|(_, w, _)| w).sum();
    let mut calendars = Vec::new();
    for (pi, (name, weight, code)) in provinces.iter().enumerate() {
        let id = uuid(&mut rng);
        chapters.push(Chapter {
            id: id.clone(),
            name: format!("Hội Chữ thập đỏ {name}"),
            parent_id: Some(root_id.clone()),
            path: format!("/{root_id}/{id}/"),
            created_at: created,
        });
        let communes = (0..p.communes_per_province.max(1))
            .map(|j| {
                let a = names::PLACE_SYLLABLES[(j / 32 + pi) % 32];
                let b = names::PLACE_SYLLABLES[j % 32];
                let kind = if j % 4 == 0 { "Phường" } else { "Xã" };
                if j < 32 * 32 {
                    format!("{kind} {a} {b}")
                } else {
                    format!("{kind} {a} {b} {j}")
                }
            })
            .collect();
        summary.provinces.push((id.clone(), (*name).to_owned()));
        calendars.push(Calendar {
            chapter_id: id,
            name: (*name).to_owned(),
            code: *code,
            weight: weight / total_weight,
            communes,
            days: Vec::new(),
            max_gap: 0,
        });
    }
    summary.sample_communes = calendars[0].communes.iter().take(10).cloned().collect();
    summary.chapters = chapters.len() as u64;
    sink.chapters(chapters)?;

    // 2. Drives and events.
    let years = f64::from(p.years.max(1));
    let mut drives = Vec::new();
    let mut events = Vec::new();
    let mut infos: Vec<EventInfo> = Vec::new();
    for cal in calendars.iter_mut() {
        let per_year = p.donations as f64 * cal.weight / years;
        let events_per_year = (per_year / 150.0).round().clamp(48.0, 600.0);
        let drives_per_year = (events_per_year / 12.0).round().clamp(12.0, 40.0);
        let n_drives = (drives_per_year * years) as i32;
        let events_per_drive = (events_per_year / drives_per_year).round().max(1.0) as i32;
        let units_per_drive = per_year / drives_per_year;
        for k in 0..n_drives {
            let from = i64::from(k) * i64::from(period_days) / i64::from(n_drives);
            let to = i64::from(k + 1) * i64::from(period_days) / i64::from(n_drives) - 1;
            let starts_on = start + TimeDelta::days(from);
            let ends_on = start + TimeDelta::days(to);
            let drive_id = uuid(&mut rng);
            let campaign = names::CAMPAIGNS[rng.gen_range(0..names::CAMPAIGNS.len())];
            drives.push(Drive {
                id: drive_id.clone(),
                name: format!(
                    "{campaign} {} — {} (đợt {})",
                    starts_on.year(),
                    cal.name,
                    k + 1
                ),
                chapter_id: cal.chapter_id.clone(),
                starts_on,
                ends_on,
                target_units: Some(((units_per_drive / 10.0).round() as i32 * 10).max(10)),
                created_by: None,
                created_at: starts_on.and_time(NaiveTime::MIN) - TimeDelta::days(14),
            });
            summary.drive_ids.push(drive_id.clone());
            let len = to - from + 1;
            for m in 0..events_per_drive {
                let offset = ((f64::from(m) + rng.gen::<f64>()) * len as f64
                    / f64::from(events_per_drive)) as i64;
                let day_no = from + offset.min(len - 1);
                let held_on = start + TimeDelta::days(day_no);
                let commune = cal.communes[rng.gen_range(0..cal.communes.len())].clone();
                let site = names::SITES[rng.gen_range(0..names::SITES.len())];
                let id = uuid(&mut rng);
                cal.days.push((day_no as i32, infos.len() as u32));
                infos.push(EventInfo {
                    id: id.clone(),
                    drive_id: drive_id.clone(),
                    chapter_id: cal.chapter_id.clone(),
                    day: held_on,
                });
                events.push(Event {
                    id,
                    drive_id: drive_id.clone(),
                    site: format!("{site} {commune}"),
                    held_on,
                    province: Some(cal.name.clone()),
                    commune: Some(commune),
                    created_at: held_on.and_time(NaiveTime::MIN) - TimeDelta::days(7),
                });
            }
        }
        cal.days.sort_unstable();
        let mut prev = 0;
        let mut gap = 0;
        for (d, _) in &cal.days {
            gap = gap.max(d - prev);
            prev = *d;
        }
        cal.max_gap = gap;
    }
    summary.events = events.len() as u64;
    sink.drives(drives)?;
    sink.events(events)?;

    // 3. Visits per donor: exactly `donations` in all.
    let province_weights: Vec<(usize, f64)> = calendars
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.weight))
        .collect();
    let n_donors = p.donors as usize;
    let mut home: Vec<u8> = Vec::with_capacity(n_donors);
    let mut visits: Vec<u8> = Vec::with_capacity(n_donors);
    let caps: Vec<u8> = calendars
        .iter()
        .map(|c| {
            let last = c.days.last().map_or(0, |d| d.0);
            let first = c.days.first().map_or(0, |d| d.0);
            let step = 84 + c.max_gap;
            ((last - first) / step + 1).clamp(1, 200) as u8
        })
        .collect();
    let mean = if p.donors == 0 {
        0.0
    } else {
        p.donations as f64 / p.donors as f64
    };
    let extra_mean = (mean / 0.96 - 1.0).max(0.0);
    for _ in 0..n_donors {
        let prov = pick_weighted(&mut rng, &province_weights);
        home.push(prov as u8);
        let k = if rng.gen::<f64>() < 0.04 {
            0
        } else {
            let u: f64 = rng.gen::<f64>().max(1e-12);
            1 + (-u.ln() * extra_mean).floor() as u64
        };
        visits.push(k.min(u64::from(caps[prov])) as u8);
    }
    let mut total: u64 = visits.iter().map(|&k| u64::from(k)).sum();
    let capacity: u64 = home.iter().map(|&h| u64::from(caps[h as usize])).sum();
    let target = p.donations.min(capacity);
    if n_donors > 0 {
        while total < target {
            let i = rng.gen_range(0..n_donors);
            if visits[i] < caps[home[i] as usize] {
                visits[i] += 1;
                total += 1;
            }
        }
        // Every donor keeps a visit unless there are fewer donations than donors (a small
        // history for many donors, as in a test of the candidates at full registry size).
        let floor = u8::from(target >= n_donors as u64);
        while total > target {
            let i = rng.gen_range(0..n_donors);
            if visits[i] > floor {
                visits[i] -= 1;
                total -= 1;
            }
        }
    }

    // 4. Donors and their donations, chunk by chunk.
    let rules = EligibilityRules::default();
    let mut national_ids: HashSet<u64> = HashSet::with_capacity(n_donors);
    let mut record_index: u64 = 0;
    let sample_every = (n_donors / 20_000).max(1);
    let mut i = 0usize;
    while i < n_donors {
        let upto = (i + p.chunk_donors.max(1)).min(n_donors);
        let mut donors = Vec::with_capacity(upto - i);
        let mut donations = Vec::with_capacity((upto - i) * (mean.ceil() as usize + 1));
        for d in i..upto {
            let cal = &calendars[home[d] as usize];
            let mut r = StdRng::seed_from_u64(donor_seed(p.seed, d as u64));
            let donor = donor_with_history(
                &mut r,
                p,
                &rules,
                start,
                cal,
                &infos,
                visits[d],
                &mut national_ids,
                &mut record_index,
                &mut donations,
                d as u64,
            );
            if donor.reserve {
                summary.reserve += 1;
            }
            if d % sample_every == 0 {
                summary.donor_sample.push(donor.id.clone());
                let words: Vec<&str> = donor.name_folded.split(' ').collect();
                if d % (sample_every * 10) == 0 {
                    if let Some(phone) = &donor.phone {
                        summary.search_terms.push(phone.clone());
                    }
                }
                if let (Some(first), Some(last)) = (words.first(), words.last()) {
                    summary.search_terms.push(format!("{first} {last}"));
                }
                summary.search_names.push(donor.name_folded.clone());
                if let Some(nid) = &donor.national_id {
                    summary.search_national_ids.push(nid.clone());
                }
                if let Some(phone) = &donor.phone {
                    summary.search_phones.push(phone.clone());
                }
            }
            if summary.loggable.len() < p.loggable_wanted && may_give_today(&donor, p.today) {
                summary.loggable.push(donor.id.clone());
            }
            donors.push(donor);
        }
        summary.donors += donors.len() as u64;
        summary.donations += donations.len() as u64;
        for dn in &donations {
            if dn.outcome == "collected" {
                summary.collected += 1;
            } else {
                summary.deferred += 1;
            }
        }
        sink.chunk(donors, donations)?;
        i = upto;
    }
    Ok(summary)
}

/// Whether a donor may give 350 ml of whole blood today by the counters (age, weight, interval,
/// deferrals).
fn may_give_today(d: &Donor, today: NaiveDate) -> bool {
    let age = age_on(d.date_of_birth, today);
    (19..=59).contains(&age)
        && d.weight_kg.is_some_and(|w| w >= 50.0)
        && !d.permanently_deferred
        && d.deferred_until.is_none_or(|u| u <= today)
        && d.next_eligible_on.is_some_and(|n| n <= today)
}

/// One donor, planned and counted; their donations are appended to `out`.
#[expect(
    clippy::too_many_arguments,
    reason = "one generated donor's every attribute"
)]
fn donor_with_history(
    r: &mut StdRng,
    p: &Params,
    rules: &EligibilityRules,
    start: NaiveDate,
    cal: &Calendar,
    infos: &[EventInfo],
    k: u8,
    national_ids: &mut HashSet<u64>,
    record_index: &mut u64,
    out: &mut Vec<Donation>,
    donor_index: u64,
) -> Donor {
    let id = load_order_id(donor_index, r);
    let sex = if r.gen_bool(0.5) {
        Sex::Male
    } else {
        Sex::Female
    };
    let weight_kg = match sex {
        Sex::Female => 45.0 + f64::from(r.gen_range(0..50u32)) / 2.0,
        Sex::Male => 48.0 + f64::from(r.gen_range(0..70u32)) / 2.0,
    };

    // The visits: steps of at least 84 days plus the province's longest gap between event
    // days, so that moving each visit to the next event day keeps 84 days between them.
    let first = cal.days.first().map_or(0, |d| d.0);
    let last = cal.days.last().map_or(0, |d| d.0);
    let step = 84 + cal.max_gap;
    let k = usize::from(k);
    let mut days: Vec<(i32, u32)> = Vec::with_capacity(k);
    let registered_day;
    if k == 0 {
        registered_day = r.gen_range(0..=last.max(1));
    } else {
        let laziness = r.gen_range(0..500);
        let mut extras: Vec<i32> = (1..k).map(|_| r.gen_range(0..=laziness)).collect();
        let room = (last - first) - (k as i32 - 1) * step;
        let sum: i64 = extras.iter().map(|&e| i64::from(e)).sum();
        if sum > i64::from(room.max(0)) && sum > 0 {
            for e in extras.iter_mut() {
                *e = (i64::from(*e) * i64::from(room.max(0)) / sum) as i32;
            }
        }
        let span: i32 = (k as i32 - 1) * step + extras.iter().sum::<i32>();
        let a = first + r.gen_range(0..=(last - first - span).max(0));
        registered_day = a;
        let mut t = a;
        for j in 0..k {
            if j > 0 {
                t += step + extras[j - 1];
            }
            // The first event day on or after t; one of that day's events.
            let pos = cal.days.partition_point(|d| d.0 < t);
            let Some(&(day, _)) = cal.days.get(pos) else {
                break;
            };
            let same_day = cal.days[pos..].partition_point(|d| d.0 == day);
            days.push(cal.days[pos + r.gen_range(0..same_day)]);
        }
    }
    let registered = start + TimeDelta::days(i64::from(registered_day));
    let last_visit = days
        .last()
        .map_or(registered, |d| start + TimeDelta::days(i64::from(d.0)));

    // Born so as to be 18 at the first visit and at most 60 at the last, mostly young.
    let oldest = last_visit
        .checked_sub_months(Months::new(60 * 12))
        .unwrap_or(last_visit)
        + TimeDelta::days(2);
    let youngest = registered
        .checked_sub_months(Months::new(18 * 12))
        .unwrap_or(registered)
        - TimeDelta::days(1);
    let range = (youngest - oldest).num_days().max(0);
    let u: f64 = r.gen();
    let date_of_birth = youngest - TimeDelta::days((u * u * range as f64) as i64);

    let surname = pick_weighted(r, &names::SURNAMES);
    let (middle, given) = match sex {
        Sex::Male => (
            names::MIDDLE_MALE[r.gen_range(0..names::MIDDLE_MALE.len())],
            names::GIVEN_MALE[r.gen_range(0..names::GIVEN_MALE.len())],
        ),
        Sex::Female => (
            names::MIDDLE_FEMALE[r.gen_range(0..names::MIDDLE_FEMALE.len())],
            names::GIVEN_FEMALE[r.gen_range(0..names::GIVEN_FEMALE.len())],
        ),
    };
    let full_name = format!("{surname} {middle} {given}");

    let national_id = if r.gen_bool(0.92) {
        let century_sex = match (date_of_birth.year() >= 2000, sex) {
            (false, Sex::Male) => 0,
            (false, Sex::Female) => 1,
            (true, Sex::Male) => 2,
            (true, Sex::Female) => 3,
        };
        let yy = date_of_birth.year().rem_euclid(100) as u64;
        let head = u64::from(cal.code) * 1_000_000_000 + century_sex * 100_000_000 + yy * 1_000_000;
        loop {
            let n = head + r.gen_range(0..1_000_000u64);
            if national_ids.insert(n) {
                break Some(format!("{n:012}"));
            }
        }
    } else {
        None
    };
    let phone = r.gen_bool(0.95).then(|| {
        let second = [3, 5, 7, 8, 9][r.gen_range(0..5)];
        format!("0{second}{:08}", r.gen_range(0..100_000_000u32))
    });
    let commune = cal.communes[r.gen_range(0..cal.communes.len())].clone();

    let abo = pick_weighted(r, &[("O", 43.0), ("B", 30.0), ("A", 21.0), ("AB", 6.0)]);
    let rh = if r.gen::<f64>() < p.rh_negative_share {
        "-"
    } else {
        "+"
    };
    let reserve = r.gen::<f64>() < p.reserve_share;
    let reserve_since = reserve.then(|| {
        let d = registered + TimeDelta::days(r.gen_range(0..365));
        d.min(p.end)
    });

    // Paper history before the system: before the first visit, 84 days or more.
    let (prior_donations, prior_last_donation_on) = if r.gen_bool(0.18) {
        let n = r.gen_range(1..=6);
        let day = registered - TimeDelta::days(84 + r.gen_range(0..900));
        let adult = age_on(date_of_birth, day) >= 18;
        (n, adult.then_some(day))
    } else {
        (0, None)
    };

    // The records.
    let mut past: Vec<PastDonation> = Vec::new();
    let mut deferrals: Vec<Deferral> = Vec::new();
    let mut collected = 0i32;
    let mut first_collected_on = None;
    let mut last_at = None;
    let mut last_component = None;
    let mut last_chapter_id = None;
    let mut deferred_until: Option<NaiveDate> = None;
    for (day_no, event_index) in days {
        let info = &infos[event_index as usize];
        let day = start + TimeDelta::days(i64::from(day_no));
        debug_assert_eq!(day, info.day);
        let at = instant(day, r);
        *record_index += 1;
        let deferred = r.gen::<f64>() < 0.04;
        let mut row = Donation {
            id: load_order_id(*record_index, r),
            donor_id: id.clone(),
            event_id: Some(info.id.clone()),
            emergency_request_id: None,
            drive_id: Some(info.drive_id.clone()),
            chapter_id: Some(info.chapter_id.clone()),
            component: Component::WholeBlood.as_str().to_owned(),
            volume_ml: 0,
            outcome: "collected".to_owned(),
            donated_at: at,
            donated_on: day,
            unit_code: None,
            deferral_reason: None,
            deferred_until: None,
            permanent: false,
            voided: false,
            void_reason: None,
            voided_at: None,
            voided_by: None,
            recorded_by: "hienmau-bench".to_owned(),
            client_ref: None,
            client_ref_hash: None,
            created_at: at,
        };
        if deferred {
            let (reason, days) = names::DEFERRALS[r.gen_range(0..names::DEFERRALS.len())];
            let until = day + TimeDelta::days(days);
            row.outcome = "deferred".to_owned();
            row.deferral_reason = Some(reason.to_owned());
            row.deferred_until = Some(until);
            deferrals.push(Deferral {
                from: day,
                until: Some(until),
            });
            deferred_until = deferred_until.max(Some(until));
        } else {
            let x: f64 = r.gen();
            let (component, volume) = if weight_kg >= 50.0 && x < 0.06 {
                (Component::Platelets, 250)
            } else if weight_kg >= 50.0 && x < 0.08 {
                (Component::Plasma, 400)
            } else if weight_kg >= 50.0 && x < 0.35 {
                (Component::WholeBlood, 450)
            } else {
                (Component::WholeBlood, 350)
            };
            row.component = component.as_str().to_owned();
            row.volume_ml = volume;
            row.unit_code = Some(unit_code(day, *record_index));
            collected += 1;
            first_collected_on = first_collected_on.or(Some(day));
            last_at = Some(at);
            last_component = Some(component.as_str().to_owned());
            last_chapter_id = Some(info.chapter_id.clone());
            past.push(PastDonation { day, component });
        }
        out.push(row);
    }
    if let Some(day) = prior_last_donation_on {
        past.push(PastDonation {
            day,
            component: Component::WholeBlood,
        });
    }
    let from = past
        .iter()
        .map(|x| x.day)
        .chain(deferrals.iter().map(|x| x.from))
        .max();
    let rules_donor = eligibility::Donor {
        date_of_birth,
        sex,
        weight_kg: Some(weight_kg),
    };
    let next_eligible_on = from.and_then(|from| {
        eligibility::next_eligible_on(
            rules,
            &rules_donor,
            &past,
            &deferrals,
            Component::WholeBlood,
            from,
        )
    });
    let blood_group = if collected > 0 || r.gen_bool(0.5) {
        Some(format!("{abo}{rh}"))
    } else {
        None
    };
    let created_at = registered.and_time(NaiveTime::MIN) + TimeDelta::hours(1);
    Donor {
        id,
        name_folded: fold(&full_name),
        full_name,
        date_of_birth,
        sex: sex.as_str().to_owned(),
        national_id,
        blood_group,
        phone,
        province: Some(cal.name.clone()),
        province_folded: Some(fold(&cal.name)),
        commune_folded: Some(fold(&commune)),
        commune: Some(commune),
        weight_kg: Some(weight_kg),
        reserve,
        reserve_since,
        prior_donations,
        prior_last_donation_on,
        chapter_id: Some(cal.chapter_id.clone()),
        collected_count: collected,
        first_collected_on,
        last_donation_at: last_at,
        last_component,
        next_eligible_on,
        deferred_until,
        permanently_deferred: false,
        created_at,
        updated_at: created_at,
        last_chapter_id,
    }
}
