//! Donors: create, read, partial update, list and search (the rules are `app::donors`').
//!
//! **Errors.** A body that is not JSON, has a wrong type, an unknown field, a `sex` other than
//! `male`/`female` (an unknown enum value) or a date that is not `YYYY-MM-DD` is 400. A
//! well-formed body that breaks a rule is 422 with one `errors` entry per field at fault
//! (blood group is free text, so an unknown group is 422, not 400). A national id registered
//! to another donor is 409 with `existing_id`. Hospital callers get 403 on every donor
//! endpoint. In the list, an unknown `blood_group` or `view` is 400 and a bad `q` is 422.
//!
//! **Reads that show a CCCD or a phone** (`GET /donors/{id}`, `GET /donors` in the full view)
//! are audited and counted against the caller's hourly budget, so they run in a write
//! transaction; past the budget they answer 429 `rate_limited` with `Retry-After`. The brief
//! view reads only, and so do a donor's eligibility and donations (no CCCD, no phone:
//! `app::screening`).
//!
//! **`Idempotency-Key` on `POST /donors`**, as for donations: the same key from the same caller
//! with the same JSON body answers the first response again and registers no one new (a donor
//! registered offline and re-sent after a lost answer is created once); another body is 422
//! `idempotency_key_reused`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use uuid::Uuid;

use crate::app::donors::{self, PageRequest};
use crate::app::screening;
use crate::http::auth::Actor;
use crate::http::dto::donations::DonationOut;
use crate::http::dto::donors::{created, created_location, DonorBrief, DonorListView, DonorPage};
use crate::http::dto::donors::{DonorOut, DonorPatch, DonorQuery, NewDonor};
use crate::http::dto::donors::{EligibilityOut, EligibilityParams};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::{Json, ListResponse, Paging};
use crate::http::idempotency;
use crate::http::state::AppState;

