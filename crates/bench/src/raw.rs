//! Baselines: each read workload's SQL run directly on the same database, one connection,
//! one statement after another, no HTTP and no query builder (SQL text through
//! `diesel::sql_query` on the backend's own connection). For logging, the eligibility check
//! and the insert in one durable transaction, as the server's transaction does them.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Bool, Date, Double, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::{QueryableByName, RunQueryDsl};
use hienmau_db::DbConn;
use hienmau_domain::blood::BloodGroup;
use hienmau_domain::eligibility::{self, Deferral, EligibilityRules, PastDonation, Proposed};
use hienmau_domain::{CandidateCriteria, Component, Outcome, Sex};

use crate::stats::Measured;
use crate::BenchError;

/// A bound parameter.
#[derive(Debug, Clone)]
pub enum P {
    /// Text.
    Text(String),
    /// Nullable text.
    OptText(Option<String>),
    /// A date.
    Date(NaiveDate),
    /// A nullable date.
    OptDate(Option<NaiveDate>),
    /// A timestamp.
    Ts(NaiveDateTime),
    /// A nullable timestamp.
    OptTs(Option<NaiveDateTime>),
    /// An INTEGER.
    Int(i32),
    /// A DOUBLE.
    Double(f64),
    /// A BOOLEAN.
    Bool(bool),
}

macro_rules! bind_one {
    ($q:expr, $p:expr) => {
        match $p {
            P::Text(s) => $q.bind::<Text, _>(s.clone()),
            P::OptText(s) => $q.bind::<Nullable<Text>, _>(s.clone()),
            P::Date(d) => $q.bind::<Date, _>(*d),
            P::OptDate(d) => $q.bind::<Nullable<Date>, _>(*d),
            P::Ts(t) => $q.bind::<Timestamp, _>(*t),
            P::OptTs(t) => $q.bind::<Nullable<Timestamp>, _>(*t),
            P::Int(n) => $q.bind::<Integer, _>(*n),
            P::Double(x) => $q.bind::<Double, _>(*x),
            P::Bool(b) => $q.bind::<Bool, _>(*b),
        }
    };
}

/// `?` placeholders as PostgreSQL's `$n` (the texts here have no `?` elsewhere).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_query(sql: &str, params: &[P]) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    let mut q = diesel::sql_query(numbered(sql)).into_boxed::<Pg>();
    for p in params {
        q = bind_one!(q, p);
    }
    q
}

fn sqlite_query(sql: &str, params: &[P]) -> BoxedSqlQuery<'static, Sqlite, SqlQuery> {
    let mut q = diesel::sql_query(sql.to_owned()).into_boxed::<Sqlite>();
    for p in params {
        q = bind_one!(q, p);
    }
    q
}

/// Loads rows of a statement.
pub fn load<R>(conn: &mut DbConn, sql: &str, params: &[P]) -> Result<Vec<R>, BenchError>
where
    R: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    Ok(match conn {
        DbConn::Pg(c) => pg_query(sql, params).load::<R>(c)?,
        DbConn::Sqlite(c) => sqlite_query(sql, params).load::<R>(c)?,
    })
}

/// Executes a statement.
pub fn execute(conn: &mut DbConn, sql: &str, params: &[P]) -> Result<usize, BenchError> {
    Ok(match conn {
        DbConn::Pg(c) => pg_query(sql, params).execute(c)?,
        DbConn::Sqlite(c) => sqlite_query(sql, params).execute(c)?,
    })
}

/// The donor columns, in `schema.rs` order.
pub const DONOR_COLUMNS: &str = "id, full_name, name_folded, date_of_birth, sex, national_id, \
    blood_group, phone, province, province_folded, commune, commune_folded, weight_kg, reserve, \
    reserve_since, prior_donations, prior_last_donation_on, chapter_id, collected_count, \
    first_collected_on, last_donation_at, last_component, next_eligible_on, deferred_until, \
    permanently_deferred, created_at, updated_at";

