//! Emergency requests: a hospital asks for reserve donors of a patient's group; the system
//! offers candidates, records the donors' answers to the call-up and the units they gave.
//!
//! **Who.** Hospital callers (a user of the hospital or its API key) act for their own
//! hospital; admins act for any hospital (giving `hospital_id` when opening a request) and
//! read all requests. Another hospital's request is 404, and so is everything under it
//! (candidates, responses, donations, cancel). Coordinators and the honors role get 403.
//!
//! **Decisions** (where the contract is silent):
//! - `blood_group` in the body is free text like the donor's: an unknown group is 422;
//!   an unknown `component` or `urgency` is 400 (a closed enum). `units_needed` 1–1000,
//!   `note` at most 2000 characters, `province`/`commune` at most 100, `opened_at` (default
//!   now) not in the future (5 minutes of clock skew allowed). An admin must give
//!   `hospital_id` (422 otherwise, and 422 for an unknown hospital); a hospital caller may give
//!   only its own (another hospital's is 422).
//! - Candidates, responses and donations are for open requests only: a cancelled or fulfilled
//!   request answers 409. Cancelling a cancelled request answers 200 unchanged; cancelling a
//!   fulfilled one is 409.
//! - Candidates: `limit` default 20, at most 100 (larger values capped), negative 400. Every
//!   call is written to the audit log (`contact_disclosed`, with the donors disclosed, possibly
//!   none) in the same transaction as the read. A donor with a `declined` answer to this
//!   request is never offered again for it. A donor whose weight is unknown is offered (the
//!   weight is checked at the collection).
//! - Emergency donations: the body and `Idempotency-Key` rules of event donations; the donation
//!   may be any component (the blood bank decides what it prepares), `donated_at` must not be
//!   in the future. `units_received` is the number of collected, not voided donations for the
//!   request; the status is `fulfilled` once it reaches `units_needed` (and back to `open`
//!   if a void takes it below again).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use hienmau_db::models::{Donor, DonorResponse, EmergencyRequest};
use hienmau_db::repo::candidates::{self, CandidateQuery};
use hienmau_db::repo::{donations, donors, emergency, hospitals};
use hienmau_db::DbConn;
use hienmau_domain::blood::{donor_groups_for, Match};
use hienmau_domain::calendar::Zone;
use hienmau_domain::text::fold;
use hienmau_domain::{BloodGroup, Component, Sex};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::audit::{self, AuditRecord};
use crate::app::donations::{
    self as service, DonationBody, DonationOut, Target, COLLECTED, MAX_CLOCK_SKEW,
};
use crate::app::idempotency;
use crate::app::validate::optional_text;
use crate::http::auth::{Actor, Role};
use crate::http::error::{ApiError, FieldError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::{ListResponse, Paging};
use crate::http::state::AppState;

/// The stored status of an open request.
pub const OPEN: &str = "open";
/// The stored status of a request whose units all arrived.
pub const FULFILLED: &str = "fulfilled";
/// The stored status of a cancelled request.
pub const CANCELLED: &str = "cancelled";

/// The most units one request may ask for.
const MAX_UNITS: i64 = 1000;
/// The longest note.
const MAX_NOTE_CHARS: usize = 2000;
/// Candidates per call: default and maximum.
const DEFAULT_CANDIDATES: i64 = 20;
const MAX_CANDIDATES: i64 = 100;

/// How soon the blood is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Life-threatening, now.
    Critical,
    /// Within hours.
    Urgent,
    /// Planned.
    Routine,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Urgency::Critical => "critical",
            Urgency::Urgent => "urgent",
            Urgency::Routine => "routine",
        }
    }
}

/// A blood group, as the documentation lists it (the body field is read as text: another
/// value is 422).
#[derive(Debug, Clone, Copy, ToSchema)]
pub enum BloodGroupName {
    /// O RhD positive.
    #[schema(rename = "O+")]
    OPos,
    /// O RhD negative.
    #[schema(rename = "O-")]
    ONeg,
    /// A RhD positive.
    #[schema(rename = "A+")]
    APos,
    /// A RhD negative.
    #[schema(rename = "A-")]
    ANeg,
    /// B RhD positive.
    #[schema(rename = "B+")]
    BPos,
    /// B RhD negative.
    #[schema(rename = "B-")]
    BNeg,
    /// AB RhD positive.
    #[schema(rename = "AB+")]
    ABPos,
    /// AB RhD negative.
    #[schema(rename = "AB-")]
    ABNeg,
}

