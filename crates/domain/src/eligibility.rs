//! Who may give what, and when (domain rules §1, Circular 26/2013/TT-BYT Art. 4–6).
//!
//! [`check`] decides one proposed collection; [`next_eligible_on`] finds the first day a donor
//! could give. Both are pure: the caller loads the donor, their collected (not voided)
//! donations and their deferrals, and decides inside the write transaction.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::person::{age_on, birthday_at_age};
use crate::{Component, Sex};

/// The numbers of the eligibility rules. `Default` is the national rule; a province or
/// another country overrides any of them from TOML (missing keys keep the default).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct EligibilityRules {
    /// Youngest age, in full years, at which one may donate.
    pub min_age: i32,
    /// Oldest age, inclusive: eligible while [`age_on`] ≤ this.
    pub max_age: i32,
    /// Whole-blood minimum weight for women. The national institute's FAQ says 45 kg for
    /// everyone; the circular says 42 kg for women, hence a separate setting.
    pub min_weight_female_kg: f64,
    /// Whole-blood minimum weight for men.
    pub min_weight_male_kg: f64,
    /// From the minimum weight up to (not including) this, a whole-blood donation is
    /// capped at [`EligibilityRules::reduced_volume_ml`].
    pub reduced_volume_below_kg: f64,
    /// The cap for light donors.
    pub reduced_volume_ml: i32,
    /// Whole-blood allowance per kilogram of body weight at and above
    /// [`EligibilityRules::reduced_volume_below_kg`].
    pub ml_per_kg: f64,
    /// Absolute whole-blood cap.
    pub max_whole_blood_ml: i32,
    /// Minimum weight for apheresis (red cells, platelets and plasma), men and women alike
    /// (Art. 4.2(b)).
    pub apheresis_min_weight_kg: f64,
    /// Apheresis cap per session for donors under [`EligibilityRules::apheresis_large_weight_kg`].
    pub apheresis_max_ml: i32,
    /// Weight from which the larger apheresis cap applies.
    pub apheresis_large_weight_kg: f64,
    /// Apheresis cap per session for heavier donors.
    pub apheresis_large_max_ml: i32,
    /// Days to wait after a whole-blood or red-cell donation (12 weeks).
    pub long_interval_days: i64,
    /// Days to wait after a platelet or plasma donation (2 weeks).
    pub short_interval_days: i64,
}

impl EligibilityRules {
    /// SHA-256 of the rules' JSON form: any change of any number (a new setting included)
    /// changes it. Stored derived figures (each donor's `next_eligible_on`) remember the
    /// fingerprint of the rules they were computed with, so that a change is noticed at start.
    pub fn fingerprint(&self) -> Result<String, serde_json::Error> {
        use sha2::{Digest, Sha256};
        Ok(hex::encode(Sha256::digest(serde_json::to_vec(self)?)))
    }
}

impl Default for EligibilityRules {
    fn default() -> Self {
        EligibilityRules {
            min_age: 18,
            max_age: 60,
            min_weight_female_kg: 42.0,
            min_weight_male_kg: 45.0,
            reduced_volume_below_kg: 45.0,
            reduced_volume_ml: 250,
            ml_per_kg: 9.0,
            max_whole_blood_ml: 500,
            apheresis_min_weight_kg: 50.0,
            apheresis_max_ml: 500,
            apheresis_large_weight_kg: 60.0,
            apheresis_large_max_ml: 650,
            long_interval_days: 84,
            short_interval_days: 14,
        }
    }
}

impl EligibilityRules {
    /// Days to wait after a donation of `c` before the next donation of any kind
    /// (the most recent donation's type decides, Art. 6.4).
    pub fn interval_after(&self, c: Component) -> i64 {
        if c.is_whole_blood_like() {
            self.long_interval_days
        } else {
            self.short_interval_days
        }
    }

    /// The minimum body weight for giving `c`: the whole-blood minimum of the donor's sex for
    /// whole blood; the apheresis minimum, whatever the sex, for red cells, platelets and
    /// plasma (Art. 4.2(b)).
    pub fn min_weight_kg(&self, sex: Sex, c: Component) -> f64 {
        match (c.is_apheresis(), sex) {
            (false, Sex::Female) => self.min_weight_female_kg,
            (false, Sex::Male) => self.min_weight_male_kg,
            (true, _) => self.apheresis_min_weight_kg,
        }
    }

    /// Largest allowed volume for this donor and component; `None` = weight unknown (volume
    /// not checked); `Some(0)` = not allowed at this weight. Whole blood: the reduced bag
    /// below [`EligibilityRules::reduced_volume_below_kg`], else so many millilitres per
    /// kilogram up to the whole-blood cap. Apheresis (red cells too): the session cap, the
    /// larger one from [`EligibilityRules::apheresis_large_weight_kg`].
    ///
    /// A weight that is not a finite number counts as unknown rather than as a reason to
    /// refuse: it can only come from a broken import, and refusing would hide the bug
    /// behind an "underweight" message.
    pub fn allowed_volume_ml(&self, sex: Sex, weight_kg: Option<f64>, c: Component) -> Option<i32> {
        let w = weight_kg.filter(|w| w.is_finite())?;
        if w < self.min_weight_kg(sex, c) {
            return Some(0);
        }
        let allowed = if !c.is_apheresis() {
            if w < self.reduced_volume_below_kg {
                self.reduced_volume_ml
            } else {
                // `as` saturates, and the cap bounds it anyway.
                let per_kg = (self.ml_per_kg * w).floor() as i32;
                per_kg.min(self.max_whole_blood_ml)
            }
        } else if w >= self.apheresis_large_weight_kg {
            self.apheresis_large_max_ml
        } else {
            self.apheresis_max_ml
        };
        Some(allowed.max(0))
    }

