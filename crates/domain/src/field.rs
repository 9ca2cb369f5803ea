//! The stable codes of a field's fault: part of the API contract (each validation error
//! carries one), so that a client can say it in its own language whatever the message says.

use serde::Serialize;

/// Why a field is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldCode {
    /// Missing, empty or null where a value is needed.
    Required,
    /// Longer than the field allows.
    TooLong,
    /// Not of the field's form: a CCCD, a phone number, a username, a blood group, control
    /// characters in text.
    InvalidFormat,
    /// Outside the values or dates allowed (in the future, outside a drive's dates, outside
    /// the years kept, a number outside its bounds).
    OutOfRange,
    /// Below a minimum that a rule sets (a password's length, a deferral's minimum days).
    BelowMinimum,
    /// Names a record that does not exist (or that the caller may not use).
    NotFound,
    /// Given where it may not be (a deferral's fields on a collection, a field only an admin
    /// may set), or in a combination the rules refuse.
    NotAllowed,
}

impl FieldCode {
    /// Every code, in the order of the documentation.
    pub const ALL: [FieldCode; 7] = [
        FieldCode::Required,
        FieldCode::TooLong,
        FieldCode::InvalidFormat,
        FieldCode::OutOfRange,
        FieldCode::BelowMinimum,
        FieldCode::NotFound,
        FieldCode::NotAllowed,
    ];

    /// The code as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldCode::Required => "required",
            FieldCode::TooLong => "too_long",
            FieldCode::InvalidFormat => "invalid_format",
            FieldCode::OutOfRange => "out_of_range",
            FieldCode::BelowMinimum => "below_minimum",
            FieldCode::NotFound => "not_found",
            FieldCode::NotAllowed => "not_allowed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_documented() {
        for code in FieldCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().to_owned())
            );
        }
    }
}
