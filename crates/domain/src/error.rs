//! The one error type of the domain crate.

/// A value from outside (a request body, a config file, an import) that breaks a domain rule.
///
/// Each variant carries the offending input or, for identifiers, a human-readable reason,
/// so the API crate can put it straight into a validation error.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum DomainError {
    /// Not one of `O+ O- A+ A- B+ B- AB+ AB-`.
    #[error("invalid blood group {0:?}: expected one of O+, O-, A+, A-, B+, B-, AB+, AB-")]
    InvalidBloodGroup(String),
    /// Not one of `whole_blood red_cells platelets plasma`.
    #[error("invalid component {0:?}: expected one of whole_blood, red_cells, platelets, plasma")]
    InvalidComponent(String),
    /// Not `male` or `female`.
    #[error("invalid sex {0:?}: expected male or female")]
    InvalidSex(String),
    /// A citizen id (CCCD) that is malformed or disagrees with the donor's sex or birth date;
    /// the string says why.
    #[error("invalid national id: {0}")]
    InvalidNationalId(String),
    /// Not a Vietnamese mobile number.
    #[error("invalid phone number {0:?}: expected a Vietnamese mobile number such as 0912345678 or +84912345678")]
    InvalidPhone(String),
    /// Not one of `admin coordinator hospital honors`.
    #[error("invalid role {0:?}: expected one of admin, coordinator, hospital, honors")]
    InvalidRole(String),
    /// Not an IANA time-zone name.
    #[error("invalid time zone {0:?}: expected an IANA name such as Asia/Ho_Chi_Minh")]
    InvalidZone(String),
    /// An honors tier table that is empty or has zero, repeated or unnamed thresholds;
    /// the string says why.
    #[error("invalid honor tiers: {0}")]
    InvalidTiers(String),
    /// Not `collected` or `deferred`.
    #[error("invalid outcome {0:?}: expected collected or deferred")]
    InvalidOutcome(String),
    /// Not one of `open fulfilled cancelled`.
    #[error("invalid request status {0:?}: expected one of open, fulfilled, cancelled")]
    InvalidRequestStatus(String),
    /// Not one of `accepted declined no_answer`.
    #[error("invalid response {0:?}: expected one of accepted, declined, no_answer")]
    InvalidResponseKind(String),
    /// Not one of `critical urgent routine`.
    #[error("invalid urgency {0:?}: expected one of critical, urgent, routine")]
    InvalidUrgency(String),
    /// A deferral-reason catalogue with a blank, repeated or malformed code, a blank label,
    /// or not exactly one of `min_days` (at least 1) and `permanent`; the string says why.
    #[error("invalid deferral reasons: {0}")]
    InvalidDeferralReasons(String),
    /// A username that breaks the rule of [`crate::username`]; the string says why (never the
    /// name itself).
    #[error("invalid username: {0}")]
    InvalidUsername(String),
}
