//! Request and response types of honors: tiers, donors due a tier, awards.

use chrono::{DateTime, NaiveDate, Utc};
use hienmau_domain::honors::Tier;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::honors::{Due, DueFilter, NamedAward, RecordAward};
use crate::http::dto::Paging;

/// One configured tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierOut {
    /// Donations that reach the tier.
    #[schema(example = 5)]
    pub threshold: u32,
    /// The award given at the tier.
    #[schema(example = "Giấy khen của Hội Chữ thập đỏ tỉnh")]
    pub name: String,
}

impl From<&Tier> for TierOut {
    fn from(t: &Tier) -> Self {
        TierOut {
            threshold: t.threshold,
            name: t.name.clone(),
        }
    }
}

/// `GET /honors/eligible` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EligibleQuery {
    /// The cut-off day (inclusive) for donations and awards; default today in the configured
    /// zone.
    pub as_of: Option<NaiveDate>,
    /// Only donors due a tier at or above this number of donations.
    pub min_tier: Option<u32>,
    /// Only donors whose chapter (that of their latest collected donation up to `as_of`, else
    /// the chapter that registered them) is this chapter or one below it; unknown → 404.
    pub chapter_id: Option<Uuid>,
    /// Items per page (JSON only): default 50, at most 500 (larger values are capped);
    /// negative is 400.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (JSON only).
    pub cursor: Option<String>,
}

impl EligibleQuery {
    /// The filter and the paging parameters.
    pub fn split(self) -> (DueFilter, Paging) {
        let filter = DueFilter {
            as_of: self.as_of,
            min_tier: self.min_tier,
            chapter_id: self.chapter_id.map(|c| c.to_string()),
        };
        let paging = Paging {
            limit: self.limit,
            cursor: self.cursor,
        };
        (filter, paging)
    }
}

/// A donor due a tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibleOut {
    /// The donor.
    pub donor_id: String,
    /// Full name.
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Prior donations plus collected donations on or before `as_of`.
    pub donation_count: i64,
    /// The threshold now due (the highest reached above the highest award held).
    pub tier: i64,
    /// The award's name at that tier.
    pub tier_name: String,
    /// The last collected donation on or before `as_of` (UTC); else the start of the
    /// paper-era last donation's day; else null.
    pub last_donation_at: Option<DateTime<Utc>>,
    /// The donor's chapter as of `as_of`: that of the latest collected donation; when it was
    /// for an emergency request (no chapter) or there is none, the chapter that registered the
    /// donor; null when neither is known.
    pub chapter_id: Option<String>,
}

impl From<Due> for EligibleOut {
    fn from(d: Due) -> Self {
        EligibleOut {
            donor_id: d.donor_id,
            full_name: d.full_name,
            date_of_birth: d.date_of_birth,
            donation_count: d.donation_count,
            tier: d.tier,
            tier_name: d.tier_name,
            last_donation_at: d.last_donation_at,
            chapter_id: d.chapter_id,
        }
    }
}

/// An award to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAward {
    /// The donor.
    pub donor_id: Uuid,
    /// A configured threshold (another number is 422).
    #[schema(example = 5, minimum = 1)]
    pub tier: i64,
    /// The day of the award, not after today (422); the donor's count as of this day must
    /// reach the tier.
    pub awarded_on: NaiveDate,
    /// Free text, e.g. the decision's number (at most 500 characters).
    pub note: Option<String>,
}

impl From<NewAward> for RecordAward {
    fn from(b: NewAward) -> Self {
        RecordAward {
            donor_id: b.donor_id.to_string(),
            tier: b.tier,
            awarded_on: b.awarded_on,
            note: b.note,
        }
    }
}

/// A recorded award.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardOut {
    /// Id.
    pub id: String,
    /// The donor.
    pub donor_id: String,
    /// The tier's threshold.
    pub tier: i32,
    /// The tier's award name (empty for a tier no longer configured).
    pub tier_name: String,
    /// The day of the award.
    pub awarded_on: NaiveDate,
    /// Free text.
    pub note: Option<String>,
    /// The user who recorded it.
    pub recorded_by: String,
    /// When it was recorded (UTC).
    pub created_at: DateTime<Utc>,
    /// Voided (a correction): kept for the audit, counts for nothing.
    pub voided: bool,
    /// Why it was voided; null when in force.
    pub void_reason: Option<String>,
    /// When it was voided (UTC); null when in force.
    pub voided_at: Option<DateTime<Utc>>,
}

impl From<NamedAward> for AwardOut {
    fn from(n: NamedAward) -> Self {
        let a = n.award;
        AwardOut {
            id: a.id,
            donor_id: a.donor_id,
            tier: a.tier,
            tier_name: n.tier_name,
            awarded_on: a.awarded_on,
            note: a.note,
            recorded_by: a.recorded_by,
            created_at: a.created_at.and_utc(),
            voided: a.voided,
            void_reason: a.void_reason,
            voided_at: a.voided_at.map(|t| t.and_utc()),
        }
    }
}
