//! Drives (a chapter's campaigns), their events, and the drive tally: the HTTP side of
//! [`crate::app::drives`], which holds the rules and the scope (another chapter's drive is
//! 404, so its existence does not leak).

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::app;
use crate::app::drives::DriveWithUnits;
use crate::http::auth::Actor;
use crate::http::dto::drives::{
    DriveOut, DrivePatch, DriveQuery, EventOut, NewDrive, NewEvent, TallyOut,
};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::{ListResponse, Paging};
use crate::http::state::AppState;

/// Creates a drive (admin; coordinator for its chapter or one below).
#[utoipa::path(post, path = "/api/v1/drives", tag = "drives", request_body = NewDrive,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = DriveOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The chapter is outside the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: empty name, ends_on before starts_on, negative target, unknown chapter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_drive(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewDrive>,
) -> Result<HttpResponse, ApiError> {
    let cmd = body.into_inner().into();
    let ctx = state.ctx();
    let drive = state
        .write(move |tx| app::drives::create_drive(tx, &ctx, &actor, cmd))
        .await?;
    let out = DriveOut::from(DriveWithUnits { drive, units: 0 });
    Ok(HttpResponse::Created().json(out))
}

/// Lists drives (admin: all; coordinator: its scope), by first day.
#[utoipa::path(get, path = "/api/v1/drives", tag = "drives", params(DriveQuery, Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Drives, each with its units", body = ListResponse<DriveOut>),
        (status = 400, description = "Bad parameter or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "chapter_id outside the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Year out of range or unknown chapter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_drives(
    state: web::Data<AppState>,
    actor: Actor,
    query: web::Query<DriveQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let limit = paging.limit()?;
    let after = paging.after()?;
    let filter = query.into_inner().into();
    let page = state
        .read(move |conn| app::drives::list_drives(conn, &actor, filter, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, DriveOut::from)))
}

/// One drive, with its units.
#[utoipa::path(get, path = "/api/v1/drives/{id}", tag = "drives",
    params(("id" = Uuid, Path, description = "Drive id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The drive", body = DriveOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_drive(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let drive = state
        .read(move |conn| app::drives::get_drive(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(DriveOut::from(drive)))
}

/// Changes a drive's name, dates or target.
#[utoipa::path(patch, path = "/api/v1/drives/{id}", tag = "drives", request_body = DrivePatch,
    params(("id" = Uuid, Path, description = "Drive id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = DriveOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, ends_on before starts_on, or an event outside the new dates", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_drive(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<DrivePatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let cmd = body.into_inner().into();
    let drive = state
        .write(move |tx| app::drives::update_drive(tx, &actor, &id, cmd))
        .await?;
    Ok(HttpResponse::Ok().json(DriveOut::from(drive)))
}

/// A drive's tally; voided records count nowhere.
#[utoipa::path(get, path = "/api/v1/drives/{id}/tally", tag = "drives",
    params(("id" = Uuid, Path, description = "Drive id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tally", body = TallyOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn drive_tally(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let tally = state
        .read(move |conn| app::drives::tally(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(TallyOut::from(tally)))
}

/// Adds an event (a site on one day) to a drive.
#[utoipa::path(post, path = "/api/v1/drives/{id}/events", tag = "drives", request_body = NewEvent,
    params(("id" = Uuid, Path, description = "Drive id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = EventOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty site, or held_on outside the drive's dates", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_event(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<NewEvent>,
) -> Result<HttpResponse, ApiError> {
    let cmd = body.into_inner().into_command(id.into_inner().to_string());
    let ctx = state.ctx();
    let event = state
        .write(move |tx| app::drives::create_event(tx, &ctx, &actor, cmd))
        .await?;
    Ok(HttpResponse::Created().json(EventOut::from(event)))
}

/// The events of a drive, by day.
#[utoipa::path(get, path = "/api/v1/drives/{id}/events", tag = "drives",
    params(("id" = Uuid, Path, description = "Drive id"), Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Events", body = ListResponse<EventOut>),
        (status = 400, description = "Bad id, paging or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_events(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let rows = state
        .read(move |conn| app::drives::list_events(conn, &actor, &id))
        .await?;
    // A drive has few events (tens): page in memory on (day, id).
    let items: Vec<EventOut> = rows.into_iter().map(Into::into).collect();
    let page =
        ListResponse::paged_in_memory(items, &paging, |e| format!("{}\t{}", e.held_on, e.id))?;
    Ok(HttpResponse::Ok().json(page))
}

/// One event.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "drives",
    params(("id" = Uuid, Path, description = "Event id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The event", body = EventOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_event(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let event = state
        .read(move |conn| app::drives::get_event(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(EventOut::from(event)))
}
