//! The annual report's figures, every one an SQL aggregate (indexes: `donations (donated_on,
//! outcome, voided)`, `donations (drive_id, …)`, `drives (starts_on, ends_on)`, `chapters
//! (path)`); no donation is loaded into memory.
//!
//! Scope: without a chapter every figure covers everything. With a chapter (its subtree, by
//! path prefix) a donation counts when it was made at an event of a drive of the subtree, or
//! for an emergency request by a donor whom a chapter of the subtree registered
//! (`donors.chapter_id`: an emergency donation has no chapter of its own). Donors due an honor
//! are attributed as in [`crate::repo::honors`] (the chapter of their latest collected
//! donation up to 31 December, else the registering chapter); reserve donors likewise.
//!
//! `by_chapter` counts each chapter's own units (its drives' units and the emergency units of
//! the donors it registered) and, for every chapter with units in its subtree (within the
//! report's scope), `units_with_subordinates`: its own and those of every chapter below it,
//! rolled up along the chapters' paths.

use chrono::NaiveDate;
use diesel::QueryableByName;
use hienmau_domain::Outcome;

use crate::repo::honors::{self, DueQuery};
use crate::repo::like_prefix;
use crate::repo::raw::{self, Param, Sql};
use crate::{DbConn, DbError};

/// Which figures.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnualQuery {
    /// First day of the year.
    pub from: NaiveDate,
    /// Last day of the year (31 December): also the honors and reserve cut-off.
    pub to: NaiveDate,
    /// The subtree (a chapter's path), or None for everything.
    pub chapter_path_prefix: Option<String>,
    /// The configured honor thresholds.
    pub thresholds: Vec<u32>,
}

/// Units of one chapter: its own (drives of that chapter itself and emergency units of the
/// donors it registered, not those of the chapters below) and with its subordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct ChapterUnits {
    pub chapter_id: String,
    pub name: String,
    pub units: i64,
    pub units_with_subordinates: i64,
}

/// A chapter's own units, as the query reads them.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
struct OwnUnits {
    #[diesel(sql_type = diesel::sql_types::Text)]
    chapter_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    path: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    units: i64,
}

/// An ancestor's name, as the roll-up reads it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
struct ChapterName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// Units of one drive in the year.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct DriveUnits {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub drive_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub starts_on: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub units: i64,
}

/// The figures of a year (see the contract's "Reports").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annual {
    pub drives: i64,
    pub events: i64,
    pub drive_units: i64,
    pub emergency_units: i64,
    pub volume_ml: i64,
    pub deferrals: i64,
    pub donors: i64,
    pub new_donors: i64,
    pub reserve_donors: i64,
    pub honor_due: i64,
    /// Chapters with units in their subtree in the year, unsorted (the caller sorts by units
    /// and folded name).
    pub by_chapter: Vec<ChapterUnits>,
    /// Drives with at least one day in the year, with their units, unsorted.
    pub by_drive: Vec<DriveUnits>,
}

#[derive(Debug, QueryableByName)]
struct Totals {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    drive_units: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    emergency_units: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    volume_ml: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    donors: i64,
}

/// `{alias}.chapter_id IN (subtree)`, or `1 = 1` without a chapter.
fn in_scope(alias: &str, prefix: Option<&str>) -> Sql {
    let mut s = Sql::new();
    match prefix {
        Some(p) => {
            s.push(&format!(
                "{alias}.chapter_id IN (SELECT id FROM chapters WHERE path LIKE "
            ))
            .bind(Param::Text(like_prefix(p)))
            .push(" ESCAPE '\\')");
        }
        None => {
            s.push("1 = 1");
        }
    }
    s
}

