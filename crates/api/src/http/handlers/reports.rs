//! The annual report (admin, honors; coordinator for its chapter's subtree): the HTTP side of
//! [`crate::app::reports`], where the figures, their order and the scope are described.

use actix_web::{web, HttpResponse};

use crate::app;
use crate::http::auth::Actor;
use crate::http::dto::reports::{AnnualParams, AnnualReport};
use crate::http::error::{ApiError, Problem};
use crate::http::state::AppState;

/// The annual report (admin, honors; coordinator for its chapter's subtree).
#[utoipa::path(get, path = "/api/v1/reports/annual", tag = "reports", params(AnnualParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The year's figures", body = AnnualReport),
        (status = 400, description = "`year` missing or not a number; `chapter_id` not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown chapter, or outside the coordinator's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`year` outside 1900–2200", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn annual(
    state: web::Data<AppState>,
    actor: Actor,
    params: web::Query<AnnualParams>,
) -> Result<HttpResponse, ApiError> {
    let req = params.into_inner().into();
    let ctx = state.ctx();
    let report = state
        .read(move |conn| app::reports::annual(conn, &ctx, &actor, req))
        .await?;
    Ok(HttpResponse::Ok().json(AnnualReport::from(report)))
}
