//! The annual report (admin, honors; coordinator for its chapter's subtree).
//!
//! Every figure is computed by the database (see `hienmau_db::repo::reports`):
//!
//! - `units` = `drive_units` + `emergency_units`: collected, not voided donations whose day (in
//!   the configured zone) falls in the year, at events and for emergency requests;
//!   `volume_ml` their millilitres; `donors` the distinct donors among them; `new_donors`
//!   those with no prior (paper) donations and no collection before the year;
//!   `deferrals`: deferred outcomes (not voided) in the year.
//! - `drives`: drives with at least one day in the year; `events`: events held in the year.
//! - `reserve_donors`: donors in the emergency reserve on 31 December: in the reserve now and
//!   since a day on or before it. Withdrawals are not kept as history, so a donor who has since
//!   withdrawn counts in no year (an approximation for past years).
//! - `honor_due`: donors due a tier as of 31 December (as `GET /honors/eligible`).
//! - `by_chapter`: chapters with units in the year (units of drives run by the chapter itself),
//!   most units first, then name (folded), then id. `by_drive`: every drive with a day in the
//!   year and its units in the year, in the same order.
//!
//! **Scope.** With `chapter_id`, and always for a coordinator (its own chapter when it gives
//! none), the figures cover that chapter and those below it: donations at events of their
//! drives, their drives and events, donors due an honor whose chapter (that of their latest
//! collected donation up to 31 December) is among them, reserve donors likewise (falling back
//! to the chapter that registered them when they have not donated). Emergency donations belong
//! to no chapter: they count only in a report without a chapter (`emergency_units` is 0 with
//! one). A chapter outside a coordinator's scope, or unknown, is 404.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use hienmau_db::repo::chapters;
use hienmau_db::repo::reports::{self, AnnualQuery};
use hienmau_domain::text::fold;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::auth::Actor;
use crate::http::error::{ApiError, Problem};
use crate::http::state::AppState;

/// The years a report may cover.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// `GET /reports/annual` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnnualParams {
    /// The calendar year (required; 1900 to 2200). Missing or not a number is 400.
    #[param(example = 2023, minimum = 1900, maximum = 2200)]
    pub year: i32,
    /// Only this chapter and those below it (a coordinator: within its scope, else 404).
    pub chapter_id: Option<Uuid>,
}

/// Units of a chapter.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChapterUnitsOut {
    /// The chapter.
    pub chapter_id: String,
    /// Its name.
    pub name: String,
    /// Units collected in the year at its own drives.
    pub units: i64,
}

/// Units of a drive.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriveUnitsOut {
    /// The drive.
    pub drive_id: String,
    /// Its name.
    pub name: String,
    /// Units collected in the year at its events.
    pub units: i64,
}

/// A year's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnnualReport {
    /// The year.
    pub year: i32,
    /// The chapter whose subtree the figures cover; null for everything.
    pub chapter_id: Option<String>,
    /// Drives with at least one day in the year.
    pub drives: i64,
    /// Events held in the year.
    pub events: i64,
    /// `drive_units` + `emergency_units`.
    pub units: i64,
    /// Collected, not voided donations at events in the year.
    pub drive_units: i64,
    /// Collected, not voided donations for emergency requests in the year (0 with a chapter).
    pub emergency_units: i64,
    /// Millilitres of those units.
    pub volume_ml: i64,
    /// Deferrals (not voided) in the year.
    pub deferrals: i64,
    /// Distinct donors of those units.
    pub donors: i64,
    /// Those whose first collection ever is in the year and who have no prior donations.
    pub new_donors: i64,
    /// Donors in the emergency reserve on 31 December.
    pub reserve_donors: i64,
    /// Donors due an honor tier as of 31 December.
    pub honor_due: i64,
    /// Chapters by units, most first.
    pub by_chapter: Vec<ChapterUnitsOut>,
    /// Drives of the year by units, most first.
    pub by_drive: Vec<DriveUnitsOut>,
}

/// The annual report (admin, honors; coordinator for its chapter's subtree).
#[utoipa::path(get, path = "/api/v1/reports/annual", tag = "reports", params(AnnualParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The year's figures", body = AnnualReport),
        (status = 400, description = "`year` missing or not a number; `chapter_id` not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read reports", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this caller on an expensive route", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No turn at expensive work within the configured wait (Retry-After), or the database is unavailable", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown chapter, or outside the coordinator's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`year` outside 1900–2200", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn annual(
    state: web::Data<AppState>,
    user: Actor,
    params: web::Query<AnnualParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let year = params.year;
    let (from, to) = match (
        YEARS.contains(&year),
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) {
        (true, Some(f), Some(t)) => (f, t),
        _ => {
            return Err(ApiError::field(
                "year",
                format!("must be between {} and {}", YEARS.start(), YEARS.end()),
            ))
        }
    };
    let thresholds: Vec<u32> = state
        .settings
        .honors
        .tiers
        .tiers()
        .iter()
        .map(|t| t.threshold)
        .collect();
    let chapter_id = params.chapter_id.map(|c| c.to_string());
    let (scope, figures) = state
        .db(move |conn| {
            let scope = match chapter_id {
                Some(id) => {
                    let chapter = chapters::find(conn, &id)?.ok_or(ApiError::NotFound)?;
                    user.require_chapter(&chapter)?;
                    Some(chapter)
                }
                None if user.chapter_path_prefix().is_some() => user.chapter.clone(),
                None => None,
            };
            let q = AnnualQuery {
                from,
                to,
                chapter_path_prefix: scope.as_ref().map(|c| c.path.clone()),
                thresholds,
            };
            Ok((scope, reports::annual(conn, &q)?))
        })
        .await?;

    let mut by_chapter = figures.by_chapter;
    by_chapter.sort_by(|a, b| {
        b.units
            .cmp(&a.units)
            .then_with(|| fold(&a.name).cmp(&fold(&b.name)))
            .then_with(|| a.chapter_id.cmp(&b.chapter_id))
    });
    let mut by_drive = figures.by_drive;
    by_drive.sort_by(|a, b| {
        b.units
            .cmp(&a.units)
            .then_with(|| fold(&a.name).cmp(&fold(&b.name)))
            .then_with(|| a.starts_on.cmp(&b.starts_on))
            .then_with(|| a.drive_id.cmp(&b.drive_id))
    });
    Ok(HttpResponse::Ok().json(AnnualReport {
        year,
        chapter_id: scope.map(|c| c.id),
        drives: figures.drives,
        events: figures.events,
        units: figures.drive_units + figures.emergency_units,
        drive_units: figures.drive_units,
        emergency_units: figures.emergency_units,
        volume_ml: figures.volume_ml,
        deferrals: figures.deferrals,
        donors: figures.donors,
        new_donors: figures.new_donors,
        reserve_donors: figures.reserve_donors,
        honor_due: figures.honor_due,
        by_chapter: by_chapter
            .into_iter()
            .map(|c| ChapterUnitsOut {
                chapter_id: c.chapter_id,
                name: c.name,
                units: c.units,
            })
            .collect(),
        by_drive: by_drive
            .into_iter()
            .map(|d| DriveUnitsOut {
                drive_id: d.drive_id,
                name: d.name,
                units: d.units,
            })
            .collect(),
    }))
}
