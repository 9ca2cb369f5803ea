//! The generator on tiny sizes: exact counts, the 84-day interval, counters consistent with
//! the records, and the SQLite bulk path. No timing is checked.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] functions fail the test by panicking"
)]

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::{QueryableByName, RunQueryDsl};
use hienmau_bench::gen::{generate, Params, Sink};
use hienmau_bench::load::{fresh_database, Loader};
use hienmau_db::models::{Chapter, Donation, Donor, Drive, Event};

#[derive(Default)]
struct Collect {
    chapters: Vec<Chapter>,
    drives: Vec<Drive>,
    events: Vec<Event>,
    donors: Vec<Donor>,
    donations: Vec<Donation>,
}

impl Sink for Collect {
    type Error = std::convert::Infallible;
    fn chapters(&mut self, rows: Vec<Chapter>) -> Result<(), Self::Error> {
        self.chapters.extend(rows);
        Ok(())
    }
    fn drives(&mut self, rows: Vec<Drive>) -> Result<(), Self::Error> {
        self.drives.extend(rows);
        Ok(())
    }
    fn events(&mut self, rows: Vec<Event>) -> Result<(), Self::Error> {
        self.events.extend(rows);
        Ok(())
    }
    fn chunk(&mut self, donors: Vec<Donor>, donations: Vec<Donation>) -> Result<(), Self::Error> {
        self.donors.extend(donors);
        self.donations.extend(donations);
        Ok(())
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn params(donors: u64, donations: u64) -> Params {
    Params {
        donors,
        donations,
        years: 10,
        end: day("2025-12-31"),
        seed: 7,
        reserve_share: 0.10,
        rh_negative_share: 0.001,
        provinces: 34,
        communes_per_province: 98,
        chunk_donors: 7,
        today: day("2026-06-01"),
        loggable_wanted: 10,
    }
}

#[test]
fn tiny_data_set_is_consistent() {
    let mut c = Collect::default();
    let summary = generate(&params(40, 200), &mut c).unwrap();
    assert_eq!(c.donors.len(), 40);
    assert_eq!(c.donations.len(), 200);
    assert_eq!(summary.donations, 200);
    assert_eq!(summary.collected + summary.deferred, 200);
    assert_eq!(c.chapters.len(), 35);
    assert!(!c.drives.is_empty() && !c.events.is_empty());

    let events: HashMap<&str, &Event> = c.events.iter().map(|e| (e.id.as_str(), e)).collect();
    let drives: HashMap<&str, &Drive> = c.drives.iter().map(|d| (d.id.as_str(), d)).collect();
    let mut by_donor: HashMap<&str, Vec<&Donation>> = HashMap::new();
    let mut codes = HashSet::new();
    for d in &c.donations {
        by_donor.entry(d.donor_id.as_str()).or_default().push(d);
        let ev = events[d.event_id.as_deref().unwrap()];
        assert_eq!(ev.held_on, d.donated_on, "a donation is on its event's day");
        assert_eq!(d.drive_id.as_deref(), Some(ev.drive_id.as_str()));
        let drive = drives[ev.drive_id.as_str()];
        assert!(drive.starts_on <= ev.held_on && ev.held_on <= drive.ends_on);
        assert_eq!(d.chapter_id.as_deref(), Some(drive.chapter_id.as_str()));
        if let Some(code) = &d.unit_code {
            assert!(codes.insert(code.clone()), "unit codes are unique");
        }
        assert!(d.donated_on <= day("2025-12-31"));
    }
    for donor in &c.donors {
        let mut rows = by_donor.remove(donor.id.as_str()).unwrap_or_default();
        rows.sort_by_key(|d| d.donated_at);
        let collected: Vec<&&Donation> = rows.iter().filter(|d| d.outcome == "collected").collect();
        for pair in collected.windows(2) {
            let gap = (pair[1].donated_on - pair[0].donated_on).num_days();
            assert!(gap >= 84, "{}: {gap} days between collections", donor.id);
        }
        if let Some(prior) = donor.prior_last_donation_on {
            if let Some(first) = collected.first() {
                assert!((first.donated_on - prior).num_days() >= 84);
            }
        }
        assert_eq!(donor.collected_count as usize, collected.len());
        assert_eq!(
            donor.first_collected_on,
            collected.first().map(|d| d.donated_on)
        );
        assert_eq!(
            donor.last_donation_at,
            collected.last().map(|d| d.donated_at)
        );
        assert_eq!(
            donor.last_component.as_deref(),
            collected.last().map(|d| d.component.as_str())
        );
        if let Some(last) = collected.last() {
            let next = donor
                .next_eligible_on
                .expect("a young donor may give again");
            let component = hienmau_domain::Component::parse(&last.component).unwrap();
            let interval =
                hienmau_domain::eligibility::EligibilityRules::default().interval_after(component);
            assert!((next - last.donated_on).num_days() >= interval);
        }
        for d in &rows {
            if d.outcome == "deferred" {
                assert!(donor.deferred_until >= d.deferred_until);
            }
        }
    }
    assert!(
        by_donor.is_empty(),
        "every donation belongs to a generated donor"
    );
}

#[test]
fn same_seed_same_data() {
    let mut a = Collect::default();
    let mut b = Collect::default();
    generate(&params(30, 150), &mut a).unwrap();
    let mut p = params(30, 150);
    p.chunk_donors = 1_000;
    generate(&p, &mut b).unwrap();
    assert_eq!(a.donors, b.donors);
    assert_eq!(a.donations, b.donations);
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[test]
fn sqlite_bulk_path_loads_everything() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    fresh_database(&url).unwrap();
    let mut saved = Vec::new();
    let mut loader = Loader::open(&url, &mut saved).unwrap();
    assert!(
        !saved.is_empty(),
        "secondary indexes are dropped for the load"
    );
    let summary = generate(&params(40, 200), &mut loader).unwrap();
    loader.finish(&saved).unwrap();
    drop(loader);

    let mut conn = hienmau_bench::load::open(&url).unwrap();
    let hienmau_db::DbConn::Sqlite(c) = &mut conn else {
        panic!("a SQLite connection");
    };
    let count = |c: &mut diesel::SqliteConnection, sql: &str| -> i64 {
        diesel::sql_query(sql).load::<N>(c).unwrap()[0].n
    };
    assert_eq!(count(c, "SELECT COUNT(*) AS n FROM donations"), 200);
    assert_eq!(count(c, "SELECT COUNT(*) AS n FROM donors"), 40);
    assert_eq!(
        count(
            c,
            "SELECT COUNT(*) AS n FROM donations WHERE outcome = 'collected'"
        ),
        summary.collected as i64
    );
    assert_eq!(
        count(c, "SELECT COUNT(*) AS n FROM pragma_foreign_key_check"),
        0,
        "every foreign key holds"
    );
    assert_eq!(
        count(c, "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = 'donations'"),
        5,
        "the indexes are rebuilt"
    );
    // The server's own reads see the loaded rows: a donor through the repository.
    let id = summary.donor_sample[0].clone();
    let donor = hienmau_db::repo::donors::find(&mut conn, &id)
        .unwrap()
        .unwrap();
    assert_eq!(donor.id, id);
}
