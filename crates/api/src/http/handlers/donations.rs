//! Donations at events: one at a time (with `Idempotency-Key`), the offline batch, reading
//! one, and voiding a mistaken record. The rules live in [`crate::app::donations`].

use actix_web::{web, HttpRequest, HttpResponse};
use hienmau_db::models::Donation;
use hienmau_db::repo::{chapters, donations};
use hienmau_db::DbConn;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::audit::{self, AuditRecord};
use crate::app::donations::{
    self as service, ClientRef, Ctx, DonationBody, DonationOut, Recorded, Target,
};
use crate::app::idempotency;
use crate::app::savepoint;
use crate::app::scope::event_in_scope;
use crate::app::validate::required_text;
use crate::http::auth::Actor;
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::state::AppState;

/// Reads a donation body from JSON already parsed: a shape or type error is 400.
fn parse_body(value: Value) -> Result<DonationBody, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(format!("unreadable JSON: {e}")))
}

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
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not record donations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "unit_code already recorded", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`invalid_request`: unknown donor, donated_at outside the drive's dates or in the future, deferral without reason or end), `donor_not_eligible` (with `reason` and `next_eligible_on`), or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
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
    let event_id = id.into_inner().to_string();
    let hash = key.map(|k| {
        let scope = format!("POST /events/{event_id}/donations");
        let h = idempotency::request_hash(&scope, &value);
        (k, h)
    });
    let parsed = parse_body(value)?;
    let st = state.clone();
    let (response, replayed) = state
        .write_http(move |conn| {
            let (event, drive) = event_in_scope(conn, &user, &event_id)?;
            idempotency::once(conn, user.principal_id(), hash.as_ref(), |conn| {
                let target = Target::event(&event, &drive);
                let donation = service::log_one(conn, &st, user.principal_id(), &target, parsed)?;
                service::created(&donation)
            })
        })
        .await?;
    Ok(response.into_response(replayed))
}

/// An offline batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// At most 1,000 items (configurable; more is 413). Each item is a `BatchItem`, judged on
    /// its own: an item that is not one (wrong type, unknown field, …) gets its own 400 in
    /// the results and loses no other item, so the body schema does not constrain items.
    #[schema(value_type = Vec<serde_json::Value>)]
    pub items: Vec<Value>,
}

/// One item of a batch: the fields of a donation body plus the client's reference.
/// (Documentation only: items are read one by one, so that one unreadable item loses no
/// other; an unknown field makes that item 400.)
#[derive(Debug, ToSchema)]
pub struct BatchItem {
    /// The client's reference (1–64 characters), recorded at most once per event.
    pub client_ref: String,
    /// The donor.
    pub donor_id: Uuid,
    /// `whole_blood`, `red_cells`, `platelets` or `plasma`.
    #[schema(value_type = crate::http::handlers::emergency::ComponentName, example = "whole_blood")]
    pub component: String,
    /// Millilitres; required for a collection.
    pub volume_ml: Option<i32>,
    /// `collected` or `deferred`.
    pub outcome: service::Outcome,
    /// When (RFC 3339); defaults to now.
    pub donated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A pre-labelled bag's code; generated when omitted.
    pub unit_code: Option<String>,
    /// Deferral only, required.
    pub deferral_reason: Option<String>,
    /// Deferral only: the first day the donor may give again.
    pub deferred_until: Option<chrono::NaiveDate>,
    /// Deferral only: a permanent deferral.
    pub permanent: Option<bool>,
}

/// The answer to a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// One result per item, in order.
    pub results: Vec<BatchResult>,
}

/// The result of one item.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    /// The item's `client_ref`, as sent (null when it had none).
    #[schema(value_type = Option<String>)]
    pub client_ref: Value,
    /// The status the item would have had on its own: 201 recorded, 200 already recorded
    /// under this `client_ref` with the same body, else the error's status.
    pub status: u16,
    /// The donation recorded (201) or first recorded (200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub donation: Option<DonationOut>,
    /// The item's problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

impl BatchResult {
    fn ok(client_ref: Value, status: u16, d: Donation) -> Self {
        Self {
            client_ref,
            status,
            donation: Some(d.into()),
            error: None,
        }
    }

    fn err(client_ref: Value, e: &ApiError) -> Self {
        let problem = e.problem();
        Self {
            client_ref,
            status: problem.status,
            donation: None,
            error: Some(problem),
        }
    }
}

/// The longest `client_ref`.
const MAX_CLIENT_REF_CHARS: usize = 64;

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
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not record donations", body = Problem, content_type = "application/problem+json"),
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
    let st = state.clone();
    let results = state
        .write_http(move |conn| {
            let (event, drive) = event_in_scope(conn, &user, &event_id)?;
            let target = Target::event(&event, &drive);
            let ctx = Ctx {
                rules: &st.settings.eligibility,
                zone: st.zone,
                now: hienmau_db::now(),
                recorded_by: user.principal_id(),
            };
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                results.push(batch_item(conn, &ctx, &target, &event.id, item)?);
            }
            Ok(results)
        })
        .await?;
    Ok(HttpResponse::Ok().json(BatchOut { results }))
}

