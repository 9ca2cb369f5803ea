//! Users and their sign-in data.

use diesel::prelude::*;

use crate::models::{Chapter, NewUser, User, UserChanges};
use crate::repo::Page;
use crate::schema::{chapters, users};
use crate::{DbConn, DbError};

/// Inserts a user and reads it back (with the defaults the database filled in); a taken
/// username is a unique violation on `username`.
pub fn insert(conn: &mut DbConn, row: &NewUser) -> Result<User, DbError> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)?;
    find(conn, &row.id)?.ok_or(DbError::NotFound)
}

/// One user, or None.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<User>, DbError> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The user with this username, or None.
pub fn find_by_username(conn: &mut DbConn, username: &str) -> Result<Option<User>, DbError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Users ordered by username, keyset-paged on it (usernames are unique).
pub fn list(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Page<User>, DbError> {
    let mut q = users::table
        .order(users::username.asc())
        .select(User::as_select())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(users::username.gt(after.to_owned()));
    }
    let rows = q.load(conn)?;
    Ok(Page::from_overfetch(rows, limit, |u| u.username.clone()))
}

/// Applies changes; NotFound when the user does not exist.
pub fn update(conn: &mut DbConn, id: &str, changes: &UserChanges) -> Result<User, DbError> {
    let n = diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    find(conn, id)?.ok_or(DbError::NotFound)
}

/// A user with their chapter (for coordinators), in one query: every authenticated request
/// needs both.
pub fn find_with_chapter(
    conn: &mut DbConn,
    id: &str,
) -> Result<Option<(User, Option<Chapter>)>, DbError> {
    Ok(users::table
        .left_join(chapters::table)
        .filter(users::id.eq(id))
        .select((User::as_select(), Option::<Chapter>::as_select()))
        .first(conn)
        .optional()?)
}

/// Serialises, for the rest of the write transaction, the changes that may leave no active
/// admin (disabling one, giving one another role): two admins disabling each other at once
/// must not both see the other still active.
pub fn lock_admins(conn: &mut DbConn) -> Result<(), DbError> {
    use diesel::connection::SimpleConnection;
    match conn {
        // A transaction-scoped advisory lock: the second transaction waits for the first to
        // commit, and its next statement sees that commit (READ COMMITTED).
        DbConn::Pg(c) => c.batch_execute("SELECT pg_advisory_xact_lock(7370233000011)")?,
        // Write transactions begin IMMEDIATE: this one already holds the only write lock.
        DbConn::Sqlite(_) => {}
    }
    Ok(())
}

/// How many admins are enabled.
pub fn count_active_admins(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(users::table
        .filter(users::role.eq("admin"))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)?)
}
