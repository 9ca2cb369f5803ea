//! The bulk path: a fresh database, the schema by the application's own migrations, then the
//! generated rows through each backend's fast path (`MultiConnection` has none, so this
//! matches on the connection, as `engineering-notes.md` asks):
//!
//! - PostgreSQL: `COPY … FROM STDIN` (text format) per chunk, `synchronous_commit = off`
//!   and foreign-key triggers off (`session_replication_role = replica`, the data being
//!   consistent by construction) for this session only;
//! - SQLite: multi-row `INSERT` statements of 500 rows, one transaction per chunk, with
//!   `synchronous = OFF`, foreign keys off, a 1 GiB page cache and a second sorter thread for
//!   the index builds, on this connection only.
//!
//! On both, the secondary indexes of the loaded tables are dropped first and rebuilt from
//! their own definitions afterwards (one sort instead of millions of random inserts), then
//! the planner statistics are refreshed (`ANALYZE`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use hienmau_db::models::{Chapter, Donation, Donor, Drive, Event};
use hienmau_db::schema::{chapters, donations, donors, drives, events};
use hienmau_db::{DbConn, DbUrl, PoolSettings};

use crate::gen::Sink;
use crate::raw::Count;
use crate::BenchError;

/// The tables the generator fills.
const LOADED: &str = "'chapters', 'drives', 'events', 'donors', 'donations'";

/// One column value, rendered per backend.
enum Val<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    Real(f64),
    Bool(bool),
    Date(NaiveDate),
    Ts(NaiveDateTime),
}

fn text(v: &Option<String>) -> Val<'_> {
    v.as_deref().map_or(Val::Null, Val::Text)
}
fn date(v: Option<NaiveDate>) -> Val<'static> {
    v.map_or(Val::Null, Val::Date)
}
fn ts(v: Option<NaiveDateTime>) -> Val<'static> {
    v.map_or(Val::Null, Val::Ts)
}

/// The same formats diesel writes, so that values compare (SQLite compares the texts).
const TS_FORMAT: &str = "%F %T%.f";

impl Val<'_> {
    /// PostgreSQL `COPY` text format.
    fn copy(&self, out: &mut String) {
        match self {
            Val::Null => out.push_str("\\N"),
            Val::Text(s) => {
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
            Val::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Real(x) => {
                let _ = write!(out, "{x:?}");
            }
            Val::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Val::Date(d) => {
                let _ = write!(out, "{}", d.format("%F"));
            }
            Val::Ts(t) => {
                let _ = write!(out, "{}", t.format(TS_FORMAT));
            }
        }
    }

    /// An SQLite literal.
    fn literal(&self, out: &mut String) {
        match self {
            Val::Null => out.push_str("NULL"),
            Val::Text(s) => {
                out.push('\'');
                for c in s.chars() {
                    if c == '\'' {
                        out.push('\'');
                    }
                    out.push(c);
                }
                out.push('\'');
            }
            Val::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Real(x) => {
                let _ = write!(out, "{x:?}");
            }
            Val::Bool(b) => out.push(if *b { '1' } else { '0' }),
            Val::Date(d) => {
                let _ = write!(out, "'{}'", d.format("%F"));
            }
            Val::Ts(t) => {
                let _ = write!(out, "'{}'", t.format(TS_FORMAT));
            }
        }
    }
}

/// A row as its values, in the column order of `schema.rs` (which `COPY table` uses).
trait Row {
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    fn values(&self) -> Vec<Val<'_>>;
}

impl Row for Chapter {
    const TABLE: &'static str = "chapters";
    const COLUMNS: &'static str = "id, name, parent_id, path, created_at";
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(&self.id),
            Val::Text(&self.name),
            text(&self.parent_id),
            Val::Text(&self.path),
            Val::Ts(self.created_at),
        ]
    }
}

impl Row for Drive {
    const TABLE: &'static str = "drives";
    const COLUMNS: &'static str =
        "id, name, chapter_id, starts_on, ends_on, target_units, created_by, created_at";
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(&self.id),
            Val::Text(&self.name),
            Val::Text(&self.chapter_id),
            Val::Date(self.starts_on),
            Val::Date(self.ends_on),
            self.target_units
                .map_or(Val::Null, |n| Val::Int(i64::from(n))),
            text(&self.created_by),
            Val::Ts(self.created_at),
        ]
    }
}

