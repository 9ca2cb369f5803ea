//! The annual report (admin, honors; coordinator for its chapter's subtree).
//!
//! Every figure is computed by the database (see `hienmau_db::repo::reports`):
//!
//! - `units` = `drive_units` + `emergency_units`: collected, not voided donations whose day (in
//!   the configured zone) falls in the year, at events and for emergency requests;
//!   `volume_ml` their millilitres; `donors` the distinct donors among them; `new_donors`
//!   those with no prior (paper) donations and no collection before the year;
//!   `deferrals`: deferred outcomes (not voided) in the year.
//! - `drives`: drives with at least one day in the year; `events`: events held in the year.
//! - `reserve_donors`: donors in the emergency reserve on 31 December: in the reserve now and
//!   since a day on or before it. Withdrawals are not kept as history, so a donor who has since
//!   withdrawn counts in no year (an approximation for past years).
//! - `honor_due`: donors due a tier as of 31 December (as the honors list).
//! - `by_chapter`: every chapter with units in its subtree in the year; `units` its own (units
//!   of drives run by the chapter itself and emergency units of the donors it registered),
//!   `units_with_subordinates` those of the chapter and every chapter below it (within the
//!   report's scope: a chapter above the one asked for is not listed); most own units first,
//!   then name (folded), then id. `by_drive`: every drive with a day in the
//!   year and its units in the year, in the same order (then first day, then id).
//!
//! **Scope.** With `chapter_id`, and always for a coordinator (its own chapter when it gives
//! none), the figures cover that chapter and those below it: donations at events of their
//! drives, emergency donations of the donors they registered (an emergency donation has no
//! chapter of its own, so it counts toward the chapter that registered the donor), their
//! drives and events, donors due an honor whose chapter (that of their latest collected
//! donation up to 31 December, else the registering chapter) is among them, reserve donors
//! likewise. A chapter outside a coordinator's scope, or unknown, is not found.

use crate::app::FieldCode;
use chrono::NaiveDate;
use hienmau_db::repo::chapters;
use hienmau_db::repo::reports::{self, Annual, AnnualQuery};
use hienmau_db::DbConn;
use hienmau_domain::text::fold;

use crate::app::validate::YEARS;
use crate::app::{Actor, AppError, Ctx};

/// Which report.
#[derive(Debug, Clone)]
pub struct AnnualRequest {
    /// The calendar year (within [`YEARS`]).
    pub year: i32,
    /// Only this chapter and those below it.
    pub chapter_id: Option<String>,
}

/// A year's figures, `by_chapter` and `by_drive` in the report's order.
#[derive(Debug, Clone)]
pub struct YearFigures {
    /// The year.
    pub year: i32,
    /// The chapter whose subtree the figures cover; None for everything.
    pub chapter_id: Option<String>,
    /// `drive_units` + `emergency_units`.
    pub units: i64,
    /// The figures as computed, sorted.
    pub figures: Annual,
}

/// The annual report, for the named chapter's subtree, a coordinator's own subtree when it
/// names none, or everything.
pub fn annual(
    conn: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    req: AnnualRequest,
) -> Result<YearFigures, AppError> {
    let year = req.year;
    let (from, to) = match (
        YEARS.contains(&year),
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) {
        (true, Some(f), Some(t)) => (f, t),
        _ => {
            return Err(AppError::field(
                "year",
                FieldCode::OutOfRange,
                format!("must be between {} and {}", YEARS.start(), YEARS.end()),
            ))
        }
    };
    let scope = match req.chapter_id {
        Some(id) => {
            let chapter = chapters::find(conn, &id)?.ok_or(AppError::NotFound)?;
            actor.require_chapter(&chapter)?;
            Some(chapter)
        }
        None if actor.chapter_path_prefix().is_some() => actor.chapter.clone(),
        None => None,
    };
    let q = AnnualQuery {
        from,
        to,
        chapter_path_prefix: scope.as_ref().map(|c| c.path.clone()),
        thresholds: ctx
            .settings
            .honors
            .tiers
            .tiers()
            .iter()
            .map(|t| t.threshold)
            .collect(),
    };
    let mut figures = reports::annual(conn, &q)?;
    figures.by_chapter.sort_by(|a, b| {
        b.units
            .cmp(&a.units)
            .then_with(|| fold(&a.name).cmp(&fold(&b.name)))
            .then_with(|| a.chapter_id.cmp(&b.chapter_id))
    });
    figures.by_drive.sort_by(|a, b| {
        b.units
            .cmp(&a.units)
            .then_with(|| fold(&a.name).cmp(&fold(&b.name)))
            .then_with(|| a.starts_on.cmp(&b.starts_on))
            .then_with(|| a.drive_id.cmp(&b.drive_id))
    });
    Ok(YearFigures {
        year,
        chapter_id: scope.map(|c| c.id),
        units: figures.drive_units + figures.emergency_units,
        figures,
    })
}
