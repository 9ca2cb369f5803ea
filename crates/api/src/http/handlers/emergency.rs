//! Emergency requests: a hospital asks for reserve donors of a patient's group; the system
//! offers candidates, records the donors' answers to the call-up and the units they gave. The
//! rules (who, the status machine, candidates, the lock order) are in
//! [`crate::app::emergency`].

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use uuid::Uuid;

use crate::app::donations::{self as donation};
use crate::app::emergency::{self, RequestFilter};
use crate::http::auth::Actor;
use crate::http::dto::donations::{created, DonationBody, DonationOut};
use crate::http::dto::emergency::{
    CandidateList, CandidateOut, CandidateParams, EmergencyRequestOut, NewEmergencyRequest,
    NewResponse, RequestQuery, ResponseOut, UpdateEmergencyRequest,
};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::{ListResponse, Paging};
use crate::http::idempotency;
use crate::http::state::AppState;

/// Opens an emergency request (hospital for itself; admin for the hospital it names).
#[utoipa::path(post, path = "/api/v1/emergency-requests", tag = "emergency",
    request_body = NewEmergencyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Opened", body = EmergencyRequestOut),
        (status = 400, description = "Unreadable body: not JSON, wrong type, unknown field, unknown component or urgency, bad instant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: unknown blood group, units_needed outside 1–1000, opened_at in the future (or, from a hospital, more than 7 days ago), text too long, hospital_id missing (admin), unknown or another hospital's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_request(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewEmergencyRequest>,
) -> Result<HttpResponse, ApiError> {
    let cmd = body.into_inner().into();
    let ctx = state.ctx();
    let row = state
        .write(move |tx| emergency::open(tx, &ctx, &user, cmd))
        .await?;
    let out = EmergencyRequestOut::from(row);
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, out.location()))
        .json(out))
}

/// Lists requests, newest first (by `opened_at`): a hospital caller's own; an admin's all.
#[utoipa::path(get, path = "/api/v1/emergency-requests", tag = "emergency", params(RequestQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of requests", body = ListResponse<EmergencyRequestOut>),
        (status = 400, description = "Bad status, hospital_id, limit or cursor", body = Problem, content_type = "application/problem+json"),
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
    let filter = RequestFilter {
        limit: paging.limit()?,
        after: paging.after()?,
        status: query.status,
        hospital_id: query.hospital_id,
    };
    let page = state
        .read(move |conn| emergency::list(conn, &user, filter))
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
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_request(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let r = state
        .read(move |conn| emergency::get(conn, &user, &id))
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
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is fulfilled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_request(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let ctx = state.ctx();
    let r = state
        .write(move |tx| emergency::cancel(tx, &ctx, &user, &id))
        .await?;
    Ok(HttpResponse::Ok().json(EmergencyRequestOut::from(r)))
}

/// Reserve donors to call for an open request, with contact details. Each call is written to
/// the audit log (`contact_disclosed`: who, hospital, request, the donors disclosed) in the
/// same transaction as the read.
///
/// A donor shown to a hospital caller is disclosed for the request to the whole hospital, for
/// good. At most 10 × `units_needed` distinct donors (or the admin's `disclosure_cap`) are
/// disclosed: below it, donors already disclosed plus new ones up to it; at it, a page with a
/// new donor is 429 `disclosure_limit`, one of disclosed donors answers. Admins are not capped.
#[utoipa::path(get, path = "/api/v1/emergency-requests/{id}/candidates", tag = "emergency",
    params(("id" = Uuid, Path, description = "Request id"), CandidateParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reserve donors compatible with the patient for the component, eligible today, not declined for this request, best first", body = CandidateList),
        (status = 400, description = "Not a UUID, or a bad limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is fulfilled or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`disclosure_limit`: the request has disclosed as many donors as it may and this page would show a new one; or `rate_limited`: too many requests from this caller (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_candidates(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    params: web::Query<CandidateParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let limit = params.limit;
    let ctx = state.ctx();
    let found = state
        .write(move |tx| emergency::candidates(tx, &ctx, &user, &id, limit))
        .await?;
    let items = found.into_iter().map(CandidateOut::from).collect();
    Ok(HttpResponse::Ok().json(CandidateList { items }))
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
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is fulfilled or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such donor (for a hospital: a donor not disclosed for this request is answered the same)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_response(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<NewResponse>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let cmd = body.into_inner().into();
    let ctx = state.ctx();
    let row = state
        .write(move |tx| emergency::respond(tx, &ctx, &user, &id, cmd))
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
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_responses(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let rows = state
        .read(move |conn| emergency::responses(conn, &user, &id))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items: rows.into_iter().map(ResponseOut::from).collect(),
        next_cursor: None,
    }))
}

/// Records a donation (or a deferral) for an open request: the same body, eligibility checks
/// and `Idempotency-Key` rules as an event donation (see `POST /events/{id}/donations`). A
/// collection must be of the request's component from a donor whose blood group is known and
/// compatible with the patient's for that component (the candidates' tables), else 422
/// `incompatible_donor` and nothing is recorded; a deferral is not matched to the patient (it
/// takes no blood). A collected unit raises `units_received` by one (a deferral does not);
/// the request becomes `fulfilled` when `units_received` reaches `units_needed`, and a
/// fulfilled or cancelled request takes no more donations (409). A repeated
/// `Idempotency-Key` answers the first response again, also after the request was fulfilled.
/// A hospital records only donors disclosed for the request, dated from its `opened_at`, and
/// no permanent deferral; an admin records any donor.
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
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is fulfilled or cancelled, or unit_code already recorded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`invalid_request`: unknown donor — for a hospital, any donor not disclosed for this request, judged first and answered the same —, donated_at in the future or before the request's opened_at, a permanent deferral from a hospital, deferral without reason or end, a collection without `weight_kg` for a donor with no weight on record), `incompatible_donor` (a collection of another component than the request's, or from a donor whose blood group is unknown or incompatible with the patient's), `donor_not_eligible` (with `reason` and `next_eligible_on`), or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_donation(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let value = body.into_inner();
    let request_id = id.into_inner().to_string();
    let scope = format!("POST /emergency-requests/{request_id}/donations");
    let key = idempotency::keyed(req.headers(), &scope, &value)?;
    let cmd = donation::parse(value)?;
    let ctx = state.ctx();
    let (stored, replayed) = state
        .write(move |tx| {
            emergency::donate(tx, &ctx, &user, &request_id, key.as_ref(), cmd, created)
        })
        .await?;
    Ok(idempotency::respond(stored, replayed))
}

/// Changes a request that is not cancelled (409 otherwise): a hospital may raise
/// `units_needed` (the default disclosure cap rises with it; a fulfilled request it now
/// exceeds reopens) and change the note; an admin also sets `disclosure_cap`.
#[utoipa::path(patch, path = "/api/v1/emergency-requests/{id}", tag = "emergency",
    request_body = UpdateEmergencyRequest,
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request as changed", body = EmergencyRequestOut),
        (status = 400, description = "Unreadable body or id, unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request, or another hospital's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "units_needed lowered or outside 1–1000, note too long, disclosure_cap from a non-admin or outside 0–100000", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_request(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<UpdateEmergencyRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let cmd = body.into_inner().into();
    let ctx = state.ctx();
    let r = state
        .write(move |tx| emergency::update(tx, &ctx, &user, &id, cmd))
        .await?;
    Ok(HttpResponse::Ok().json(EmergencyRequestOut::from(r)))
}