/// Judges one item. `Err` only for what breaks the whole transaction (the database is gone,
/// a bug): then the batch answers that error and records nothing.
fn batch_item(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    target: &Target,
    event_id: &str,
    item: Value,
) -> Result<BatchResult, ApiError> {
    let client_ref_v = item.get("client_ref").cloned().unwrap_or(Value::Null);
    let result = judge_item(conn, ctx, target, event_id, item);
    match result {
        Ok(r) => Ok(r),
        Err(e @ (ApiError::Unavailable | ApiError::Internal(_))) => Err(e),
        Err(e) => Ok(BatchResult::err(client_ref_v, &e)),
    }
}

fn judge_item(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    target: &Target,
    event_id: &str,
    item: Value,
) -> Result<BatchResult, ApiError> {
    let Value::Object(mut fields) = item else {
        return Err(ApiError::BadRequest(
            "an item must be a JSON object".to_owned(),
        ));
    };
    let client_ref_v = fields.get("client_ref").cloned().unwrap_or(Value::Null);
    let client_ref = match client_ref_v.as_str() {
        Some(s)
            if !s.trim().is_empty()
                && s.chars().count() <= MAX_CLIENT_REF_CHARS
                && !s.chars().any(crate::app::validate::forbidden_in_text) =>
        {
            s.to_owned()
        }
        _ => {
            return Err(ApiError::field(
                "client_ref",
                format!("must be a non-empty string of at most {MAX_CLIENT_REF_CHARS} characters, without control characters"),
            ))
        }
    };
    let hash = idempotency::request_hash("batch item", &Value::Object(fields.clone()));
    let settle = |d: Donation| -> Result<BatchResult, ApiError> {
        if d.client_ref_hash.as_deref() == Some(hash.as_str()) {
            Ok(BatchResult::ok(client_ref_v.clone(), 200, d))
        } else {
            Err(ApiError::IdempotencyKeyReused)
        }
    };
    if let Some(existing) = donations::find_by_client_ref(conn, event_id, &client_ref)? {
        return settle(existing);
    }
    fields.remove("client_ref");
    let body = parse_body(Value::Object(fields))?;
    let client = ClientRef {
        client_ref: &client_ref,
        hash: &hash,
    };
    let recorded = savepoint(conn, |c| {
        let valid = service::validate(body, target, ctx)?;
        service::record(c, ctx, target, valid, Some(client))
    })?;
    match recorded {
        Recorded::New(d) => Ok(BatchResult::ok(client_ref_v.clone(), 201, d)),
        Recorded::ClientRefTaken(d) => settle(d),
    }
}

/// A donation the caller may reach: a drive donation through its chapter; an emergency
/// donation (no chapter) is the admin's only here. 404 otherwise.
fn donation_in_scope(conn: &mut DbConn, user: &Actor, id: &str) -> Result<Donation, ApiError> {
    let d = donations::find(conn, id)?.ok_or(ApiError::NotFound)?;
    match &d.chapter_id {
        Some(chapter_id) => {
            let chapter = chapters::find(conn, chapter_id)?
                .ok_or_else(|| ApiError::internal("donation without its chapter"))?;
            user.require_chapter(&chapter)?;
        }
        None if user.is_admin() => {}
        None => return Err(ApiError::NotFound),
    }
    Ok(d)
}

/// One donation record (voided ones too).
#[utoipa::path(get, path = "/api/v1/donations/{id}", tag = "donations",
    params(("id" = Uuid, Path, description = "Donation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The donation", body = DonationOut),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read donations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donation in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_donation(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let d = state
        .db(move |conn| donation_in_scope(conn, &user, &id))
        .await?;
    Ok(HttpResponse::Ok().json(DonationOut::from(d)))
}

/// Why a record is voided.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    /// Why (1–500 characters), kept for the audit.
    pub reason: String,
}

/// Voids a mistaken record: it stops counting everywhere (tallies, intervals, honors,
/// reports) and is kept for the audit. Voiding a voided record answers 200 with the record
/// unchanged (the first reason stays).
#[utoipa::path(post, path = "/api/v1/donations/{id}/void", tag = "donations",
    request_body = VoidBody,
    params(("id" = Uuid, Path, description = "Donation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Voided", body = DonationOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not void donations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donation in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty reason", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn void_donation(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<VoidBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let reason = required_text("reason", &body.reason, 500, &mut errors);
    ApiError::check(errors)?;
    let id = id.into_inner().to_string();
    let st = state.clone();
    let d = state
        .write_http(move |conn| {
            let d = donation_in_scope(conn, &user, &id)?;
            // An emergency unit: lock its request first (the order emergency donations take:
            // request, then donor), and recount its units once voided.
            if let Some(request_id) = &d.emergency_request_id {
                hienmau_db::repo::emergency::lock_request(conn, request_id)?;
            }
            let (voided, changed) = service::void(
                conn,
                &st.settings.eligibility,
                &d,
                &reason,
                user.principal_id(),
                hienmau_db::now(),
            )?;
            if let (true, Some(request_id)) = (changed, &voided.emergency_request_id) {
                crate::http::handlers::emergency::recount(conn, request_id)?;
            }
            if changed {
                audit::append(
                    conn,
                    AuditRecord::by(
                        &user,
                        "donation_voided",
                        serde_json::json!({
                            "donation_id": voided.id,
                            "event_id": voided.event_id,
                            "emergency_request_id": voided.emergency_request_id,
                            "reason": reason,
                        }),
                    )
                    .donors(vec![voided.donor_id.clone()]),
                )?;
            }
            Ok(voided)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DonationOut::from(d)))
}
