//! `GET /audit` (admin only): the append-only audit log, newest first, cursor-paged.
//!
//! Entries record who (a user or a hospital API key) saw which donors' contact details, for
//! which hospital and emergency request, and when; also sign-ins, user and key changes,
//! donor changes, voids, awards and exports. No endpoint changes or deletes an entry.

use actix_web::{web, HttpResponse};

use crate::app::audit;
use crate::http::auth::Actor;
use crate::http::dto::audit::AuditEntryOut;
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::{ListResponse, Paging};
use crate::http::state::AppState;

/// The audit log, newest first (admin only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries, newest first", body = ListResponse<AuditEntryOut>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_audit(
    state: web::Data<AppState>,
    _user: Actor,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, before) = (paging.limit()?, paging.after()?);
    let page = state
        .read(move |conn| audit::list(conn, before.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, AuditEntryOut::from)))
}