impl Row for Event {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static str = "id, drive_id, site, held_on, province, commune, created_at";
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(&self.id),
            Val::Text(&self.drive_id),
            Val::Text(&self.site),
            Val::Date(self.held_on),
            text(&self.province),
            text(&self.commune),
            Val::Ts(self.created_at),
        ]
    }
}

impl Row for Donor {
    const TABLE: &'static str = "donors";
    const COLUMNS: &'static str = "id, full_name, name_folded, date_of_birth, sex, national_id, \
        blood_group, phone, province, province_folded, commune, commune_folded, weight_kg, \
        reserve, reserve_since, prior_donations, prior_last_donation_on, chapter_id, \
        collected_count, first_collected_on, last_donation_at, last_component, \
        next_eligible_on, deferred_until, permanently_deferred, created_at, updated_at, \
        last_chapter_id";
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(&self.id),
            Val::Text(&self.full_name),
            Val::Text(&self.name_folded),
            Val::Date(self.date_of_birth),
            Val::Text(&self.sex),
            text(&self.national_id),
            text(&self.blood_group),
            text(&self.phone),
            text(&self.province),
            text(&self.province_folded),
            text(&self.commune),
            text(&self.commune_folded),
            self.weight_kg.map_or(Val::Null, Val::Real),
            Val::Bool(self.reserve),
            date(self.reserve_since),
            Val::Int(i64::from(self.prior_donations)),
            date(self.prior_last_donation_on),
            text(&self.chapter_id),
            Val::Int(i64::from(self.collected_count)),
            date(self.first_collected_on),
            ts(self.last_donation_at),
            text(&self.last_component),
            date(self.next_eligible_on),
            date(self.deferred_until),
            Val::Bool(self.permanently_deferred),
            Val::Ts(self.created_at),
            Val::Ts(self.updated_at),
            text(&self.last_chapter_id),
        ]
    }
}

impl Row for Donation {
    const TABLE: &'static str = "donations";
    const COLUMNS: &'static str = "id, donor_id, event_id, emergency_request_id, drive_id, \
        chapter_id, component, volume_ml, outcome, donated_at, donated_on, unit_code, \
        deferral_reason, deferred_until, permanent, voided, void_reason, voided_at, voided_by, \
        recorded_by, client_ref, client_ref_hash, created_at";
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(&self.id),
            Val::Text(&self.donor_id),
            text(&self.event_id),
            text(&self.emergency_request_id),
            text(&self.drive_id),
            text(&self.chapter_id),
            Val::Text(&self.component),
            Val::Int(i64::from(self.volume_ml)),
            Val::Text(&self.outcome),
            Val::Ts(self.donated_at),
            Val::Date(self.donated_on),
            text(&self.unit_code),
            text(&self.deferral_reason),
            date(self.deferred_until),
            Val::Bool(self.permanent),
            Val::Bool(self.voided),
            text(&self.void_reason),
            ts(self.voided_at),
            text(&self.voided_by),
            Val::Text(&self.recorded_by),
            text(&self.client_ref),
            text(&self.client_ref_hash),
            Val::Ts(self.created_at),
        ]
    }
}

/// A bulk loader on one backend.
pub enum Loader {
    /// PostgreSQL, through `COPY`.
    Pg(PgConnection),
    /// SQLite, through multi-row `INSERT`s.
    Sqlite(SqliteConnection),
}

/// What the load took.
#[derive(Debug, Clone, Default)]
pub struct LoadTimes {
    /// Generating and writing the rows (overlapped).
    pub rows: Duration,
    /// Rebuilding the secondary indexes.
    pub indexes: Duration,
    /// `ANALYZE`.
    pub analyze: Duration,
}

#[derive(QueryableByName)]
struct IndexDef {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    def: String,
}

/// Drops and recreates the database named by `url` (PostgreSQL: through the `postgres`
/// database of the same server; SQLite: deletes the file and its WAL), then migrates it with
/// the application's migrations.
pub fn fresh_database(url: &str) -> Result<(), BenchError> {
    match DbUrl::parse(url)? {
        DbUrl::Postgres(u) => {
            let (base, name) = split_pg_url(&u)?;
            let mut admin = PgConnection::establish(&format!("{base}/postgres"))?;
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))?;
            admin.batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
        }
        DbUrl::Sqlite(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                match std::fs::remove_file(Path::new(&p)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(BenchError::msg(format!("{}: {e}", path.display()))),
                }
            }
        }
    }
    let mut conn = open(url)?;
    hienmau_db::migrate(&mut conn)?;
    Ok(())
}