/// A blood component, as the documentation lists it.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ComponentName {
    /// Whole blood.
    WholeBlood,
    /// Red cells.
    RedCells,
    /// Platelets.
    Platelets,
    /// Plasma.
    Plasma,
}

/// A request's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Still looking for donors.
    Open,
    /// `units_received` reached `units_needed`.
    Fulfilled,
    /// Called off by the hospital.
    Cancelled,
}

impl RequestStatus {
    fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => OPEN,
            RequestStatus::Fulfilled => FULFILLED,
            RequestStatus::Cancelled => CANCELLED,
        }
    }
}

/// A donor's answer to a call-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseKind {
    /// Will come (or came).
    Accepted,
    /// Will not come: never offered again for this request.
    Declined,
    /// Could not be reached.
    NoAnswer,
}

impl ResponseKind {
    fn as_str(self) -> &'static str {
        match self {
            ResponseKind::Accepted => "accepted",
            ResponseKind::Declined => "declined",
            ResponseKind::NoAnswer => "no_answer",
        }
    }
}

/// A new emergency request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmergencyRequest {
    /// The patient's group, `O+ O- A+ A- B+ B- AB+ AB-` (another value is 422).
    #[schema(value_type = BloodGroupName, example = "O-")]
    pub blood_group: String,
    /// `whole_blood`, `red_cells`, `platelets` or `plasma` (another value is 400).
    #[schema(value_type = ComponentName, example = "red_cells")]
    pub component: Component,
    /// Units needed, 1 to 1000.
    #[schema(example = 2, minimum = 1, maximum = 1000)]
    pub units_needed: i64,
    /// `critical`, `urgent` or `routine` (another value is 400).
    pub urgency: Urgency,
    /// By when (RFC 3339).
    pub needed_by: Option<DateTime<Utc>>,
    /// The province where donors are needed (defaults to none: no place preference).
    #[schema(max_length = 100)]
    pub province: Option<String>,
    /// The commune or ward where donors are needed.
    #[schema(max_length = 100)]
    pub commune: Option<String>,
    /// Free text, at most 2000 characters.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// When the request was made (RFC 3339), for a request taken by phone and recorded
    /// afterwards; defaults to now; not in the future.
    pub opened_at: Option<DateTime<Utc>>,
    /// The hospital: required for an admin; a hospital caller may omit it or give its own.
    pub hospital_id: Option<Uuid>,
}

/// An emergency request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmergencyRequestOut {
    /// Id.
    pub id: String,
    /// The requesting hospital.
    pub hospital_id: String,
    /// The patient's group.
    #[schema(example = "O-")]
    pub blood_group: String,
    /// The component needed.
    #[schema(example = "red_cells")]
    pub component: String,
    /// Units needed.
    pub units_needed: i32,
    /// Collected, not voided units given for the request.
    pub units_received: i32,
    /// `critical`, `urgent` or `routine`.
    pub urgency: String,
    /// `open`, `fulfilled` or `cancelled`.
    pub status: String,
    /// By when.
    pub needed_by: Option<DateTime<Utc>>,
    /// Province where donors are needed.
    pub province: Option<String>,
    /// Commune or ward where donors are needed.
    pub commune: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// When the request was made.
    pub opened_at: DateTime<Utc>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it was fulfilled or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// The user who opened it (null when an API key did).
    pub created_by_user: Option<String>,
    /// The API key that opened it (null when a user did).
    pub created_by_key: Option<String>,
}

impl From<EmergencyRequest> for EmergencyRequestOut {
    fn from(r: EmergencyRequest) -> Self {
        Self {
            id: r.id,
            hospital_id: r.hospital_id,
            blood_group: r.blood_group,
            component: r.component,
            units_needed: r.units_needed,
            units_received: r.units_received,
            urgency: r.urgency,
            status: r.status,
            needed_by: r.needed_by.map(|t| t.and_utc()),
            province: r.province,
            commune: r.commune,
            note: r.note,
            opened_at: r.opened_at.and_utc(),
            created_at: r.created_at.and_utc(),
            closed_at: r.closed_at.map(|t| t.and_utc()),
            created_by_user: r.created_by_user,
            created_by_key: r.created_by_key,
        }
    }
}