    /// Interval actually enforced: two collections on one day are always a conflict (a
    /// duplicate entry, not a second donation), even if a config sets an interval of 0.
    fn effective_interval(&self, c: Component) -> i64 {
        self.interval_after(c).max(1)
    }
}

/// What the rules need to know about the donor.
#[derive(Clone, Debug, PartialEq)]
pub struct Donor {
    /// Date of birth, for the age limits.
    pub date_of_birth: NaiveDate,
    /// Sex, for the whole-blood weight minimum.
    pub sex: Sex,
    /// The weight to judge on (measured at screening, else the last recorded); `None` skips
    /// the weight and volume checks (the API refuses a collection without a weight before
    /// asking).
    pub weight_kg: Option<f64>,
}

/// A collected (not voided) donation of the donor already on record. Paper-era
/// `prior_last_donation_on` is passed as a `WholeBlood` collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PastDonation {
    /// The calendar day of the collection, in the configured zone.
    pub day: NaiveDate,
    /// What was collected; sets the interval that follows.
    pub component: Component,
}

/// A deferral on record: from `from` (the screening day) until `until` (the first day the
/// donor may give again); `until` `None` = permanent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Deferral {
    /// The screening day that found the donor unfit.
    pub from: NaiveDate,
    /// The first day the donor may give again; `None` = never.
    pub until: Option<NaiveDate>,
}

impl Deferral {
    /// Whether the deferral forbids donating on `day`. A back-dated collection from before
    /// the screening is not affected.
    pub fn is_active_on(&self, day: NaiveDate) -> bool {
        self.from <= day && self.until.is_none_or(|u| day < u)
    }

    /// Whether it never ends.
    pub fn is_permanent(&self) -> bool {
        self.until.is_none()
    }
}

/// A collection someone wants to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Proposed {
    /// The calendar day of the collection (it may be in the past: paper forms are entered
    /// later).
    pub day: NaiveDate,
    /// What would be collected.
    pub component: Component,
    /// Millilitres.
    pub volume_ml: i32,
}

/// Why a collection is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Younger than [`EligibilityRules::min_age`].
    TooYoung,
    /// Older than [`EligibilityRules::max_age`].
    TooOld,
    /// Lighter than the minimum for the component.
    Underweight,
    /// More than this donor may give at once; a smaller bag is fine.
    VolumeAboveAllowed {
        /// The largest volume allowed.
        allowed_ml: i32,
    },
    /// Too close to another donation, before or after it.
    Interval,
    /// A temporary deferral is in force.
    Deferred,
    /// A permanent deferral is in force.
    PermanentlyDeferred,
}

