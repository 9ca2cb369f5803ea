//! Usernames: one spelling per account.
//!
//! A name is compared after NFKC normalisation and lower-casing, and an account's name must
//! then be 3–64 characters of `a-z 0-9 . _ -`. So `Demo.Admin` and a full-width `ｄｅｍｏ.ａｄｍｉｎ`
//! are the account `demo.admin` (and share its sign-in throttle), while a Cyrillic `о` that
//! looks like a Latin `o` is no account's name at all: two accounts can never look alike.

use unicode_normalization::UnicodeNormalization;

use crate::DomainError;

/// The fewest characters of a username.
pub const MIN_USERNAME_CHARS: usize = 3;
/// The most characters of a username.
pub const MAX_USERNAME_CHARS: usize = 64;

/// A valid username, in its one normal spelling.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Username(String);

/// `given` as names are compared: surrounding whitespace dropped, NFKC, lower case. Not
/// necessarily a valid username; sign-in looks up this form of what was typed.
pub fn normalise(given: &str) -> String {
    given.trim().nfkc().collect::<String>().to_lowercase()
}

fn allowed(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

impl Username {
    /// Normalises `given` ([`normalise`]) and checks the result. The error never repeats the
    /// input (it may be anything a client sent).
    pub fn parse(given: &str) -> Result<Self, DomainError> {
        let name = normalise(given);
        let n = name.chars().count();
        if !(MIN_USERNAME_CHARS..=MAX_USERNAME_CHARS).contains(&n) {
            return Err(DomainError::InvalidUsername(format!(
                "must be {MIN_USERNAME_CHARS} to {MAX_USERNAME_CHARS} characters"
            )));
        }
        if !name.chars().all(allowed) {
            return Err(DomainError::InvalidUsername(
                "may hold only the letters a-z, digits, '.', '_' and '-'".to_owned(),
            ));
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_then_checked() {
        // (given, the stored name, or None when refused)
        let cases: &[(&str, Option<&str>)] = &[
            ("admin", Some("admin")),
            ("demo.admin", Some("demo.admin")),
            ("Demo.Admin", Some("demo.admin")),
            ("  coord_1-a  ", Some("coord_1-a")),
            ("ｄｅｍｏ.ａｄｍｉｎ", Some("demo.admin")), // full-width forms (NFKC)
            ("\u{212A}elvin", Some("kelvin")),           // KELVIN SIGN is a K under NFKC
            ("abc", Some("abc")),
            (&"x".repeat(64), Some(&"x".repeat(64))),
            ("ab", None),
            ("", None),
            ("   ", None),
            (&"x".repeat(65), None),
            ("dem\u{043E}.admin", None), // Cyrillic о
            ("\u{0430}dmin", None),      // Cyrillic а
            ("điều-phối", None),
            ("a b c", None),
            ("admin@example", None),
            ("admin\u{0}", None),
            ("admin\u{200B}", None), // zero-width space
            ("adm\u{0130}n", None),  // İ lower-cases to i + a combining dot
        ];
        for (given, expected) in cases {
            let got = Username::parse(given).ok();
            assert_eq!(got.as_ref().map(Username::as_str), *expected, "{given:?}");
        }
    }

    #[test]
    fn the_error_does_not_echo_the_input() {
        let Err(e) = Username::parse("sec\u{0440}et-name") else {
            panic!("accepted");
        };
        assert!(!e.to_string().contains("sec"), "{e}");
    }

    #[test]
    fn normalising_is_idempotent() {
        for s in ["Demo.Admin", "ｄｅｍｏ", "ĐIỀU", "\u{212A}"] {
            let once = normalise(s);
            assert_eq!(normalise(&once), once, "{s:?}");
        }
    }
}
