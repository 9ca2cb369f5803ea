//! Drives (a chapter's campaigns), their events, and the drive tally.
//!
//! Admins reach every drive; a coordinator reaches the drives of its chapter and the chapters
//! below it, and gets 404 for any other (the existence of another chapter's drive does not
//! leak).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use hienmau_db::models::{Chapter, Drive, DriveChanges, Event};
use hienmau_db::repo::drives::DriveFilter;
use hienmau_db::repo::{chapters, donations, drives, events};
use hienmau_db::DbConn;
use hienmau_domain::BloodGroup;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::validate::{optional_text, required_text};
use crate::http::auth::Actor;
use crate::http::error::{ApiError, FieldError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::{ListResponse, Paging};
use crate::http::state::AppState;

/// A drive.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriveOut {
    /// Id.
    pub id: String,
    /// Name, e.g. "Chủ nhật Đỏ 2024".
    pub name: String,
    /// The chapter that runs it.
    pub chapter_id: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day (inclusive).
    pub ends_on: NaiveDate,
    /// The units the drive aims to collect.
    pub target_units: Option<i32>,
    /// Units collected so far (collected, not voided donations at its events).
    pub units: i64,
}

impl DriveOut {
    fn new(d: Drive, units: i64) -> Self {
        Self {
            id: d.id,
            name: d.name,
            chapter_id: d.chapter_id,
            starts_on: d.starts_on,
            ends_on: d.ends_on,
            target_units: d.target_units,
            units,
        }
    }
}

/// A new drive.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDrive {
    /// Name (1–200 characters).
    pub name: String,
    /// The chapter that runs it; a coordinator may name its chapter or one below it.
    pub chapter_id: Uuid,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day, not before `starts_on`.
    pub ends_on: NaiveDate,
    /// The units the drive aims to collect (0 or more).
    pub target_units: Option<i32>,
}

/// Changes to a drive; omitted fields stay, `target_units: null` clears the target.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrivePatch {
    /// Name.
    pub name: Option<String>,
    /// First day; every event must stay within the dates.
    pub starts_on: Option<NaiveDate>,
    /// Last day; every event must stay within the dates.
    pub ends_on: Option<NaiveDate>,
    /// Target units; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub target_units: Option<Option<i32>>,
}

/// Reads a present field (null included) as `Some(_)`; with `#[serde(default)]` an absent
/// field is `None`.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `GET /drives` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DriveQuery {
    /// Drives with at least one day in this year.
    pub year: Option<i32>,
    /// Drives of this chapter and the chapters below it.
    pub chapter_id: Option<Uuid>,
}

/// A drive's numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TallyOut {
    /// The drive.
    pub drive_id: String,
    /// Collected, not voided donations at the drive's events.
    pub units: i64,
    /// Their millilitres.
    pub volume_ml: i64,
    /// Deferrals (not voided) at the drive's events.
    pub deferrals: i64,
    /// Distinct donors with a collected donation at the drive.
    pub donors: i64,
    /// Donors without prior (paper) donations whose first collection ever was at this drive.
    pub first_time_donors: i64,
    /// The drive's target.
    pub target_units: Option<i32>,
    /// Units by the donor's blood group: every group (`O+` … `AB-`) is present, 0 when none;
    /// `unknown` (donors not yet typed) appears only when non-zero.
    #[schema(value_type = Object, example = json!({"O+": 3, "O-": 0, "A+": 1, "A-": 0, "B+": 2, "B-": 0, "AB+": 0, "AB-": 0}))]
    pub by_blood_group: BTreeMap<String, i64>,
    /// Units per event, every event of the drive included (0 too), by day.
    pub by_event: Vec<EventUnits>,
}

/// Units at one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventUnits {
    /// The event.
    pub event_id: String,
    /// Its units.
    pub units: i64,
}

/// An event: one site on one day of a drive.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Id.
    pub id: String,
    /// The drive.
    pub drive_id: String,
    /// Where, e.g. "Nhà văn hóa phường Cốc Lếu".
    pub site: String,
    /// The day, within the drive's dates.
    pub held_on: NaiveDate,
    /// Province.
    pub province: Option<String>,
    /// Commune or ward.
    pub commune: Option<String>,
}

impl From<Event> for EventOut {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            drive_id: e.drive_id,
            site: e.site,
            held_on: e.held_on,
            province: e.province,
            commune: e.commune,
        }
    }
}

/// A new event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Where (1–200 characters).
    pub site: String,
    /// The day; must fall within the drive's dates.
    pub held_on: NaiveDate,
    /// Province.
    pub province: Option<String>,
    /// Commune or ward.
    pub commune: Option<String>,
}

/// Loads a drive the caller may reach (see [`crate::app::scope::drive_in_scope`]).
pub fn drive_in_scope(
    conn: &mut DbConn,
    user: &Actor,
    id: &str,
) -> Result<(Drive, Chapter), ApiError> {
    Ok(crate::app::scope::drive_in_scope(conn, user, id)?)
}