impl Reason {
    /// Stable machine-readable code, part of the API contract.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::TooYoung => "too_young",
            Reason::TooOld => "too_old",
            Reason::Underweight => "underweight",
            Reason::VolumeAboveAllowed { .. } => "volume_above_allowed",
            Reason::Interval => "interval",
            Reason::Deferred => "deferred",
            Reason::PermanentlyDeferred => "permanently_deferred",
        }
    }

    /// A sentence for people (English; the UI translates by [`Reason::code`]).
    pub fn message(&self) -> String {
        match self {
            Reason::TooYoung => "The donor is younger than the minimum age for donating.".to_owned(),
            Reason::TooOld => "The donor is older than the maximum age for donating.".to_owned(),
            Reason::Underweight => {
                "The donor weighs less than the minimum for this kind of donation.".to_owned()
            }
            Reason::VolumeAboveAllowed { allowed_ml } => {
                format!("The volume is above the {allowed_ml} ml this donor may give at once.")
            }
            Reason::Interval => {
                "The donation is too close to another one: the minimum interval between donations has not passed."
                    .to_owned()
            }
            Reason::Deferred => "The donor is deferred until a later date.".to_owned(),
            Reason::PermanentlyDeferred => "The donor is permanently deferred from donating.".to_owned(),
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// A refusal: why, and the first day the donor could give instead (`None` = never, or
/// not a matter of waiting, such as being underweight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{reason}")]
pub struct Ineligible {
    /// Why.
    pub reason: Reason,
    /// When the same collection could be recorded.
    pub next_eligible_on: Option<NaiveDate>,
}

/// `day + days`, saturating at the ends of chrono's calendar so that absurd configs or dates
/// cannot panic.
fn add_days(day: NaiveDate, days: i64) -> NaiveDate {
    day.checked_add_signed(Duration::days(days))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// `None` when a collection of `component` on `day` respects the intervals on both sides;
/// otherwise a later day before which every day is refused for the same reason, so a search
/// may jump there.
///
/// Before: the latest donation on or before `day` sets the interval (Art. 6.4; several on
/// that day: the longest interval). After: the earliest donation after `day` must be at
/// least `component`'s interval away, so a back-dated entry cannot squeeze in before a
/// recorded one.
fn interval_block(
    rules: &EligibilityRules,
    history: &[PastDonation],
    component: Component,
    day: NaiveDate,
) -> Option<NaiveDate> {
    let latest_day = history.iter().map(|h| h.day).filter(|&d| d <= day).max();
    let next_day = history.iter().map(|h| h.day).filter(|&d| d > day).min();
    if let Some(latest) = latest_day {
        let until = history
            .iter()
            .filter(|h| h.day == latest)
            .map(|h| add_days(latest, rules.effective_interval(h.component)))
            .max()
            .unwrap_or(latest);
        if day < until {
            // Do not jump past the next donation: from there on it is the latest, and its
            // own (possibly shorter) interval decides.
            return Some(next_day.map_or(until, |n| n.min(until)));
        }
    }
    match next_day {
        Some(next) if next < add_days(day, rules.effective_interval(component)) => Some(next),
        _ => None,
    }
}

/// The first day on or after `from` the donor could give `component` given history and
/// deferrals (ignores weight and volume); `None` = never (a permanent deferral, or too old
/// for good).
pub fn next_eligible_on(
    rules: &EligibilityRules,
    donor: &Donor,
    history: &[PastDonation],
    deferrals: &[Deferral],
    component: Component,
    from: NaiveDate,
) -> Option<NaiveDate> {
    let mut day = from;
    // Each step either answers or jumps strictly forward to one of finitely many dates
    // (a birthday, a deferral's end, a donation day or its interval's end), so it ends.
    loop {
        if deferrals
            .iter()
            .any(|d| d.is_permanent() && d.is_active_on(day))
        {
            return None;
        }
        let age = age_on(donor.date_of_birth, day);
        if age > rules.max_age {
            return None;
        }
        if age < rules.min_age {
            day = birthday_at_age(donor.date_of_birth, rules.min_age)?;
            continue;
        }
        // No permanent deferral is active here, so every active one has an end.
        if let Some(end) = deferrals
            .iter()
            .filter(|d| d.is_active_on(day))
            .filter_map(|d| d.until)
            .max()
        {
            day = end;
            continue;
        }
        if let Some(jump) = interval_block(rules, history, component, day) {
            day = jump;
            continue;
        }
        return Some(day);
    }
}

/// Decides a proposed collection. Checks in this order, the first failure wins: permanent
/// deferral, age, active deferral (`from <= day < until`), intervals before and after,
/// weight, volume. Weight and volume are checked only when the weight is known.
///
/// `next_eligible_on` in a refusal is the first day on or after `p.day` that passes every
/// date-based rule (so a deferral ending inside an interval reports the interval's end);
/// for a too-large volume it is `p.day` itself, since a smaller bag is fine today.
pub fn check(
    rules: &EligibilityRules,
    donor: &Donor,
    history: &[PastDonation],
    deferrals: &[Deferral],
    p: &Proposed,
) -> Result<(), Ineligible> {
    let next = || next_eligible_on(rules, donor, history, deferrals, p.component, p.day);
    let refuse = |reason, next_eligible_on| {
        Err(Ineligible {
            reason,
            next_eligible_on,
        })
    };

    if deferrals
        .iter()
        .any(|d| d.is_permanent() && d.is_active_on(p.day))
    {
        return refuse(Reason::PermanentlyDeferred, None);
    }
    let age = age_on(donor.date_of_birth, p.day);
    if age < rules.min_age {
        return refuse(Reason::TooYoung, next());
    }
    if age > rules.max_age {
        return refuse(Reason::TooOld, None);
    }
    if deferrals.iter().any(|d| d.is_active_on(p.day)) {
        return refuse(Reason::Deferred, next());
    }
    if interval_block(rules, history, p.component, p.day).is_some() {
        return refuse(Reason::Interval, next());
    }
    if let Some(w) = donor.weight_kg.filter(|w| w.is_finite()) {
        if w < rules.min_weight_kg(donor.sex, p.component) {
            return refuse(Reason::Underweight, None);
        }
    }
    if let Some(allowed_ml) = rules.allowed_volume_ml(donor.sex, donor.weight_kg, p.component) {
        if p.volume_ml > allowed_ml {
            return refuse(Reason::VolumeAboveAllowed { allowed_ml }, Some(p.day));
        }
    }
    Ok(())
}

/// Why [`assess`] answers "not today": a rule's refusal, or no weight to judge on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// A rule of [`check`] refuses (never [`Reason::VolumeAboveAllowed`]: no volume is
    /// proposed).
    Refused(Reason),
    /// Every date-based rule passes but no weight is known, so the weight minimum and the
    /// volume caps cannot be judged (a collection would be refused naming `weight_kg`).
    WeightRequired,
}

impl Verdict {
    /// Stable machine-readable code, part of the API contract: a [`Reason::code`] or
    /// `weight_required`.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Refused(r) => r.code(),
            Verdict::WeightRequired => "weight_required",
        }
    }
}

/// May the donor give `component` on `day`, and how much: what a screening desk asks before
/// it records anything.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Assessment {
    /// `None` when eligible.
    pub refusal: Option<Verdict>,
    /// Eligible: `day` itself. Refused: the first day every date-based rule passes (as in
    /// [`Ineligible::next_eligible_on`]); `None` when waiting does not help (a permanent
    /// deferral, too old, underweight, no weight on record).
    pub next_eligible_on: Option<NaiveDate>,
    /// Eligible: the largest volume this donor may give of `component` (the bag to preset);
    /// `None` when refused.
    pub max_volume_ml: Option<i32>,
}

