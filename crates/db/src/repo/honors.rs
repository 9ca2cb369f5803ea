//! Honors: which donors are due a tier as of a day, computed by the database.
//!
//! A donor's count as of day D is `prior_donations` plus their collected, not voided
//! donations with `donated_on <= D`; the award held is the highest tier of the awards in force
//! (not voided) dated on or before D; the tier due is the highest threshold reached above it.
//! A donor's chapter as of D is the chapter of their most recent collected, not voided
//! donation on or before D (ties on the instant broken by id); when that donation has no
//! chapter (it was for an emergency request) or there is none (only paper-era donations), the
//! chapter that registered the donor (`donors.chapter_id`), so that no donor drops out of every
//! chapter's list. Only a donor with neither has no chapter and is left out by a chapter filter.
//!
//! Everything is one statement of aggregates (the counts, a `GROUP BY` over the awards up to D,
//! a `CASE` over the configured thresholds), paged by the key `(tier, name_folded, donor_id)`,
//! which sorts the same on both backends.
//!
//! **Three sources of the counts** ([`DueSource`]). When no donation is dated after D (the
//! usual case: D is today), the donor's counters (`collected_count`, `last_donation_at`,
//! `last_chapter_id`, kept by the donation write transaction) with the registering chapter
//! are exactly the state as of D,
//! and the list reads one row per donor. When some are (a past year's report), the counters
//! less the donations dated after D give the count, and only the donors with such a donation
//! look up their latest one up to D: the work grows with the donations after D (at most the
//! current year's for last year's report), not with the whole history. A window over every
//! donation up to D is the third source, kept as the reference the other two are tested
//! against. [`source_for`] decides.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::repo::raw::{self, Param, Sql};
use crate::repo::{like_prefix, Page};
use crate::schema::{donations, donors};
use crate::{DbConn, DbError};

/// What to list.
#[derive(Debug, Clone, PartialEq)]
pub struct DueQuery {
    /// The cut-off day (inclusive) for donations and awards.
    pub as_of: NaiveDate,
    /// The configured thresholds (any order; each above 0).
    pub thresholds: Vec<u32>,
    /// Only donors due a tier at or above this threshold.
    pub min_tier: Option<u32>,
    /// Only donors whose chapter as of the day lies in the subtree with this path prefix.
    pub chapter_path_prefix: Option<String>,
}

/// A donor due a tier.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct DueRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub donor_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub full_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name_folded: String,
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub date_of_birth: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub phone: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub commune: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub province: Option<String>,
    /// Prior donations plus collected donations up to the day.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub donation_count: i64,
    /// The threshold due.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub tier: i64,
    /// The highest tier awarded up to the day; 0 for none.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub highest_award: i64,
    /// The last collected donation up to the day (UTC).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    pub last_donation_at: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
    pub prior_last_donation_on: Option<NaiveDate>,
    /// The donor's chapter as of the day (see the module documentation).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub chapter_id: Option<String>,
}

impl DueRow {
    /// The paging key `"{tier}\t{name_folded}\t{donor_id}"`.
    pub fn key(&self) -> String {
        format!("{}\t{}\t{}", self.tier, self.name_folded, self.donor_id)
    }
}

const COLUMNS: &str = "donor_id, full_name, name_folded, date_of_birth, phone, commune, \
     province, donation_count, tier, highest_award, last_donation_at, prior_last_donation_on, \
     chapter_id";

/// Where the counts as of the day come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueSource {
    /// The donors' counters: exact when no donation is dated after the day.
    Counters,
    /// The counters less the collected donations dated after the day: exact for any day;
    /// its cost grows with the donations after the day.
    Later,
    /// A window over the donations up to the day: exact for any day; its cost grows with the
    /// whole history (the reference the others are tested against).
    Donations,
}

/// The counters when they are exact for `as_of` (no donation, voided or not, is dated after
/// it: one probe of `donations_day_idx`), else the counters less the later donations.
pub fn source_for(conn: &mut DbConn, as_of: NaiveDate) -> Result<DueSource, DbError> {
    let later: Option<String> = donations::table
        .filter(donations::donated_on.gt(as_of))
        .select(donations::id)
        .first(conn)
        .optional()?;
    Ok(if later.is_some() {
        DueSource::Later
    } else {
        DueSource::Counters
    })
}