/// `postgres://…/name?opts` → (`postgres://…`, `name`).
fn split_pg_url(url: &str) -> Result<(String, String), BenchError> {
    let without_query = url.split('?').next().unwrap_or(url);
    let (base, name) = without_query
        .rsplit_once('/')
        .filter(|(b, n)| !n.is_empty() && b.contains("//") && !b.ends_with('/'))
        .ok_or_else(|| BenchError::msg(format!("{url}: expected postgres://host/database")))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(BenchError::msg(format!(
            "database name {name:?}: letters, digits, _ and - only"
        )));
    }
    Ok((base.to_owned(), name.to_owned()))
}

/// A connection as the server opens it (SQLite pragmas included).
pub fn open(url: &str) -> Result<DbConn, BenchError> {
    Ok(hienmau_db::conn::establish(
        &DbUrl::parse(url)?,
        &PoolSettings::default(),
    )?)
}

impl Loader {
    /// Opens a loader on a migrated, empty database and drops the secondary indexes of the
    /// loaded tables (remembered in `saved`).
    pub fn open(url: &str, saved: &mut Vec<String>) -> Result<Self, BenchError> {
        let mut loader = match open(url)? {
            DbConn::Pg(mut c) => {
                c.batch_execute("SET synchronous_commit = off; SET maintenance_work_mem = '1GB'")?;
                // Foreign-key triggers off for this session: the generator writes parents
                // first and its data is consistent by construction (the smoke test checks it).
                c.batch_execute("SET session_replication_role = replica")?;
                Loader::Pg(c)
            }
            DbConn::Sqlite(mut c) => {
                c.batch_execute(
                    "PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; \
                     PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY; \
                     PRAGMA threads = 2;",
                )?;
                Loader::Sqlite(c)
            }
        };
        let defs: Vec<IndexDef> = match &mut loader {
            Loader::Pg(c) => diesel::sql_query(format!(
                "SELECT indexname AS name, indexdef AS def FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename IN ({LOADED}) \
                 AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ))
            .load(c)?,
            Loader::Sqlite(c) => diesel::sql_query(format!(
                "SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' \
                 AND sql IS NOT NULL AND tbl_name IN ({LOADED})"
            ))
            .load(c)?,
        };
        for d in defs {
            loader.exec(&format!("DROP INDEX \"{}\"", d.name))?;
            saved.push(d.def);
        }
        // SQLite's name-search index (FTS5, migration 000014) is kept by triggers on donors:
        // off during the load like the other indexes, recreated and rebuilt in one pass after.
        if let Loader::Sqlite(c) = &mut loader {
            let triggers: Vec<IndexDef> = diesel::sql_query(format!(
                "SELECT name, sql AS def FROM sqlite_master WHERE type = 'trigger' \
                 AND tbl_name IN ({LOADED})"
            ))
            .load(c)?;
            for t in triggers {
                loader.exec(&format!("DROP TRIGGER \"{}\"", t.name))?;
                saved.push(t.def);
            }
        }
        Ok(loader)
    }

    fn exec(&mut self, sql: &str) -> Result<(), BenchError> {
        match self {
            Loader::Pg(c) => c.batch_execute(sql)?,
            Loader::Sqlite(c) => c.batch_execute(sql)?,
        }
        Ok(())
    }

    /// Rebuilds the dropped indexes; then `ANALYZE`. Returns the two durations.
    pub fn finish(&mut self, saved: &[String]) -> Result<(Duration, Duration), BenchError> {
        let t = Instant::now();
        for def in saved {
            self.exec(def)?;
        }
        if let Loader::Sqlite(c) = self {
            let fts: Vec<Count> = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'donors_name_fts'",
            )
            .load(c)?;
            if fts.first().is_some_and(|f| f.n > 0) {
                c.batch_execute(
                    "INSERT INTO donors_name_fts (donors_name_fts) VALUES ('rebuild')",
                )?;
            }
        }
        let indexes = t.elapsed();
        let t = Instant::now();
        self.exec("ANALYZE")?;
        if let Loader::Sqlite(c) = self {
            c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
        }
        Ok((indexes, t.elapsed()))
    }

    fn write<R: Row>(&mut self, rows: &[R]) -> Result<(), BenchError> {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            Loader::Pg(c) => {
                let mut buf = String::with_capacity(rows.len() * 256);
                for row in rows {
                    for (i, v) in row.values().iter().enumerate() {
                        if i > 0 {
                            buf.push('\t');
                        }
                        v.copy(&mut buf);
                    }
                    buf.push('\n');
                }
                copy_in::<R>(c, buf)?;
            }
            Loader::Sqlite(c) => {
                c.batch_execute("BEGIN")?;
                let mut sql = String::with_capacity(500 * 300);
                for batch in rows.chunks(500) {
                    sql.clear();
                    let _ = write!(sql, "INSERT INTO {} ({}) VALUES ", R::TABLE, R::COLUMNS);
                    for (j, row) in batch.iter().enumerate() {
                        if j > 0 {
                            sql.push(',');
                        }
                        sql.push('(');
                        for (i, v) in row.values().iter().enumerate() {
                            if i > 0 {
                                sql.push(',');
                            }
                            v.literal(&mut sql);
                        }
                        sql.push(')');
                    }
                    c.batch_execute(&sql)?;
                }
                c.batch_execute("COMMIT")?;
            }
        }
        Ok(())
    }
}

