//! Hospital API keys (stored as SHA-256 hashes).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::models::ApiKey;
use crate::schema::api_keys;
use crate::{DbConn, DbError};

/// Inserts a key.
pub fn insert(conn: &mut DbConn, row: &ApiKey) -> Result<(), DbError> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The key with this hash, unless revoked.
pub fn find_active_by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<ApiKey>, DbError> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?)
}

/// One key, or None.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<ApiKey>, DbError> {
    Ok(api_keys::table
        .find(id)
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?)
}

/// A hospital's keys, newest first.
pub fn list_for_hospital(conn: &mut DbConn, hospital_id: &str) -> Result<Vec<ApiKey>, DbError> {
    Ok(api_keys::table
        .filter(api_keys::hospital_id.eq(hospital_id))
        .order((api_keys::created_at.desc(), api_keys::id.asc()))
        .select(ApiKey::as_select())
        .load(conn)?)
}

/// Revokes a key (idempotent: an earlier revocation time is kept); NotFound if missing.
pub fn revoke(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<ApiKey, DbError> {
    diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(at)))
    .execute(conn)?;
    find(conn, id)?.ok_or(DbError::NotFound)
}
