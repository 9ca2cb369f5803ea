//! Donations at events: one at a time (with `Idempotency-Key`), the offline batch, reading
//! one, and voiding a mistaken record. The rules live in [`crate::app::donations`].

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use uuid::Uuid;

use crate::app::donations;
use crate::http::auth::Actor;
use crate::http::dto::donations::{
    created, BatchBody, BatchOut, BatchResult, DonationBody, DonationOut, VoidBody,
};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::idempotency;
use crate::http::state::AppState;

/// Records a donation (or a deferral) at an event.
///
/// With `Idempotency-Key`, the same key from the same caller with the same JSON body answers
/// the first response again (status and body, with the header `Idempotency-Key: replayed`)
/// and records nothing new, also when retries race; the same key with another body or
/// another event is 422 `idempotency_key_reused`. A request that fails records nothing, so
/// its retry is judged afresh. Keys are kept at least 24 hours.
#[utoipa::path(post, path = "/api/v1/events/{id}/donations", tag = "donations",
    request_body = DonationBody,
    params(
        ("id" = Uuid, Path, description = "Event id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$", description = "1–255 visible ASCII characters; makes retries safe"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded (or the first response again, for a repeated Idempotency-Key)", body = DonationOut),
        (status = 400, description = "Unreadable body, unknown component or outcome, bad Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "unit_code already recorded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`invalid_request`: unknown donor, donated_at outside the drive's dates or in the future, deferral without reason or end, a collection without `weight_kg` for a donor with no weight on record), `donor_not_eligible` (with `reason` and `next_eligible_on`), or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_donation(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let value = body.into_inner();
    let event_id = id.into_inner().to_string();
    let scope = format!("POST /events/{event_id}/donations");
    let key = idempotency::keyed(req.headers(), &scope, &value)?;
    let cmd = donations::parse(value)?;
    let ctx = state.ctx();
    let (stored, replayed) = state
        .write(move |tx| {
            donations::record_at_event(tx, &ctx, &user, &event_id, key.as_ref(), cmd, created)
        })
        .await?;
    Ok(idempotency::respond(stored, replayed))
}

/// Records donations collected offline at an event.
///
/// One transaction, a savepoint per item: a failed item loses only itself. Each `client_ref`
/// is recorded at most once per event: an item re-sent with the same body answers 200 with
/// the donation first recorded, the same `client_ref` with another body 422
/// `idempotency_key_reused`; a failed item re-sent is judged afresh. Items see the earlier
/// items of the same batch (intervals). An item that is not an object or cannot be read is
/// 400; a missing or empty `client_ref` is 422.
#[utoipa::path(post, path = "/api/v1/events/{id}/donations/batch", tag = "donations",
    request_body = BatchBody,
    params(("id" = Uuid, Path, description = "Event id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per item, in order", body = BatchOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than 1,000 items, or a body over the size limit", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_batch(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<BatchBody>,
) -> Result<HttpResponse, ApiError> {
    let items = body.into_inner().items;
    let max = state.settings.limits.batch_items;
    if items.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "a batch holds at most {max} items; this one has {}",
            items.len()
        )));
    }
    let event_id = id.into_inner().to_string();
    let ctx = state.ctx();
    let results = state
        .write(move |tx| donations::record_batch(tx, &ctx, &user, &event_id, items))
        .await?;
    let results = results.into_iter().map(BatchResult::from).collect();
    Ok(HttpResponse::Ok().json(BatchOut { results }))
}

/// One donation record (voided ones too).
#[utoipa::path(get, path = "/api/v1/donations/{id}", tag = "donations",
    params(("id" = Uuid, Path, description = "Donation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The donation", body = DonationOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donation in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_donation(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let d = state
        .read(move |conn| donations::get(conn, &user, &id))
        .await?;
    Ok(HttpResponse::Ok().json(DonationOut::from(d)))
}

/// Voids a mistaken record: it stops counting everywhere (tallies, intervals, honors,
/// reports) and is kept for the audit. Voiding a voided record answers 200 with the record
/// unchanged (the first reason stays). A permanent deferral (for example a positive hepatitis
/// B screen) may be voided by an admin only: a coordinator gets 403 and nothing changes. The
/// audit entry (`donation_voided`) holds the reason, the outcome and `permanent`.
///
/// Emergency records (`emergency_request_id` set): an admin voids any; a coordinator those of
/// donors registered by a chapter in its scope; a hospital (user or API key) those its own
/// callers recorded for its requests, within 24 hours of recording them (later: 409; a record
/// an admin made: 403; another hospital's: 404).
#[utoipa::path(post, path = "/api/v1/donations/{id}/void", tag = "donations",
    request_body = VoidBody,
    params(("id" = Uuid, Path, description = "Donation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Voided", body = DonationOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A permanent deferral (admins only), or a hospital voiding an emergency record it did not make", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donation in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A hospital voiding its emergency record more than 24 hours after recording it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty reason", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn void_donation(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<VoidBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let cmd = body.into_inner().into();
    let ctx = state.ctx();
    let d = state
        .write(move |tx| donations::void(tx, &ctx, &user, &id, cmd))
        .await?;
    Ok(HttpResponse::Ok().json(DonationOut::from(d)))
}
