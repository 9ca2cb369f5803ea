//! Facts about a person that the rules depend on: sex and age.

use chrono::{Datelike, NaiveDate};

use crate::DomainError;

/// Sex as recorded on the citizen id; it sets the whole-blood weight minimum and is encoded
/// in CCCD digit 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    /// Male ("nam").
    Male,
    /// Female ("nữ").
    Female,
}

impl Sex {
    /// Parses `male` or `female` (whitespace trimmed, ASCII case ignored).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("male") {
            Ok(Sex::Male)
        } else if t.eq_ignore_ascii_case("female") {
            Ok(Sex::Female)
        } else {
            Err(DomainError::InvalidSex(s.to_owned()))
        }
    }

    /// `"male"` or `"female"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

string_enum!(Sex, "\"male\" or \"female\"");

/// Whole years of age on `on` (negative before birth).
///
/// Someone born on 29 February turns a year older on 1 March in common years, the usual
/// reading of "full years" in Vietnamese and most other law.
pub fn age_on(date_of_birth: NaiveDate, on: NaiveDate) -> i32 {
    let years = on.year() - date_of_birth.year();
    if (on.month(), on.day()) < (date_of_birth.month(), date_of_birth.day()) {
        years - 1
    } else {
        years
    }
}

/// The first day on which someone born on `date_of_birth` is `age` full years old, the
/// inverse of [`age_on`]; `None` only past the end of chrono's calendar.
pub fn birthday_at_age(date_of_birth: NaiveDate, age: i32) -> Option<NaiveDate> {
    let year = date_of_birth.year().checked_add(age)?;
    // 29 February in a common year: age_on counts the birthday as 1 March.
    NaiveDate::from_ymd_opt(year, date_of_birth.month(), date_of_birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn sex_forms() {
        for (s, want) in [
            ("male", Sex::Male),
            ("female", Sex::Female),
            (" Female ", Sex::Female),
        ] {
            assert_eq!(Sex::parse(s), Ok(want));
        }
        for bad in ["", "m", "f", "nam", "other"] {
            assert_eq!(
                Sex::parse(bad),
                Err(DomainError::InvalidSex(bad.to_owned()))
            );
        }
        assert_eq!(serde_json::to_string(&Sex::Female).unwrap(), "\"female\"");
        assert_eq!(serde_json::from_str::<Sex>("\"male\"").unwrap(), Sex::Male);
        assert_eq!("female".parse::<Sex>(), Ok(Sex::Female));
    }

    #[test]
    fn ages() {
        let cases = [
            ("2000-05-10", "2018-05-09", 17),
            ("2000-05-10", "2018-05-10", 18),
            ("2000-05-10", "2018-12-31", 18),
            ("1964-01-01", "2024-12-31", 60),
            ("1964-01-01", "2025-01-01", 61),
            ("2000-02-29", "2018-02-28", 17),
            ("2000-02-29", "2018-03-01", 18),
            ("2000-02-29", "2020-02-29", 20),
            ("2000-01-01", "2000-01-01", 0),
            ("2000-01-02", "2000-01-01", -1),
        ];
        for (dob, on, want) in cases {
            assert_eq!(age_on(d(dob), d(on)), want, "{dob} on {on}");
        }
    }

    #[test]
    fn birthdays() {
        assert_eq!(birthday_at_age(d("2000-05-10"), 18), Some(d("2018-05-10")));
        assert_eq!(birthday_at_age(d("2000-02-29"), 18), Some(d("2018-03-01")));
        assert_eq!(birthday_at_age(d("2000-02-29"), 20), Some(d("2020-02-29")));
    }

    proptest! {
        #[test]
        fn birthday_is_the_first_day_of_that_age(days in 0i64..40_000, age in 0i32..100) {
            let dob = d("1930-01-01") + chrono::Days::new(days as u64);
            let b = birthday_at_age(dob, age).unwrap();
            prop_assert_eq!(age_on(dob, b), age);
            prop_assert_eq!(age_on(dob, b.pred_opt().unwrap()), age - 1);
        }
    }
}