/// The common table expressions ending in `due`: every donor with their count, award held,
/// tier reached and chapter as of the day. Thresholds are the application's numbers, written
/// as literals; the day is bound.
pub(crate) fn due_cte(as_of: NaiveDate, thresholds: &[u32], source: DueSource) -> Sql {
    let mut sorted: Vec<u32> = thresholds.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut case = String::from("CASE");
    for t in &sorted {
        case.push_str(&format!(" WHEN s.cnt >= {t} THEN {t}"));
    }
    case.push_str(" ELSE 0 END");
    // Nobody below the lowest threshold is due anything: the counters path skips them early.
    let lowest = sorted.last().copied().unwrap_or(1).max(1);

    let mut s = Sql::new();
    s.push(
        "WITH held AS ( SELECT donor_id, MAX(tier) AS top FROM awards \
         WHERE NOT voided AND awarded_on <= ",
    )
    .bind(Param::Date(as_of))
    .push(" GROUP BY donor_id ), ");
    match source {
        DueSource::Counters => {
            s.push(&format!(
                "scored AS ( \
                   SELECT d.id AS donor_id, d.full_name, d.name_folded, d.date_of_birth, d.phone, \
                          d.commune, d.province, d.prior_donations + d.collected_count AS cnt, \
                          COALESCE(h.top, 0) AS top, d.last_donation_at AS last_at, \
                          d.prior_last_donation_on, \
                          COALESCE(d.last_chapter_id, d.chapter_id) AS chapter_id \
                   FROM donors d \
                   LEFT JOIN held h ON h.donor_id = d.id \
                   WHERE d.prior_donations + d.collected_count >= {lowest} \
                 ), "
            ));
        }
        DueSource::Later => {
            // Only donors with a collection after the day (`l.n` not null) look up their
            // latest one up to it (`donations_donor_idx`, a few rows each); the others'
            // counters already are their state as of the day.
            let latest_up_to = |column: &str, order: &str| {
                let mut q = Sql::new();
                q.push(&format!(
                    "(SELECT {column} FROM donations e WHERE e.donor_id = d.id \
                     AND e.outcome = 'collected' AND NOT e.voided AND e.donated_on <= "
                ))
                .bind(Param::Date(as_of))
                .push(&format!(" {order})"));
                q
            };
            s.push(
                "later AS ( \
                   SELECT donor_id, COUNT(*) AS n FROM donations \
                   WHERE outcome = 'collected' AND NOT voided AND donated_on > ",
            )
            .bind(Param::Date(as_of))
            .push(
                " GROUP BY donor_id \
                 ), scored AS ( \
                   SELECT d.id AS donor_id, d.full_name, d.name_folded, d.date_of_birth, d.phone, \
                          d.commune, d.province, \
                          d.prior_donations + d.collected_count - COALESCE(l.n, 0) AS cnt, \
                          COALESCE(h.top, 0) AS top, \
                          CASE WHEN l.n IS NULL THEN d.last_donation_at ELSE ",
            )
            .append(&latest_up_to(
                "e.donated_at",
                "ORDER BY e.donated_at DESC, e.id DESC LIMIT 1",
            ))
            .push(
                " END AS last_at, d.prior_last_donation_on, \
                          COALESCE(CASE WHEN l.n IS NULL THEN d.last_chapter_id ELSE ",
            )
            .append(&latest_up_to(
                "e.chapter_id",
                "ORDER BY e.donated_at DESC, e.id DESC LIMIT 1",
            ))
            .push(&format!(
                " END, d.chapter_id) AS chapter_id \
                   FROM donors d \
                   LEFT JOIN later l ON l.donor_id = d.id \
                   LEFT JOIN held h ON h.donor_id = d.id \
                   WHERE d.prior_donations + d.collected_count >= {lowest} \
                 ), "
            ));
        }
        DueSource::Donations => {
            s.push(
                "latest AS ( \
                   SELECT donor_id, chapter_id, donated_at AS last_at, n FROM ( \
                     SELECT donor_id, chapter_id, donated_at, \
                            ROW_NUMBER() OVER (PARTITION BY donor_id ORDER BY donated_at DESC, id DESC) AS rn, \
                            COUNT(*) OVER (PARTITION BY donor_id) AS n \
                     FROM donations \
                     WHERE outcome = 'collected' AND NOT voided AND donated_on <= ",
            )
            .bind(Param::Date(as_of))
            .push(
                " ) x WHERE rn = 1 \
                 ), scored AS ( \
                   SELECT d.id AS donor_id, d.full_name, d.name_folded, d.date_of_birth, d.phone, \
                          d.commune, d.province, d.prior_donations + COALESCE(l.n, 0) AS cnt, \
                          COALESCE(h.top, 0) AS top, l.last_at, d.prior_last_donation_on, \
                          COALESCE(l.chapter_id, d.chapter_id) AS chapter_id \
                   FROM donors d \
                   LEFT JOIN latest l ON l.donor_id = d.id \
                   LEFT JOIN held h ON h.donor_id = d.id \
                 ), ",
            );
        }
    }
    s.push(
        "due AS ( \
           SELECT s.donor_id, s.full_name, s.name_folded, s.date_of_birth, s.phone, s.commune, \
                  s.province, CAST(s.cnt AS BIGINT) AS donation_count, \
                  CAST(",
    )
    .push(&case)
    .push(
        " AS BIGINT) AS tier, CAST(s.top AS BIGINT) AS highest_award, \
                  s.last_at AS last_donation_at, s.prior_last_donation_on, s.chapter_id \
           FROM scored s \
         ) ",
    );
    s
}

