//! A donor's details: the rules every registration and edit must pass (whoever enters them:
//! the API, an import, the demonstration data) and the figures derived from a stored record.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::calendar::Zone;
use crate::eligibility::{self, Deferral, EligibilityRules, PastDonation};
use crate::honors::TierTable;
use crate::ids::{NationalId, PhoneNumber};
use crate::text::{check_text, fold};
use crate::{BloodGroup, Component, FieldCode, Sex};

/// The oldest accepted date of birth is 1 January of this year.
pub const EARLIEST_BIRTH_YEAR: i32 = 1900;
/// The most prior donations one may enter (a lifetime of donating every 12 weeks is ~200).
pub const MAX_PRIOR_DONATIONS: i64 = 1000;
/// Weights at or above this are typing errors.
pub const MAX_WEIGHT_KG: f64 = 300.0;
/// The longest full name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest province or commune, in characters.
pub const MAX_PLACE_CHARS: usize = 100;
/// The longest national id text looked at before its own rules (a CCCD is 12 digits).
const MAX_NATIONAL_ID_CHARS: usize = 32;

/// One field of a donor's details at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldProblem {
    /// The field's name (`snake_case`, as in the API's bodies and the import's columns).
    pub field: &'static str,
    /// Why, as a stable code.
    pub code: FieldCode,
    /// What is wrong with it.
    pub message: String,
}

impl FieldProblem {
    /// A problem of `field`.
    pub fn new(field: &'static str, code: FieldCode, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

/// A donor's details before validation: a new donor, or a stored one with an edit applied.
/// Blank optional strings count as absent.
#[derive(Debug, Clone, PartialEq)]
pub struct DonorDraft {
    /// Full name as written on the citizen id.
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Citizen id (CCCD), as typed.
    pub national_id: Option<String>,
    /// Blood group, as typed.
    pub blood_group: Option<String>,
    /// Mobile number, as typed.
    pub phone: Option<String>,
    /// Province of residence.
    pub province: Option<String>,
    /// Commune or ward of residence.
    pub commune: Option<String>,
    /// Weight in kg.
    pub weight_kg: Option<f64>,
    /// Donations before the system (paper records).
    pub prior_donations: i64,
    /// The day of the last prior donation.
    pub prior_last_donation_on: Option<NaiveDate>,
}

/// A donor's details that passed every rule, normalised for storage: trimmed text, search
/// keys folded, identifiers in their stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct DonorDetails {
    /// Full name, trimmed.
    pub full_name: String,
    /// [`fold`] of the full name.
    pub name_folded: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Citizen id, agreeing with sex and date of birth.
    pub national_id: Option<NationalId>,
    /// Blood group.
    pub blood_group: Option<BloodGroup>,
    /// Mobile number in the national form.
    pub phone: Option<PhoneNumber>,
    /// Province, trimmed.
    pub province: Option<String>,
    /// [`fold`] of the province.
    pub province_folded: Option<String>,
    /// Commune, trimmed.
    pub commune: Option<String>,
    /// [`fold`] of the commune.
    pub commune_folded: Option<String>,
    /// Weight in kg.
    pub weight_kg: Option<f64>,
    /// Donations before the system, 0 to [`MAX_PRIOR_DONATIONS`].
    pub prior_donations: i32,
    /// The day of the last prior donation.
    pub prior_last_donation_on: Option<NaiveDate>,
}

/// Trimmed, blank as None.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// A text field's trimmed value, its fault (if any) recorded; the value is kept either way so
/// that later rules still see it.
fn text(field: &'static str, value: &str, max: usize, problems: &mut Vec<FieldProblem>) -> String {
    let v = value.trim();
    if let Err(p) = check_text(v, max) {
        problems.push(FieldProblem::new(field, p.code(), p.to_string()));
    }
    v.to_owned()
}

/// A parsed optional value, its parse error recorded as the field's problem.
fn parsed<T, E: std::fmt::Display>(
    field: &'static str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
    problems: &mut Vec<FieldProblem>,
) -> Option<T> {
    match parse(value?) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(FieldProblem::new(
                field,
                FieldCode::InvalidFormat,
                e.to_string(),
            ));
            None
        }
    }
}

