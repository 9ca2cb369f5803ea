//! Donors: the person, the counters the donation transaction keeps, and the search.

use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel::OptionalEmptyChangesetExtension;

use crate::models::{Donor, DonorChanges, DonorStats, NewDonor};
use crate::repo::{like_contains, split_cursor, Db, Page};
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

/// A boxed WHERE condition over donors.
type Condition = Box<dyn BoxableExpression<donors::table, Db, SqlType = Bool>>;

/// `name_folded LIKE '%word%' ESCAPE '\'`, the word's metacharacters taken literally.
fn name_contains(word: &str) -> Condition {
    Box::new(donors::name_folded.like(like_contains(word)).escape('\\'))
}

/// Donors matching `filter`, ordered by (name_folded, id), keyset-paged: `after` is the `next`
/// of the previous page (`"{name_folded}\t{id}"`). A cursor without a tab is NotFound.
pub fn search(
    conn: &mut DbConn,
    filter: &DonorFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Donor>, DbError> {
    let mut q = donors::table
        .order((donors::name_folded.asc(), donors::id.asc()))
        .select(Donor::as_select())
        .limit(limit + 1)
        .into_boxed::<Db>();

    // The alternatives: all words in the name, OR the national id, OR the phone. NULL columns
    // compare as unknown, which never selects a row (no NOT is applied above them).
    let mut alternatives: Vec<Condition> = Vec::new();
    let mut words = filter.words.iter().filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        let mut all: Condition = Box::new(name_contains(first));
        for w in words {
            all = Box::new(all.and(name_contains(w)));
        }
        alternatives.push(all);
    }
    if let Some(nid) = &filter.national_id {
        alternatives.push(Box::new(
            donors::national_id.assume_not_null().eq(nid.clone()),
        ));
    }
    if let Some(phone) = &filter.phone {
        alternatives.push(Box::new(donors::phone.assume_not_null().eq(phone.clone())));
    }
    let any = alternatives
        .into_iter()
        .reduce(|a, b| -> Condition { Box::new(a.or(b)) });
    if let Some(any) = any {
        q = q.filter(any);
    }
    if let Some(group) = &filter.blood_group {
        q = q.filter(donors::blood_group.eq(group.clone()));
    }
    if let Some(reserve) = filter.reserve {
        q = q.filter(donors::reserve.eq(reserve));
    }
    if let Some(after) = after {
        let (name, id) = split_cursor(after)?;
        q = q.filter(
            donors::name_folded
                .gt(name.to_owned())
                .or(donors::name_folded
                    .eq(name.to_owned())
                    .and(donors::id.gt(id.to_owned()))),
        );
    }
    let rows = q.load(conn)?;
    Ok(Page::from_overfetch(rows, limit, |d| {
        format!("{}\t{}", d.name_folded, d.id)
    }))
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
