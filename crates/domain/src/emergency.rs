//! Emergency requests from the reserve: the stored vocabularies (status, urgency, a donor's
//! answer), the request's state machine and who may be called for it.
//!
//! A request is `open` until its collected units reach the units needed (`fulfilled`; a void
//! that takes it below again reopens it) or the hospital calls it off (`cancelled`, final).
//! Candidates, answers and donations are taken for open requests only.

use chrono::{Datelike, NaiveDate};

use crate::blood::{compatibility, donor_groups_for, BloodGroup, Component, Match};
use crate::eligibility::EligibilityRules;
use crate::person::Sex;
use crate::DomainError;

/// A request's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    /// Still looking for donors.
    Open,
    /// `units_received` reached `units_needed`.
    Fulfilled,
    /// Called off by the hospital.
    Cancelled,
}

/// The refusal of an operation that needs an open request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request is {0}")]
pub struct NotOpen(pub RequestStatus);

/// What cancelling a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelling {
    /// The open request becomes cancelled.
    Cancel,
    /// It already was: nothing changes (cancelling is idempotent).
    AlreadyCancelled,
}

impl RequestStatus {
    /// Every status.
    pub const ALL: [RequestStatus; 3] = [
        RequestStatus::Open,
        RequestStatus::Fulfilled,
        RequestStatus::Cancelled,
    ];

    /// The stored and serialised name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Fulfilled => "fulfilled",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored or submitted status (exact spelling).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        RequestStatus::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::InvalidRequestStatus(s.to_owned()))
    }

    /// Candidates, answers and donations are for open requests only.
    pub fn require_open(self) -> Result<(), NotOpen> {
        match self {
            RequestStatus::Open => Ok(()),
            other => Err(NotOpen(other)),
        }
    }

    /// Cancelling: an open request is cancelled, a cancelled one stays so, a fulfilled one
    /// cannot be.
    pub fn cancel(self) -> Result<Cancelling, NotOpen> {
        match self {
            RequestStatus::Open => Ok(Cancelling::Cancel),
            RequestStatus::Cancelled => Ok(Cancelling::AlreadyCancelled),
            RequestStatus::Fulfilled => Err(NotOpen(self)),
        }
    }

    /// The status once `received` units (collected, not voided) count towards `needed`:
    /// fulfilled at `needed`, open below it (a void can reopen a fulfilled request); a
    /// cancelled request stays cancelled.
    pub fn with_units(self, received: i32, needed: i32) -> RequestStatus {
        match self {
            RequestStatus::Cancelled => RequestStatus::Cancelled,
            _ if received >= needed => RequestStatus::Fulfilled,
            _ => RequestStatus::Open,
        }
    }
}

string_enum!(RequestStatus, "`open`, `fulfilled` or `cancelled`");

/// A donor's answer to a call-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// Will come (or came).
    Accepted,
    /// Will not come: never offered again for this request.
    Declined,
    /// Could not be reached.
    NoAnswer,
}

impl ResponseKind {
    /// Every answer.
    pub const ALL: [ResponseKind; 3] = [
        ResponseKind::Accepted,
        ResponseKind::Declined,
        ResponseKind::NoAnswer,
    ];

    /// The stored and serialised name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResponseKind::Accepted => "accepted",
            ResponseKind::Declined => "declined",
            ResponseKind::NoAnswer => "no_answer",
        }
    }

    /// Parses a stored or submitted answer (exact spelling).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        ResponseKind::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::InvalidResponseKind(s.to_owned()))
    }
}

string_enum!(ResponseKind, "`accepted`, `declined` or `no_answer`");

/// How soon the blood is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Urgency {
    /// Life-threatening, now.
    Critical,
    /// Within hours.
    Urgent,
    /// Planned.
    Routine,
}

impl Urgency {
    /// Every urgency.
    pub const ALL: [Urgency; 3] = [Urgency::Critical, Urgency::Urgent, Urgency::Routine];

