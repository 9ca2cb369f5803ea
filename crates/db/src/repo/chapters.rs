//! Chapters: a tree kept with materialised paths.

use diesel::prelude::*;

use crate::models::Chapter;
use crate::schema::chapters;
use crate::{DbConn, DbError};

/// Inserts a chapter under `parent_id` (or as a root), computing its path.
pub fn insert(
    conn: &mut DbConn,
    id: &str,
    name: &str,
    parent_id: Option<&str>,
) -> Result<Chapter, DbError> {
    let path = match parent_id {
        Some(parent) => format!("{}{id}/", get(conn, parent)?.path),
        None => format!("/{id}/"),
    };
    let row = Chapter {
        id: id.to_owned(),
        name: name.to_owned(),
        parent_id: parent_id.map(str::to_owned),
        path,
        created_at: crate::now(),
    };
    diesel::insert_into(chapters::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// One chapter.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Chapter, DbError> {
    Ok(chapters::table
        .find(id)
        .select(Chapter::as_select())
        .first(conn)?)
}

/// One chapter, or None.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Chapter>, DbError> {
    Ok(chapters::table
        .find(id)
        .select(Chapter::as_select())
        .first(conn)
        .optional()?)
}

/// Every chapter, by path (parents before children).
pub fn list(conn: &mut DbConn) -> Result<Vec<Chapter>, DbError> {
    Ok(chapters::table
        .order(chapters::path.asc())
        .select(Chapter::as_select())
        .load(conn)?)
}

/// The first chapter with this name (used by the demo loader to stay idempotent).
pub fn find_by_name(conn: &mut DbConn, name: &str) -> Result<Option<Chapter>, DbError> {
    Ok(chapters::table
        .filter(chapters::name.eq(name))
        .order(chapters::path.asc())
        .select(Chapter::as_select())
        .first(conn)
        .optional()?)
}

impl Chapter {
    /// True when `other` is this chapter or lies below it.
    pub fn contains(&self, other: &Chapter) -> bool {
        other.path.starts_with(&self.path)
    }
}
