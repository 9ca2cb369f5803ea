//! What a screening desk reads about a donor before it records anything: whether the donor
//! may give a component on a day, and the donor's last donations.
//!
//! **Same rules as recording.** [`eligibility`] loads the donor's history exactly as a donation
//! does (`app::donations::history_of`: collections not voided, the paper-era last donation as
//! whole blood, deferrals) and asks the domain's [`hienmau_domain::eligibility::assess`], which
//! runs [`hienmau_domain::eligibility::check`]: a collection recorded on the same day with the
//! weight used here and a volume up to `max_volume_ml` is accepted, unless something is
//! recorded in between.
//!
//! **Brief reads.** Neither answer shows a CCCD or a phone, so neither is audited nor charged
//! to the caller's hourly budget of donors shown (as the brief view of the list): they run in
//! a read transaction. The roles are those that read donors (admin, coordinator, honors); the
//! registry is shared, so a donor of any chapter may be looked up.

use chrono::NaiveDate;
use hienmau_db::models::Donation;
use hienmau_db::repo::{donations, donors, Page};
use hienmau_db::DbConn;
use hienmau_domain::donor::MAX_WEIGHT_KG;
use hienmau_domain::eligibility::{self, Verdict};
use hienmau_domain::{Component, Role};

use crate::app::donations::{history_of, rules_donor};
use crate::app::donors::PageRequest;
use crate::app::validate::check_year;
use crate::app::{Actor, AppError, Ctx, FieldCode, FieldError};

/// The question: a component on a day, at a weight.
#[derive(Debug, Clone, Default)]
pub struct EligibilityQuery {
    /// What would be collected; required.
    pub component: Option<Component>,
    /// The day (in the configured zone); today when absent.
    pub on: Option<NaiveDate>,
    /// The weight measured at screening; the donor's weight on record when absent.
    pub weight_kg: Option<f64>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Eligibility {
    /// May the donor give?
    pub eligible: bool,
    /// Why not: a stable code ([`REASONS`]); None when eligible.
    pub reason: Option<&'static str>,
    /// Eligible: the day asked about. Not eligible: the first day the date-based rules allow;
    /// None when waiting does not help.
    pub next_eligible_on: Option<NaiveDate>,
    /// Eligible: the largest volume this donor may give of the component (the bag to preset).
    pub max_volume_ml: Option<i32>,
    /// The day judged.
    pub on: NaiveDate,
    /// The weight judged on, given or on record.
    pub weight_kg: Option<f64>,
}

/// Every reason [`eligibility`] may answer, in the order the rules are checked.
pub const REASONS: [&str; 7] = [
    "permanently_deferred",
    "too_young",
    "too_old",
    "deferred",
    "interval",
    "underweight",
    "weight_required",
];

fn require_reader(actor: &Actor) -> Result<(), AppError> {
    match actor.role {
        Role::Admin | Role::Coordinator | Role::Honors => Ok(()),
        Role::Hospital => Err(AppError::Forbidden),
    }
}

/// Checks the question: `component` given, `weight_kg` a plausible weight, `on` in the years
/// kept. Every fault at once (422).
fn checked(q: &EligibilityQuery, today: NaiveDate) -> Result<(Component, NaiveDate), AppError> {
    let mut errors = Vec::new();
    if q.component.is_none() {
        errors.push(FieldError::new(
            "component",
            FieldCode::Required,
            "required: whole_blood, red_cells, platelets or plasma",
        ));
    }
    if let Some(w) = q.weight_kg {
        if !(w.is_finite() && w > 0.0 && w < MAX_WEIGHT_KG) {
            errors.push(FieldError::new(
                "weight_kg",
                FieldCode::OutOfRange,
                format!("must be above 0 and below {MAX_WEIGHT_KG}"),
            ));
        }
    }
    let on = q.on.unwrap_or(today);
    check_year("on", on, &mut errors);
    AppError::check(errors)?;
    let component = q
        .component
        .ok_or_else(|| AppError::internal("component checked above"))?;
    Ok((component, on))
}

/// May donor `id` give the query's component on its day (admin, coordinator, honors)? The
/// weight given, else the donor's on record; with neither, not eligible with
/// `weight_required` (unless a date-based rule refuses first, which says until when).
pub fn eligibility(
    conn: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    q: &EligibilityQuery,
) -> Result<Eligibility, AppError> {
    require_reader(actor)?;
    let (component, on) = checked(q, ctx.today())?;
    let donor = donors::find(conn, id)?.ok_or(AppError::NotFound)?;
    let weight_kg = q.weight_kg.or(donor.weight_kg).filter(|w| w.is_finite());
    let history = history_of(conn, &donor)?;
    let who = rules_donor(&donor, weight_kg)?;
    let a = eligibility::assess(
        &ctx.settings.eligibility,
        &who,
        &history.past,
        &history.deferrals,
        component,
        on,
    );
    Ok(Eligibility {
        eligible: a.refusal.is_none(),
        reason: a.refusal.as_ref().map(Verdict::code),
        next_eligible_on: a.next_eligible_on,
        max_volume_ml: a.max_volume_ml,
        on,
        weight_kg,
    })
}

/// Donor `id`'s donations that count (not voided), both outcomes, newest first (admin,
/// coordinator, honors). An unknown donor is not found.
pub fn donations_of(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    page: PageRequest,
) -> Result<Page<Donation>, AppError> {
    require_reader(actor)?;
    donors::find(conn, id)?.ok_or(AppError::NotFound)?;
    Ok(donations::page_for_donor(
        conn,
        id,
        page.after.as_deref(),
        page.limit,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_is_checked_whole() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let bad = EligibilityQuery {
            component: None,
            on: NaiveDate::from_ymd_opt(1800, 1, 1),
            weight_kg: Some(-3.0),
        };
        let Err(AppError::Invalid { errors, .. }) = checked(&bad, today) else {
            panic!("expected invalid");
        };
        let got: Vec<(&str, FieldCode)> =
            errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("component", FieldCode::Required),
                ("weight_kg", FieldCode::OutOfRange),
                ("on", FieldCode::OutOfRange)
            ]
        );
        let ok = EligibilityQuery {
            component: Some(Component::Plasma),
            ..Default::default()
        };
        assert_eq!(checked(&ok, today).unwrap(), (Component::Plasma, today));
    }

    #[test]
    fn every_verdict_code_is_listed() {
        use hienmau_domain::eligibility::Reason;
        let verdicts = [
            Verdict::Refused(Reason::PermanentlyDeferred),
            Verdict::Refused(Reason::TooYoung),
            Verdict::Refused(Reason::TooOld),
            Verdict::Refused(Reason::Deferred),
            Verdict::Refused(Reason::Interval),
            Verdict::Refused(Reason::Underweight),
            Verdict::WeightRequired,
        ];
        let codes: Vec<&str> = verdicts.iter().map(Verdict::code).collect();
        assert_eq!(codes, REASONS);
    }
}