    /// The stored and serialised name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Urgency::Critical => "critical",
            Urgency::Urgent => "urgent",
            Urgency::Routine => "routine",
        }
    }

    /// Parses a stored or submitted urgency (exact spelling).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Urgency::ALL
            .into_iter()
            .find(|u| u.as_str() == s)
            .ok_or_else(|| DomainError::InvalidUrgency(s.to_owned()))
    }
}

string_enum!(Urgency, "`critical`, `urgent` or `routine`");

/// Who may be called for a request on a day, as far as the rules go: the donor groups that
/// fit the patient for the component, the age limits as dates of birth, and the minimum
/// weights for the component. (Being in the reserve, eligible on the day and not having
/// declined are the stored facts the repository checks alongside.)
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateCriteria {
    /// The day eligibility is judged on.
    pub on: NaiveDate,
    /// Donor groups of an identical match (same ABO and RhD; plasma: same ABO).
    pub identical_groups: Vec<BloodGroup>,
    /// Donor groups of a compatible (not identical) match.
    pub compatible_groups: Vec<BloodGroup>,
    /// Born after this day: at most the maximum age on `on`.
    pub born_after: NaiveDate,
    /// Born on or before this day: at least the minimum age on `on`.
    pub born_on_or_before: NaiveDate,
    /// The minimum weight of a woman for the component (unknown weights pass: the weight is
    /// checked at the collection).
    pub min_weight_female_kg: f64,
    /// The minimum weight of a man for the component.
    pub min_weight_male_kg: f64,
}

impl CandidateCriteria {
    /// The criteria for a patient of `patient`'s group needing `component`, judged on `on`.
    pub fn for_request(
        rules: &EligibilityRules,
        patient: BloodGroup,
        component: Component,
        on: NaiveDate,
    ) -> Self {
        let groups = donor_groups_for(patient, component);
        let of = |m: Match| -> Vec<BloodGroup> {
            groups
                .iter()
                .filter(|(_, gm)| *gm == m)
                .map(|(g, _)| *g)
                .collect()
        };
        Self {
            on,
            identical_groups: of(Match::Identical),
            compatible_groups: of(Match::Compatible),
            born_after: latest_birth_for_age(on, rules.max_age.saturating_add(1)),
            born_on_or_before: latest_birth_for_age(on, rules.min_age),
            min_weight_female_kg: rules.min_weight_kg(Sex::Female, component),
            min_weight_male_kg: rules.min_weight_kg(Sex::Male, component),
        }
    }
}

/// Why a collected unit may not count toward a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unsuitable {
    /// The unit is not of the component the request asks for.
    #[error("the request is for {requested}, this unit is {given}")]
    OtherComponent {
        /// The request's component.
        requested: Component,
        /// The unit's component.
        given: Component,
    },
    /// The donor's group is not known, so the unit cannot be matched to the patient.
    #[error("the donor's blood group is not known: a unit for a patient needs a typed donor")]
    UnknownGroup,
    /// The donor's group does not fit the patient's for the component.
    #[error("{component} from a donor of group {donor} is not compatible with a patient of group {patient}")]
    Incompatible {
        /// The patient's group.
        patient: BloodGroup,
        /// The donor's group.
        donor: BloodGroup,
        /// The component.
        component: Component,
    },
}

/// Whether a collected unit of `given` from a donor of group `donor` (`None` = not known)
/// may count toward a request for `requested` for a patient of group `patient`: the same
/// component, a known donor group, and [`compatibility`] (the candidates' tables). The
/// match says how well it fits.
pub fn unit_for_request(
    patient: BloodGroup,
    requested: Component,
    donor: Option<BloodGroup>,
    given: Component,
) -> Result<Match, Unsuitable> {
    if given != requested {
        return Err(Unsuitable::OtherComponent { requested, given });
    }
    let donor = donor.ok_or(Unsuitable::UnknownGroup)?;
    compatibility(patient, donor, requested).ok_or(Unsuitable::Incompatible {
        patient,
        donor,
        component: requested,
    })
}