/// The request, when the caller may reach it; 404 otherwise (another hospital's request
/// looks like no request at all).
pub fn request_in_scope(
    conn: &mut DbConn,
    user: &Actor,
    id: &str,
) -> Result<EmergencyRequest, ApiError> {
    let r = emergency::find_request(conn, id)?.ok_or(ApiError::NotFound)?;
    user.require_hospital(&r.hospital_id)?;
    Ok(r)
}

/// Locks the request (see [`emergency::lock_request`]) and reads it again, so what follows
/// decides on its latest state.
fn lock_and_read(conn: &mut DbConn, id: &str) -> Result<EmergencyRequest, ApiError> {
    emergency::lock_request(conn, id)?;
    emergency::find_request(conn, id)?.ok_or(ApiError::NotFound)
}

/// 409 unless the request is open.
fn require_open(r: &EmergencyRequest) -> Result<(), ApiError> {
    if r.status == OPEN {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            detail: format!("the request is {}", r.status),
            existing_id: None,
        })
    }
}

/// Rewrites `units_received` from the request's collected, not voided donations and the
/// status to match: `fulfilled` at `units_needed`, `open` below it; a cancelled request stays
/// cancelled. Call with the request locked.
pub fn recount(conn: &mut DbConn, request_id: &str) -> Result<EmergencyRequest, ApiError> {
    let r = emergency::find_request(conn, request_id)?.ok_or(ApiError::NotFound)?;
    let units = i32::try_from(donations::count_for_request(conn, request_id)?).unwrap_or(i32::MAX);
    let (status, closed_at) = match r.status.as_str() {
        CANCELLED => (CANCELLED, r.closed_at),
        _ if units >= r.units_needed => {
            (FULFILLED, Some(r.closed_at.unwrap_or_else(hienmau_db::now)))
        }
        _ => (OPEN, None),
    };
    if units != r.units_received || status != r.status || closed_at != r.closed_at {
        emergency::update_request_status(conn, request_id, status, units, closed_at)?;
    }
    emergency::find_request(conn, request_id)?.ok_or(ApiError::NotFound)
}