/// Judges a collection of `component` on `day` by the same rules as [`check`], with no volume
/// proposed: the volume is the answer ([`Assessment::max_volume_ml`]). With no weight the
/// date-based rules still decide first (a donor inside an interval is told when, not to be
/// weighed); if they pass, the answer is [`Verdict::WeightRequired`].
pub fn assess(
    rules: &EligibilityRules,
    donor: &Donor,
    history: &[PastDonation],
    deferrals: &[Deferral],
    component: Component,
    day: NaiveDate,
) -> Assessment {
    let proposed = Proposed {
        day,
        component,
        volume_ml: 0,
    };
    let refused = |refusal, next_eligible_on| Assessment {
        refusal: Some(refusal),
        next_eligible_on,
        max_volume_ml: None,
    };
    if let Err(e) = check(rules, donor, history, deferrals, &proposed) {
        return refused(Verdict::Refused(e.reason), e.next_eligible_on);
    }
    match rules.allowed_volume_ml(donor.sex, donor.weight_kg, component) {
        None => refused(Verdict::WeightRequired, None),
        // `check` already refused a weight under the minimum; this is only a guard.
        Some(allowed) if allowed <= 0 => refused(Verdict::Refused(Reason::Underweight), None),
        Some(allowed) => Assessment {
            refusal: None,
            next_eligible_on: Some(day),
            max_volume_ml: Some(allowed),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Component::{Plasma, Platelets, RedCells, WholeBlood};

    /// The proposed day of the table-driven cases; other days are offsets from it.
    fn base() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
    }
    fn day(offset: i64) -> NaiveDate {
        add_days(base(), offset)
    }
    fn adult(sex: Sex, weight_kg: Option<f64>) -> Donor {
        Donor {
            date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
            sex,
            weight_kg,
        }
    }
    fn history(entries: &[(i64, Component)]) -> Vec<PastDonation> {
        entries
            .iter()
            .map(|&(o, component)| PastDonation {
                day: day(o),
                component,
            })
            .collect()
    }
    fn proposed(component: Component, volume_ml: i32) -> Proposed {
        Proposed {
            day: base(),
            component,
            volume_ml,
        }
    }
    /// `Ok` as `None`, a refusal as (code, next day as an offset from `base`).
    type Outcome = Option<(&'static str, Option<i64>)>;
    /// Shortens a verdict to an [`Outcome`] so the tables stay one line per case.
    fn outcome(r: Result<(), Ineligible>) -> Outcome {
        r.err().map(|e| {
            (
                e.reason.code(),
                e.next_eligible_on.map(|n| (n - base()).num_days()),
            )
        })
    }

    #[test]
    fn assessment_answers_the_bag_or_the_reason() {
        let rules = EligibilityRules::default();
        let none: &[Deferral] = &[];
        let ok = assess(
            &rules,
            &adult(Sex::Male, Some(60.0)),
            &[],
            none,
            WholeBlood,
            base(),
        );
        assert_eq!(ok.refusal, None);
        assert_eq!(ok.next_eligible_on, Some(base()));
        assert_eq!(
            ok.max_volume_ml,
            rules.allowed_volume_ml(Sex::Male, Some(60.0), WholeBlood)
        );
        assert!(ok.max_volume_ml.is_some_and(|v| v > 0));

        let unweighed = assess(
            &rules,
            &adult(Sex::Male, None),
            &[],
            none,
            WholeBlood,
            base(),
        );
        assert_eq!(unweighed.refusal, Some(Verdict::WeightRequired));
        assert_eq!(unweighed.refusal.map(|v| v.code()), Some("weight_required"));
        assert_eq!(
            (unweighed.next_eligible_on, unweighed.max_volume_ml),
            (None, None)
        );

        // The dates decide before the missing weight: the donor is told when.
        let recent = history(&[(-10, WholeBlood)]);
        let waiting = assess(
            &rules,
            &adult(Sex::Male, None),
            &recent,
            none,
            WholeBlood,
            base(),
        );
        assert_eq!(waiting.refusal, Some(Verdict::Refused(Reason::Interval)));
        assert_eq!(
            waiting.next_eligible_on,
            Some(add_days(day(-10), rules.long_interval_days))
        );
        assert_eq!(waiting.max_volume_ml, None);

        let light = assess(
            &rules,
            &adult(Sex::Female, Some(30.0)),
            &[],
            none,
            WholeBlood,
            base(),
        );
        assert_eq!(light.refusal.map(|v| v.code()), Some("underweight"));
        assert_eq!(light.next_eligible_on, None);

        let permanent = [Deferral {
            from: day(-1),
            until: None,
        }];
        let never = assess(
            &rules,
            &adult(Sex::Male, Some(70.0)),
            &[],
            &permanent,
            Plasma,
            base(),
        );
        assert_eq!(
            never.refusal.map(|v| v.code()),
            Some("permanently_deferred")
        );
        assert_eq!(never.next_eligible_on, None);
    }

    #[test]
    fn defaults_are_the_circular() {
        let r = EligibilityRules::default();
        assert_eq!((r.min_age, r.max_age), (18, 60));
        assert_eq!((r.long_interval_days, r.short_interval_days), (84, 14));
        for (c, days) in [
            (WholeBlood, 84),
            (RedCells, 84),
            (Platelets, 14),
            (Plasma, 14),
        ] {
            assert_eq!(r.interval_after(c), days, "{c}");
        }
    }

    #[test]
    fn rules_load_from_partial_toml() {
        let r: EligibilityRules =
            toml::from_str("min_weight_male_kg = 42.0\nlong_interval_days = 90").unwrap();
        assert_eq!(r.min_weight_male_kg, 42.0);
        assert_eq!(r.long_interval_days, 90);
        assert_eq!(r.short_interval_days, 14);
        assert_eq!(
            toml::from_str::<EligibilityRules>("").unwrap(),
            EligibilityRules::default()
        );
    }

    #[test]
    fn minimum_weights_by_component() {
        use Sex::{Female, Male};
        let r = EligibilityRules::default();
        let cases = [
            (Female, WholeBlood, 42.0),
            (Male, WholeBlood, 45.0),
            (Female, RedCells, 50.0),
            (Male, RedCells, 50.0),
            (Female, Platelets, 50.0),
            (Male, Platelets, 50.0),
            (Female, Plasma, 50.0),
            (Male, Plasma, 50.0),
        ];
        for (sex, c, kg) in cases {
            assert_eq!(r.min_weight_kg(sex, c), kg, "{sex} {c}");
        }
        // Configurable: a province asking 55 kg for apheresis gets it for every apheresis
        // component and both sexes, and whole blood keeps its own minimums.
        let strict: EligibilityRules = toml::from_str("apheresis_min_weight_kg = 55.0").unwrap();
        for (sex, c, kg) in cases {
            let want = if c == WholeBlood { kg } else { 55.0 };
            assert_eq!(strict.min_weight_kg(sex, c), want, "{sex} {c}");
        }
        let light = adult(Female, Some(54.9));
        assert_eq!(
            outcome(check(&strict, &light, &[], &[], &proposed(RedCells, 250))),
            Some(("underweight", None))
        );
    }

    #[test]
    fn allowed_volumes() {
        let r = EligibilityRules::default();
        use Sex::{Female, Male};
        let cases: &[(Sex, Option<f64>, Component, Option<i32>)] = &[
            (Female, None, WholeBlood, None),
            (Female, Some(f64::NAN), WholeBlood, None),
            (Female, Some(41.9), WholeBlood, Some(0)),
            (Female, Some(42.0), WholeBlood, Some(250)),
            (Female, Some(44.9), WholeBlood, Some(250)),
            (Female, Some(45.0), WholeBlood, Some(405)),
            (Male, Some(44.9), WholeBlood, Some(0)),
            (Male, Some(45.0), WholeBlood, Some(405)),
            (Male, Some(45.5), WholeBlood, Some(409)),
            (Male, Some(50.0), WholeBlood, Some(450)),
            (Male, Some(55.5), WholeBlood, Some(499)),
            (Male, Some(56.0), WholeBlood, Some(500)),
            (Male, Some(90.0), WholeBlood, Some(500)),
            // Apheresis red cells: the apheresis minimum and caps, men and women alike.
            (Female, Some(43.0), RedCells, Some(0)),
            (Female, Some(48.0), RedCells, Some(0)),
            (Female, Some(49.9), RedCells, Some(0)),
            (Male, Some(49.9), RedCells, Some(0)),
            (Female, Some(50.0), RedCells, Some(500)),
            (Male, Some(50.0), RedCells, Some(500)),
            (Male, Some(59.9), RedCells, Some(500)),
            (Male, Some(60.0), RedCells, Some(650)),
            (Female, Some(49.9), Plasma, Some(0)),
            (Female, Some(49.9), Platelets, Some(0)),
            (Male, Some(49.9), Platelets, Some(0)),
            (Female, Some(50.0), Platelets, Some(500)),
            (Male, Some(59.9), Plasma, Some(500)),
            (Male, Some(60.0), Plasma, Some(650)),
            (Female, Some(80.0), Platelets, Some(650)),
        ];
        for &(sex, w, c, want) in cases {
            assert_eq!(r.allowed_volume_ml(sex, w, c), want, "{sex} {w:?} {c}");
        }
    }

    #[test]
    fn intervals() {
        let r = EligibilityRules::default();
        let donor = adult(Sex::Male, None);
        // (what, history as (offset, component), proposed component, expected outcome)
        type Case = (
            &'static str,
            &'static [(i64, Component)],
            Component,
            Outcome,
        );
        let cases: &[Case] = &[
            ("first donation", &[], WholeBlood, None),
            (
                "whole blood 84 days ago",
                &[(-84, WholeBlood)],
                WholeBlood,
                None,
            ),
            (
                "whole blood 83 days ago",
                &[(-83, WholeBlood)],
                WholeBlood,
                Some(("interval", Some(1))),
            ),
            (
                "whole blood 83 days ago, platelets next",
                &[(-83, WholeBlood)],
                Platelets,
                Some(("interval", Some(1))),
            ),
            (
                "red cells 83 days ago",
                &[(-83, RedCells)],
                Plasma,
                Some(("interval", Some(1))),
            ),
            (
                "red cells 84 days ago",
                &[(-84, RedCells)],
                WholeBlood,
                None,
            ),
            (
                "platelets 14 days ago",
                &[(-14, Platelets)],
                Platelets,
                None,
            ),
            (
                "platelets 13 days ago",
                &[(-13, Platelets)],
                Platelets,
                Some(("interval", Some(1))),
            ),
            (
                "plasma 14 days ago, whole blood next",
                &[(-14, Plasma)],
                WholeBlood,
                None,
            ),
            (
                "plasma 10 days ago, whole blood next",
                &[(-10, Plasma)],
                WholeBlood,
                Some(("interval", Some(4))),
            ),
            (
                "most recent platelets after older whole blood",
                &[(-100, WholeBlood), (-14, Platelets)],
                WholeBlood,
                None,
            ),
            (
                "most recent whole blood after older platelets",
                &[(-90, Platelets), (-20, WholeBlood)],
                Platelets,
                Some(("interval", Some(64))),
            ),
            (
                "history out of order",
                &[(-20, WholeBlood), (-90, Platelets)],
                Platelets,
                Some(("interval", Some(64))),
            ),
            (
                "same day",
                &[(0, WholeBlood)],
                WholeBlood,
                Some(("interval", Some(84))),
            ),
            (
                "same day apheresis",
                &[(0, Platelets)],
                Platelets,
                Some(("interval", Some(14))),
            ),
            (
                "back-dated inside a later whole blood",
                &[(30, WholeBlood)],
                WholeBlood,
                Some(("interval", Some(114))),
            ),
            (
                "back-dated platelets 84 days before a whole blood",
                &[(84, WholeBlood)],
                WholeBlood,
                None,
            ),
            (
                "back-dated platelets 14 days before",
                &[(14, Platelets)],
                Platelets,
                None,
            ),
            (
                "back-dated platelets 13 days before",
                &[(13, Platelets)],
                Platelets,
                Some(("interval", Some(27))),
            ),
            (
                "back-dated whole blood 13 days before platelets",
                &[(13, Platelets)],
                WholeBlood,
                Some(("interval", Some(27))),
            ),
            (
                "back-dated whole blood 20 days before platelets",
                &[(20, Platelets)],
                WholeBlood,
                Some(("interval", Some(34))),
            ),
            (
                "fits between two",
                &[(-84, WholeBlood), (84, WholeBlood)],
                WholeBlood,
                None,
            ),
            (
                "squeezed between two",
                &[(-84, WholeBlood), (83, WholeBlood)],
                WholeBlood,
                Some(("interval", Some(167))),
            ),
            (
                "gap found after later donations",
                &[(-10, WholeBlood), (80, Platelets), (200, WholeBlood)],
                WholeBlood,
                Some(("interval", Some(94))),
            ),
            (
                "platelets fit a gap a whole blood does not",
                &[(-10, WholeBlood), (100, Platelets)],
                Platelets,
                Some(("interval", Some(74))),
            ),
        ];
        for &(what, hist, c, want) in cases {
            let got = outcome(check(&r, &donor, &history(hist), &[], &proposed(c, 250)));
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn age_limits() {
        let r = EligibilityRules::default();
        let born = |s: &str| Donor {
            date_of_birth: s.parse().unwrap(),
            sex: Sex::Female,
            weight_kg: Some(50.0),
        };
        // base() is 2024-06-01.
        let cases: &[(&str, Outcome)] = &[
            ("2006-06-01", None),                         // 18 today
            ("2006-06-02", Some(("too_young", Some(1)))), // 18 tomorrow
            ("2008-01-01", Some(("too_young", Some(579)))),
            ("1964-06-01", None),                    // 60 today
            ("1963-06-02", None),                    // 60, turns 61 tomorrow
            ("1963-06-01", Some(("too_old", None))), // 61 today
            ("1950-01-01", Some(("too_old", None))),
        ];
        for &(dob, want) in cases {
            let got = outcome(check(&r, &born(dob), &[], &[], &proposed(WholeBlood, 250)));
            assert_eq!(got, want, "born {dob}");
        }
        // A minor with a deferral running past the birthday waits for both.
        let d = born("2006-06-02");
        let def = [Deferral {
            from: day(-10),
            until: Some(day(30)),
        }];
        assert_eq!(
            outcome(check(&r, &d, &[], &def, &proposed(WholeBlood, 250))),
            Some(("too_young", Some(30)))
        );
    }

    #[test]
    fn deferrals() {
        let r = EligibilityRules::default();
        let donor = adult(Sex::Male, Some(70.0));
        let temp = |from: i64, until: i64| Deferral {
            from: day(from),
            until: Some(day(until)),
        };
        let permanent = |from: i64| Deferral {
            from: day(from),
            until: None,
        };
        type Case = (
            &'static str,
            Vec<Deferral>,
            &'static [(i64, Component)],
            Outcome,
        );
        let cases: Vec<Case> = vec![
            (
                "deferred until next week",
                vec![temp(-7, 7)],
                &[],
                Some(("deferred", Some(7))),
            ),
            ("deferral ends today", vec![temp(-7, 0)], &[], None),
            (
                "deferred from today",
                vec![temp(0, 7)],
                &[],
                Some(("deferred", Some(7))),
            ),
            (
                "screened after the day (back-dated entry)",
                vec![temp(1, 30)],
                &[],
                None,
            ),
            ("deferral ended", vec![temp(-40, -10)], &[], None),
            (
                "overlapping deferrals chain",
                vec![temp(-7, 7), temp(3, 20)],
                &[],
                Some(("deferred", Some(20))),
            ),
            (
                "latest end wins",
                vec![temp(-7, 30), temp(-3, 10)],
                &[],
                Some(("deferred", Some(30))),
            ),
            (
                "deferral then interval",
                vec![temp(-7, 7)],
                &[(-80, WholeBlood)],
                Some(("deferred", Some(7))),
            ),
            (
                "interval outlasts the deferral",
                vec![temp(-7, 7)],
                &[(-30, WholeBlood)],
                Some(("deferred", Some(54))),
            ),
            (
                "permanent",
                vec![permanent(-1)],
                &[],
                Some(("permanently_deferred", None)),
            ),
            (
                "permanent from today",
                vec![permanent(0)],
                &[],
                Some(("permanently_deferred", None)),
            ),
            (
                "permanent later (back-dated entry)",
                vec![permanent(1)],
                &[],
                None,
            ),
            (
                "temporary ends into a permanent",
                vec![temp(-7, 7), permanent(5)],
                &[],
                Some(("deferred", None)),
            ),
            (
                "permanent beats everything",
                vec![permanent(-100), temp(-7, 7)],
                &[(0, WholeBlood)],
                Some(("permanently_deferred", None)),
            ),
            (
                "deferral beats interval",
                vec![temp(-1, 1)],
                &[(-10, WholeBlood)],
                Some(("deferred", Some(74))),
            ),
        ];
        for (what, defs, hist, want) in cases {
            let got = outcome(check(
                &r,
                &donor,
                &history(hist),
                &defs,
                &proposed(WholeBlood, 450),
            ));
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn weight_and_volume() {
        let r = EligibilityRules::default();
        use Sex::{Female, Male};
        type Case = (Sex, Option<f64>, Component, i32, Outcome);
        let cases: &[Case] = &[
            (Female, Some(42.0), WholeBlood, 250, None),
            (
                Female,
                Some(41.9),
                WholeBlood,
                250,
                Some(("underweight", None)),
            ),
            (
                Female,
                Some(42.0),
                WholeBlood,
                350,
                Some(("volume_above_allowed", Some(0))),
            ),
            (Female, Some(44.9), WholeBlood, 250, None),
            (
                Male,
                Some(44.9),
                WholeBlood,
                250,
                Some(("underweight", None)),
            ),
            (Male, Some(45.0), WholeBlood, 350, None),
            (Male, Some(45.0), WholeBlood, 405, None),
            (
                Male,
                Some(45.0),
                WholeBlood,
                406,
                Some(("volume_above_allowed", Some(0))),
            ),
            (Male, Some(50.0), WholeBlood, 450, None),
            (Male, Some(70.0), WholeBlood, 500, None),
            (
                Male,
                Some(70.0),
                WholeBlood,
                501,
                Some(("volume_above_allowed", Some(0))),
            ),
            // Apheresis (red cells too) needs 50 kg, women and men alike (Art. 4.2(b)).
            (
                Female,
                Some(44.0),
                RedCells,
                250,
                Some(("underweight", None)),
            ),
            (
                Female,
                Some(48.0),
                RedCells,
                250,
                Some(("underweight", None)),
            ),
            (
                Female,
                Some(49.9),
                RedCells,
                250,
                Some(("underweight", None)),
            ),
            (Male, Some(49.9), RedCells, 250, Some(("underweight", None))),
            (Female, Some(49.9), Plasma, 250, Some(("underweight", None))),
            (
                Female,
                Some(49.9),
                Platelets,
                250,
                Some(("underweight", None)),
            ),
            (Female, Some(50.0), RedCells, 500, None),
            (
                Male,
                Some(50.0),
                RedCells,
                501,
                Some(("volume_above_allowed", Some(0))),
            ),
            (Male, Some(60.0), RedCells, 650, None),
            (
                Female,
                Some(60.0),
                RedCells,
                651,
                Some(("volume_above_allowed", Some(0))),
            ),
            (
                Male,
                Some(49.9),
                Platelets,
                300,
                Some(("underweight", None)),
            ),
            (Female, Some(50.0), Plasma, 500, None),
            (
                Female,
                Some(50.0),
                Plasma,
                501,
                Some(("volume_above_allowed", Some(0))),
            ),
            (Male, Some(60.0), Platelets, 650, None),
            (
                Male,
                Some(60.0),
                Platelets,
                651,
                Some(("volume_above_allowed", Some(0))),
            ),
            (Male, None, WholeBlood, 2000, None),
            (Female, None, Platelets, 2000, None),
        ];
        for &(sex, w, c, ml, want) in cases {
            let got = outcome(check(&r, &adult(sex, w), &[], &[], &proposed(c, ml)));
            assert_eq!(got, want, "{sex} {w:?} {c} {ml}");
        }
        let refusal = check(
            &r,
            &adult(Female, Some(42.0)),
            &[],
            &[],
            &proposed(WholeBlood, 350),
        )
        .unwrap_err();
        assert_eq!(
            refusal.reason,
            Reason::VolumeAboveAllowed { allowed_ml: 250 }
        );
    }

    #[test]
    fn order_of_checks() {
        let r = EligibilityRules::default();
        let minor = Donor {
            date_of_birth: day(-365 * 17),
            sex: Sex::Female,
            weight_kg: Some(30.0),
        };
        let perm = [Deferral {
            from: day(-1),
            until: None,
        }];
        let temp = [Deferral {
            from: day(-1),
            until: Some(day(3)),
        }];
        let recent = history(&[(-1, WholeBlood)]);
        let light = adult(Sex::Female, Some(30.0));
        let p = proposed(WholeBlood, 450);
        assert_eq!(
            check(&r, &minor, &recent, &perm, &p).unwrap_err().reason,
            Reason::PermanentlyDeferred
        );
        assert_eq!(
            check(&r, &minor, &recent, &temp, &p).unwrap_err().reason,
            Reason::TooYoung
        );
        assert_eq!(
            check(&r, &light, &recent, &temp, &p).unwrap_err().reason,
            Reason::Deferred
        );
        assert_eq!(
            check(&r, &light, &recent, &[], &p).unwrap_err().reason,
            Reason::Interval
        );
        assert_eq!(
            check(&r, &light, &[], &[], &p).unwrap_err().reason,
            Reason::Underweight
        );
    }

    #[test]
    fn reasons_have_codes_and_messages() {
        let all = [
            (Reason::TooYoung, "too_young"),
            (Reason::TooOld, "too_old"),
            (Reason::Underweight, "underweight"),
            (
                Reason::VolumeAboveAllowed { allowed_ml: 250 },
                "volume_above_allowed",
            ),
            (Reason::Interval, "interval"),
            (Reason::Deferred, "deferred"),
            (Reason::PermanentlyDeferred, "permanently_deferred"),
        ];
        for (reason, code) in all {
            assert_eq!(reason.code(), code);
            assert!(reason.message().ends_with('.'), "{code}");
        }
        assert!(Reason::VolumeAboveAllowed { allowed_ml: 250 }
            .message()
            .contains("250 ml"));
    }

    #[test]
    fn next_eligible_on_directly() {
        let r = EligibilityRules::default();
        let donor = adult(Sex::Male, Some(70.0));
        let hist = history(&[(-30, WholeBlood)]);
        assert_eq!(
            next_eligible_on(&r, &donor, &hist, &[], Platelets, base()),
            Some(day(54))
        );
        assert_eq!(
            next_eligible_on(&r, &donor, &hist, &[], Platelets, day(60)),
            Some(day(60))
        );
        let old = Donor {
            date_of_birth: NaiveDate::from_ymd_opt(1963, 6, 10).unwrap(),
            ..donor.clone()
        };
        // Interval ends after the 61st birthday: never again.
        assert_eq!(
            next_eligible_on(&r, &old, &hist, &[], WholeBlood, base()),
            None
        );
        assert_eq!(
            next_eligible_on(
                &r,
                &donor,
                &[],
                &[Deferral {
                    from: day(-1),
                    until: None
                }],
                Plasma,
                base()
            ),
            None
        );
    }

    // Property tests.

    fn component() -> impl Strategy<Value = Component> {
        proptest::sample::select(Component::ALL.to_vec())
    }

    /// A history the system itself could have produced: each donation respects the interval
    /// set by the one before it.
    fn consistent_history() -> impl Strategy<Value = Vec<PastDonation>> {
        proptest::collection::vec((component(), 0i64..60), 0..6).prop_map(|steps| {
            let r = EligibilityRules::default();
            let mut out: Vec<PastDonation> = Vec::new();
            let mut next = day(-400);
            for (component, extra) in steps {
                out.push(PastDonation {
                    day: next,
                    component,
                });
                next = add_days(next, r.interval_after(component) + extra);
            }
            out
        })
    }

    /// Any history at all, including impossible ones (paper dates typed in later).
    fn any_history() -> impl Strategy<Value = Vec<PastDonation>> {
        proptest::collection::vec((-300i64..300, component()), 0..6).prop_map(|v| {
            v.into_iter()
                .map(|(o, component)| PastDonation {
                    day: day(o),
                    component,
                })
                .collect()
        })
    }

    fn any_deferrals() -> impl Strategy<Value = Vec<Deferral>> {
        proptest::collection::vec(
            (-300i64..300, proptest::option::weighted(0.9, 1i64..200)),
            0..3,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(|(from, len)| Deferral {
                    from: day(from),
                    until: len.map(|l| day(from + l)),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn interval_refusal_points_to_a_day_that_passes(
            hist in consistent_history(), offset in -450i64..50, c in component(),
        ) {
            let r = EligibilityRules::default();
            let donor = adult(Sex::Male, None);
            let p = Proposed { day: day(offset), component: c, volume_ml: 450 };
            if let Err(Ineligible { reason: Reason::Interval, next_eligible_on }) = check(&r, &donor, &hist, &[], &p) {
                let next = next_eligible_on.unwrap();
                let latest = hist.iter().filter(|h| h.day <= p.day).max_by_key(|h| h.day);
                if let Some(l) = latest {
                    prop_assert!(next >= add_days(l.day, r.interval_after(l.component)));
                }
                prop_assert!(next > p.day);
                prop_assert_eq!(check(&r, &donor, &hist, &[], &Proposed { day: next, ..p }), Ok(()));
            }
        }

        #[test]
        fn next_eligible_on_is_the_first_day_check_accepts(
            hist in any_history(), defs in any_deferrals(), offset in -300i64..300, c in component(),
            born_offset in 0i64..(365 * 50),
        ) {
            let r = EligibilityRules::default();
            // Ages 15 to ~65 around the proposed day, so both age limits come into play.
            let donor = Donor { date_of_birth: day(-(365 * 15) - born_offset), sex: Sex::Female, weight_kg: None };
            let from = day(offset);
            let next = next_eligible_on(&r, &donor, &hist, &defs, c, from);
            let accepts = |d: NaiveDate| check(&r, &donor, &hist, &defs, &Proposed { day: d, component: c, volume_ml: 250 }).is_ok();
            let horizon = 800;
            let brute = (0..horizon).map(|i| add_days(from, i)).find(|&d| accepts(d));
            match next {
                Some(n) if n < add_days(from, horizon) => prop_assert_eq!(Some(n), brute),
                _ => prop_assert_eq!(brute, None),
            }
            if let Some(n) = next {
                prop_assert!(accepts(n));
            }
            // check() and next_eligible_on agree on the proposed day itself.
            let verdict = check(&r, &donor, &hist, &defs, &Proposed { day: from, component: c, volume_ml: 250 });
            match verdict {
                Ok(()) => prop_assert_eq!(next, Some(from)),
                Err(e) => prop_assert_eq!(e.next_eligible_on, next),
            }
        }

        #[test]
        fn allowed_volume_grows_with_weight(
            sex in proptest::sample::select(vec![Sex::Male, Sex::Female]), c in component(),
            w in 30.0f64..120.0, extra in 0.0f64..30.0,
        ) {
            let r = EligibilityRules::default();
            let light = r.allowed_volume_ml(sex, Some(w), c).unwrap();
            let heavy = r.allowed_volume_ml(sex, Some(w + extra), c).unwrap();
            prop_assert!(light <= heavy);
            prop_assert!(heavy <= r.apheresis_large_max_ml.max(r.max_whole_blood_ml));
        }
    }
}