/// A whole donor row.
#[derive(Debug, QueryableByName)]
#[expect(missing_docs, reason = "fields are the donors columns")]
pub struct DonorRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub full_name: String,
    #[diesel(sql_type = Text)]
    pub name_folded: String,
    #[diesel(sql_type = Date)]
    pub date_of_birth: NaiveDate,
    #[diesel(sql_type = Text)]
    pub sex: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub national_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub blood_group: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub phone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub province: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub province_folded: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub commune: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub commune_folded: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    pub weight_kg: Option<f64>,
    #[diesel(sql_type = Bool)]
    pub reserve: bool,
    #[diesel(sql_type = Nullable<Date>)]
    pub reserve_since: Option<NaiveDate>,
    #[diesel(sql_type = Integer)]
    pub prior_donations: i32,
    #[diesel(sql_type = Nullable<Date>)]
    pub prior_last_donation_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    pub chapter_id: Option<String>,
    #[diesel(sql_type = Integer)]
    pub collected_count: i32,
    #[diesel(sql_type = Nullable<Date>)]
    pub first_collected_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_donation_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_component: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub next_eligible_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    pub deferred_until: Option<NaiveDate>,
    #[diesel(sql_type = Bool)]
    pub permanently_deferred: bool,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub updated_at: NaiveDateTime,
}

#[derive(QueryableByName)]
struct Top {
    #[diesel(sql_type = Nullable<Integer>)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    n: Option<i32>,
}

#[derive(QueryableByName)]
struct DonorTop {
    #[diesel(sql_type = Text)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    donor_id: String,
    #[diesel(sql_type = Nullable<Integer>)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    n: Option<i32>,
}

#[derive(QueryableByName)]
struct Totals {
    #[diesel(sql_type = BigInt)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    units: i64,
    #[diesel(sql_type = BigInt)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    volume: i64,
    #[diesel(sql_type = BigInt)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    donors: i64,
}

/// One BIGINT named `n`.
#[derive(QueryableByName)]
pub struct Count {
    /// The number.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

#[derive(QueryableByName)]
struct Grouped {
    #[diesel(sql_type = Nullable<Text>)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    g: Option<String>,
    #[diesel(sql_type = BigInt)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    n: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    #[expect(dead_code, reason = "read by the database, never by the benchmark")]
    id: String,
}

#[derive(QueryableByName)]
struct Past {
    #[diesel(sql_type = Date)]
    donated_on: NaiveDate,
    #[diesel(sql_type = Text)]
    component: String,
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = Nullable<Date>)]
    deferred_until: Option<NaiveDate>,
    #[diesel(sql_type = Bool)]
    permanent: bool,
}

/// Runs `op(i)` one after another until `max` operations or `time`, and measures.
pub fn measure(
    name: &str,
    max: u64,
    time: Duration,
    mut op: impl FnMut(u64) -> Result<(), BenchError>,
) -> Measured {
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut first = None;
    let started = Instant::now();
    let mut i = 0;
    while i < max && started.elapsed() < time {
        let t = Instant::now();
        if let Err(e) = op(i) {
            errors += 1;
            first.get_or_insert(e.to_string());
        }
        samples.push(t.elapsed());
        i += 1;
    }
    Measured::from_samples(name, samples, errors, first, 1, started.elapsed())
}

/// Donor read: the row and the highest award, as `GET /donors/{id}` reads them.
pub fn donor_read(conn: &mut DbConn, id: &str) -> Result<(), BenchError> {
    let rows: Vec<DonorRow> = load(
        conn,
        &format!("SELECT {DONOR_COLUMNS} FROM donors WHERE id = ?"),
        &[P::Text(id.to_owned())],
    )?;
    if rows.is_empty() {
        return Err(BenchError::msg("no such donor"));
    }
    let _: Vec<Top> = load(
        conn,
        "SELECT MAX(tier) AS n FROM awards WHERE donor_id = ? AND NOT voided",
        &[P::Text(id.to_owned())],
    )?;
    Ok(())
}

