//! Deferrals: the reason catalogue and deferrals noted outside any event. The rules live in
//! [`crate::app::deferrals`].

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::app::deferrals;
use crate::http::auth::Actor;
use crate::http::dto::deferrals::{DeferralReasonOut, NewDeferral};
use crate::http::dto::donations::DonationOut;
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::state::AppState;

/// The deferral-reason catalogue from configuration, in its order (any signed-in role,
/// hospital API keys included).
///
/// A `deferral_reason` that is exactly one of these codes (after trimming) must respect its
/// minimum: `deferred_until` no earlier than the donation's day plus `min_days`, or
/// `permanent: true` for a reason whose `min_days` is null. Any other text is a free-text
/// reason (an until-date after the day, or permanent).
#[utoipa::path(get, path = "/api/v1/deferral-reasons", tag = "donations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The catalogue (Circular 26/2013/TT-BYT, Art. 5, unless configured otherwise)", body = Vec<DeferralReasonOut>),
    ))]
pub async fn list_deferral_reasons(
    state: web::Data<AppState>,
    _actor: Actor,
) -> Result<HttpResponse, ApiError> {
    let ctx = state.ctx();
    let reasons: Vec<DeferralReasonOut> = deferrals::catalogue(&ctx)
        .iter()
        .map(DeferralReasonOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(reasons))
}

/// Records a deferral noted outside any event (admin; coordinator whose scope holds the
/// donor's registering chapter): a screening result that arrives after the drive.
///
/// Stored as a donation with outcome `deferred` and no event, drive or emergency request, dated
/// `noted_on`, under the rules of a deferral at an event (catalogue minimums included); the
/// donor's `next_eligible_on` is refreshed at once. Audited (`deferral_recorded`). It is not
/// counted as a deferral at a drive (tallies) nor in the annual report's `deferrals`.
#[utoipa::path(post, path = "/api/v1/donors/{id}/deferrals", tag = "donors",
    request_body = NewDeferral,
    params(("id" = Uuid, Path, description = "Donor id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = DonationOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor, or (coordinator) the donor's registering chapter is outside the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_request`: empty or over-long reason, `noted_on` in the future, neither or both of `deferred_until` and `permanent`, `deferred_until` not after `noted_on` or earlier than the catalogue minimum allows, a permanent catalogue reason without `permanent: true`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_deferral(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<NewDeferral>,
) -> Result<HttpResponse, ApiError> {
    let cmd = body.into_inner().into();
    let donor_id = id.into_inner().to_string();
    let ctx = state.ctx();
    let d = state
        .write(move |tx| deferrals::record(tx, &ctx, &actor, &donor_id, cmd))
        .await?;
    let out = DonationOut::from(d);
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            crate::http::dto::location("/donations", &out.id),
        ))
        .json(out))
}