impl DonorDraft {
    /// Checks every rule against `today` (in the configured zone), collecting one problem per
    /// rule broken, in the order of the fields: `full_name` (non-empty, at most 200
    /// characters, no control characters), `date_of_birth` (not in the future, not before
    /// 1900), `national_id` (a CCCD agreeing with `sex` and `date_of_birth`), `blood_group`,
    /// `phone` (a Vietnamese mobile number), `province` and `commune` (at most 100
    /// characters), `weight_kg` (above 0 and below 300), `prior_donations` (0 to 1000),
    /// `prior_last_donation_on` (only with `prior_donations` above 0; not in the future, not
    /// before the date of birth).
    pub fn validate(self, today: NaiveDate) -> Result<DonorDetails, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let full_name = text("full_name", &self.full_name, MAX_NAME_CHARS, &mut problems);
        let dob_ok = self.check_date_of_birth(today, &mut problems);

        let national_id_text = given(self.national_id.as_deref())
            .map(|n| text("national_id", n, MAX_NATIONAL_ID_CHARS, &mut problems));
        let (sex, dob) = (self.sex, self.date_of_birth);
        let national_id = parsed(
            "national_id",
            national_id_text.as_deref(),
            |n| NationalId::parse(n, sex, dob),
            &mut problems,
        );
        let blood_group = parsed(
            "blood_group",
            given(self.blood_group.as_deref()),
            BloodGroup::parse,
            &mut problems,
        );
        let phone = parsed(
            "phone",
            given(self.phone.as_deref()),
            PhoneNumber::parse,
            &mut problems,
        );
        let province = given(self.province.as_deref())
            .map(|p| text("province", p, MAX_PLACE_CHARS, &mut problems));
        let commune = given(self.commune.as_deref())
            .map(|c| text("commune", c, MAX_PLACE_CHARS, &mut problems));

        if let Some(w) = self.weight_kg {
            if !(w.is_finite() && w > 0.0 && w < MAX_WEIGHT_KG) {
                problems.push(FieldProblem::new(
                    "weight_kg",
                    FieldCode::OutOfRange,
                    format!("must be above 0 and below {MAX_WEIGHT_KG}"),
                ));
            }
        }
        let prior_donations = if (0..=MAX_PRIOR_DONATIONS).contains(&self.prior_donations) {
            i32::try_from(self.prior_donations).unwrap_or(0)
        } else {
            problems.push(FieldProblem::new(
                "prior_donations",
                FieldCode::OutOfRange,
                format!("must be between 0 and {MAX_PRIOR_DONATIONS}"),
            ));
            0
        };
        if let Some(d) = self.prior_last_donation_on {
            if self.prior_donations == 0 {
                problems.push(FieldProblem::new(
                    "prior_last_donation_on",
                    FieldCode::NotAllowed,
                    "must be empty when prior_donations is 0",
                ));
            } else if d > today {
                problems.push(FieldProblem::new(
                    "prior_last_donation_on",
                    FieldCode::OutOfRange,
                    "must not be in the future",
                ));
            } else if dob_ok && d < self.date_of_birth {
                problems.push(FieldProblem::new(
                    "prior_last_donation_on",
                    FieldCode::OutOfRange,
                    "must not be before the date of birth",
                ));
            }
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(DonorDetails {
            name_folded: fold(&full_name),
            full_name,
            date_of_birth: self.date_of_birth,
            sex: self.sex,
            national_id,
            blood_group,
            phone,
            province_folded: province.as_deref().map(fold),
            province,
            commune_folded: commune.as_deref().map(fold),
            commune,
            weight_kg: self.weight_kg,
            prior_donations,
            prior_last_donation_on: self.prior_last_donation_on,
        })
    }

    /// Records the date of birth's fault, if any; true when it has none.
    fn check_date_of_birth(&self, today: NaiveDate, problems: &mut Vec<FieldProblem>) -> bool {
        let earliest = NaiveDate::from_ymd_opt(EARLIEST_BIRTH_YEAR, 1, 1).unwrap_or(NaiveDate::MIN);
        let message = if self.date_of_birth > today {
            "must not be in the future".to_owned()
        } else if self.date_of_birth < earliest {
            format!("must not be before {EARLIEST_BIRTH_YEAR}")
        } else {
            return true;
        };
        problems.push(FieldProblem::new(
            "date_of_birth",
            FieldCode::OutOfRange,
            message,
        ));
        false
    }
}

