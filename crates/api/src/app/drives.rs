//! Drives (a chapter's campaigns), their events, and the drive tally.
//!
//! Admins reach every drive; a coordinator reaches the drives of its chapter and the chapters
//! below it, and gets not found for any other (the existence of another chapter's drive does
//! not leak). Scope goes through [`drive_in_scope`] and [`event_in_scope`].

use crate::app::FieldCode;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use hienmau_db::models::{Chapter, Drive, DriveChanges, Event};
use hienmau_db::repo::drives::DriveFilter;
use hienmau_db::repo::{chapters, donations, drives, events, Page};
use hienmau_db::DbConn;
use hienmau_domain::BloodGroup;

use crate::app::scope::{drive_in_scope, event_in_scope};
use crate::app::validate::{check_year, optional_text, required_text};
use crate::app::{Actor, AppError, Ctx, FieldError};

/// The years `list_drives` accepts as a filter.
const LIST_YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// A drive to create.
#[derive(Debug, Clone)]
pub struct CreateDrive {
    /// Name (1–200 characters once trimmed).
    pub name: String,
    /// The chapter that runs it: the actor's chapter or one below it.
    pub chapter_id: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day, not before `starts_on`.
    pub ends_on: NaiveDate,
    /// The units the drive aims to collect (0 or more).
    pub target_units: Option<i32>,
}

/// Changes to a drive: None leaves a field as it is; `target_units: Some(None)` clears the
/// target.
#[derive(Debug, Clone, Default)]
pub struct UpdateDrive {
    /// New name.
    pub name: Option<String>,
    /// New first day.
    pub starts_on: Option<NaiveDate>,
    /// New last day.
    pub ends_on: Option<NaiveDate>,
    /// New target; `Some(None)` clears it.
    pub target_units: Option<Option<i32>>,
}

/// Which drives to list.
#[derive(Debug, Clone, Default)]
pub struct ListDrives {
    /// Drives with at least one day in this year.
    pub year: Option<i32>,
    /// Drives of this chapter and the chapters below it.
    pub chapter_id: Option<String>,
}

/// An event to add to a drive.
#[derive(Debug, Clone)]
pub struct CreateEvent {
    /// The drive.
    pub drive_id: String,
    /// Where (1–200 characters once trimmed).
    pub site: String,
    /// The day, within the drive's dates.
    pub held_on: NaiveDate,
    /// Province.
    pub province: Option<String>,
    /// Commune or ward.
    pub commune: Option<String>,
}

/// A drive with its units (collected, not voided donations at its events).
#[derive(Debug, Clone)]
pub struct DriveWithUnits {
    /// The drive.
    pub drive: Drive,
    /// Its units.
    pub units: i64,
}

/// A drive's numbers; voided records count nowhere.
#[derive(Debug, Clone)]
pub struct DriveTally {
    /// The drive.
    pub drive: Drive,
    /// Collected donations at its events.
    pub units: i64,
    /// Their millilitres.
    pub volume_ml: i64,
    /// Deferrals at its events.
    pub deferrals: i64,
    /// Distinct donors with a collected donation at the drive.
    pub donors: i64,
    /// Donors without prior donations whose first collection ever was at this drive.
    pub first_time_donors: i64,
    /// Units by blood group: every group present (0 when none); `unknown` (donors not yet
    /// typed) only when non-zero.
    pub by_blood_group: BTreeMap<String, i64>,
    /// Units per event (every event, 0 too), by day: (event id, units).
    pub by_event: Vec<(String, i64)>,
}

/// A chapter named in a command: invalid `field` when it does not exist, not found when
/// outside the actor's scope.
fn chapter_for(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    field: &str,
) -> Result<Chapter, AppError> {
    let chapter = chapters::find(conn, id)?
        .ok_or_else(|| AppError::field(field, FieldCode::NotFound, "no such chapter"))?;
    actor.require_chapter(&chapter)?;
    Ok(chapter)
}

