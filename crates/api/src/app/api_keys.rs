//! Hospital API keys (admin): create (the key is shown once), list, revoke.
//!
//! A key is `hmk_` followed by 32 random bytes from the operating system's generator,
//! base64url without padding (43 characters). Only its SHA-256 is stored ([`hash_api_key`]);
//! a hospital's system sends it as `Authorization: Bearer hmk_…` and acts as that hospital's
//! `hospital` role. Revoking takes effect at once: every request authenticates the key again.
//! Creating and revoking are written to the audit log.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hienmau_db::models::ApiKey;
use hienmau_db::repo::{api_keys, hospitals};
use hienmau_db::DbConn;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::app::audit::{self, AuditRecord};
use crate::app::error::AppError;
use crate::app::scope::Actor;
use crate::app::validate::required_text;
use crate::app::Ctx;

/// Every API key starts with this, so a bearer credential is told apart from a JWT at once.
pub const API_KEY_PREFIX: &str = "hmk_";
/// Random bytes in a key.
const KEY_BYTES: usize = 32;

/// The stored form of an API key.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A fresh random key.
fn generate_key() -> String {
    let mut bytes = [0u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A key to create.
#[derive(Debug, Clone, Deserialize)]
pub struct NewApiKey {
    /// What the key is for (1–200 characters).
    pub name: String,
}

/// A key just created, with its secret (the only time it is known).
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// The stored key (its hash only).
    pub row: ApiKey,
    /// The secret, `hmk_…`.
    pub key: String,
}

/// Creates an API key for a hospital.
pub fn create(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    hospital_id: &str,
    cmd: NewApiKey,
) -> Result<CreatedKey, AppError> {
    let mut errors = Vec::new();
    let name = required_text("name", &cmd.name, 200, &mut errors);
    AppError::check(errors)?;
    let key = generate_key();
    let row = ApiKey {
        id: hienmau_db::new_id(),
        hospital_id: hospital_id.to_owned(),
        name,
        key_hash: hash_api_key(&key),
        created_by: actor.principal_id().to_owned(),
        created_at: ctx.now,
        revoked_at: None,
    };
    hospitals::find(tx, &row.hospital_id)?.ok_or(AppError::NotFound)?;
    api_keys::insert(tx, &row)?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "api_key_created",
            serde_json::json!({ "key_id": row.id, "name": row.name }),
        )
        .hospital(Some(row.hospital_id.clone())),
    )?;
    Ok(CreatedKey { row, key })
}

/// A hospital's keys, newest first, revoked ones included.
pub fn list(conn: &mut DbConn, hospital_id: &str) -> Result<Vec<ApiKey>, AppError> {
    hospitals::find(conn, hospital_id)?.ok_or(AppError::NotFound)?;
    Ok(api_keys::list_for_hospital(conn, hospital_id)?)
}

/// Revokes a key: from now on it authenticates nothing. Revoking a revoked key changes
/// nothing (the first revocation time stays).
pub fn revoke(tx: &mut DbConn, ctx: &Ctx, actor: &Actor, id: &str) -> Result<(), AppError> {
    let before = api_keys::find(tx, id)?.ok_or(AppError::NotFound)?;
    if before.revoked_at.is_some() {
        return Ok(());
    }
    let key = api_keys::revoke(tx, id, ctx.now)?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "api_key_revoked",
            serde_json::json!({ "key_id": key.id, "name": key.name }),
        )
        .hospital(Some(key.hospital_id.clone())),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_hashed() {
        let (a, b) = (generate_key(), generate_key());
        assert!(a.starts_with(API_KEY_PREFIX));
        assert_eq!(a.len(), API_KEY_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(hash_api_key(&a).len(), 64);
        assert_ne!(hash_api_key(&a), hash_api_key(&b));
    }
}