/// Loads an event the caller may reach (see [`crate::app::scope::event_in_scope`]).
pub fn event_in_scope(
    conn: &mut DbConn,
    user: &Actor,
    id: &str,
) -> Result<(Event, Drive), ApiError> {
    Ok(crate::app::scope::event_in_scope(conn, user, id)?)
}

/// A chapter named in a body or query: 422 when it does not exist, 404 when outside the
/// caller's scope.
fn chapter_for(
    conn: &mut DbConn,
    user: &Actor,
    id: &str,
    field: &str,
) -> Result<Chapter, ApiError> {
    let chapter =
        chapters::find(conn, id)?.ok_or_else(|| ApiError::field(field, "no such chapter"))?;
    user.require_chapter(&chapter)?;
    Ok(chapter)
}

fn units_of(conn: &mut DbConn, id: &str) -> Result<i64, ApiError> {
    Ok(drives::units_by_drive(conn, &[id.to_owned()])?
        .first()
        .map_or(0, |(_, n)| *n))
}

/// Creates a drive (admin; coordinator for its chapter or one below).
#[utoipa::path(post, path = "/api/v1/drives", tag = "drives", request_body = NewDrive,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = DriveOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not manage drives", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The chapter is outside the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: empty name, ends_on before starts_on, negative target, unknown chapter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_drive(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewDrive>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = Vec::new();
    let name = required_text("name", &body.name, 200, &mut errors);
    check_dates(body.starts_on, body.ends_on, &mut errors);
    check_target(body.target_units, &mut errors);
    ApiError::check(errors)?;
    let row = Drive {
        id: hienmau_db::new_id(),
        name,
        chapter_id: body.chapter_id.to_string(),
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        target_units: body.target_units,
        created_by: user.user_id().map(str::to_owned),
        created_at: hienmau_db::now(),
    };
    let row = state
        .write_http(move |conn| {
            chapter_for(conn, &user, &row.chapter_id, "chapter_id")?;
            drives::insert(conn, &row)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(DriveOut::new(row, 0)))
}

