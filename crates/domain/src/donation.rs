//! What a screening ends in: the stored vocabulary of donation outcomes.

use crate::DomainError;

/// What happened at screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Blood was taken: one unit.
    Collected,
    /// The donor was found unfit and deferred; no blood was taken.
    Deferred,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 2] = [Outcome::Collected, Outcome::Deferred];

    /// The stored and serialised name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Collected => "collected",
            Outcome::Deferred => "deferred",
        }
    }

    /// Parses a stored or submitted outcome (exact spelling).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| DomainError::InvalidOutcome(s.to_owned()))
    }

    /// True when blood was taken (the outcome that counts as a unit).
    pub fn is_collected(self) -> bool {
        self == Outcome::Collected
    }
}

string_enum!(Outcome, "`collected` or `deferred`");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_their_stored_names() {
        for (outcome, name, collected) in [
            (Outcome::Collected, "collected", true),
            (Outcome::Deferred, "deferred", false),
        ] {
            assert_eq!(outcome.as_str(), name);
            assert_eq!(Outcome::parse(name), Ok(outcome));
            assert_eq!(outcome.is_collected(), collected);
            assert_eq!(
                serde_json::to_string(&outcome).unwrap(),
                format!("\"{name}\"")
            );
        }
        for bad in ["Collected", "", "collected ", "voided"] {
            assert_eq!(
                Outcome::parse(bad),
                Err(DomainError::InvalidOutcome(bad.to_owned()))
            );
        }
    }
}
