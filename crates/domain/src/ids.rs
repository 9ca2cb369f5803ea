//! Identifiers people bring: the citizen id (CCCD) and the mobile number (domain rules §6).

use chrono::{Datelike, NaiveDate};

use crate::{DomainError, Sex};

/// A citizen identity card number (CCCD): 12 digits that encode the province of birth
/// registration, century and sex, and birth year. The natural key for de-duplicating donors.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct NationalId(String);

/// Province codes run 001..=096 (Decree 137/2015); gaps exist, but the set changes with
/// mergers, so only the range is checked.
const PROVINCE_CODES: std::ops::RangeInclusive<u32> = 1..=96;

impl NationalId {
    /// Checks a CCCD against the donor's sex and date of birth:
    /// exactly 12 ASCII digits (surrounding whitespace trimmed); digits 1–3 a province code
    /// 001..=096; digit 4 century and sex (1900s: 0 male, 1 female; 2000s: 2/3; 2100s: 4/5);
    /// digits 5–6 the birth year modulo 100.
    ///
    /// The check against sex and birth date is what catches typos and ids typed into the
    /// wrong donor, the errors that would otherwise merge two people.
    pub fn parse(s: &str, sex: Sex, date_of_birth: NaiveDate) -> Result<Self, DomainError> {
        let err = |why: String| Err(DomainError::InvalidNationalId(why));
        let t = s.trim();
        if t.len() != 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return err(format!("{t:?} is not exactly 12 digits"));
        }
        let digits: Vec<u32> = t.bytes().map(|b| u32::from(b - b'0')).collect();
        let province = digits[0] * 100 + digits[1] * 10 + digits[2];
        if !PROVINCE_CODES.contains(&province) {
            return err(format!(
                "province code {:03} is not between 001 and 096",
                province
            ));
        }
        let (century, coded_sex) = match digits[3] {
            0 => (1900, Sex::Male),
            1 => (1900, Sex::Female),
            2 => (2000, Sex::Male),
            3 => (2000, Sex::Female),
            4 => (2100, Sex::Male),
            5 => (2100, Sex::Female),
            other => {
                return err(format!(
                    "digit 4 ({other}) is not a century and sex code 0 to 5"
                ))
            }
        };
        if coded_sex != sex {
            return err(format!(
                "digit 4 ({}) says {} but the donor is recorded as {}",
                digits[3],
                coded_sex.as_str(),
                sex.as_str()
            ));
        }
        let year = date_of_birth.year();
        if year.div_euclid(100) * 100 != century {
            return err(format!(
                "digit 4 ({}) says born in the {}s but the date of birth is in {year}",
                digits[3], century
            ));
        }
        let coded_year = digits[4] * 10 + digits[5];
        // rem_euclid keeps the value non-negative, so the cast cannot wrap.
        let birth_yy = year.rem_euclid(100) as u32;
        if coded_year != birth_yy {
            return err(format!(
                "digits 5–6 ({coded_year:02}) do not match the birth year {year}"
            ));
        }
        Ok(NationalId(t.to_owned()))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NationalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Vietnamese mobile number, stored in the national form `0912345678` so that every
/// accepted spelling of one number finds the same donor.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a Vietnamese mobile number: the national form `0[35789]xxxxxxxx` (10 digits),
    /// or `+84`, `84` or `0084` followed by the 9 digits without the 0. Spaces, dots,
    /// dashes and parentheses are ignored, and a `0` kept after the country code
    /// (`+84 (0) 912 345 678`, a common way of writing it) is tolerated.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::InvalidPhone(s.to_owned());
        let compact: String = s
            .chars()
            .filter(|c| !(c.is_whitespace() || matches!(c, '.' | '-' | '(' | ')')))
            .collect();
        let (plus, digits) = match compact.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, compact.as_str()),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let subscriber = if plus {
            digits.strip_prefix("84").ok_or_else(bad)?
        } else if digits.len() == 10 && digits.starts_with('0') {
            &digits[1..]
        } else if let Some(rest) = digits.strip_prefix("0084") {
            rest
        } else if let Some(rest) = digits.strip_prefix("84").filter(|_| digits.len() >= 11) {
            rest
        } else {
            return Err(bad());
        };
        let subscriber = match subscriber.strip_prefix('0') {
            Some(rest) if subscriber.len() == 10 => rest,
            _ => subscriber,
        };
        let valid = subscriber.len() == 9
            && matches!(subscriber.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9');
        if !valid {
            return Err(bad());
        }
        Ok(PhoneNumber(format!("0{subscriber}")))
    }

    /// The national form, `"0912345678"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The international form, `"+84912345678"`, for SMS gateways.
    pub fn international(&self) -> String {
        format!("+84{}", &self.0[1..])
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn good_national_ids() {
        let cases = [
            ("001090123456", Sex::Male, "1990-03-04"),
            ("001190123456", Sex::Female, "1990-03-04"),
            ("079203000001", Sex::Male, "2003-12-31"),
            ("079303000001", Sex::Female, "2003-01-01"),
            ("096000999999", Sex::Male, "1900-06-01"),
            ("010199000000", Sex::Female, "1999-06-01"),
            ("010400000000", Sex::Male, "2100-01-01"),
            ("010501000000", Sex::Female, "2101-01-01"),
            ("  038085012345\n", Sex::Male, "1985-07-15"),
        ];
        for (s, sex, dob) in cases {
            let id = NationalId::parse(s, sex, d(dob));
            assert_eq!(id.as_ref().map(NationalId::as_str), Ok(s.trim()), "{s}");
        }
    }

    #[test]
    fn bad_national_ids() {
        let cases = [
            ("", Sex::Male, "1990-01-01", "12 digits"),
            ("00109012345", Sex::Male, "1990-01-01", "12 digits"),
            ("0010901234567", Sex::Male, "1990-01-01", "12 digits"),
            ("00109012345a", Sex::Male, "1990-01-01", "12 digits"),
            ("001 090123456", Sex::Male, "1990-01-01", "12 digits"),
            ("０01090123456", Sex::Male, "1990-01-01", "12 digits"),
            ("000090123456", Sex::Male, "1990-01-01", "province"),
            ("097090123456", Sex::Male, "1990-01-01", "province"),
            ("999090123456", Sex::Male, "1990-01-01", "province"),
            ("001690123456", Sex::Male, "1990-01-01", "digit 4"),
            ("001890123456", Sex::Male, "1890-01-01", "digit 4"),
            ("001990123456", Sex::Female, "1890-01-01", "digit 4"),
            ("001190123456", Sex::Male, "1990-01-01", "says female"),
            ("001090123456", Sex::Female, "1990-01-01", "says male"),
            ("001390123456", Sex::Male, "1990-01-01", "says female"),
            ("001290123456", Sex::Male, "1990-01-01", "2000s"),
            ("001003123456", Sex::Male, "2003-01-01", "1900s"),
            ("001403123456", Sex::Male, "2003-01-01", "2100s"),
            ("001091123456", Sex::Male, "1990-01-01", "digits 5–6 (91)"),
            ("001009123456", Sex::Male, "1990-01-01", "digits 5–6 (09)"),
            ("079202000001", Sex::Male, "2003-01-01", "birth year 2003"),
        ];
        for (s, sex, dob, why) in cases {
            match NationalId::parse(s, sex, d(dob)) {
                Err(DomainError::InvalidNationalId(msg)) => {
                    assert!(msg.contains(why), "{s}: {msg:?} lacks {why:?}")
                }
                other => panic!("{s}: {other:?}"),
            }
        }
    }

    #[test]
    fn good_phones() {
        let cases = [
            ("0912345678", "0912345678"),
            ("0312345678", "0312345678"),
            ("0512345678", "0512345678"),
            ("0712345678", "0712345678"),
            ("0812345678", "0812345678"),
            ("0912 345 678", "0912345678"),
            ("091.234.5678", "0912345678"),
            ("091-234-5678", "0912345678"),
            ("(091) 234-5678", "0912345678"),
            ("+84912345678", "0912345678"),
            ("+84 91 234 56 78", "0912345678"),
            ("84912345678", "0912345678"),
            ("0084912345678", "0912345678"),
            ("+84 (0) 912 345 678", "0912345678"),
            ("  0987654321 ", "0987654321"),
        ];
        for (s, want) in cases {
            let p = PhoneNumber::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(p.as_str(), want, "{s}");
            assert_eq!(p.international(), format!("+84{}", &want[1..]));
            assert_eq!(PhoneNumber::parse(&p.international()).unwrap(), p);
        }
    }

    #[test]
    fn bad_phones() {
        for s in [
            "",
            "0",
            "091234567",   // 9 digits
            "09123456789", // 11 digits with 0
            "0212345678",  // landline prefix
            "0412345678",
            "0612345678",
            "0012345678",
            "1912345678",
            "+85912345678",  // other country
            "+8491234567",   // too short
            "+849123456789", // too long
            "+84212345678",
            "84 91 234 567", // 84 + 8 digits
            "0912a45678",
            "0912+345678",
            "++84912345678",
            "０912345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(s),
                Err(DomainError::InvalidPhone(s.to_owned())),
                "{s:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn every_spelling_of_a_mobile_normalises_alike(
            lead in proptest::sample::select(vec!['3', '5', '7', '8', '9']),
            rest in "[0-9]{8}",
            form in 0usize..4,
        ) {
            let national = format!("0{lead}{rest}");
            let spelled = match form {
                0 => national.clone(),
                1 => format!("+84{lead}{rest}"),
                2 => format!("84 {lead}{} {}", &rest[..4], &rest[4..]),
                _ => format!("{}.{}.{}", &national[..4], &national[4..7], &national[7..]),
            };
            let parsed = PhoneNumber::parse(&spelled).unwrap();
            prop_assert_eq!(parsed.as_str(), national.as_str());
        }

        #[test]
        fn national_id_digits_4_to_6_follow_sex_and_year(
            province in 1u32..=96, male in any::<bool>(), year in 1900i32..2200, tail in 0u32..1_000_000,
        ) {
            let sex = if male { Sex::Male } else { Sex::Female };
            let code = (year / 100 - 19) * 2 + i32::from(!male);
            let s = format!("{province:03}{code}{:02}{tail:06}", year % 100);
            let dob = NaiveDate::from_ymd_opt(year, 6, 15).unwrap();
            prop_assert!(NationalId::parse(&s, sex, dob).is_ok(), "{}", s);
            let other = if male { Sex::Female } else { Sex::Male };
            prop_assert!(NationalId::parse(&s, other, dob).is_err());
            let off_year = NaiveDate::from_ymd_opt(year + 1, 6, 15).unwrap();
            prop_assert!(NationalId::parse(&s, sex, off_year).is_err());
        }
    }
}