/// A note: at most 2000 characters; line breaks and tabs allowed, other control characters
/// not; blank is none.
fn note_text(value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > MAX_NOTE_CHARS {
        errors.push(FieldError::new(
            "note",
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        ));
    } else if v
        .chars()
        .any(|c| crate::app::validate::forbidden_in_text(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.push(FieldError::new(
            "note",
            "must not contain control characters",
        ));
    }
    Some(v.to_owned())
}

fn truncate_micros(t: NaiveDateTime) -> NaiveDateTime {
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

/// Opens an emergency request (hospital for itself; admin for the hospital it names).
#[utoipa::path(post, path = "/api/v1/emergency-requests", tag = "emergency",
    request_body = NewEmergencyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Opened", body = EmergencyRequestOut),
        (status = 400, description = "Unreadable body: not JSON, wrong type, unknown field, unknown component or urgency, bad instant", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not open requests (coordinator, honors)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: unknown blood group, units_needed outside 1–1000, opened_at in the future, text too long, hospital_id missing (admin), unknown or another hospital's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_request(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewEmergencyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let now = hienmau_db::now();
    let mut errors = Vec::new();

    let blood_group = match BloodGroup::parse(&body.blood_group) {
        Ok(g) => g.as_str().to_owned(),
        Err(e) => {
            errors.push(FieldError::new("blood_group", e.to_string()));
            String::new()
        }
    };
    if !(1..=MAX_UNITS).contains(&body.units_needed) {
        errors.push(FieldError::new(
            "units_needed",
            format!("must be between 1 and {MAX_UNITS}"),
        ));
    }
    let opened_at = match body.opened_at {
        Some(t) => truncate_micros(t.naive_utc()),
        None => now,
    };
    if opened_at > now + MAX_CLOCK_SKEW {
        errors.push(FieldError::new("opened_at", "must not be in the future"));
    }
    let province = optional_text("province", body.province.as_deref(), 100, &mut errors);
    let commune = optional_text("commune", body.commune.as_deref(), 100, &mut errors);
    let note = note_text(body.note.as_deref(), &mut errors);
    let hospital_id = match (user.role, body.hospital_id.map(|h| h.to_string())) {
        (Role::Admin, Some(h)) => Some(h),
        (Role::Admin, None) => {
            errors.push(FieldError::new(
                "hospital_id",
                "required when an admin opens a request",
            ));
            None
        }
        (_, Some(h)) if user.hospital_id.as_deref() != Some(h.as_str()) => {
            errors.push(FieldError::new(
                "hospital_id",
                "a hospital opens requests for itself only",
            ));
            None
        }
        (_, _) => user.hospital_id.clone(),
    };
    ApiError::check(errors)?;
    let hospital_id =
        hospital_id.ok_or_else(|| ApiError::internal("hospital caller without a hospital"))?;

    let row = EmergencyRequest {
        id: hienmau_db::new_id(),
        hospital_id,
        blood_group,
        component: body.component.as_str().to_owned(),
        units_needed: i32::try_from(body.units_needed).unwrap_or(1),
        units_received: 0,
        urgency: body.urgency.as_str().to_owned(),
        status: OPEN.to_owned(),
        needed_by: body.needed_by.map(|t| truncate_micros(t.naive_utc())),
        province_folded: province.as_deref().map(fold),
        province,
        commune_folded: commune.as_deref().map(fold),
        commune,
        note,
        opened_at,
        created_by_user: user.user_id().map(str::to_owned),
        created_by_key: user.key_id().map(str::to_owned),
        created_at: now,
        closed_at: None,
    };
    let row = state
        .write_http(move |conn| {
            if hospitals::find(conn, &row.hospital_id)?.is_none() {
                return Err(ApiError::field("hospital_id", "no such hospital"));
            }
            emergency::insert_request(conn, &row)?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "emergency_request_opened",
                    serde_json::json!({
                        "blood_group": row.blood_group,
                        "component": row.component,
                        "units_needed": row.units_needed,
                        "urgency": row.urgency,
                    }),
                )
                .request(&row.id)
                .hospital(Some(row.hospital_id.clone())),
            )?;
            Ok(row)
        })
        .await?;
    let out = EmergencyRequestOut::from(row);
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("{}/emergency-requests/{}", crate::http::routes::API, out.id),
        ))
        .json(out))
}

/// `GET /emergency-requests` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Only requests in this status (`open`, `fulfilled`, `cancelled`; another value is 400).
    pub status: Option<RequestStatus>,
    /// Admin only: one hospital's requests. A hospital caller may give only its own (another
    /// hospital's is 404).
    pub hospital_id: Option<Uuid>,
    /// Items per page: default 50, at most 500 (larger values are capped); negative is 400.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists requests, newest first (by `opened_at`): a hospital caller's own; an admin's all.