/// Donor search as `repo::donors::search` runs it, a page of 50 (plus one), then the awards of
/// the page in one statement: an all-digits term is also an exact phone (its own query); the
/// words are a name search through the trigram index (the FTS5 table on SQLite, the GIN index
/// serving `LIKE` on PostgreSQL), rank 0 (the words whole and in order, the last as a prefix)
/// in name order, then rank 1 when rank 0 does not fill the page.
pub fn donor_search(conn: &mut DbConn, term: &str) -> Result<(), BenchError> {
    const PAGE: usize = 51;
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    let words: Vec<&str> = term.split(' ').filter(|w| !w.is_empty()).collect();
    let escape = |w: &str| {
        w.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    };
    let mut name = String::new();
    let mut params = Vec::new();
    let long: Vec<String> = words
        .iter()
        .filter(|w| w.chars().count() >= 3)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    let mut rest_name = String::new();
    let mut rest_params = Vec::new();
    if sqlite && !long.is_empty() {
        // As the repository: rank 0 walks the name index against the FTS answer when the
        // words are in an eighth of the names or more (the FTS index's trigram counts).
        let dense = dense_words(conn, &words)?;
        let fts = "rowid IN (SELECT rowid FROM donors_name_fts WHERE donors_name_fts MATCH ?)";
        name.push_str(if dense { " AND +" } else { " AND " });
        name.push_str(fts);
        params.push(P::Text(long.join(" AND ")));
        rest_name.push_str(" AND ");
        rest_name.push_str(fts);
        rest_params.push(P::Text(long.join(" AND ")));
    }
    let mut likes = String::new();
    let mut like_params = Vec::new();
    for w in &words {
        likes.push_str(" AND name_folded LIKE ? ESCAPE '\\'");
        like_params.push(P::Text(format!("%{}%", escape(w))));
    }
    name.push_str(&likes);
    params.extend(like_params.iter().cloned());
    rest_name.push_str(&likes);
    rest_params.extend(like_params);
    let mut pattern = String::from("%");
    for (i, w) in words.iter().enumerate() {
        pattern.push(' ');
        pattern.push_str(&escape(w));
        pattern.push_str(if i + 1 == words.len() { "%" } else { " %" });
    }
    params.push(P::Text(pattern.clone()));
    rest_params.push(P::Text(pattern));
    let best = "(' ' || replace(name_folded, ' ', '  ') || ' ') LIKE ? ESCAPE '\\'";
    // All digits: a CCCD (12 digits) or a phone, looked up on its own index.
    let exact = term
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then_some(if term.len() == 12 {
            "national_id"
        } else {
            "phone"
        });
    let mut rows: Vec<DonorRow> = Vec::new();
    if let Some(column) = exact {
        rows = load(
            conn,
            &format!(
                "SELECT {DONOR_COLUMNS} FROM donors WHERE {column} = ? \
                 ORDER BY name_folded, id LIMIT 51"
            ),
            &[P::Text(term.to_owned())],
        )?;
    }
    if !words.is_empty() {
        rows.extend(load::<DonorRow>(
            conn,
            &format!(
                "SELECT {DONOR_COLUMNS} FROM donors WHERE 1 = 1{name} AND {best} \
                 ORDER BY name_folded, id LIMIT 51"
            ),
            &params,
        )?);
        rows.truncate(PAGE);
        if rows.len() < PAGE {
            let mut rest =
                format!("SELECT {DONOR_COLUMNS} FROM donors WHERE 1 = 1{rest_name} AND NOT {best}");
            if let Some(column) = exact {
                rest.push_str(&format!(" AND ({column} IS NULL OR {column} <> ?)"));
                rest_params.push(P::Text(term.to_owned()));
            }
            rest.push_str(&format!(
                " ORDER BY name_folded || '', id LIMIT {}",
                PAGE - rows.len()
            ));
            rows.extend(load::<DonorRow>(conn, &rest, &rest_params)?);
        }
    }
    if !rows.is_empty() {
        let marks = vec!["?"; rows.len()].join(", ");
        let params: Vec<P> = rows.iter().map(|r| P::Text(r.id.clone())).collect();
        let _: Vec<DonorTop> = load(
            conn,
            &format!(
                "SELECT donor_id, MAX(tier) AS n FROM awards WHERE donor_id IN ({marks}) \
                 AND NOT voided GROUP BY donor_id"
            ),
            &params,
        )?;
    }
    Ok(())
}

/// As `repo::donors::dense_words`: whether the words of three characters or more are in an
/// eighth of the names or more, from the FTS index's trigram counts (SQLite).
fn dense_words(conn: &mut DbConn, words: &[&str]) -> Result<bool, BenchError> {
    let mut bound: Option<i64> = None;
    for w in words.iter().filter(|w| w.chars().count() >= 3) {
        let chars: Vec<char> = w.chars().collect();
        for t in chars.windows(3) {
            let rows: Vec<Count> = load(
                conn,
                "SELECT CAST(COALESCE(MAX(doc), 0) AS BIGINT) AS n FROM donors_name_vocab \
                 WHERE term = ?",
                &[P::Text(t.iter().collect())],
            )?;
            let n = rows.first().map_or(0, |r| r.n);
            bound = Some(bound.map_or(n, |b| b.min(n)));
        }
    }
    let Some(bound) = bound else {
        return Ok(false);
    };
    let rows: Vec<Count> = load(
        conn,
        "SELECT CAST(COALESCE(MAX(rowid), 0) AS BIGINT) AS n FROM donors",
        &[],
    )?;
    let donors = rows.first().map_or(0, |r| r.n);
    Ok(bound > 0 && bound * 8 >= donors)
}