fn units_of(conn: &mut DbConn, id: &str) -> Result<i64, AppError> {
    Ok(drives::units_by_drive(conn, &[id.to_owned()])?
        .first()
        .map_or(0, |(_, n)| *n))
}

fn check_dates(starts_on: NaiveDate, ends_on: NaiveDate, errors: &mut Vec<FieldError>) {
    check_year("starts_on", starts_on, errors);
    check_year("ends_on", ends_on, errors);
    if ends_on < starts_on {
        errors.push(FieldError::new(
            "ends_on",
            FieldCode::OutOfRange,
            "must not be before starts_on",
        ));
    }
}

fn check_target(target: Option<i32>, errors: &mut Vec<FieldError>) {
    if target.is_some_and(|t| t < 0) {
        errors.push(FieldError::new(
            "target_units",
            FieldCode::OutOfRange,
            "must not be negative",
        ));
    }
}

/// Creates a drive (admin; coordinator for its chapter or one below).
pub fn create_drive(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    cmd: CreateDrive,
) -> Result<Drive, AppError> {
    let mut errors = Vec::new();
    let name = required_text("name", &cmd.name, 200, &mut errors);
    check_dates(cmd.starts_on, cmd.ends_on, &mut errors);
    check_target(cmd.target_units, &mut errors);
    AppError::check(errors)?;
    chapter_for(tx, actor, &cmd.chapter_id, "chapter_id")?;
    let row = Drive {
        id: hienmau_db::new_id(),
        name,
        chapter_id: cmd.chapter_id,
        starts_on: cmd.starts_on,
        ends_on: cmd.ends_on,
        target_units: cmd.target_units,
        created_by: actor.user_id().map(str::to_owned),
        created_at: ctx.now,
    };
    drives::insert(tx, &row)?;
    Ok(row)
}