/// The latest date of birth of someone at least `age` full years old on `today` (see
/// [`crate::person::age_on`]: a 29 February birthday counts on 1 March in common years).
pub fn latest_birth_for_age(today: NaiveDate, age: i32) -> NaiveDate {
    let year = today.year() - age;
    NaiveDate::from_ymd_opt(year, today.month(), today.day())
        // Today is 29 February and that year is common: born on 28 February, one is `age`
        // today; born on 1 March, not yet.
        .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::person::age_on;
    use RequestStatus::{Cancelled, Fulfilled, Open};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn vocabularies_round_trip_through_their_stored_names() {
        for (s, name) in [
            (Open, "open"),
            (Fulfilled, "fulfilled"),
            (Cancelled, "cancelled"),
        ] {
            assert_eq!(s.as_str(), name);
            assert_eq!(RequestStatus::parse(name), Ok(s));
        }
        for (r, name) in [
            (ResponseKind::Accepted, "accepted"),
            (ResponseKind::Declined, "declined"),
            (ResponseKind::NoAnswer, "no_answer"),
        ] {
            assert_eq!(r.as_str(), name);
            assert_eq!(ResponseKind::parse(name), Ok(r));
        }
        for (u, name) in [
            (Urgency::Critical, "critical"),
            (Urgency::Urgent, "urgent"),
            (Urgency::Routine, "routine"),
        ] {
            assert_eq!(u.as_str(), name);
            assert_eq!(Urgency::parse(name), Ok(u));
        }
        assert_eq!(
            RequestStatus::parse("Open"),
            Err(DomainError::InvalidRequestStatus("Open".to_owned()))
        );
        assert_eq!(
            ResponseKind::parse("no answer"),
            Err(DomainError::InvalidResponseKind("no answer".to_owned()))
        );
        assert_eq!(
            Urgency::parse(""),
            Err(DomainError::InvalidUrgency(String::new()))
        );
        let u: Urgency = serde_json::from_str("\"urgent\"").unwrap();
        assert_eq!(u, Urgency::Urgent);
        assert!(serde_json::from_str::<Urgency>("\"soon\"").is_err());
    }

    #[test]
    fn only_open_requests_take_candidates_answers_and_donations() {
        for (status, want) in [
            (Open, Ok(())),
            (Fulfilled, Err(NotOpen(Fulfilled))),
            (Cancelled, Err(NotOpen(Cancelled))),
        ] {
            assert_eq!(status.require_open(), want, "{status}");
        }
        assert_eq!(NotOpen(Fulfilled).to_string(), "the request is fulfilled");
    }

    #[test]
    fn cancelling() {
        for (status, want) in [
            (Open, Ok(Cancelling::Cancel)),
            (Cancelled, Ok(Cancelling::AlreadyCancelled)),
            (Fulfilled, Err(NotOpen(Fulfilled))),
        ] {
            assert_eq!(status.cancel(), want, "{status}");
        }
    }

    #[test]
    fn units_fulfil_and_reopen() {
        for (status, received, needed, want) in [
            (Open, 0, 2, Open),
            (Open, 1, 2, Open),
            (Open, 2, 2, Fulfilled),
            (Open, 3, 2, Fulfilled),
            (Fulfilled, 2, 2, Fulfilled),
            (Fulfilled, 1, 2, Open),
            (Cancelled, 0, 2, Cancelled),
            (Cancelled, 5, 2, Cancelled),
        ] {
            assert_eq!(
                status.with_units(received, needed),
                want,
                "{status} {received}/{needed}"
            );
        }
    }

    #[test]
    fn birth_bounds_agree_with_age_on() {
        for today in [
            "2024-02-29",
            "2024-02-28",
            "2024-03-01",
            "2023-02-28",
            "2023-03-01",
            "2025-01-01",
            "2025-12-31",
        ] {
            let today = day(today);
            for age in [18, 60, 61] {
                let latest = latest_birth_for_age(today, age);
                assert!(age_on(latest, today) >= age, "{today} {age} {latest}");
                let next = latest.succ_opt().unwrap();
                assert!(age_on(next, today) < age, "{today} {age} {next}");
            }
        }
    }

    #[test]
    fn units_for_a_request() {
        use Component::{Plasma, Platelets, RedCells, WholeBlood};
        let g = |s: &str| BloodGroup::parse(s).unwrap();
        type Case = (
            &'static str,
            Component,
            Option<&'static str>,
            Component,
            Result<Match, &'static str>,
        );
        let cases: &[Case] = &[
            ("O-", RedCells, Some("O-"), RedCells, Ok(Match::Identical)),
            ("O-", RedCells, Some("O+"), RedCells, Err("incompatible")),
            ("O-", RedCells, None, RedCells, Err("unknown")),
            ("O-", RedCells, Some("O-"), WholeBlood, Err("component")),
            ("O-", RedCells, None, Plasma, Err("component")),
            ("AB+", RedCells, Some("O-"), RedCells, Ok(Match::Compatible)),
            (
                "A+",
                WholeBlood,
                Some("A-"),
                WholeBlood,
                Ok(Match::Compatible),
            ),
            (
                "A+",
                WholeBlood,
                Some("O+"),
                WholeBlood,
                Err("incompatible"),
            ),
            ("O-", Plasma, Some("AB+"), Plasma, Ok(Match::Compatible)),
            ("AB-", Plasma, Some("O-"), Plasma, Err("incompatible")),
            (
                "B-",
                Platelets,
                Some("AB-"),
                Platelets,
                Ok(Match::Compatible),
            ),
            ("B-", Platelets, Some("AB+"), Platelets, Err("incompatible")),
        ];
        for &(patient, requested, donor, given, want) in cases {
            let got =
                unit_for_request(g(patient), requested, donor.map(g), given).map_err(|e| match e {
                    Unsuitable::OtherComponent { .. } => "component",
                    Unsuitable::UnknownGroup => "unknown",
                    Unsuitable::Incompatible { .. } => "incompatible",
                });
            assert_eq!(got, want, "{patient} {requested} {donor:?} {given}");
        }
        // Of the request's component and a known group, the candidates' table decides.
        for patient in BloodGroup::ALL {
            for c in Component::ALL {
                for donor in BloodGroup::ALL {
                    assert_eq!(
                        unit_for_request(patient, c, Some(donor), c).ok(),
                        compatibility(patient, donor, c),
                        "{patient} {c} {donor}"
                    );
                }
            }
        }
        let e = unit_for_request(g("O-"), RedCells, Some(g("O+")), RedCells).unwrap_err();
        assert_eq!(
            e.to_string(),
            "red_cells from a donor of group O+ is not compatible with a patient of group O-"
        );
    }

    #[test]
    fn criteria_for_a_request() {
        let rules = EligibilityRules::default();
        let g = |s: &str| BloodGroup::parse(s).unwrap();
        let c = CandidateCriteria::for_request(
            &rules,
            g("AB+"),
            Component::RedCells,
            day("2024-02-29"),
        );
        assert_eq!(c.identical_groups, [g("AB+")]);
        assert_eq!(c.compatible_groups.len(), 7);
        assert!(!c.compatible_groups.contains(&g("AB+")));
        assert_eq!(c.born_on_or_before, day("2006-02-28"));
        assert_eq!(
            c.born_after,
            latest_birth_for_age(day("2024-02-29"), rules.max_age + 1)
        );
        assert_eq!(
            c.min_weight_female_kg,
            rules.min_weight_kg(Sex::Female, Component::RedCells)
        );
        assert_eq!(
            c.min_weight_male_kg,
            rules.min_weight_kg(Sex::Male, Component::RedCells)
        );
        // Apheresis red cells: 50 kg for women and men alike (Art. 4.2(b)).
        assert_eq!((c.min_weight_female_kg, c.min_weight_male_kg), (50.0, 50.0));
        let whole = CandidateCriteria::for_request(
            &rules,
            g("A+"),
            Component::WholeBlood,
            day("2024-04-07"),
        );
        assert_eq!(
            (whole.min_weight_female_kg, whole.min_weight_male_kg),
            (42.0, 45.0)
        );
        let plasma =
            CandidateCriteria::for_request(&rules, g("O-"), Component::Plasma, day("2024-04-07"));
        assert!(plasma.identical_groups.contains(&g("O+")));
        assert_eq!(
            plasma.min_weight_female_kg,
            rules.min_weight_kg(Sex::Female, Component::Plasma)
        );
    }
}