/// Drive tally: the six statements of the repository's tally, as SQL text.
pub fn tally(conn: &mut DbConn, drive_id: &str) -> Result<(), BenchError> {
    let id = || vec![P::Text(drive_id.to_owned())];
    let counted = "drive_id = ? AND outcome = 'collected' AND voided = FALSE";
    let _: Vec<Totals> = load(
        conn,
        &format!(
            "SELECT COUNT(*) AS units, CAST(COALESCE(SUM(volume_ml), 0) AS BIGINT) AS volume, \
             COUNT(DISTINCT donor_id) AS donors FROM donations WHERE {counted}"
        ),
        &id(),
    )?;
    let _: Vec<Count> = load(
        conn,
        "SELECT COUNT(*) AS n FROM donations WHERE drive_id = ? AND outcome = 'deferred' \
         AND voided = FALSE",
        &id(),
    )?;
    let _: Vec<Count> = load(
        conn,
        "SELECT COUNT(DISTINCT d.donor_id) AS n FROM donations d \
         WHERE d.drive_id = ? AND d.outcome = 'collected' AND d.voided = FALSE \
         AND EXISTS (SELECT 1 FROM donors p WHERE p.id = d.donor_id AND p.prior_donations = 0) \
         AND NOT EXISTS (SELECT 1 FROM donations e WHERE e.donor_id = d.donor_id \
           AND e.outcome = 'collected' AND e.voided = FALSE \
           AND (e.donated_at < d.donated_at OR (e.donated_at = d.donated_at AND e.id < d.id)))",
        &id(),
    )?;
    let _: Vec<Grouped> = load(
        conn,
        "SELECT dn.blood_group AS g, COUNT(*) AS n FROM donations d \
         JOIN donors dn ON dn.id = d.donor_id \
         WHERE d.drive_id = ? AND d.outcome = 'collected' AND d.voided = FALSE \
         GROUP BY dn.blood_group",
        &id(),
    )?;
    let _: Vec<Grouped> = load(
        conn,
        &format!(
            "SELECT event_id AS g, COUNT(*) AS n FROM donations WHERE {counted} GROUP BY event_id"
        ),
        &id(),
    )?;
    let _: Vec<Id> = load(
        conn,
        "SELECT id FROM events WHERE drive_id = ? ORDER BY held_on, id",
        &id(),
    )?;
    Ok(())
}

/// An emergency request as the candidate query needs it.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// The request's id.
    pub id: String,
    /// The patient's group.
    pub patient: BloodGroup,
    /// The component.
    pub component: Component,
    /// The request's province, folded.
    pub province_folded: String,
    /// The request's commune, folded.
    pub commune_folded: String,
}

/// Emergency candidates: the repository's own tier queries (`repo::candidates::find`, limit
/// 20) on this connection. They are written with the query builder, and there is no single
/// statement to write out instead: the repository asks tier by tier (identical/compatible ×
/// commune/province/elsewhere, per blood group along partial indexes) and stops at 20.
pub fn candidates(
    conn: &mut DbConn,
    rules: &EligibilityRules,
    r: &RequestSpec,
    today: NaiveDate,
) -> Result<(), BenchError> {
    // The server's criteria, from the one definition.
    let criteria = CandidateCriteria::for_request(rules, r.patient, r.component, today);
    let q = hienmau_db::repo::candidates::CandidateQuery::new(
        &r.id,
        &criteria,
        Some(r.commune_folded.clone()),
        Some(r.province_folded.clone()),
        20,
    );
    hienmau_db::repo::candidates::find(conn, &q)?;
    Ok(())
}

/// Where the raw logging writes.
#[derive(Debug, Clone)]
pub struct LogTarget {
    /// The event.
    pub event_id: String,
    /// Its drive.
    pub drive_id: String,
    /// The drive's chapter.
    pub chapter_id: String,
    /// Who records.
    pub recorded_by: String,
}

/// One durable donation: lock the donor, read them and their history, decide with the
/// domain's rules, insert, rewrite the counters, commit.
pub fn log_donation(
    conn: &mut DbConn,
    rules: &EligibilityRules,
    target: &LogTarget,
    donor_id: &str,
    now: NaiveDateTime,
    today: NaiveDate,
) -> Result<(), BenchError> {
    let begin = match conn {
        DbConn::Pg(_) => "BEGIN",
        DbConn::Sqlite(_) => "BEGIN IMMEDIATE",
    };
    batch(conn, begin)?;
    let result = log_in_tx(conn, rules, target, donor_id, now, today);
    match result {
        Ok(()) => batch(conn, "COMMIT"),
        Err(e) => {
            let _ = batch(conn, "ROLLBACK");
            Err(e)
        }
    }
}