/// `COPY <table> FROM STDIN` with the rows in `buf` (text format, schema column order).
fn copy_in<R: Row>(c: &mut PgConnection, buf: String) -> Result<(), BenchError> {
    use diesel::ExecuteCopyFromDsl;
    let write = move |w: &mut dyn std::io::Write| -> Result<(), diesel::result::Error> {
        w.write_all(buf.as_bytes())
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
    };
    match R::TABLE {
        "chapters" => {
            diesel::copy_from(chapters::table)
                .from_raw_data(chapters::table, write)
                .execute(c)?;
        }
        "drives" => {
            diesel::copy_from(drives::table)
                .from_raw_data(drives::table, write)
                .execute(c)?;
        }
        "events" => {
            diesel::copy_from(events::table)
                .from_raw_data(events::table, write)
                .execute(c)?;
        }
        "donors" => {
            diesel::copy_from(donors::table)
                .from_raw_data(donors::table, write)
                .execute(c)?;
        }
        "donations" => {
            diesel::copy_from(donations::table)
                .from_raw_data(donations::table, write)
                .execute(c)?;
        }
        other => return Err(BenchError::msg(format!("no COPY for {other}"))),
    }
    Ok(())
}

impl Sink for Loader {
    type Error = BenchError;
    fn chapters(&mut self, rows: Vec<Chapter>) -> Result<(), BenchError> {
        self.write(&rows)
    }
    fn drives(&mut self, rows: Vec<Drive>) -> Result<(), BenchError> {
        self.write(&rows)
    }
    fn events(&mut self, rows: Vec<Event>) -> Result<(), BenchError> {
        self.write(&rows)
    }
    fn chunk(&mut self, donors: Vec<Donor>, donations: Vec<Donation>) -> Result<(), BenchError> {
        self.write(&donors)?;
        self.write(&donations)
    }
}

/// Rows in flight from the generator thread to the loader.
pub enum Batch {
    /// Chapters.
    Chapters(Vec<Chapter>),
    /// Drives.
    Drives(Vec<Drive>),
    /// Events.
    Events(Vec<Event>),
    /// Donors and their donations.
    Chunk(Vec<Donor>, Vec<Donation>),
}

/// A sink that hands the rows to another thread (generation overlaps the writes).
pub struct ChannelSink(pub std::sync::mpsc::SyncSender<Batch>);

impl Sink for ChannelSink {
    type Error = BenchError;
    fn chapters(&mut self, rows: Vec<Chapter>) -> Result<(), BenchError> {
        self.send(Batch::Chapters(rows))
    }
    fn drives(&mut self, rows: Vec<Drive>) -> Result<(), BenchError> {
        self.send(Batch::Drives(rows))
    }
    fn events(&mut self, rows: Vec<Event>) -> Result<(), BenchError> {
        self.send(Batch::Events(rows))
    }
    fn chunk(&mut self, donors: Vec<Donor>, donations: Vec<Donation>) -> Result<(), BenchError> {
        self.send(Batch::Chunk(donors, donations))
    }
}

impl ChannelSink {
    fn send(&self, b: Batch) -> Result<(), BenchError> {
        self.0
            .send(b)
            .map_err(|_| BenchError::msg("the loader stopped"))
    }
}

impl Loader {
    /// Writes one batch.
    pub fn apply(&mut self, b: Batch) -> Result<(), BenchError> {
        match b {
            Batch::Chapters(r) => self.chapters(r),
            Batch::Drives(r) => self.drives(r),
            Batch::Events(r) => self.events(r),
            Batch::Chunk(d, n) => self.chunk(d, n),
        }
    }
}