/// `WHERE …` over `due`: due at all, and the query's filters.
fn due_filter(q: &DueQuery) -> Sql {
    let mut s = Sql::new();
    s.push(" WHERE tier > highest_award");
    if let Some(min) = q.min_tier {
        s.push(" AND tier >= ").bind(Param::BigInt(i64::from(min)));
    }
    if let Some(prefix) = &q.chapter_path_prefix {
        s.push(" AND chapter_id IN (SELECT id FROM chapters WHERE path LIKE ")
            .bind(Param::Text(like_prefix(prefix)))
            .push(" ESCAPE '\\')");
    }
    s
}

/// `AND (tier, name_folded, donor_id) > cursor`, written out for both backends.
fn after_key(after: &str) -> Result<Sql, DbError> {
    let mut parts = after.splitn(3, '\t');
    let (Some(tier), Some(name), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(DbError::BadCursor);
    };
    let tier: i64 = tier.parse().map_err(|_| DbError::BadCursor)?;
    let mut s = Sql::new();
    s.push(" AND (tier > ")
        .bind(Param::BigInt(tier))
        .push(" OR (tier = ")
        .bind(Param::BigInt(tier))
        .push(" AND (name_folded > ")
        .bind(Param::Text(name.to_owned()))
        .push(" OR (name_folded = ")
        .bind(Param::Text(name.to_owned()))
        .push(" AND donor_id > ")
        .bind(Param::Text(id.to_owned()))
        .push("))))");
    Ok(s)
}

