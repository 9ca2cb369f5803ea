//! The rules of voluntary blood donation in Vietnam, as pure functions over plain values.
//!
//! No I/O, no clock except [`calendar::Zone::today`], no database: the API and persistence
//! crates load data, call these functions and store the outcome. Every number a province
//! might set differently lives in a config struct with a `Default` (the national rules)
//! that deserialises from TOML. The rules and their sources are in `domain-rules.md`.
//!
//! ```
//! use chrono::NaiveDate;
//! use hienmau_domain::eligibility::{check, Reason};
//! use hienmau_domain::{BloodGroup, Component, Donor, EligibilityRules, Match, PastDonation, Proposed, Sex};
//!
//! let day = |s: &str| s.parse::<NaiveDate>().unwrap();
//! let donor = Donor { date_of_birth: day("1990-04-07"), sex: Sex::Female, weight_kg: Some(48.0) };
//! let history = [PastDonation { day: day("2024-03-01"), component: Component::WholeBlood }];
//! let p = Proposed { day: day("2024-04-07"), component: Component::WholeBlood, volume_ml: 350 };
//! let refusal = check(&EligibilityRules::default(), &donor, &history, &[], &p).unwrap_err();
//! assert_eq!(refusal.reason, Reason::Interval);
//! assert_eq!(refusal.next_eligible_on, Some(day("2024-05-24")));
//!
//! let o_neg: BloodGroup = "O-".parse().unwrap();
//! assert_eq!(hienmau_domain::compatibility(BloodGroup::ABPos, o_neg, Component::RedCells), Some(Match::Compatible));
//! ```
#![warn(missing_docs)]

/// Gives a `Copy` enum with `parse`/`as_str` the string-based `Display`, `FromStr` and serde
/// impls, so the wire form, the config form and the database form can never drift apart.
macro_rules! string_enum {
    ($ty:ty, $expecting:literal) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                struct Visitor;
                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        <$ty>::parse(v).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub mod blood;
pub mod calendar;
pub mod deferral;
pub mod donation;
pub mod donor;
pub mod eligibility;
pub mod emergency;
pub mod error;
pub mod field;
pub mod honors;
pub mod ids;
pub mod person;
pub mod roles;
pub mod text;
pub mod username;

pub use blood::{compatibility, donor_groups_for, Abo, BloodGroup, Component, Match};
pub use calendar::Zone;
pub use deferral::{DeferralCatalogue, DeferralReason};
pub use donation::Outcome;
pub use donor::{DonorDetails, DonorDraft, DonorFigures, DonorRecord, FieldProblem};
pub use eligibility::{
    Assessment, Deferral, Donor, EligibilityRules, Ineligible, PastDonation, Proposed, Reason,
    Verdict,
};
pub use emergency::{CandidateCriteria, RequestStatus, ResponseKind, Urgency};
pub use error::DomainError;
pub use field::FieldCode;
pub use honors::{Tier, TierTable};
pub use ids::{NationalId, PhoneNumber};
pub use person::{age_on, Sex};
pub use roles::Role;
pub use text::{fold, fold_words};
pub use username::Username;
