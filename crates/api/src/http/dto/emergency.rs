//! Request and response types of emergency requests, and the OpenAPI names of the emergency
//! vocabularies (request status, urgency, answers) and of blood groups and components.

use chrono::{DateTime, Utc};
use hienmau_db::models::{DonorResponse, EmergencyRequest};
use hienmau_domain::{Component, Match, RequestStatus, ResponseKind, Urgency};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::emergency::{
    Candidate, NewResponse as NewResponseCommand, OpenRequest, RequestChanges,
};
use crate::http::dto::double_option;

// The document's name for `hienmau_domain::Urgency`, which knows nothing of OpenAPI.
/// How soon the blood is needed.
#[derive(ToSchema)]
#[schema(as = Urgency)]
#[serde(rename_all = "snake_case")]
pub enum UrgencySchema {
    /// Life-threatening, now.
    Critical,
    /// Within hours.
    Urgent,
    /// Planned.
    Routine,
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

// The document's name for `hienmau_domain::RequestStatus`.
/// A request's status.
#[derive(ToSchema)]
#[schema(as = RequestStatus)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatusSchema {
    /// Still looking for donors.
    Open,
    /// `units_received` reached `units_needed`.
    Fulfilled,
    /// Called off by the hospital.
    Cancelled,
}

// The document's name for `hienmau_domain::ResponseKind`.
/// A donor's answer to a call-up.
#[derive(ToSchema)]
#[schema(as = ResponseKind)]
#[serde(rename_all = "snake_case")]
pub enum ResponseKindSchema {
    /// Will come (or came).
    Accepted,
    /// Will not come: never offered again for this request.
    Declined,
    /// Could not be reached.
    NoAnswer,
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
    #[schema(value_type = UrgencySchema)]
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

impl From<NewEmergencyRequest> for OpenRequest {
    fn from(b: NewEmergencyRequest) -> Self {
        OpenRequest {
            blood_group: b.blood_group,
            component: b.component,
            units_needed: b.units_needed,
            urgency: b.urgency,
            needed_by: b.needed_by,
            province: b.province,
            commune: b.commune,
            note: b.note,
            opened_at: b.opened_at,
            hospital_id: b.hospital_id,
        }
    }
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
    /// The admin's cap on the donors its candidates may disclose; null: the configured
    /// multiple of `units_needed` (10 by default).
    pub disclosure_cap: Option<i32>,
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
            disclosure_cap: r.disclosure_cap,
        }
    }
}

impl EmergencyRequestOut {
    /// The request's address, for the `Location` of a 201.
    pub fn location(&self) -> String {
        super::location("/emergency-requests", &self.id)
    }
}

/// `GET /emergency-requests` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Only requests in this status (`open`, `fulfilled`, `cancelled`; another value is 400).
    #[param(value_type = Option<RequestStatusSchema>)]
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

impl From<Candidate> for CandidateOut {
    fn from(c: Candidate) -> Self {
        Self {
            donor_id: c.donor.id,
            full_name: c.donor.full_name,
            blood_group: c.blood_group.as_str().to_owned(),
            phone: c.donor.phone,
            province: c.donor.province,
            commune: c.donor.commune,
            last_donation_at: c.last_donation_at,
            match_: c.match_,
        }
    }
}

/// The candidates of one call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateList {
    /// Best first: identical before compatible; then same commune, same province, elsewhere;
    /// then never donated, then the longest since the last donation.
    pub items: Vec<CandidateOut>,
}

/// A donor's answer to a call-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResponse {
    /// The donor called.
    pub donor_id: Uuid,
    /// `accepted`, `declined` or `no_answer` (another value is 400).
    #[schema(value_type = ResponseKindSchema)]
    pub response: ResponseKind,
}

impl From<NewResponse> for NewResponseCommand {
    fn from(b: NewResponse) -> Self {
        NewResponseCommand {
            donor_id: b.donor_id,
            response: b.response,
        }
    }
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

/// Changes to a request (`PATCH`); an absent field is left as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEmergencyRequest {
    /// Units needed, 1 to 1000: may be raised (which raises the default disclosure cap and
    /// reopens a fulfilled request it now exceeds), not lowered (422).
    #[schema(example = 3, minimum = 1, maximum = 1000)]
    pub units_needed: Option<i64>,
    /// Free text, at most 2000 characters; null removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub note: Option<Option<String>>,
    /// Admins only (from anyone else 422): the most distinct donors the candidates may
    /// disclose for this request, 0 to 100000; null goes back to the configured multiple of
    /// `units_needed`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100000)]
    pub disclosure_cap: Option<Option<i64>>,
}

impl From<UpdateEmergencyRequest> for RequestChanges {
    fn from(b: UpdateEmergencyRequest) -> Self {
        RequestChanges {
            units_needed: b.units_needed,
            note: b.note,
            disclosure_cap: b.disclosure_cap,
        }
    }
}
