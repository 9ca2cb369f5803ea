//! Hospital API keys (admin): create (the key is shown once), list, revoke.
//!
//! A key is `hmk_` followed by 32 random bytes from the operating system's generator,
//! base64url without padding (43 characters). Only its SHA-256 is stored
//! ([`crate::http::auth::middleware::hash_api_key`]); a hospital's system sends it as
//! `Authorization: Bearer hmk_…` and acts as that hospital's `hospital` role. Revoking takes
//! effect at once: every request authenticates the key again. Creating and revoking are
//! written to the audit log.

use actix_web::{web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hienmau_db::models::ApiKey;
use hienmau_db::repo::{api_keys, hospitals};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::audit::{self, AuditRecord};
use crate::app::validate::required_text;
use crate::http::auth::middleware::{hash_api_key, API_KEY_PREFIX};
use crate::http::auth::Actor;
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::ListResponse;
use crate::http::state::AppState;

/// Random bytes in a key.
const KEY_BYTES: usize = 32;

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for (1–200 characters), e.g. the hospital system's name.
    #[schema(example = "HIS Bệnh viện Đa khoa tỉnh")]
    pub name: String,
}

/// A key as listed (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The hospital the key acts for.
    pub hospital_id: String,
    /// The admin who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; null while it works.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            hospital_id: k.hospital_id,
            created_by: k.created_by,
            created_at: k.created_at.and_utc(),
            revoked_at: k.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// A key just created: the only answer that carries the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The secret, `hmk_…`: shown this once, stored only as a hash.
    pub key: String,
    /// The hospital the key acts for.
    pub hospital_id: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A fresh random key.
fn generate_key() -> String {
    let mut bytes = [0u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Creates an API key for a hospital (admin). The key is in this answer only.
#[utoipa::path(post, path = "/api/v1/hospitals/{id}/api-keys", tag = "organisation",
    request_body = NewApiKey,
    params(("id" = Uuid, Path, description = "Hospital id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown once", body = CreatedApiKey),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hospital", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_api_key(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<NewApiKey>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let name = required_text("name", &body.name, 200, &mut errors);
    ApiError::check(errors)?;
    let hospital_id = id.into_inner().to_string();
    let key = generate_key();
    let row = ApiKey {
        id: hienmau_db::new_id(),
        hospital_id,
        name,
        key_hash: hash_api_key(&key),
        created_by: user.principal_id().to_owned(),
        created_at: hienmau_db::now(),
        revoked_at: None,
    };
    let row = state
        .write_http(move |conn| {
            hospitals::find(conn, &row.hospital_id)?.ok_or(ApiError::NotFound)?;
            api_keys::insert(conn, &row)?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "api_key_created",
                    serde_json::json!({ "key_id": row.id, "name": row.name }),
                )
                .hospital(Some(row.hospital_id.clone())),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiKey {
        id: row.id,
        name: row.name,
        key,
        hospital_id: row.hospital_id,
        created_at: row.created_at.and_utc(),
    }))
}

/// A hospital's keys, newest first, revoked ones included (admin; never the secrets).
#[utoipa::path(get, path = "/api/v1/hospitals/{id}/api-keys", tag = "organisation",
    params(("id" = Uuid, Path, description = "Hospital id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every key of the hospital (one page; `next_cursor` is null)", body = ListResponse<ApiKeyOut>),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hospital", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    _user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let hospital_id = id.into_inner().to_string();
    let rows = state
        .db(move |conn| {
            hospitals::find(conn, &hospital_id)?.ok_or(ApiError::NotFound)?;
            Ok(api_keys::list_for_hospital(conn, &hospital_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items: rows.into_iter().map(ApiKeyOut::from).collect(),
        next_cursor: None,
    }))
}

/// Revokes a key (admin): from now on it answers 401. Revoking a revoked key answers 204
/// again and keeps the first revocation time.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "organisation",
    params(("id" = Uuid, Path, description = "API key id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    state
        .write_http(move |conn| {
            let before = api_keys::find(conn, &id)?.ok_or(ApiError::NotFound)?;
            if before.revoked_at.is_some() {
                return Ok(());
            }
            let key = api_keys::revoke(conn, &id, hienmau_db::now())?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "api_key_revoked",
                    serde_json::json!({ "key_id": key.id, "name": key.name }),
                )
                .hospital(Some(key.hospital_id.clone())),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