#[utoipa::path(get, path = "/api/v1/emergency-requests", tag = "emergency", params(RequestQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of requests", body = ListResponse<EmergencyRequestOut>),
        (status = 400, description = "Bad status, hospital_id, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read requests (coordinator, honors)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "hospital_id of another hospital (hospital callers)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_requests(
    state: web::Data<AppState>,
    user: Actor,
    query: web::Query<RequestQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let paging = Paging {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = paging.limit()?;
    let after = paging.after()?;
    let hospital = match (user.role, query.hospital_id.map(|h| h.to_string())) {
        (Role::Admin, h) => h,
        (_, Some(h)) => {
            user.require_hospital(&h)?;
            Some(h)
        }
        (_, None) => Some(
            user.hospital_id
                .clone()
                .ok_or_else(|| ApiError::internal("hospital caller without a hospital"))?,
        ),
    };
    let status = query.status.map(RequestStatus::as_str);
    let page = state
        .db(move |conn| {
            Ok(emergency::list_requests(
                conn,
                hospital.as_deref(),
                status,
                after.as_deref(),
                limit,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, EmergencyRequestOut::from)))
}

/// One request.
#[utoipa::path(get, path = "/api/v1/emergency-requests/{id}", tag = "emergency",
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = EmergencyRequestOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_request(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let r = state
        .db(move |conn| request_in_scope(conn, &user, &id))
        .await?;
    Ok(HttpResponse::Ok().json(EmergencyRequestOut::from(r)))
}

/// Cancels an open request (no body needed). Cancelling a cancelled request answers 200
/// unchanged; a fulfilled request cannot be cancelled (409).
#[utoipa::path(post, path = "/api/v1/emergency-requests/{id}/cancel", tag = "emergency",
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled", body = EmergencyRequestOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not cancel requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is fulfilled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_request(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let r = state
        .write_http(move |conn| {
            request_in_scope(conn, &user, &id)?;
            let r = lock_and_read(conn, &id)?;
            match r.status.as_str() {
                CANCELLED => return Ok(r),
                OPEN => {}
                _ => require_open(&r)?,
            }
            emergency::update_request_status(
                conn,
                &id,
                CANCELLED,
                r.units_received,
                Some(hienmau_db::now()),
            )?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "emergency_request_cancelled",
                    serde_json::json!({ "units_received": r.units_received }),
                )
                .request(&id)
                .hospital(Some(r.hospital_id.clone())),
            )?;
            emergency::find_request(conn, &id)?.ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(HttpResponse::Ok().json(EmergencyRequestOut::from(r)))
}

/// `GET …/candidates` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateParams {
    /// How many: default 20, at most 100 (larger values are capped); negative is 400.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
}

/// A reserve donor the hospital may call, with contact details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CandidateOut {
    /// The donor.
    pub donor_id: String,
    /// Full name.
    pub full_name: String,
    /// The donor's group.
    #[schema(example = "O-")]
    pub blood_group: String,
    /// Mobile number.
    pub phone: Option<String>,
    /// Province of residence.
    pub province: Option<String>,
    /// Commune or ward of residence.
    pub commune: Option<String>,
    /// The last recorded donation, else the start of the paper-era last donation day; null
    /// when none is known.
    pub last_donation_at: Option<DateTime<Utc>>,
    /// `identical` (same ABO and RhD; for plasma same ABO) or `compatible`.
    #[serde(rename = "match")]
    #[schema(value_type = String, example = "identical")]
    pub match_: Match,
}

/// The candidates of one call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateList {
    /// Best first: identical before compatible; then same commune, same province, elsewhere;
    /// then never donated, then the longest since the last donation.
    pub items: Vec<CandidateOut>,
}

/// The latest date of birth of someone at least `age` full years old on `today` (see
/// `hienmau_domain::person::age_on`: a 29 February birthday counts on 1 March in common years).
fn latest_birth_for_age(today: NaiveDate, age: i32) -> NaiveDate {
    let year = today.year() - age;
    NaiveDate::from_ymd_opt(year, today.month(), today.day())
        // Today is 29 February and that year is common: born on 28 February, one is `age`
        // today; born on 1 March, not yet.
        .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
        .unwrap_or(NaiveDate::MIN)
}

/// The database query for a request's candidates on `today`.
fn candidate_query(
    r: &EmergencyRequest,
    rules: &hienmau_domain::eligibility::EligibilityRules,
    today: NaiveDate,
    limit: i64,
) -> Result<CandidateQuery, ApiError> {
    let patient =
        BloodGroup::parse(&r.blood_group).map_err(|_| ApiError::internal("stored blood group"))?;
    let component =
        Component::parse(&r.component).map_err(|_| ApiError::internal("stored component"))?;
    let groups = donor_groups_for(patient, component);
    let of = |m: Match| -> Vec<String> {
        groups
            .iter()
            .filter(|(_, gm)| *gm == m)
            .map(|(g, _)| g.as_str().to_owned())
            .collect()
    };
    Ok(CandidateQuery {
        request_id: r.id.clone(),
        identical_groups: of(Match::Identical),
        compatible_groups: of(Match::Compatible),
        today,
        born_after: latest_birth_for_age(today, rules.max_age.saturating_add(1)),
        born_on_or_before: latest_birth_for_age(today, rules.min_age),
        min_weight_female_kg: rules.min_weight_kg(Sex::Female, component),
        min_weight_male_kg: rules.min_weight_kg(Sex::Male, component),
        commune_folded: r.commune_folded.clone(),
        province_folded: r.province_folded.clone(),
        limit,
    })
}

