//! Request and response types of donations (event donations, the offline batch, void), and
//! the OpenAPI name of the donation outcome.

use chrono::{DateTime, NaiveDate, Utc};
use hienmau_db::models::Donation;
use hienmau_domain::{Component, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::donations::{ItemRecorded, ItemResult, VoidDonation};
use crate::app::idempotency::StoredResponse;
use crate::app::AppError;
use crate::http::error::{ApiError, Problem};

// The document's name for `hienmau_domain::Outcome`, which knows nothing of OpenAPI.
/// What happened at screening.
#[derive(ToSchema)]
#[schema(as = Outcome)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeSchema {
    /// Blood was taken: one unit.
    Collected,
    /// The donor was found unfit and deferred; no blood was taken.
    Deferred,
}

// Documentation only: the body is read as `app::donations::NewDonation` (same fields), so
// that the offline batch's items are read by the same definition.
/// A donation to record (at an event, in a batch item, or for an emergency request).
#[derive(Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DonationBody {
    /// The donor.
    pub donor_id: Uuid,
    /// `whole_blood`, `red_cells`, `platelets` or `plasma`; another value is 400.
    #[schema(value_type = crate::http::dto::emergency::ComponentName, example = "whole_blood")]
    pub component: Component,
    /// Millilitres collected: required (1–2000) for a collection; for a deferral it may be
    /// omitted or 0 and is recorded as 0 (a deferral takes no blood).
    pub volume_ml: Option<i32>,
    /// `collected` or `deferred`; another value is 400.
    #[schema(value_type = OutcomeSchema)]
    pub outcome: Outcome,
    /// When (RFC 3339); defaults to now. Its day in the configured zone must fall within the
    /// drive's dates, and it may not be in the future (5 minutes of clock skew allowed).
    pub donated_at: Option<DateTime<Utc>>,
    /// The code of a pre-labelled bag (unique: a reused code is 409). Omitted: a unique code
    /// `HM-YYYYMMDD-XXXXXXXX` is generated. Not allowed for a deferral (no bag).
    pub unit_code: Option<String>,
    /// Deferral only, required: why the donor was deferred. A code of `GET /deferral-reasons`
    /// (exactly, after trimming) brings its minimum; any other text is a free-text reason.
    pub deferral_reason: Option<String>,
    /// Deferral only: the first day the donor may give again (after the donation's day; for
    /// a catalogue code no earlier than the day plus its `min_days`, else 422 naming
    /// `deferred_until`). Exactly one of `deferred_until` and `permanent: true`.
    pub deferred_until: Option<NaiveDate>,
    /// Deferral only: `true` for a permanent deferral (required for a permanent catalogue
    /// code, else 422 naming `permanent`).
    pub permanent: Option<bool>,
    /// The weight measured at screening, in kg (above 0 and below 300). A collection is judged
    /// on it (minimum weight, allowed volume), or on the donor's weight on record when it is
    /// omitted; with neither, a collection is 422 naming `weight_kg`. A deferral needs none.
    /// It becomes the donor's weight on record, unless a later donation is already recorded.
    #[schema(example = 55.0)]
    pub weight_kg: Option<f64>,
}

/// A donation record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DonationOut {
    /// Id.
    pub id: String,
    /// The donor.
    pub donor_id: String,
    /// The event, for a drive donation.
    pub event_id: Option<String>,
    /// The emergency request, for an emergency donation.
    pub emergency_request_id: Option<String>,
    /// The event's drive.
    pub drive_id: Option<String>,
    /// `whole_blood`, `red_cells`, `platelets` or `plasma`.
    pub component: String,
    /// Millilitres (0 for a deferral).
    pub volume_ml: i32,
    /// `collected` or `deferred`.
    pub outcome: String,
    /// When, in UTC.
    pub donated_at: DateTime<Utc>,
    /// The bag's unit code; null for a deferral.
    pub unit_code: Option<String>,
    /// Why the donor was deferred.
    pub deferral_reason: Option<String>,
    /// The first day a deferred donor may give again.
    pub deferred_until: Option<NaiveDate>,
    /// A permanent deferral.
    pub permanent: bool,
    /// The offline client's reference (batch items).
    pub client_ref: Option<String>,
    /// A voided record counts nowhere and is kept for the audit.
    pub voided: bool,
    /// Why it was voided.
    pub void_reason: Option<String>,
    /// When it was voided.
    pub voided_at: Option<DateTime<Utc>>,
}

impl From<Donation> for DonationOut {
    fn from(d: Donation) -> Self {
        Self {
            id: d.id,
            donor_id: d.donor_id,
            event_id: d.event_id,
            emergency_request_id: d.emergency_request_id,
            drive_id: d.drive_id,
            component: d.component,
            volume_ml: d.volume_ml,
            outcome: d.outcome,
            donated_at: d.donated_at.and_utc(),
            unit_code: d.unit_code,
            deferral_reason: d.deferral_reason,
            deferred_until: d.deferred_until,
            permanent: d.permanent,
            client_ref: d.client_ref,
            voided: d.voided,
            void_reason: d.void_reason,
            voided_at: d.voided_at.map(|t| t.and_utc()),
        }
    }
}

/// The 201 answer for a recorded donation, as stored for idempotent replays.
pub fn created(donation: &Donation) -> Result<StoredResponse, AppError> {
    Ok(StoredResponse {
        status: 201,
        body: serde_json::to_string(&DonationOut::from(donation.clone()))
            .map_err(AppError::internal)?,
    })
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
    #[schema(value_type = crate::http::dto::emergency::ComponentName, example = "whole_blood")]
    pub component: String,
    /// Millilitres; required for a collection.
    pub volume_ml: Option<i32>,
    /// `collected` or `deferred`.
    #[schema(value_type = OutcomeSchema)]
    pub outcome: Outcome,
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
    /// The weight measured at screening (kg); required for a collection when the donor has
    /// none on record; becomes the donor's weight.
    pub weight_kg: Option<f64>,
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

impl From<ItemResult> for BatchResult {
    fn from(r: ItemResult) -> Self {
        let (status, donation) = match r.outcome {
            Ok(ItemRecorded::New(d)) => (201, d),
            Ok(ItemRecorded::Again(d)) => (200, d),
            Err(e) => {
                let problem = ApiError::from(e).problem();
                return Self {
                    client_ref: r.client_ref,
                    status: problem.status,
                    donation: None,
                    error: Some(problem),
                };
            }
        };
        Self {
            client_ref: r.client_ref,
            status,
            donation: Some(donation.into()),
            error: None,
        }
    }
}

/// Why a record is voided.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    /// Why (1–500 characters), kept for the audit.
    pub reason: String,
}

impl From<VoidBody> for VoidDonation {
    fn from(b: VoidBody) -> Self {
        VoidDonation { reason: b.reason }
    }
}