/// The reserve consent day after an edit: withdrawing clears it; staying in keeps the first
/// consent; joining (again) consents today.
pub fn reserve_since(
    reserve: bool,
    was_reserve: bool,
    was_since: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<NaiveDate> {
    match (reserve, was_reserve, was_since) {
        (false, _, _) => None,
        (true, true, Some(since)) => Some(since),
        (true, _, _) => Some(today),
    }
}

/// What the derived figures read of a stored donor: the person and the counters the donation
/// transaction keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct DonorRecord {
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Last recorded weight.
    pub weight_kg: Option<f64>,
    /// Donations before the system.
    pub prior_donations: i32,
    /// The day of the last prior donation (counts as whole blood).
    pub prior_last_donation_on: Option<NaiveDate>,
    /// Collected, not voided donations recorded.
    pub collected_count: i32,
    /// The last recorded donation's instant (UTC).
    pub last_donation_at: Option<NaiveDateTime>,
    /// The last recorded donation's component (whole blood when unknown).
    pub last_component: Option<Component>,
    /// The latest end of a temporary deferral.
    pub deferred_until: Option<NaiveDate>,
    /// Any permanent deferral.
    pub permanently_deferred: bool,
}

/// The figures shown with a donor, derived from the record.
#[derive(Debug, Clone, PartialEq)]
pub struct DonorFigures {
    /// `prior_donations` + collected donations recorded (voided ones excluded).
    pub donation_count: i32,
    /// The last recorded donation; else the start of `prior_last_donation_on` in the zone.
    pub last_donation_at: Option<DateTime<Utc>>,
    /// The first day from today a whole-blood donation would pass the date rules (intervals,
    /// age, deferrals); None when never.
    pub next_eligible_on: Option<NaiveDate>,
    /// `donation_count` reaches the lowest honor tier.
    pub honor_eligible: bool,
    /// The highest tier reached with no award at that tier or above.
    pub honor_due_tier: Option<i32>,
}

/// What the figures depend on besides the record: the rules in force and the day.
#[derive(Debug, Clone, Copy)]
pub struct FigureRules<'a> {
    /// The eligibility rules.
    pub eligibility: &'a EligibilityRules,
    /// The honor tiers.
    pub tiers: &'a TierTable,
    /// The zone of calendar days.
    pub zone: Zone,
    /// Today in that zone.
    pub today: NaiveDate,
}