/// One page of the donors due a tier, by (tier, name_folded, donor_id); `after` is the `next`
/// of the previous page.
pub fn due_page(
    conn: &mut DbConn,
    q: &DueQuery,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<DueRow>, DbError> {
    let source = source_for(conn, q.as_of)?;
    due_page_from(conn, q, source, after, limit)
}

/// [`due_page`] from a chosen source (the counters only when [`source_for`] allows them).
pub fn due_page_from(
    conn: &mut DbConn,
    q: &DueQuery,
    source: DueSource,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<DueRow>, DbError> {
    let mut s = due_cte(q.as_of, &q.thresholds, source);
    s.push(&format!("SELECT {COLUMNS} FROM due"))
        .append(&due_filter(q));
    if let Some(after) = after {
        s.append(&after_key(after)?);
    }
    s.push(" ORDER BY tier, name_folded, donor_id LIMIT ")
        .bind(Param::BigInt(limit + 1));
    let rows = raw::load::<DueRow>(conn, &s)?;
    Ok(Page::from_overfetch(rows, limit, DueRow::key))
}

/// How many donors are due a tier.
pub fn due_count(conn: &mut DbConn, q: &DueQuery) -> Result<i64, DbError> {
    let source = source_for(conn, q.as_of)?;
    let mut s = due_cte(q.as_of, &q.thresholds, source);
    s.push("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM due")
        .append(&due_filter(q));
    raw::count(conn, &s)
}

/// Streams every donor due a tier, in order, to `sink` in chunks of `chunk` rows, and returns
/// how many rows were sent. `sink` returns false to stop (the reader went away).
///
/// The list is computed once, inside one read transaction (so every chunk sees the same
/// snapshot), and handed over a chunk at a time, so the process holds one chunk however long
/// the list. How differs by backend:
/// - PostgreSQL: a cursor over the ordered list, fetched `chunk` rows at a time. (A temporary
///   table, as on SQLite, writes the system catalog twice per export and sends every other
///   session cache invalidations: under a flood of exports, donation logging's p99 grew
///   round after round.)
/// - SQLite, which has no cursor that outlives a statement: a temporary table on this
///   connection, read back in keyset-paged chunks, dropped at the end.
pub fn export_due(
    conn: &mut DbConn,
    q: &DueQuery,
    chunk: i64,
    mut sink: impl FnMut(Vec<DueRow>) -> bool,
) -> Result<u64, DbError> {
    conn.transaction::<u64, DbError, _>(|conn| {
        let source = source_for(conn, q.as_of)?;
        let mut list = due_cte(q.as_of, &q.thresholds, source);
        list.push(&format!("SELECT {COLUMNS} FROM due"))
            .append(&due_filter(q));
        let mut sent = 0u64;
        match conn {
            DbConn::Pg(_) => {
                let mut declare = Sql::new();
                declare
                    .push("DECLARE honors_export NO SCROLL CURSOR FOR ")
                    .append(&list)
                    .push(" ORDER BY tier, name_folded, donor_id");
                raw::execute(conn, &declare)?;
                let mut fetch = Sql::new();
                fetch.push(&format!(
                    "FETCH FORWARD {} FROM honors_export",
                    chunk.max(1)
                ));
                loop {
                    let rows = raw::load::<DueRow>(conn, &fetch)?;
                    let n = rows.len();
                    sent += n as u64;
                    if n == 0 || !sink(rows) || i64::try_from(n).unwrap_or(0) < chunk {
                        break;
                    }
                }
                // The cursor closes with the transaction.
            }
            DbConn::Sqlite(_) => {
                let mut create = Sql::new();
                create.push(
                    "CREATE TEMP TABLE honors_export (donor_id TEXT NOT NULL, \
                     full_name TEXT NOT NULL, name_folded TEXT NOT NULL, \
                     date_of_birth DATE NOT NULL, phone TEXT, commune TEXT, province TEXT, \
                     donation_count BIGINT NOT NULL, tier BIGINT NOT NULL, \
                     highest_award BIGINT NOT NULL, last_donation_at TIMESTAMP, \
                     prior_last_donation_on DATE, chapter_id TEXT)",
                );
                raw::execute(conn, &create)?;
                let mut fill = Sql::new();
                fill.push(&format!("INSERT INTO honors_export ({COLUMNS}) "))
                    .append(&list);
                raw::execute(conn, &fill)?;
                let mut index = Sql::new();
                index.push(
                    "CREATE INDEX honors_export_key ON honors_export (tier, name_folded, donor_id)",
                );
                raw::execute(conn, &index)?;
                let mut after: Option<String> = None;
                loop {
                    let mut s = Sql::new();
                    s.push(&format!("SELECT {COLUMNS} FROM honors_export WHERE 1 = 1"));
                    if let Some(a) = &after {
                        s.append(&after_key(a)?);
                    }
                    s.push(" ORDER BY tier, name_folded, donor_id LIMIT ")
                        .bind(Param::BigInt(chunk));
                    let rows = raw::load::<DueRow>(conn, &s)?;
                    let n = rows.len();
                    after = rows.last().map(DueRow::key);
                    sent += n as u64;
                    if n == 0 || !sink(rows) || i64::try_from(n).unwrap_or(0) < chunk {
                        break;
                    }
                }
                let mut drop = Sql::new();
                drop.push("DROP TABLE honors_export");
                raw::execute(conn, &drop)?;
            }
        }
        Ok(sent)
    })
}

/// A donor's count as of `day`: prior donations plus collected, not voided donations on or
/// before it. None when the donor does not exist.
pub fn count_as_of(
    conn: &mut DbConn,
    donor_id: &str,
    day: NaiveDate,
) -> Result<Option<i64>, DbError> {
    let Some(prior) = donors::table
        .find(donor_id)
        .select(donors::prior_donations)
        .first::<i32>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let recorded: i64 = donations::table
        .filter(donations::donor_id.eq(donor_id))
        .filter(donations::outcome.eq(hienmau_domain::Outcome::Collected.as_str()))
        .filter(donations::voided.eq(false))
        .filter(donations::donated_on.le(day))
        .select(count_star())
        .first(conn)?;
    Ok(Some(i64::from(prior) + recorded))
}