/// Registers a donor (admin, coordinator). With `Idempotency-Key`, a repeat with the same body
/// answers the first response again (header `Idempotency-Key: replayed`) and registers no one.
#[utoipa::path(post, path = "/api/v1/donors", tag = "donors", request_body = NewDonor,
    params(
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$", description = "1–255 visible ASCII characters; makes retries safe"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (or the first response again, for a repeated Idempotency-Key)", body = DonorOut),
        (status = 400, description = "Unreadable body: not JSON, wrong type, unknown field, bad sex or date; bad Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`chapter_id` names a chapter outside the coordinator's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "National id already registered; `existing_id` names the donor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule; `errors` names each (an admin without `chapter_id`, an unknown chapter, `prior_last_donation_on` with `prior_donations` 0, …); or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_donor(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    body: Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let value = body.into_inner();
    let key = idempotency::keyed(req.headers(), "POST /donors", &value)?;
    let cmd = serde_json::from_value::<NewDonor>(value)
        .map_err(|e| ApiError::BadRequest(format!("unreadable JSON: {e}")))?
        .into();
    let ctx = state.ctx();
    let (stored, replayed) = state
        .write(move |tx| donors::register_once(tx, &ctx, &actor, key.as_ref(), cmd, created))
        .await?;
    let location = created_location(&stored);
    let mut res = idempotency::respond(stored, replayed);
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// One donor (admin, coordinator, honors); audited and counted against the caller's budget.
#[utoipa::path(get, path = "/api/v1/donors/{id}", tag = "donors",
    params(("id" = Uuid, Path, description = "Donor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The donor (audited; counts against the caller's budget of donors shown per hour)", body = DonorOut),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The caller's budget of donors shown per hour is spent (`rate_limited`, Retry-After: the rest of the hour)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_donor(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let ctx = state.ctx();
    let view = state
        .write(move |tx| donors::get(tx, &ctx, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(DonorOut::from(view)))
}

/// Updates a donor partially (admin, coordinator); the merged record must pass the rules of a
/// new one.
#[utoipa::path(patch, path = "/api/v1/donors/{id}", tag = "donors", request_body = DonorPatch,
    params(("id" = Uuid, Path, description = "Donor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = DonorOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "National id registered to another donor; `existing_id` names it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule; `errors` names each", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_donor(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<DonorPatch>,
) -> Result<HttpResponse, ApiError> {
    let edit = body.into_inner().into();
    let id = id.into_inner().to_string();
    let ctx = state.ctx();
    let view = state
        .write(move |tx| donors::update(tx, &ctx, &actor, &id, edit))
        .await?;
    Ok(HttpResponse::Ok().json(DonorOut::from(view)))
}

/// Lists and searches donors (admin, coordinator, honors), ordered by name (folded) then id:
/// the full view is audited and counted against the caller's budget; `view=brief` is neither.
///
/// With `q`, the exact CCCD or phone matches and the names that hold its words whole and in
/// the typed order (the last as a prefix) come first, then the other names that contain every
/// word; each group in name order.
#[utoipa::path(get, path = "/api/v1/donors", tag = "donors", params(DonorQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of donors: `DonorOut` items (full view: audited, counted against the caller's budget of donors shown per hour) or `DonorBrief` items (`view=brief`)", body = DonorPage),
        (status = 400, description = "Bad limit, cursor, blood group, reserve or view", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`q` too long or with control characters", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Full view: the caller's budget of donors shown per hour would be passed by this page (`rate_limited`, Retry-After: the rest of the hour)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_donors(
    state: web::Data<AppState>,
    actor: Actor,
    query: web::Query<DonorQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let view = query.view();
    let (search, paging) = query.split();
    // The search is checked before the page parameters, so a bad one answers first.
    let filter = donors::search_filter(&search)?;
    let page = PageRequest {
        limit: paging.limit()?,
        after: paging.after()?,
    };
    if view == DonorListView::Brief {
        let rows = state
            .read(move |conn| donors::list_brief(conn, &actor, &filter, page))
            .await?;
        return Ok(HttpResponse::Ok().json(ListResponse::from_page(rows, DonorBrief::from)));
    }
    let ctx = state.ctx();
    let rows = state
        .write(move |tx| donors::list(tx, &ctx, &actor, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(rows, DonorOut::from)))
}

/// May the donor give this component on this day (admin, coordinator, honors)? The same rules
/// as recording a donation (`app::screening`); not audited (no CCCD, no phone). `reason` is
/// one of `permanently_deferred`, `too_young`, `too_old`, `deferred`, `interval`,
/// `underweight`, `weight_required`.
#[utoipa::path(get, path = "/api/v1/donors/{id}/eligibility", tag = "donors",
    params(("id" = Uuid, Path, description = "Donor id"), EligibilityParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The verdict", body = EligibilityOut),
        (status = 400, description = "The id is not a UUID; an unknown component, a date that is not YYYY-MM-DD, a weight that is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `component` (code `required`), a weight out of range, a day outside the years kept", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn donor_eligibility(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    params: web::Query<EligibilityParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let query = params.into_inner().into();
    let ctx = state.ctx();
    let verdict = state
        .read(move |conn| screening::eligibility(conn, &ctx, &actor, &id, &query))
        .await?;
    Ok(HttpResponse::Ok().json(EligibilityOut::from(verdict)))
}

/// The donor's donations that count (voided ones left out), collections and deferrals, newest
/// first (admin, coordinator, honors); not audited.
#[utoipa::path(get, path = "/api/v1/donors/{id}/donations", tag = "donors",
    params(("id" = Uuid, Path, description = "Donor id"), Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of donations, newest first", body = ListResponse<DonationOut>),
        (status = 400, description = "The id is not a UUID; bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn donor_donations(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let page = PageRequest {
        limit: paging.limit()?,
        after: paging.after()?,
    };
    let rows = state
        .read(move |conn| screening::donations_of(conn, &actor, &id, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(rows, DonationOut::from)))
}