fn candidate_out(
    d: Donor,
    patient: BloodGroup,
    component: Component,
    zone: Zone,
) -> Result<CandidateOut, ApiError> {
    let group = d
        .blood_group
        .as_deref()
        .and_then(|g| BloodGroup::parse(g).ok())
        .ok_or_else(|| ApiError::internal("candidate without a blood group"))?;
    let match_ = hienmau_domain::blood::compatibility(patient, group, component)
        .ok_or_else(|| ApiError::internal("incompatible candidate"))?;
    Ok(CandidateOut {
        donor_id: d.id,
        full_name: d.full_name,
        blood_group: group.as_str().to_owned(),
        phone: d.phone,
        province: d.province,
        commune: d.commune,
        last_donation_at: d
            .last_donation_at
            .map(|t| t.and_utc())
            .or_else(|| d.prior_last_donation_on.map(|day| zone.start_of_day(day))),
        match_,
    })
}

/// Reserve donors to call for an open request, with contact details. Each call is written to
/// the audit log (`contact_disclosed`: who, hospital, request, the donors disclosed) in the
/// same transaction as the read.
#[utoipa::path(get, path = "/api/v1/emergency-requests/{id}/candidates", tag = "emergency",
    params(("id" = Uuid, Path, description = "Request id"), CandidateParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reserve donors compatible with the patient for the component, eligible today, not declined for this request, best first", body = CandidateList),
        (status = 400, description = "Not a UUID, or a bad limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not see candidates (coordinator, honors)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this caller on an expensive route", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No turn at expensive work within the configured wait (Retry-After), or the database is unavailable", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is fulfilled or cancelled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_candidates(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    params: web::Query<CandidateParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = match params.limit {
        None => DEFAULT_CANDIDATES,
        Some(l) if l < 0 => {
            return Err(ApiError::BadRequest(
                "limit must not be negative".to_owned(),
            ))
        }
        Some(l) => l.clamp(1, MAX_CANDIDATES),
    };
    let id = id.into_inner().to_string();
    let st = state.clone();
    let items = state
        .write_http(move |conn| {
            let r = request_in_scope(conn, &user, &id)?;
            require_open(&r)?;
            let today = st.zone.today();
            let q = candidate_query(&r, &st.settings.eligibility, today, limit)?;
            let rows = candidates::find(conn, &q)?;
            let patient = BloodGroup::parse(&r.blood_group)
                .map_err(|_| ApiError::internal("stored blood group"))?;
            let component = Component::parse(&r.component)
                .map_err(|_| ApiError::internal("stored component"))?;
            let items = rows
                .into_iter()
                .map(|d| candidate_out(d, patient, component, st.zone))
                .collect::<Result<Vec<_>, _>>()?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "contact_disclosed",
                    serde_json::json!({
                        "fields": ["full_name", "phone", "province", "commune"],
                        "count": items.len(),
                        "limit": limit,
                    }),
                )
                .request(&r.id)
                .hospital(Some(r.hospital_id.clone()))
                .donors(items.iter().map(|c| c.donor_id.clone()).collect()),
            )?;
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CandidateList { items }))
}

/// A donor's answer to a call-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResponse {
    /// The donor called.
    pub donor_id: Uuid,
    /// `accepted`, `declined` or `no_answer` (another value is 400).
    pub response: ResponseKind,
}

/// A recorded answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseOut {
    /// Id.
    pub id: String,
    /// The request.
    pub request_id: String,
    /// The donor.
    pub donor_id: String,
    /// `accepted`, `declined` or `no_answer`.
    pub response: String,
    /// Who recorded it (user or API key id).
    pub recorded_by: String,
    /// When.
    pub recorded_at: DateTime<Utc>,
}

impl From<DonorResponse> for ResponseOut {
    fn from(r: DonorResponse) -> Self {
        Self {
            id: r.id,
            request_id: r.request_id,
            donor_id: r.donor_id,
            response: r.response,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at.and_utc(),
        }
    }
}