/// The donations of the year with `outcome`, not voided, in scope (alias `dn`).
fn counted(q: &AnnualQuery, outcome: Outcome) -> Sql {
    let mut s = in_year(q, outcome);
    // Without a chapter nothing more is asked: every collection belongs to an event or to an
    // emergency request (a CHECK holds exactly one of them; only a deferral noted after the
    // drive has neither, and the deferral count excludes it), and the year's donations are
    // then read from `donations_day_idx` alone (it holds `event_id` and `chapter_id`, not the
    // request id). With one, an event's donation is judged on its own `chapter_id` (in the
    // index); only an emergency donation (few) looks up its donor's registering chapter.
    if let Some(p) = q.chapter_path_prefix.as_deref() {
        s.push(" AND ((dn.event_id IS NOT NULL AND ")
            .append(&in_scope("dn", Some(p)))
            .push(
                ") OR (dn.event_id IS NULL AND EXISTS (SELECT 1 FROM donors rd \
                 WHERE rd.id = dn.donor_id AND ",
            )
            .append(&in_scope("rd", Some(p)))
            .push(")))");
    }
    s
}

/// The donations of the year with `outcome`, not voided, whatever their chapter (alias `dn`).
fn in_year(q: &AnnualQuery, outcome: Outcome) -> Sql {
    let mut s = Sql::new();
    s.push(&format!(
        "dn.outcome = '{}' AND NOT dn.voided AND dn.donated_on >= ",
        outcome.as_str()
    ))
    .bind(Param::Date(q.from))
    .push(" AND dn.donated_on <= ")
    .bind(Param::Date(q.to));
    s
}

/// Each chapter's own units of the year, in scope: its drives' (the donation's `chapter_id`)
/// and the emergency units of the donors it registered.
fn own_units(conn: &mut DbConn, q: &AnnualQuery) -> Result<Vec<OwnUnits>, DbError> {
    let prefix = q.chapter_path_prefix.as_deref();
    let mut s = Sql::new();
    s.push(
        "SELECT ch.id AS chapter_id, ch.name AS name, ch.path AS path, \
         CAST(SUM(o.n) AS BIGINT) AS units FROM ( \
           SELECT dn.chapter_id AS chapter_id, COUNT(*) AS n FROM donations dn \
           WHERE dn.event_id IS NOT NULL AND ",
    )
    .append(&in_year(q, Outcome::Collected))
    .push(" AND ")
    .append(&in_scope("dn", prefix))
    .push(
        " GROUP BY dn.chapter_id \
           UNION ALL \
           SELECT rd.chapter_id AS chapter_id, COUNT(*) AS n FROM donations dn \
           JOIN donors rd ON rd.id = dn.donor_id \
           WHERE dn.event_id IS NULL AND rd.chapter_id IS NOT NULL AND ",
    )
    .append(&in_year(q, Outcome::Collected))
    .push(" AND ")
    .append(&in_scope("rd", prefix))
    .push(
        " GROUP BY rd.chapter_id \
         ) o JOIN chapters ch ON ch.id = o.chapter_id GROUP BY ch.id, ch.name, ch.path",
    );
    raw::load::<OwnUnits>(conn, &s)
}

/// The chapter ids of a materialised path `/root/…/own/`, root first.
fn path_ids(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|p| !p.is_empty())
}