fn batch(conn: &mut DbConn, sql: &str) -> Result<(), BenchError> {
    match conn {
        DbConn::Pg(c) => c.batch_execute(sql)?,
        DbConn::Sqlite(c) => c.batch_execute(sql)?,
    }
    Ok(())
}

fn log_in_tx(
    conn: &mut DbConn,
    rules: &EligibilityRules,
    target: &LogTarget,
    donor_id: &str,
    now: NaiveDateTime,
    today: NaiveDate,
) -> Result<(), BenchError> {
    let id = || vec![P::Text(donor_id.to_owned())];
    execute(
        conn,
        "UPDATE donors SET updated_at = updated_at WHERE id = ?",
        &id(),
    )?;
    let donor: DonorRow = load::<DonorRow>(
        conn,
        &format!("SELECT {DONOR_COLUMNS} FROM donors WHERE id = ?"),
        &id(),
    )?
    .into_iter()
    .next()
    .ok_or_else(|| BenchError::msg("no such donor"))?;
    let history: Vec<Past> = load(
        conn,
        "SELECT donated_on, component, outcome, deferred_until, permanent FROM donations \
         WHERE donor_id = ? AND voided = FALSE ORDER BY donated_at, id",
        &id(),
    )?;
    let mut past = Vec::new();
    let mut deferrals = Vec::new();
    for h in &history {
        if h.outcome == Outcome::Collected.as_str() {
            past.push(PastDonation {
                day: h.donated_on,
                component: Component::parse(&h.component)
                    .map_err(|e| BenchError::msg(e.to_string()))?,
            });
        } else {
            deferrals.push(Deferral {
                from: h.donated_on,
                until: if h.permanent { None } else { h.deferred_until },
            });
        }
    }
    if let Some(day) = donor.prior_last_donation_on {
        past.push(PastDonation {
            day,
            component: Component::WholeBlood,
        });
    }
    let who = eligibility::Donor {
        date_of_birth: donor.date_of_birth,
        sex: Sex::parse(&donor.sex).map_err(|e| BenchError::msg(e.to_string()))?,
        weight_kg: donor.weight_kg,
    };
    let proposed = Proposed {
        day: today,
        component: Component::WholeBlood,
        volume_ml: 350,
    };
    eligibility::check(rules, &who, &past, &deferrals, &proposed)
        .map_err(|e| BenchError::msg(format!("not eligible: {}", e.reason.code())))?;
    let code = format!(
        "RAW-{}-{}",
        today.format("%Y%m%d"),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    execute(
        conn,
        "INSERT INTO donations (id, donor_id, event_id, drive_id, chapter_id, component, \
         volume_ml, outcome, donated_at, donated_on, unit_code, permanent, voided, recorded_by, \
         created_at) VALUES (?, ?, ?, ?, ?, 'whole_blood', 350, 'collected', ?, ?, ?, FALSE, \
         FALSE, ?, ?)",
        &[
            P::Text(uuid::Uuid::new_v4().to_string()),
            P::Text(donor_id.to_owned()),
            P::Text(target.event_id.clone()),
            P::Text(target.drive_id.clone()),
            P::Text(target.chapter_id.clone()),
            P::Ts(now),
            P::Date(today),
            P::Text(code),
            P::Text(target.recorded_by.clone()),
            P::Ts(now),
        ],
    )?;
    past.push(PastDonation {
        day: today,
        component: Component::WholeBlood,
    });
    let next =
        eligibility::next_eligible_on(rules, &who, &past, &deferrals, Component::WholeBlood, today);
    execute(
        conn,
        "UPDATE donors SET collected_count = ?, first_collected_on = ?, last_donation_at = ?, \
         last_component = 'whole_blood', next_eligible_on = ?, last_chapter_id = ? WHERE id = ?",
        &[
            P::Int(donor.collected_count + 1),
            P::OptDate(donor.first_collected_on.or(Some(today))),
            P::OptTs(Some(now)),
            P::OptDate(next),
            P::Text(target.chapter_id.clone()),
            P::Text(donor_id.to_owned()),
        ],
    )?;
    Ok(())
}