/// Records a donor's answer to a call-up for an open request. A `declined` donor is never
/// offered again for this request. Several answers per donor may be recorded (each call is
/// kept with its time and author).
#[utoipa::path(post, path = "/api/v1/emergency-requests/{id}/responses", tag = "emergency",
    request_body = NewResponse,
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = ResponseOut),
        (status = 400, description = "Unreadable body, unknown response", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not record answers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is fulfilled or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such donor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_response(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<NewResponse>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let body = body.into_inner();
    let row = state
        .write_http(move |conn| {
            request_in_scope(conn, &user, &id)?;
            let r = lock_and_read(conn, &id)?;
            require_open(&r)?;
            let donor_id = body.donor_id.to_string();
            if donors::find(conn, &donor_id)?.is_none() {
                return Err(ApiError::field("donor_id", "no such donor"));
            }
            let row = DonorResponse {
                id: hienmau_db::new_id(),
                request_id: r.id.clone(),
                donor_id,
                response: body.response.as_str().to_owned(),
                recorded_by: user.principal_id().to_owned(),
                recorded_at: hienmau_db::now(),
            };
            emergency::insert_response(conn, &row)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(ResponseOut::from(row)))
}

/// The answers recorded for a request, oldest first (donor ids only, no contact details).
#[utoipa::path(get, path = "/api/v1/emergency-requests/{id}/responses", tag = "emergency",
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every answer (one page; `next_cursor` is null)", body = ListResponse<ResponseOut>),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read answers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_responses(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let rows = state
        .db(move |conn| {
            request_in_scope(conn, &user, &id)?;
            Ok(emergency::list_responses(conn, &id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items: rows.into_iter().map(ResponseOut::from).collect(),
        next_cursor: None,
    }))
}

/// Records a donation (or a deferral) for an open request: the same body, eligibility checks
/// and `Idempotency-Key` rules as an event donation (see `POST /events/{id}/donations`). A
/// collected unit raises `units_received` by one (a deferral does not); the request becomes
/// `fulfilled` when `units_received` reaches `units_needed`. A repeated `Idempotency-Key`
/// answers the first response again, also after the request was fulfilled.
#[utoipa::path(post, path = "/api/v1/emergency-requests/{id}/donations", tag = "emergency",
    request_body = DonationBody,
    params(
        ("id" = Uuid, Path, description = "Request id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$", description = "1–255 visible ASCII characters; makes retries safe"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded, with `emergency_request_id` (or the first response again, for a repeated Idempotency-Key)", body = DonationOut),
        (status = 400, description = "Unreadable body, unknown component or outcome, bad Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not record emergency donations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is fulfilled or cancelled, or unit_code already recorded", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`invalid_request`: unknown donor, donated_at in the future, deferral without reason or end), `donor_not_eligible` (with `reason` and `next_eligible_on`), or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_donation(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency::key_from(req.headers())?;
    let value = body.into_inner();
    let request_id = id.into_inner().to_string();
    let hash = key.map(|k| {
        let scope = format!("POST /emergency-requests/{request_id}/donations");
        let h = idempotency::request_hash(&scope, &value);
        (k, h)
    });
    let parsed: DonationBody = serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("unreadable JSON: {e}")))?;
    let st = state.clone();
    let (response, replayed) = state
        .write_http(move |conn| {
            request_in_scope(conn, &user, &request_id)?;
            let r = lock_and_read(conn, &request_id)?;
            idempotency::once(conn, user.principal_id(), hash.as_ref(), |conn| {
                // After the claim: a replay answers even once the request is fulfilled.
                require_open(&r)?;
                let target = Target::emergency(&r.id);
                let donation = service::log_one(conn, &st, user.principal_id(), &target, parsed)?;
                if donation.outcome == COLLECTED {
                    recount(conn, &r.id)?;
                }
                service::created(&donation)
            })
        })
        .await?;
    Ok(response.into_response(replayed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hienmau_domain::person::age_on;

    #[test]
    fn birth_bounds_agree_with_age_on() {
        let days = [
            "2024-02-29",
            "2024-02-28",
            "2024-03-01",
            "2023-02-28",
            "2023-03-01",
            "2025-01-01",
            "2025-12-31",
        ];
        for today in days {
            let today: NaiveDate = today.parse().unwrap();
            for age in [18, 60, 61] {
                let latest = latest_birth_for_age(today, age);
                assert!(age_on(latest, today) >= age, "{today} {age} {latest}");
                let next = latest.succ_opt().unwrap();
                assert!(age_on(next, today) < age, "{today} {age} {next}");
            }
        }
    }
}