/// `by_chapter`: every chapter in scope with units in its subtree, with its own units and
/// those of its subtree. The chapters are few (a tree of at most a few thousand), so the
/// roll-up along the paths is done here, over the rows of [`own_units`], and only the names
/// of the ancestors without units of their own are read.
fn by_chapter(conn: &mut DbConn, q: &AnnualQuery) -> Result<Vec<ChapterUnits>, DbError> {
    use std::collections::BTreeMap;
    let own = own_units(conn, q)?;
    let prefix = q.chapter_path_prefix.as_deref().unwrap_or("/");
    let mut rows: BTreeMap<String, ChapterUnits> = BTreeMap::new();
    let mut missing: BTreeMap<String, i64> = BTreeMap::new();
    for o in &own {
        rows.insert(
            o.chapter_id.clone(),
            ChapterUnits {
                chapter_id: o.chapter_id.clone(),
                name: o.name.clone(),
                units: o.units,
                units_with_subordinates: 0,
            },
        );
    }
    for o in &own {
        let mut at = String::from("/");
        for id in path_ids(&o.path) {
            at.push_str(id);
            at.push('/');
            // Ancestors above the report's scope are not listed.
            if !at.starts_with(prefix) {
                continue;
            }
            match rows.get_mut(id) {
                Some(r) => r.units_with_subordinates += o.units,
                None => *missing.entry(id.to_owned()).or_default() += o.units,
            }
        }
    }
    if !missing.is_empty() {
        let mut s = Sql::new();
        s.push("SELECT id, name FROM chapters WHERE id IN (");
        for (i, id) in missing.keys().enumerate() {
            if i > 0 {
                s.push(", ");
            }
            s.bind(Param::Text(id.clone()));
        }
        s.push(")");
        for c in raw::load::<ChapterName>(conn, &s)? {
            let total = missing.get(&c.id).copied().unwrap_or(0);
            rows.insert(
                c.id.clone(),
                ChapterUnits {
                    chapter_id: c.id,
                    name: c.name,
                    units: 0,
                    units_with_subordinates: total,
                },
            );
        }
    }
    Ok(rows.into_values().collect())
}

/// New donors: no paper history, a collection in the year (in scope) and none before it.
///
/// Without a chapter that is exactly "first collection in the year", the donor's counter
/// `first_collected_on` (every donation belongs to an event or to an emergency request, so
/// every collection is in scope), counted on a partial index of a few rows per new donor
/// instead of probing each of the year's donations for an earlier one. With a chapter the
/// year's collection must be in the subtree, so the donations are read.
fn new_donors(conn: &mut DbConn, q: &AnnualQuery) -> Result<i64, DbError> {
    let mut s = Sql::new();
    match q.chapter_path_prefix {
        None => {
            // `prior_donations = 0` written as in `donors_first_collected_idx`'s predicate,
            // so that both planners may use the partial index.
            s.push(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM donors d \
                 WHERE d.prior_donations = 0 AND d.first_collected_on >= ",
            )
            .bind(Param::Date(q.from))
            .push(" AND d.first_collected_on <= ")
            .bind(Param::Date(q.to));
        }
        Some(_) => {
            s.push(
                "SELECT CAST(COUNT(DISTINCT dn.donor_id) AS BIGINT) AS n FROM donations dn \
                 JOIN donors d ON d.id = dn.donor_id WHERE d.prior_donations = 0 AND ",
            )
            .append(&counted(q, Outcome::Collected))
            .push(
                " AND NOT EXISTS (SELECT 1 FROM donations e WHERE e.donor_id = dn.donor_id \
                 AND e.outcome = 'collected' AND NOT e.voided AND e.donated_on < ",
            )
            .bind(Param::Date(q.from))
            .push(")");
        }
    }
    raw::count(conn, &s)
}