/// Drives in the actor's scope (or the named chapter's subtree), by first day, each with its
/// units; `after` is the previous page's `next`.
pub fn list_drives(
    conn: &mut DbConn,
    actor: &Actor,
    filter: ListDrives,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<DriveWithUnits>, AppError> {
    let overlaps = match filter.year {
        None => None,
        Some(y) => {
            let first = NaiveDate::from_ymd_opt(y, 1, 1);
            let last = NaiveDate::from_ymd_opt(y, 12, 31);
            match (first, last) {
                (Some(f), Some(l)) if LIST_YEARS.contains(&y) => Some((f, l)),
                _ => {
                    return Err(AppError::field(
                        "year",
                        FieldCode::OutOfRange,
                        "must be between 1900 and 9999",
                    ))
                }
            }
        }
    };
    let chapter_path_prefix = match &filter.chapter_id {
        Some(id) => Some(chapter_for(conn, actor, id, "chapter_id")?.path),
        None => actor.chapter_path_prefix(),
    };
    let filter = DriveFilter {
        overlaps,
        chapter_path_prefix,
    };
    let page = drives::list(conn, &filter, after, limit)?;
    let ids: Vec<String> = page.items.iter().map(|d| d.id.clone()).collect();
    // In the order asked, one per drive.
    let mut units = drives::units_by_drive(conn, &ids)?.into_iter();
    let items = page
        .items
        .into_iter()
        .map(|drive| DriveWithUnits {
            drive,
            units: units.next().map_or(0, |(_, n)| n),
        })
        .collect();
    Ok(Page {
        items,
        next: page.next,
    })
}

/// One drive in the actor's scope, with its units.
pub fn get_drive(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<DriveWithUnits, AppError> {
    let (drive, _) = drive_in_scope(conn, actor, id)?;
    let units = units_of(conn, &drive.id)?;
    Ok(DriveWithUnits { drive, units })
}

/// Changes a drive's name, dates or target; every event must stay within the dates.
pub fn update_drive(
    tx: &mut DbConn,
    actor: &Actor,
    id: &str,
    cmd: UpdateDrive,
) -> Result<DriveWithUnits, AppError> {
    let mut errors = Vec::new();
    let name = cmd
        .name
        .as_deref()
        .map(|n| required_text("name", n, 200, &mut errors));
    check_target(cmd.target_units.flatten(), &mut errors);
    AppError::check(errors)?;
    let (drive, _) = drive_in_scope(tx, actor, id)?;
    let starts_on = cmd.starts_on.unwrap_or(drive.starts_on);
    let ends_on = cmd.ends_on.unwrap_or(drive.ends_on);
    let mut errors = Vec::new();
    check_dates(starts_on, ends_on, &mut errors);
    AppError::check(errors)?;
    if starts_on != drive.starts_on || ends_on != drive.ends_on {
        let outside = events::list_for_drive(tx, id)?
            .iter()
            .any(|e| e.held_on < starts_on || e.held_on > ends_on);
        if outside {
            let field = if cmd.starts_on.is_some() {
                "starts_on"
            } else {
                "ends_on"
            };
            return Err(AppError::field(
                field,
                FieldCode::OutOfRange,
                "an event of the drive would fall outside the new dates",
            ));
        }
    }
    let changes = DriveChanges {
        name,
        starts_on: cmd.starts_on,
        ends_on: cmd.ends_on,
        target_units: cmd.target_units,
    };
    let drive = drives::update(tx, id, &changes)?;
    let units = units_of(tx, id)?;
    Ok(DriveWithUnits { drive, units })
}

/// A drive's tally.
pub fn tally(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<DriveTally, AppError> {
    let (drive, _) = drive_in_scope(conn, actor, id)?;
    let tally = donations::tally(conn, &drive.id)?;
    let mut by_blood_group: BTreeMap<String, i64> = BloodGroup::ALL
        .iter()
        .map(|g| (g.as_str().to_owned(), 0))
        .collect();
    for (group, n) in tally.by_blood_group {
        if group == "unknown" && n == 0 {
            continue;
        }
        *by_blood_group.entry(group).or_insert(0) += n;
    }
    Ok(DriveTally {
        drive,
        units: tally.units,
        volume_ml: tally.volume_ml,
        deferrals: tally.deferrals,
        donors: tally.donors,
        first_time_donors: tally.first_time_donors,
        by_blood_group,
        by_event: tally.by_event,
    })
}

/// Adds an event (a site on one day within the drive's dates) to a drive in the actor's
/// scope.
pub fn create_event(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    cmd: CreateEvent,
) -> Result<Event, AppError> {
    let mut errors = Vec::new();
    let row = Event {
        id: hienmau_db::new_id(),
        drive_id: cmd.drive_id,
        site: required_text("site", &cmd.site, 200, &mut errors),
        held_on: cmd.held_on,
        province: optional_text("province", cmd.province.as_deref(), 100, &mut errors),
        commune: optional_text("commune", cmd.commune.as_deref(), 100, &mut errors),
        created_at: ctx.now,
    };
    AppError::check(errors)?;
    let (drive, _) = drive_in_scope(tx, actor, &row.drive_id)?;
    if row.held_on < drive.starts_on || row.held_on > drive.ends_on {
        return Err(AppError::field(
            "held_on",
            FieldCode::OutOfRange,
            format!(
                "must fall within the drive's dates ({} to {})",
                drive.starts_on, drive.ends_on
            ),
        ));
    }
    events::insert(tx, &row)?;
    Ok(row)
}

/// The events of a drive in the actor's scope, by (day, id). A drive has few events (tens).
pub fn list_events(
    conn: &mut DbConn,
    actor: &Actor,
    drive_id: &str,
) -> Result<Vec<Event>, AppError> {
    drive_in_scope(conn, actor, drive_id)?;
    Ok(events::list_for_drive(conn, drive_id)?)
}

/// One event in the actor's scope.
pub fn get_event(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<Event, AppError> {
    Ok(event_in_scope(conn, actor, id)?.0)
}