impl DonorRecord {
    /// The derived figures; `highest_award` is the highest tier the donor was awarded.
    pub fn figures(&self, rules: FigureRules<'_>, highest_award: Option<i32>) -> DonorFigures {
        let zone = rules.zone;
        let donation_count = self.prior_donations.saturating_add(self.collected_count);
        let last_donation_at = self
            .last_donation_at
            .map(|t| t.and_utc())
            .or_else(|| self.prior_last_donation_on.map(|d| zone.start_of_day(d)));

        let mut history = Vec::with_capacity(2);
        if let Some(at) = self.last_donation_at {
            history.push(PastDonation {
                day: zone.day_of(at.and_utc()),
                component: self.last_component.unwrap_or(Component::WholeBlood),
            });
        }
        if let Some(day) = self.prior_last_donation_on {
            history.push(PastDonation {
                day,
                component: Component::WholeBlood,
            });
        }
        let mut deferrals = Vec::with_capacity(2);
        if self.permanently_deferred {
            deferrals.push(Deferral {
                from: NaiveDate::MIN,
                until: None,
            });
        }
        if let Some(until) = self.deferred_until {
            deferrals.push(Deferral {
                from: NaiveDate::MIN,
                until: Some(until),
            });
        }
        let person = eligibility::Donor {
            date_of_birth: self.date_of_birth,
            sex: self.sex,
            weight_kg: self.weight_kg,
        };
        let next_eligible_on = eligibility::next_eligible_on(
            rules.eligibility,
            &person,
            &history,
            &deferrals,
            Component::WholeBlood,
            rules.today,
        );
        let count = u32::try_from(donation_count).unwrap_or(0);
        let held = highest_award.and_then(|t| u32::try_from(t).ok());
        let honor_due_tier = rules
            .tiers
            .due_tier(count, held)
            .and_then(|t| i32::try_from(t).ok());
        DonorFigures {
            donation_count,
            last_donation_at,
            next_eligible_on,
            honor_eligible: count >= rules.tiers.lowest(),
            honor_due_tier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const TODAY: &str = "2024-06-01";

    fn draft() -> DonorDraft {
        DonorDraft {
            full_name: "  Giàng Thị Dung ".to_owned(),
            date_of_birth: d("1990-05-17"),
            sex: Sex::Female,
            national_id: Some("010190123456".to_owned()),
            blood_group: Some(" O+ ".to_owned()),
            phone: Some("+84 912 345 678".to_owned()),
            province: Some("Lào Cai".to_owned()),
            commune: Some("  ".to_owned()),
            weight_kg: Some(48.5),
            prior_donations: 7,
            prior_last_donation_on: Some(d("2024-03-01")),
        }
    }

    #[test]
    fn a_valid_draft_is_normalised() {
        let v = draft().validate(d(TODAY)).unwrap();
        assert_eq!(v.full_name, "Giàng Thị Dung");
        assert_eq!(v.name_folded, "giang thi dung");
        assert_eq!(v.national_id.unwrap().as_str(), "010190123456");
        assert_eq!(v.blood_group, Some(BloodGroup::OPos));
        assert_eq!(v.phone.unwrap().as_str(), "0912345678");
        assert_eq!(v.province_folded.as_deref(), Some("lao cai"));
        assert_eq!(v.commune, None, "blank is absent");
        assert_eq!(v.prior_donations, 7);
    }

    #[test]
    fn each_rule_names_its_field_and_message() {
        type Edit = fn(&mut DonorDraft);
        let cases: &[(Edit, &[(&str, &str)])] = &[
            (
                |c| c.full_name = " ".into(),
                &[("full_name", "must not be empty")],
            ),
            (
                |c| c.full_name = "x".repeat(201),
                &[("full_name", "must be at most 200 characters")],
            ),
            (
                |c| c.full_name = "a\u{7}b".into(),
                &[("full_name", "must not contain control characters")],
            ),
            (
                |c| {
                    c.date_of_birth = d("2024-06-02");
                    c.national_id = None;
                    c.prior_last_donation_on = None;
                },
                &[("date_of_birth", "must not be in the future")],
            ),
            (
                |c| {
                    c.date_of_birth = d("1899-12-31");
                    c.national_id = None;
                    c.prior_last_donation_on = None;
                },
                &[("date_of_birth", "must not be before 1900")],
            ),
            (|c| c.sex = Sex::Male, &[("national_id", "")]),
            (
                |c| c.national_id = Some("0101901234\u{0}6".into()),
                &[
                    ("national_id", "must not contain control characters"),
                    ("national_id", ""),
                ],
            ),
            (
                |c| c.blood_group = Some("C+".into()),
                &[("blood_group", "")],
            ),
            (|c| c.phone = Some("12345".into()), &[("phone", "")]),
            (
                |c| c.province = Some("p".repeat(101)),
                &[("province", "must be at most 100 characters")],
            ),
            (
                |c| c.commune = Some("c\u{202E}".into()),
                &[("commune", "must not contain control characters")],
            ),
            (
                |c| c.weight_kg = Some(0.0),
                &[("weight_kg", "must be above 0 and below 300")],
            ),
            (
                |c| c.weight_kg = Some(300.0),
                &[("weight_kg", "must be above 0 and below 300")],
            ),
            (
                |c| c.weight_kg = Some(f64::NAN),
                &[("weight_kg", "must be above 0 and below 300")],
            ),
            (
                |c| c.prior_donations = -1,
                &[("prior_donations", "must be between 0 and 1000")],
            ),
            (
                |c| c.prior_donations = 1001,
                &[("prior_donations", "must be between 0 and 1000")],
            ),
            (
                |c| c.prior_last_donation_on = Some(d("2024-06-02")),
                &[("prior_last_donation_on", "must not be in the future")],
            ),
            (
                |c| c.prior_last_donation_on = Some(d("1990-05-16")),
                &[(
                    "prior_last_donation_on",
                    "must not be before the date of birth",
                )],
            ),
            (
                |c| c.prior_donations = 0,
                &[(
                    "prior_last_donation_on",
                    "must be empty when prior_donations is 0",
                )],
            ),
            (
                |c| {
                    c.prior_donations = 0;
                    c.prior_last_donation_on = Some(d("2024-06-02"));
                },
                &[(
                    "prior_last_donation_on",
                    "must be empty when prior_donations is 0",
                )],
            ),
        ];
        for (i, (edit, want)) in cases.iter().enumerate() {
            let mut c = draft();
            edit(&mut c);
            let problems = c.validate(d(TODAY)).unwrap_err();
            let got: Vec<(&str, &str)> = problems
                .iter()
                .map(|p| (p.field, p.message.as_str()))
                .collect();
            assert_eq!(got.len(), want.len(), "case {i}: {got:?}");
            for ((field, message), (want_field, want_message)) in got.iter().zip(want.iter()) {
                assert_eq!(field, want_field, "case {i}");
                // An empty expected message: the identifier's own explanation.
                if !want_message.is_empty() {
                    assert_eq!(message, want_message, "case {i}");
                }
            }
        }
    }

    #[test]
    fn paper_history_is_consistent() {
        // (prior_donations, prior_last_donation_on given) → accepted
        for (prior, with_day, ok) in [
            (0, false, true),
            (0, true, false),
            (1, false, true),
            (1, true, true),
            (7, true, true),
        ] {
            let mut c = draft();
            c.prior_donations = prior;
            c.prior_last_donation_on = with_day.then(|| d("2024-03-01"));
            assert_eq!(c.validate(d(TODAY)).is_ok(), ok, "{prior} {with_day}");
        }
    }

    #[test]
    fn a_bad_birth_date_does_not_also_fault_the_prior_donation_day() {
        let mut c = draft();
        c.date_of_birth = d("1850-01-01");
        c.national_id = None;
        c.prior_last_donation_on = Some(d("1800-01-01"));
        let fields: Vec<&str> = c
            .validate(d(TODAY))
            .unwrap_err()
            .iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["date_of_birth"]);
    }

    #[test]
    fn reserve_consent_days() {
        let (old, today) = (Some(d("2020-01-01")), d(TODAY));
        for (reserve, was, since, want) in [
            (false, true, old, None),
            (false, false, None, None),
            (true, true, old, old),
            (true, true, None, Some(today)),
            (true, false, None, Some(today)),
            (true, false, old, Some(today)),
        ] {
            assert_eq!(reserve_since(reserve, was, since, today), want);
        }
    }

    fn record() -> DonorRecord {
        DonorRecord {
            date_of_birth: d("1990-05-17"),
            sex: Sex::Female,
            weight_kg: Some(50.0),
            prior_donations: 3,
            prior_last_donation_on: None,
            collected_count: 0,
            last_donation_at: None,
            last_component: None,
            deferred_until: None,
            permanently_deferred: false,
        }
    }

    #[test]
    fn figures() {
        let zone = Zone::parse("Asia/Ho_Chi_Minh").unwrap();
        let rules = EligibilityRules::default();
        let tiers = TierTable::default();
        let today = d(TODAY);
        let at = |r: &DonorRecord, award| {
            r.figures(
                FigureRules {
                    eligibility: &rules,
                    tiers: &tiers,
                    zone,
                    today,
                },
                award,
            )
        };
        let fresh = at(&record(), None);
        assert_eq!(fresh.donation_count, 3);
        assert_eq!(fresh.last_donation_at, None);
        assert_eq!(fresh.next_eligible_on, Some(today));
        assert!(!fresh.honor_eligible);

        let paper = DonorRecord {
            prior_last_donation_on: Some(d("2024-05-01")),
            ..record()
        };
        let f = at(&paper, None);
        assert_eq!(
            f.last_donation_at.map(|t| t.to_rfc3339()),
            Some("2024-04-30T17:00:00+00:00".to_owned()),
            "the start of the day in the zone"
        );
        assert!(f.next_eligible_on > Some(today));

        let recorded = DonorRecord {
            collected_count: 2,
            last_donation_at: d("2024-05-31").and_hms_opt(1, 0, 0),
            prior_last_donation_on: Some(d("2024-01-01")),
            ..record()
        };
        let f = at(&recorded, None);
        assert_eq!(f.donation_count, 5);
        assert_eq!(
            f.last_donation_at,
            d("2024-05-31").and_hms_opt(1, 0, 0).map(|t| t.and_utc())
        );

        let never = DonorRecord {
            permanently_deferred: true,
            ..record()
        };
        assert_eq!(at(&never, None).next_eligible_on, None);

        let lowest = i32::try_from(tiers.lowest()).unwrap();
        let due = DonorRecord {
            prior_donations: lowest,
            ..record()
        };
        let f = at(&due, None);
        assert!(f.honor_eligible);
        assert_eq!(f.honor_due_tier, Some(lowest));
        assert_eq!(
            at(&due, Some(lowest)).honor_due_tier,
            None,
            "awarded already"
        );
    }
}
