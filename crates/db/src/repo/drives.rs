//! Drives (campaigns) of a chapter.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::OptionalEmptyChangesetExtension;

use crate::models::{Drive, DriveChanges};
use crate::repo::{like_prefix, split_cursor, Db, Page};
use crate::schema::{chapters, donations, drives};
use crate::{DbConn, DbError};

/// What `list` narrows to; both empty: every drive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriveFilter {
    /// Drives with at least one day in `[from, to]` (both inclusive).
    pub overlaps: Option<(NaiveDate, NaiveDate)>,
    /// Drives whose chapter's path starts with this (a chapter's `path`: its subtree).
    pub chapter_path_prefix: Option<String>,
}

/// Inserts a drive.
pub fn insert(conn: &mut DbConn, row: &Drive) -> Result<(), DbError> {
    diesel::insert_into(drives::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One drive, or None.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Drive>, DbError> {
    Ok(drives::table
        .find(id)
        .select(Drive::as_select())
        .first(conn)
        .optional()?)
}

/// Applies changes and returns the drive as stored; NotFound when it does not exist. Empty
/// changes are allowed (nothing is written).
pub fn update(conn: &mut DbConn, id: &str, changes: &DriveChanges) -> Result<Drive, DbError> {
    let n = diesel::update(drives::table.find(id))
        .set(changes)
        .execute(conn)
        .optional_empty_changeset()?;
    if n == Some(0) {
        return Err(DbError::NotFound);
    }
    find(conn, id)?.ok_or(DbError::NotFound)
}

/// Drives matching `filter`, ordered by (starts_on, id), keyset-paged: `after` is the `next`
/// of the previous page (`"{starts_on}\t{id}"`, the date as `YYYY-MM-DD`). A cursor that does
/// not parse is NotFound.
pub fn list(
    conn: &mut DbConn,
    filter: &DriveFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Drive>, DbError> {
    let mut q = drives::table
        .inner_join(chapters::table)
        .order((drives::starts_on.asc(), drives::id.asc()))
        .select(Drive::as_select())
        .limit(limit + 1)
        .into_boxed::<Db>();
    if let Some((from, to)) = filter.overlaps {
        q = q.filter(drives::starts_on.le(to).and(drives::ends_on.ge(from)));
    }
    if let Some(prefix) = &filter.chapter_path_prefix {
        q = q.filter(chapters::path.like(like_prefix(prefix)).escape('\\'));
    }
    if let Some(after) = after {
        let (date, id) = split_cursor(after)?;
        let date: NaiveDate = date.parse().map_err(|_| DbError::BadCursor)?;
        q = q.filter(
            drives::starts_on
                .gt(date)
                .or(drives::starts_on.eq(date).and(drives::id.gt(id.to_owned()))),
        );
    }
    let rows = q.load(conn)?;
    Ok(Page::from_overfetch(rows, limit, |d| {
        format!("{}\t{}", d.starts_on, d.id)
    }))
}

/// Units (collected, not voided donations) per drive, for each id asked, in the order asked;
/// a drive without units (or unknown) gets 0.
pub fn units_by_drive(conn: &mut DbConn, ids: &[String]) -> Result<Vec<(String, i64)>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let counts: HashMap<Option<String>, i64> = donations::table
        .filter(donations::drive_id.eq_any(ids))
        .filter(donations::outcome.eq(hienmau_domain::Outcome::Collected.as_str()))
        .filter(donations::voided.eq(false))
        .group_by(donations::drive_id)
        .select((donations::drive_id, count_star()))
        .load::<(Option<String>, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(ids
        .iter()
        .map(|id| {
            let n = counts.get(&Some(id.clone())).copied().unwrap_or(0);
            (id.clone(), n)
        })
        .collect())
}
