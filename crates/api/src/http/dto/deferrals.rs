//! Request and response types of deferrals: the reason catalogue and a deferral noted outside
//! any event (the rules are `app::deferrals`').

use chrono::NaiveDate;
use hienmau_domain::DeferralReason;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::deferrals::StandaloneDeferral;

/// One reason of the configured catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeferralReasonOut {
    /// The stable code, to send as `deferral_reason`.
    #[schema(example = "tattoo_piercing")]
    pub code: String,
    /// Vietnamese label.
    #[schema(example = "Xăm trên da, bấm lỗ tai hoặc xỏ khuyên trên cơ thể")]
    pub label_vi: String,
    /// English label.
    #[schema(example = "Tattoo or body piercing")]
    pub label_en: String,
    /// The shortest deferral in days from the day of the screening (`deferred_until` no
    /// earlier than the day plus this); null for a permanent reason (`permanent: true`
    /// required).
    #[schema(example = 182)]
    pub min_days: Option<u32>,
}

impl From<&DeferralReason> for DeferralReasonOut {
    fn from(r: &DeferralReason) -> Self {
        DeferralReasonOut {
            code: r.code.clone(),
            label_vi: r.label_vi.clone(),
            label_en: r.label_en.clone(),
            min_days: r.min_days,
        }
    }
}

/// A deferral noted outside any event (a screening result that arrives after the drive).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeferral {
    /// A code of `GET /deferral-reasons` (its minimum applies) or free text (1–500
    /// characters).
    #[schema(example = "tti_positive")]
    pub deferral_reason: String,
    /// The first day the donor may give again (after `noted_on`; for a catalogue code no
    /// earlier than `noted_on` plus its `min_days`). Exactly one of `deferred_until` and
    /// `permanent: true`.
    pub deferred_until: Option<NaiveDate>,
    /// `true` for a permanent deferral (required for a permanent catalogue code).
    #[schema(example = true)]
    pub permanent: Option<bool>,
    /// The day the result was noted, from which the deferral counts: default today (in the
    /// configured zone), not in the future.
    pub noted_on: Option<NaiveDate>,
}

impl From<NewDeferral> for StandaloneDeferral {
    fn from(b: NewDeferral) -> Self {
        StandaloneDeferral {
            deferral_reason: b.deferral_reason,
            deferred_until: b.deferred_until,
            permanent: b.permanent,
            noted_on: b.noted_on,
        }
    }
}
