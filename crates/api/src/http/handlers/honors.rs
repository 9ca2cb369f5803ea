//! Honors: the configured tiers, the donors due a tier as of a day (JSON pages or one CSV
//! download), recording and voiding awards, and a donor's awards: the HTTP side of [`crate::app::honors`],
//! which holds the rules (what is due, what makes an award valid, the CSV format).
//!
//! **CSV.** With `Accept: text/csv` the whole list (no paging) is spooled, then sent
//! ([`crate::http::stream`]): rows are read in chunks by a low-priority thread into an unnamed
//! temporary file, so memory stays flat however long the list; the turn at heavy work and the
//! connection are given back before the first byte is sent, so a slow client holds neither.
//! The export is written to the audit log (`honors_exported`) before any row is read.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::app;
use crate::app::honors::Export;
use crate::http::auth::Actor;
use crate::http::dto::donations::VoidBody;
use crate::http::dto::honors::{AwardOut, EligibleOut, EligibleQuery, NewAward, TierOut};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::ListResponse;
use crate::http::state::AppState;

/// The configured honor tiers, lowest first (honors, admin).
#[utoipa::path(get, path = "/api/v1/honors/tiers", tag = "honors",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tiers from configuration, lowest threshold first", body = Vec<TierOut>),
    ))]
pub async fn list_tiers(
    state: web::Data<AppState>,
    _actor: Actor,
) -> Result<HttpResponse, ApiError> {
    let ctx = state.ctx();
    let tiers: Vec<TierOut> = app::honors::tiers(&ctx).iter().map(TierOut::from).collect();
    Ok(HttpResponse::Ok().json(tiers))
}

/// Donors due an honor tier as of a day (honors, admin); CSV with `Accept: text/csv`.
#[utoipa::path(get, path = "/api/v1/honors/eligible", tag = "honors", params(EligibleQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Donors due a tier, by tier, then folded name, then id. With `Accept: text/csv`: the whole list as a CSV download (UTF-8 with a byte-order mark, a header row `donor_id,full_name,date_of_birth,donation_count,tier,tier_name,last_donation_at,phone,commune,province,chapter_id`, dates `YYYY-MM-DD`, formula-like cells prefixed with `'`); each export is audited.",
            content(
                (ListResponse<EligibleOut> = "application/json"),
                (String = "text/csv"),
            )),
        (status = 400, description = "Unreadable parameter (as_of not a date, negative min_tier or limit, bad cursor)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such chapter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn eligible(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    query: web::Query<EligibleQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, paging) = query.into_inner().split();
    let limit = paging.limit()?;
    let after = paging.after()?;
    let ctx = state.ctx();
    if wants_csv(&req) {
        let export = state
            .write(move |tx| app::honors::start_export(tx, &ctx, &actor, filter))
            .await?;
        return export_csv(&state, &req, export).await;
    }
    let page = state
        .read(move |conn| {
            app::honors::due_page(conn, &ctx, &actor, &filter, after.as_deref(), limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, EligibleOut::from)))
}

/// True when the client asks for CSV.
fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"))
        })
}

/// The CSV download of an audited export: spooled by a background thread that holds the
/// caller's turn at heavy work only while it reads the rows, then sent from the spool file.
async fn export_csv(
    state: &AppState,
    req: &HttpRequest,
    export: Export,
) -> Result<HttpResponse, ApiError> {
    let filename = format!("attachment; filename=\"honors-due-{}.csv\"", export.as_of());
    let preamble = app::honors::csv_preamble()?;
    let body = crate::http::stream::spooled_body(state, req, "export", preamble, {
        move |conn, sink| app::honors::export_chunks(conn, &export, sink)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, filename))
        .body(body))
}

/// Records an award (honors, admin). It settles the tier and every tier below it.
#[utoipa::path(post, path = "/api/v1/honors/awards", tag = "honors", request_body = NewAward,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = AwardOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The donor already holds this tier or a higher one", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`tier` is not a configured threshold, the donor had not reached it by `awarded_on`, `awarded_on` is after today, no such donor, or the note is too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_award(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewAward>,
) -> Result<HttpResponse, ApiError> {
    let cmd = body.into_inner().into();
    let ctx = state.ctx();
    let award = state
        .write(move |tx| app::honors::record_award(tx, &ctx, &actor, cmd))
        .await?;
    Ok(HttpResponse::Created().json(AwardOut::from(award)))
}

/// Voids an award (honors, admin): kept for the audit with the reason, it stops counting (lists
/// due, `honor_due_tier`, the report's `honor_due`, the "already holds" check), so the tier may
/// be awarded again. Voiding a voided award answers it unchanged.
#[utoipa::path(post, path = "/api/v1/honors/awards/{id}/void", tag = "honors",
    request_body = VoidBody,
    params(("id" = Uuid, Path, description = "Award id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The award, voided", body = AwardOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such award", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long reason", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn void_award(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<VoidBody>,
) -> Result<HttpResponse, ApiError> {
    let cmd = app::honors::VoidAward {
        award_id: id.into_inner().to_string(),
        reason: body.into_inner().reason,
    };
    let ctx = state.ctx();
    let award = state
        .write(move |tx| app::honors::void_award(tx, &ctx, &actor, cmd))
        .await?;
    Ok(HttpResponse::Ok().json(AwardOut::from(award)))
}

/// A donor's awards, voided ones included (`voided`), lowest tier first (admin, coordinator,
/// honors).
#[utoipa::path(get, path = "/api/v1/donors/{id}/awards", tag = "honors",
    params(("id" = Uuid, Path, description = "Donor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The donor's awards, voided ones included (`voided`, `void_reason`, `voided_at`)", body = Vec<AwardOut>),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn donor_awards(
    state: web::Data<AppState>,
    _actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let ctx = state.ctx();
    let awards = state
        .read(move |conn| app::honors::donor_awards(conn, &ctx, &id))
        .await?;
    let out: Vec<AwardOut> = awards.into_iter().map(AwardOut::from).collect();
    Ok(HttpResponse::Ok().json(out))
}
