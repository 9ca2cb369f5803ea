//! Donors: the person, the counters the donation transaction keeps, and the search.

use diesel::prelude::*;
use diesel::OptionalEmptyChangesetExtension;

use crate::models::{Donor, DonorChanges, DonorStats, NewDonor};
use crate::repo::raw::{self, Param, Sql};
use crate::repo::{like_contains, like_escape, split_cursor, Page};
use crate::schema::donors;
use crate::{DbConn, DbError};

/// What `search` looks for. `words`, `national_id` and `phone` are alternatives (a donor
/// matches when its folded name contains every word, OR its national id equals, OR its phone
/// equals); `blood_group` and `reserve` narrow that further. All empty: every donor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DonorFilter {
    /// Already folded (lowercase, no diacritics); each must be a substring of `name_folded`.
    pub words: Vec<String>,
    /// An exact national id.
    pub national_id: Option<String>,
    /// An exact phone, in the stored normalised form.
    pub phone: Option<String>,
    /// An exact blood group; `donors.blood_group` NULL never matches.
    pub blood_group: Option<String>,
    /// Reserve members only (true) or non-members only (false).
    pub reserve: Option<bool>,
}

/// Inserts a new donor (counters from the column defaults); a taken national id is a unique
/// violation on `national_id`.
pub fn insert(conn: &mut DbConn, row: &NewDonor) -> Result<(), DbError> {
    diesel::insert_into(donors::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Inserts a complete row, counters included: for fixtures that need a donor with a history
/// without recording it donation by donation.
#[cfg(feature = "testing")]
pub fn insert_row(conn: &mut DbConn, row: &Donor) -> Result<(), DbError> {
    diesel::insert_into(donors::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One donor, or None.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Donor>, DbError> {
    Ok(donors::table
        .find(id)
        .select(Donor::as_select())
        .first(conn)
        .optional()?)
}

/// The donor with this national id, or None.
pub fn find_by_national_id(conn: &mut DbConn, national_id: &str) -> Result<Option<Donor>, DbError> {
    Ok(donors::table
        .filter(donors::national_id.eq(national_id))
        .select(Donor::as_select())
        .first(conn)
        .optional()?)
}

/// Applies changes and returns the donor as stored; NotFound when it does not exist. Empty
/// changes are allowed (nothing is written).
pub fn update(conn: &mut DbConn, id: &str, changes: &DonorChanges) -> Result<Donor, DbError> {
    let n = diesel::update(donors::table.find(id))
        .set(changes)
        .execute(conn)
        .optional_empty_changeset()?;
    if n == Some(0) {
        return Err(DbError::NotFound);
    }
    find(conn, id)?.ok_or(DbError::NotFound)
}

/// Rewrites the counters derived from the donor's donations; NotFound when it does not exist.
pub fn set_stats(conn: &mut DbConn, id: &str, stats: &DonorStats) -> Result<(), DbError> {
    let n = diesel::update(donors::table.find(id))
        .set(stats)
        .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Locks the donor's row for the rest of the write transaction; false when it does not exist.
///
/// A no-op `UPDATE` is portable: on PostgreSQL it takes the row lock (what `SELECT … FOR
/// UPDATE` would, which `MultiConnection` cannot express), so two devices recording the same
/// donor serialise their eligibility checks; on SQLite the `BEGIN IMMEDIATE` of
/// [`crate::write_tx`] already holds the database's write lock.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<bool, DbError> {
    let n = diesel::update(donors::table.find(id))
        .set(donors::updated_at.eq(donors::updated_at))
        .execute(conn)?;
    Ok(n > 0)
}

/// Words shorter than this are not looked up in the trigram indexes (neither pg_trgm nor FTS5's
/// `trigram` tokenizer can answer them); the LIKE filters check them on the rows the longer
/// words matched, or on every row when all words are short.
const TRIGRAM: usize = 3;

/// The FTS5 query "contains every word of at least three characters", each word a quoted
/// string (its double quotes doubled) so that no user input is read as FTS syntax; None when
/// no word is long enough.
fn fts_query(words: &[&str]) -> Option<String> {
    let quoted: Vec<String> = words
        .iter()
        .filter(|w| w.chars().count() >= TRIGRAM)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" AND "))
}

/// How the SQLite name query uses the FTS5 table.
#[derive(Clone, Copy, PartialEq)]
enum Fts {
    /// No FTS table (PostgreSQL, whose GIN index serves the LIKE filters).
    None,
    /// `rowid IN (FTS answer)` drives the query: the matches are read by rowid and sorted.
    Drive,
    /// `+rowid IN (FTS answer)`: the unary `+` keeps SQLite from driving the query by rowid,
    /// so it walks `donors_name_idx` in order and checks each row against the FTS answer,
    /// stopping at the limit. For words in a large share of the names ([`dense_words`]),
    /// where sorting every match costs more than walking to the page: at 300k donors "thi"
    /// 25 ms instead of 94, "nguyen" 51 instead of 102.
    Filter,
}

/// ` AND` the name holds every word (the contract's match). The LIKE filters decide on both
/// backends; on PostgreSQL the trigram GIN index `donors_name_trgm_idx` serves them directly.
/// SQLite's LIKE cannot use an index for `%word%`, so the rows are first narrowed to the FTS5
/// trigram table's answer (`donors_name_fts`, kept by triggers): a superset (substrings of
/// three characters or more) that the LIKEs make exact, also for the short words.
fn name_matches(s: &mut Sql, fts: Fts, words: &[&str]) {
    if let Some(q) = fts_query(words) {
        let head = match fts {
            Fts::None => None,
            Fts::Drive => Some(" AND donors.rowid IN ("),
            Fts::Filter => Some(" AND +donors.rowid IN ("),
        };
        if let Some(head) = head {
            s.push(head)
                .push("SELECT rowid FROM donors_name_fts WHERE donors_name_fts MATCH ")
                .bind(Param::Text(q))
                .push(")");
        }
    }
    for w in words {
        s.push(" AND donors.name_folded LIKE ")
            .bind(Param::Text(like_contains(w)))
            .push(" ESCAPE '\\'");
    }
}

/// A trigram's row in `donors_name_vocab` (fts5vocab over the FTS table): in how many names.
#[derive(QueryableByName)]
struct TrigramDocs {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// SQLite: whether the words of three characters or more are in at least an eighth of the
/// names, judged from the FTS index's own counts: a word is in at most as many names as its
/// rarest trigram (`donors_name_vocab`, one index look-up per trigram), and the query in at
/// most as many as its rarest word. Against the rowid range (the number of donors but for
/// deletions). Cheap, and an upper bound: a wrong "dense" only costs a longer walk.
fn dense_words(conn: &mut DbConn, words: &[&str]) -> Result<bool, DbError> {
    let mut bound: Option<i64> = None;
    for w in words.iter().filter(|w| w.chars().count() >= TRIGRAM) {
        let chars: Vec<char> = w.chars().collect();
        for t in chars.windows(TRIGRAM) {
            let term: String = t.iter().collect();
            let mut s = Sql::new();
            s.push("SELECT CAST(COALESCE(MAX(doc), 0) AS BIGINT) AS n FROM donors_name_vocab WHERE term = ")
                .bind(Param::Text(term));
            let n = raw::load::<TrigramDocs>(conn, &s)?
                .first()
                .map_or(0, |r| r.n);
            bound = Some(bound.map_or(n, |b| b.min(n)));
        }
    }
    let Some(bound) = bound else {
        return Ok(false);
    };
    let mut s = Sql::new();
    s.push("SELECT CAST(COALESCE(MAX(rowid), 0) AS BIGINT) AS n FROM donors");
    let donors = raw::load::<TrigramDocs>(conn, &s)?
        .first()
        .map_or(0, |r| r.n);
    Ok(bound > 0 && bound * 8 >= donors)
}

/// Rank 0 of a name search: the name holds the words as whole words, in the typed order, the
/// last one as a prefix ("nguyen van h" → "Nguyễn Văn Hùng"). The name is framed by spaces
/// and its spaces doubled so that consecutive words each keep the spaces around them:
/// `' nguyen  van  hung '` LIKE `'% nguyen % van % h%'`. Portable SQL (`||`, `replace`).
fn best_match(words: &[&str]) -> Sql {
    let mut pattern = String::from("%");
    for (i, w) in words.iter().enumerate() {
        pattern.push(' ');
        pattern.push_str(&like_escape(w));
        pattern.push_str(if i + 1 == words.len() { "%" } else { " %" });
    }
    let mut s = Sql::new();
    s.push("(' ' || replace(donors.name_folded, ' ', '  ') || ' ') LIKE ")
        .bind(Param::Text(pattern))
        .push(" ESCAPE '\\'");
    s
}

/// The exact look-ups `q` was read as, on their own indexes (`national_id` unique,
/// `donors_phone_idx`); None when `q` is neither.
fn exact_match(filter: &DonorFilter) -> Option<Sql> {
    let mut s = Sql::new();
    let mut or = "(";
    if let Some(nid) = &filter.national_id {
        s.push(or)
            .push("donors.national_id = ")
            .bind(Param::Text(nid.clone()));
        or = " OR ";
    }
    if let Some(phone) = &filter.phone {
        s.push(or)
            .push("donors.phone = ")
            .bind(Param::Text(phone.clone()));
        or = " OR ";
    }
    (or == " OR ").then(|| {
        s.push(")");
        s
    })
}

/// ` AND` not one of the exact look-ups (a NULL column is "not equal").
fn not_exact(s: &mut Sql, filter: &DonorFilter) {
    if let Some(nid) = &filter.national_id {
        s.push(" AND (donors.national_id IS NULL OR donors.national_id <> ")
            .bind(Param::Text(nid.clone()))
            .push(")");
    }
    if let Some(phone) = &filter.phone {
        s.push(" AND (donors.phone IS NULL OR donors.phone <> ")
            .bind(Param::Text(phone.clone()))
            .push(")");
    }
}

/// Where a page of the search starts: the rank, then the (name_folded, id) key inside it.
struct After {
    rank: u8,
    name: String,
    id: String,
}

impl After {
    /// `"{rank}\t{name_folded}\t{id}"` (a folded name holds no tab).
    fn parse(cursor: &str) -> Result<Self, DbError> {
        let (rank, rest) = cursor.split_once('\t').ok_or(DbError::BadCursor)?;
        let rank = match rank {
            "0" => 0,
            "1" => 1,
            _ => return Err(DbError::BadCursor),
        };
        let (name, id) = split_cursor(rest)?;
        Ok(After {
            rank,
            name: name.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// How a keyset query of the search may be ordered.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// `ORDER BY name_folded, id`: the planner may walk `donors_name_idx` and stop at the
    /// limit, or fetch the matches from an index and sort them, whichever it costs lower.
    Planner,
    /// The same order written as an expression no index provides (`name_folded || ''` has the
    /// column's collation, so the order and the keyset comparison are unchanged): the matches
    /// come from the trigram index and are sorted. For rank 1, whose condition ends in a
    /// `NOT LIKE` the planner cannot estimate: it takes it as matching most rows and would walk
    /// the name index, which when rank 1 is small (nearly always: "xuan" has no rank-1 name)
    /// reads the whole table to find nothing (100–180 ms at 300k donors on PostgreSQL, against
    /// 8–47 ms from the index).
    Matches,
}

/// One keyset query of the search: the donors matching `condition` (` AND …` pieces) and the
/// narrowing filters, after `(name, id)`, in (name_folded, id) order, at most `n`.
fn tier(
    filter: &DonorFilter,
    condition: &Sql,
    after: Option<(&str, &str)>,
    n: i64,
    order: Order,
) -> Sql {
    let mut s = Sql::new();
    s.push("SELECT donors.* FROM donors WHERE 1 = 1")
        .append(condition);
    if let Some(group) = &filter.blood_group {
        s.push(" AND donors.blood_group = ")
            .bind(Param::Text(group.clone()));
    }
    if let Some(reserve) = filter.reserve {
        s.push(" AND donors.reserve = ").bind(Param::Bool(reserve));
    }
    if let Some((name, id)) = after {
        s.push(" AND (donors.name_folded > ")
            .bind(Param::Text(name.to_owned()))
            .push(" OR (donors.name_folded = ")
            .bind(Param::Text(name.to_owned()))
            .push(" AND donors.id > ")
            .bind(Param::Text(id.to_owned()))
            .push("))");
    }
    s.push(match order {
        Order::Planner => " ORDER BY donors.name_folded, donors.id LIMIT ",
        Order::Matches => " ORDER BY donors.name_folded || '', donors.id LIMIT ",
    })
    .bind(Param::BigInt(n));
    s
}

/// The order of the rank-1 query: from the trigram index when a word is long enough for it
/// (see [`Order::Matches`]); with short words only no index can answer, and walking the name
/// index at least stops at the limit.
fn rest_order(words: &[&str]) -> Order {
    if words.iter().any(|w| w.chars().count() >= TRIGRAM) {
        Order::Matches
    } else {
        Order::Planner
    }
}

/// The search's name queries: rank 0 (the words as typed) and rank 1 (the other names that
/// hold every word, not found by an exact look-up).
fn name_conditions(
    conn: &mut DbConn,
    filter: &DonorFilter,
    words: &[&str],
) -> Result<(Sql, Sql), DbError> {
    let (first, rest_fts) = if matches!(conn, DbConn::Sqlite(_)) {
        let first = if dense_words(conn, words)? {
            Fts::Filter
        } else {
            Fts::Drive
        };
        // Rank 1 is nearly always small even for a common word ("thi" has no rank-1 name),
        // so a walk would read the whole index: it is read from the FTS answer.
        (first, Fts::Drive)
    } else {
        (Fts::None, Fts::None)
    };
    let mut best = Sql::new();
    name_matches(&mut best, first, words);
    best.push(" AND ").append(&best_match(words));
    let mut rest = Sql::new();
    name_matches(&mut rest, rest_fts, words);
    rest.push(" AND NOT ").append(&best_match(words));
    not_exact(&mut rest, filter);
    Ok((best, rest))
}

/// Merges two lists sorted by (name_folded, id) into one, a donor in both once.
fn merge_sorted(a: Vec<Donor>, b: Vec<Donor>) -> Vec<Donor> {
    let mut out: Vec<Donor> = a.into_iter().chain(b).collect();
    out.sort_by(|x, y| (&x.name_folded, &x.id).cmp(&(&y.name_folded, &y.id)));
    out.dedup_by(|x, y| x.id == y.id);
    out
}

/// The words of the filter that are not empty.
fn words_of(filter: &DonorFilter) -> Vec<&str> {
    filter
        .words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty())
        .collect()
}

/// Donors matching `filter`, keyset-paged: `after` is the `next` of the previous page
/// (`"{rank}\t{name_folded}\t{id}"`); a cursor that does not parse is BadCursor.
///
/// Order: (rank, name_folded, id). Rank 0: an exact national id or phone, or a name that
/// holds the words as whole words in the typed order, the last as a prefix ([`best_match`]);
/// rank 1: the other names that contain every word. Without words, everyone is rank 0.
///
/// Each rank is its own keyset query with the page's limit, and rank 1 is read only when rank 0
/// does not fill the page, rather than one query ordered by the rank expression: with a common
/// word ("thi" is in about half of the names) that one would compute and sort every match on
/// every page, while the rank-0 query in the order of `donors_name_idx` can stop at the limit
/// (PostgreSQL picks that walk for "thi": 4 ms at 300k donors) and a rarer word is answered
/// from the trigram index and a small sort (5–47 ms). Rank 1 is always read from the trigram
/// index ([`Order::Matches`]). SQLite's planner cannot estimate an FTS answer, so the choice
/// is made here from the FTS index's own counts ([`dense_words`], [`Fts`]): the FTS matches
/// read and sorted (3–40 ms at 300k for rarer words), or the name index walked against them
/// for words in an eighth of the names or more (25–66 ms; sorting was up to 110 ms). Short
/// words only ("le vu"): no index can answer, the name index is walked with the LIKE filters
/// (≈25 ms on both).
/// The exact look-ups are a query of their own on their indexes, merged into rank 0, never a
/// name scan.
pub fn search(
    conn: &mut DbConn,
    filter: &DonorFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Donor>, DbError> {
    let after = after.map(After::parse).transpose()?;
    let words = words_of(filter);
    let want = limit.max(0) + 1;
    let key = |rank: u8| {
        after
            .as_ref()
            .filter(|a| a.rank == rank)
            .map(|a| (a.name.as_str(), a.id.as_str()))
    };
    let mut rows: Vec<(u8, Donor)> = Vec::new();
    let exact = exact_match(filter);
    if words.is_empty() && exact.is_none() {
        // No q: everyone (narrowed), one rank.
        let all = raw::load::<Donor>(
            conn,
            &tier(filter, &Sql::new(), key(0), want, Order::Planner),
        )?;
        rows.extend(all.into_iter().map(|d| (0, d)));
    } else {
        let (best, rest) = name_conditions(conn, filter, &words)?;
        if after.as_ref().is_none_or(|a| a.rank == 0) {
            let mut first = Vec::new();
            if let Some(exact) = exact {
                let mut c = Sql::new();
                c.push(" AND ").append(&exact);
                first = raw::load::<Donor>(conn, &tier(filter, &c, key(0), want, Order::Planner))?;
            }
            if !words.is_empty() {
                let named =
                    raw::load::<Donor>(conn, &tier(filter, &best, key(0), want, Order::Planner))?;
                first = merge_sorted(first, named);
            }
            first.truncate(usize::try_from(want).unwrap_or(usize::MAX));
            rows.extend(first.into_iter().map(|d| (0, d)));
        }
        let missing = want - i64::try_from(rows.len()).unwrap_or(i64::MAX);
        if missing > 0 && !words.is_empty() {
            let more = tier(filter, &rest, key(1), missing, rest_order(&words));
            let more = raw::load::<Donor>(conn, &more)?;
            rows.extend(more.into_iter().map(|d| (1, d)));
        }
    }
    let page = Page::from_overfetch(rows, limit, |(rank, d)| {
        format!("{rank}\t{}\t{}", d.name_folded, d.id)
    });
    Ok(Page {
        items: page.items.into_iter().map(|(_, d)| d).collect(),
        next: page.next,
    })
}

/// One line of a query plan.
#[cfg(feature = "testing")]
#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "QUERY PLAN")]
    plan: String,
}

/// One line of SQLite's `EXPLAIN QUERY PLAN`.
#[cfg(feature = "testing")]
#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// The plans of the two name queries [`search`] runs for `filter`'s words (rank 0, then
/// rank 1), first page: for tests that prove the trigram index serves them.
#[cfg(feature = "testing")]
pub fn explain_name_search(
    conn: &mut DbConn,
    filter: &DonorFilter,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    let words = words_of(filter);
    let (best, rest) = name_conditions(conn, filter, &words)?;
    let mut plans = Vec::new();
    for (condition, order) in [(best, Order::Planner), (rest, rest_order(&words))] {
        let mut s = Sql::new();
        s.push(if sqlite {
            "EXPLAIN QUERY PLAN "
        } else {
            "EXPLAIN "
        })
        .append(&tier(filter, &condition, None, limit + 1, order));
        let lines: Vec<String> = if sqlite {
            raw::load::<SqlitePlanLine>(conn, &s)?
                .into_iter()
                .map(|l| l.detail)
                .collect()
        } else {
            raw::load::<PlanLine>(conn, &s)?
                .into_iter()
                .map(|l| l.plan)
                .collect()
        };
        plans.push(lines.join("\n"));
    }
    Ok(plans)
}

/// Adds `donors` to what `principal_id` has read in the hour starting at `window_start` and
/// returns the hour's total, this read included; forgets the caller's earlier hours.
///
/// One `INSERT … ON CONFLICT DO UPDATE … RETURNING` (PostgreSQL, and SQLite from 3.35): the
/// row is created or incremented atomically, so concurrent reads by one caller on several
/// instances each see the total including the others that committed before them (on
/// PostgreSQL the second waits on the first's row lock; SQLite has one writer). The caller
/// refuses the read, and rolls the increment back, when the total is over its budget. Written
/// once per backend because `MultiConnection` cannot express an upsert; the statements are the
/// same.
pub fn count_reads(
    conn: &mut DbConn,
    principal_id: &str,
    window_start: chrono::NaiveDateTime,
    donors: i64,
) -> Result<i64, DbError> {
    use crate::schema::registry_reads::dsl as r;
    use diesel::upsert::excluded;
    diesel::delete(
        r::registry_reads.filter(
            r::principal_id
                .eq(principal_id)
                .and(r::window_start.lt(window_start)),
        ),
    )
    .execute(conn)?;
    let row = (
        r::principal_id.eq(principal_id),
        r::window_start.eq(window_start),
        r::donors.eq(donors),
    );
    macro_rules! upsert {
        ($c:expr) => {
            diesel::insert_into(r::registry_reads)
                .values(row)
                .on_conflict((r::principal_id, r::window_start))
                .do_update()
                .set(r::donors.eq(r::donors + excluded(r::donors)))
                .returning(r::donors)
                .get_result::<i64>($c)?
        };
    }
    Ok(match conn {
        DbConn::Pg(c) => upsert!(c),
        DbConn::Sqlite(c) => upsert!(c),
    })
}