fn check_dates(starts_on: NaiveDate, ends_on: NaiveDate, errors: &mut Vec<FieldError>) {
    crate::app::validate::check_year("starts_on", starts_on, errors);
    crate::app::validate::check_year("ends_on", ends_on, errors);
    if ends_on < starts_on {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
}

fn check_target(target: Option<i32>, errors: &mut Vec<FieldError>) {
    if target.is_some_and(|t| t < 0) {
        errors.push(FieldError::new("target_units", "must not be negative"));
    }
}

/// Lists drives (admin: all; coordinator: its scope), by first day.
#[utoipa::path(get, path = "/api/v1/drives", tag = "drives", params(DriveQuery, Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Drives, each with its units", body = ListResponse<DriveOut>),
        (status = 400, description = "Bad parameter or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read drives", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "chapter_id outside the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Year out of range or unknown chapter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_drives(
    state: web::Data<AppState>,
    user: Actor,
    query: web::Query<DriveQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let limit = paging.limit()?;
    let after = paging.after()?;
    let overlaps = match query.year {
        None => None,
        Some(y) => {
            let first = NaiveDate::from_ymd_opt(y, 1, 1);
            let last = NaiveDate::from_ymd_opt(y, 12, 31);
            match (first, last) {
                (Some(f), Some(l)) if (1900..=9999).contains(&y) => Some((f, l)),
                _ => return Err(ApiError::field("year", "must be between 1900 and 9999")),
            }
        }
    };
    let chapter_id = query.chapter_id.map(|c| c.to_string());
    let page = state
        .db(move |conn| {
            let chapter_path_prefix = match &chapter_id {
                Some(id) => Some(chapter_for(conn, &user, id, "chapter_id")?.path),
                None => user.chapter_path_prefix(),
            };
            let filter = DriveFilter {
                overlaps,
                chapter_path_prefix,
            };
            let page = drives::list(conn, &filter, after.as_deref(), limit)?;
            let ids: Vec<String> = page.items.iter().map(|d| d.id.clone()).collect();
            let units = drives::units_by_drive(conn, &ids)?;
            Ok((page, units))
        })
        .await?;
    let (page, units) = page;
    let mut units = units.into_iter();
    let list = ListResponse::from_page(page, |d| {
        let n = units.next().map_or(0, |(_, n)| n);
        DriveOut::new(d, n)
    });
    Ok(HttpResponse::Ok().json(list))
}

/// One drive, with its units.
#[utoipa::path(get, path = "/api/v1/drives/{id}", tag = "drives",
    params(("id" = Uuid, Path, description = "Drive id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The drive", body = DriveOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read drives", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_drive(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let out = state
        .db(move |conn| {
            let (drive, _) = drive_in_scope(conn, &user, &id)?;
            let units = units_of(conn, &drive.id)?;
            Ok(DriveOut::new(drive, units))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Changes a drive's name, dates or target.
#[utoipa::path(patch, path = "/api/v1/drives/{id}", tag = "drives", request_body = DrivePatch,
    params(("id" = Uuid, Path, description = "Drive id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = DriveOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not manage drives", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, ends_on before starts_on, or an event outside the new dates", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_drive(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<DrivePatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .map(|n| required_text("name", n, 200, &mut errors));
    check_target(body.target_units.flatten(), &mut errors);
    ApiError::check(errors)?;
    let id = id.into_inner().to_string();
    let out = state
        .write_http(move |conn| {
            let (drive, _) = drive_in_scope(conn, &user, &id)?;
            let starts_on = body.starts_on.unwrap_or(drive.starts_on);
            let ends_on = body.ends_on.unwrap_or(drive.ends_on);
            let mut errors = Vec::new();
            check_dates(starts_on, ends_on, &mut errors);
            ApiError::check(errors)?;
            if starts_on != drive.starts_on || ends_on != drive.ends_on {
                let outside = events::list_for_drive(conn, &id)?
                    .iter()
                    .any(|e| e.held_on < starts_on || e.held_on > ends_on);
                if outside {
                    return Err(ApiError::field(
                        if body.starts_on.is_some() {
                            "starts_on"
                        } else {
                            "ends_on"
                        },
                        "an event of the drive would fall outside the new dates",
                    ));
                }
            }
            let changes = DriveChanges {
                name,
                starts_on: body.starts_on,
                ends_on: body.ends_on,
                target_units: body.target_units,
            };
            let drive = drives::update(conn, &id, &changes)?;
            let units = units_of(conn, &id)?;
            Ok(DriveOut::new(drive, units))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A drive's tally; voided records count nowhere.
#[utoipa::path(get, path = "/api/v1/drives/{id}/tally", tag = "drives",
    params(("id" = Uuid, Path, description = "Drive id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tally", body = TallyOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read drives", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn drive_tally(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let (drive, tally) = state
        .db(move |conn| {
            let (drive, _) = drive_in_scope(conn, &user, &id)?;
            let tally = donations::tally(conn, &drive.id)?;
            Ok((drive, tally))
        })
        .await?;
    let mut by_blood_group: BTreeMap<String, i64> = BloodGroup::ALL
        .iter()
        .map(|g| (g.as_str().to_owned(), 0))
        .collect();
    for (group, n) in tally.by_blood_group {
        if group == "unknown" && n == 0 {
            continue;
        }
        *by_blood_group.entry(group).or_insert(0) += n;
    }
    Ok(HttpResponse::Ok().json(TallyOut {
        drive_id: drive.id,
        units: tally.units,
        volume_ml: tally.volume_ml,
        deferrals: tally.deferrals,
        donors: tally.donors,
        first_time_donors: tally.first_time_donors,
        target_units: drive.target_units,
        by_blood_group,
        by_event: tally
            .by_event
            .into_iter()
            .map(|(event_id, units)| EventUnits { event_id, units })
            .collect(),
    }))
}

/// Adds an event (a site on one day) to a drive.
#[utoipa::path(post, path = "/api/v1/drives/{id}/events", tag = "drives", request_body = NewEvent,
    params(("id" = Uuid, Path, description = "Drive id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = EventOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not manage drives", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty site, or held_on outside the drive's dates", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_event(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<NewEvent>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = Vec::new();
    let row = Event {
        id: hienmau_db::new_id(),
        drive_id: id.into_inner().to_string(),
        site: required_text("site", &body.site, 200, &mut errors),
        held_on: body.held_on,
        province: optional_text("province", body.province.as_deref(), 100, &mut errors),
        commune: optional_text("commune", body.commune.as_deref(), 100, &mut errors),
        created_at: hienmau_db::now(),
    };
    ApiError::check(errors)?;
    let row = state
        .write_http(move |conn| {
            let (drive, _) = drive_in_scope(conn, &user, &row.drive_id)?;
            if row.held_on < drive.starts_on || row.held_on > drive.ends_on {
                return Err(ApiError::field(
                    "held_on",
                    format!(
                        "must fall within the drive's dates ({} to {})",
                        drive.starts_on, drive.ends_on
                    ),
                ));
            }
            events::insert(conn, &row)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(EventOut::from(row)))
}

/// The events of a drive, by day.
#[utoipa::path(get, path = "/api/v1/drives/{id}/events", tag = "drives",
    params(("id" = Uuid, Path, description = "Drive id"), Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Events", body = ListResponse<EventOut>),
        (status = 400, description = "Bad id, paging or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read drives", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such drive in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_events(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let rows = state
        .db(move |conn| {
            drive_in_scope(conn, &user, &id)?;
            Ok(events::list_for_drive(conn, &id)?)
        })
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
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read drives", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_event(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let (event, _) = state
        .db(move |conn| event_in_scope(conn, &user, &id))
        .await?;
    Ok(HttpResponse::Ok().json(EventOut::from(event)))
}
