//! Hospital API keys (admin): create (the key is shown once), list, revoke. The rules are in
//! [`crate::app::api_keys`].

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::app::api_keys;
use crate::http::auth::Actor;
use crate::http::dto::api_keys::{ApiKeyOut, CreatedApiKey, NewApiKey};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::ListResponse;
use crate::http::state::AppState;

/// Creates an API key for a hospital (admin). The key is in this answer only.
#[utoipa::path(post, path = "/api/v1/hospitals/{id}/api-keys", tag = "organisation",
    request_body = NewApiKey,
    params(("id" = Uuid, Path, description = "Hospital id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown once", body = CreatedApiKey),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hospital", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_api_key(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<NewApiKey>,
) -> Result<HttpResponse, ApiError> {
    let hospital_id = id.into_inner().to_string();
    let cmd = body.into_inner().into();
    let ctx = state.ctx();
    let created = state
        .write(move |tx| api_keys::create(tx, &ctx, &user, &hospital_id, cmd))
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiKey::from(created)))
}

/// A hospital's keys, newest first, revoked ones included (admin; never the secrets).
#[utoipa::path(get, path = "/api/v1/hospitals/{id}/api-keys", tag = "organisation",
    params(("id" = Uuid, Path, description = "Hospital id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every key of the hospital (one page; `next_cursor` is null)", body = ListResponse<ApiKeyOut>),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hospital", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    _user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let hospital_id = id.into_inner().to_string();
    let rows = state
        .read(move |conn| api_keys::list(conn, &hospital_id))
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
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let ctx = state.ctx();
    state
        .write(move |tx| api_keys::revoke(tx, &ctx, &user, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
