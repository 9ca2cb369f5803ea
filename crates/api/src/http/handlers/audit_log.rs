//! `GET /audit` (admin only): the append-only audit log, newest first, cursor-paged.
//!
//! Entries record who (a user or a hospital API key) saw which donors' contact details, for
//! which hospital and emergency request, and when; also sign-ins, user and key changes,
//! donor changes, voids, awards and exports. No endpoint changes or deletes an entry.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use hienmau_db::models::AuditEntry;
use hienmau_db::repo::audit;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::auth::Actor;
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::{ListResponse, Paging};
use crate::http::state::AppState;

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    /// Id.
    pub id: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// What happened, e.g. `contact_disclosed`, `login_succeeded`, `api_key_created`.
    #[schema(example = "contact_disclosed")]
    pub action: String,
    /// The acting user, when a user acted.
    pub actor_user_id: Option<String>,
    /// The acting API key, when a hospital's system acted.
    pub actor_key_id: Option<String>,
    /// The hospital concerned (the requesting hospital for disclosures).
    pub hospital_id: Option<String>,
    /// The emergency request concerned.
    pub request_id: Option<String>,
    /// The donors whose personal data the action disclosed or changed.
    pub donor_ids: Vec<String>,
    /// Details of the action.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at.and_utc(),
            action: e.action,
            actor_user_id: e.actor_user_id,
            actor_key_id: e.actor_key_id,
            hospital_id: e.hospital_id,
            request_id: e.request_id,
            donor_ids: serde_json::from_str(&e.donor_ids).unwrap_or_default(),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The audit log, newest first (admin only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries, newest first", body = ListResponse<AuditEntryOut>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_audit(
    state: web::Data<AppState>,
    _user: Actor,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let limit = paging.limit()?;
    let before =
        match paging.after()? {
            None => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                ApiError::BadRequest("cursor is not one this API issued".to_owned())
            })?),
        };
    let page = state
        .db(move |conn| Ok(audit::list(conn, before, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, AuditEntryOut::from)))
}