/// Computes the year's figures.
pub fn annual(conn: &mut DbConn, q: &AnnualQuery) -> Result<Annual, DbError> {
    let prefix = q.chapter_path_prefix.as_deref();
    let mut a = Annual::default();

    let mut s = Sql::new();
    s.push(
        "SELECT CAST(COUNT(dn.event_id) AS BIGINT) AS drive_units, \
         CAST(COUNT(*) - COUNT(dn.event_id) AS BIGINT) AS emergency_units, \
         CAST(COALESCE(SUM(dn.volume_ml), 0) AS BIGINT) AS volume_ml, \
         CAST(COUNT(DISTINCT dn.donor_id) AS BIGINT) AS donors \
         FROM donations dn WHERE ",
    )
    .append(&counted(q, Outcome::Collected));
    if let Some(t) = raw::load::<Totals>(conn, &s)?.into_iter().next() {
        a.drive_units = t.drive_units;
        a.emergency_units = t.emergency_units;
        a.volume_ml = t.volume_ml;
        a.donors = t.donors;
    }

    let mut s = Sql::new();
    // Deferrals at screening (an event or an emergency request): a result noted afterwards
    // (`POST /donors/{id}/deferrals`, neither set) turned no donor away.
    s.push("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM donations dn WHERE ")
        .append(&counted(q, Outcome::Deferred))
        .push(" AND (dn.event_id IS NOT NULL OR dn.emergency_request_id IS NOT NULL)");
    a.deferrals = raw::count(conn, &s)?;

    a.new_donors = new_donors(conn, q)?;

    let mut s = Sql::new();
    s.push("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM drives dr WHERE dr.starts_on <= ")
        .bind(Param::Date(q.to))
        .push(" AND dr.ends_on >= ")
        .bind(Param::Date(q.from))
        .push(" AND ")
        .append(&in_scope("dr", prefix));
    a.drives = raw::count(conn, &s)?;

    let mut s = Sql::new();
    s.push(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM events ev \
         JOIN drives dr ON dr.id = ev.drive_id WHERE ev.held_on >= ",
    )
    .bind(Param::Date(q.from))
    .push(" AND ev.held_on <= ")
    .bind(Param::Date(q.to))
    .push(" AND ")
    .append(&in_scope("dr", prefix));
    a.events = raw::count(conn, &s)?;

    a.by_chapter = by_chapter(conn, q)?;

    let mut s = Sql::new();
    s.push(&format!(
        "SELECT dr.id AS drive_id, dr.name AS name, dr.starts_on AS starts_on, \
         CAST((SELECT COUNT(*) FROM donations dn WHERE dn.drive_id = dr.id \
               AND dn.outcome = '{}' AND NOT dn.voided AND dn.donated_on >= ",
        Outcome::Collected.as_str()
    ))
    .bind(Param::Date(q.from))
    .push(" AND dn.donated_on <= ")
    .bind(Param::Date(q.to))
    .push(") AS BIGINT) AS units FROM drives dr WHERE dr.starts_on <= ")
    .bind(Param::Date(q.to))
    .push(" AND dr.ends_on >= ")
    .bind(Param::Date(q.from))
    .push(" AND ")
    .append(&in_scope("dr", prefix));
    a.by_drive = raw::load::<DriveUnits>(conn, &s)?;

    // Reserve members on 31 December: in the reserve now and since a day on or before it
    // (withdrawals are not kept as history, so a donor who withdrew counts in no year).
    let mut s = Sql::new();
    match prefix {
        None => {
            s.push(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM donors d \
                 WHERE d.reserve AND d.reserve_since <= ",
            )
            .bind(Param::Date(q.to));
        }
        Some(p) => {
            s.push(
                "WITH latest AS (SELECT donor_id, chapter_id FROM ( \
                   SELECT donor_id, chapter_id, ROW_NUMBER() OVER \
                     (PARTITION BY donor_id ORDER BY donated_at DESC, id DESC) AS rn \
                   FROM donations WHERE outcome = 'collected' AND NOT voided \
                   AND donated_on <= ",
            )
            .bind(Param::Date(q.to))
            .push(
                ") x WHERE rn = 1) \
                 SELECT CAST(COUNT(*) AS BIGINT) AS n FROM donors d \
                 LEFT JOIN latest l ON l.donor_id = d.id \
                 WHERE d.reserve AND d.reserve_since <= ",
            )
            .bind(Param::Date(q.to))
            .push(" AND COALESCE(l.chapter_id, d.chapter_id) IN (SELECT id FROM chapters WHERE path LIKE ")
            .bind(Param::Text(like_prefix(p)))
            .push(" ESCAPE '\\')");
        }
    }
    a.reserve_donors = raw::count(conn, &s)?;

    a.honor_due = honors::due_count(
        conn,
        &DueQuery {
            as_of: q.to,
            thresholds: q.thresholds.clone(),
            min_tier: None,
            chapter_path_prefix: q.chapter_path_prefix.clone(),
        },
    )?;
    Ok(a)
}
