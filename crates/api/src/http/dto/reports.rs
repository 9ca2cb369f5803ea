//! Request and response types of the annual report.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::reports::{AnnualRequest, YearFigures};

/// `GET /reports/annual` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnnualParams {
    /// The calendar year (required; 1900 to 2200). Missing or not a number is 400.
    #[param(example = 2023, minimum = 1900, maximum = 2200)]
    pub year: i32,
    /// Only this chapter and those below it (a coordinator: within its scope, else 404).
    pub chapter_id: Option<Uuid>,
}

impl From<AnnualParams> for AnnualRequest {
    fn from(p: AnnualParams) -> Self {
        AnnualRequest {
            year: p.year,
            chapter_id: p.chapter_id.map(|c| c.to_string()),
        }
    }
}

/// Units of a chapter.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChapterUnitsOut {
    /// The chapter.
    pub chapter_id: String,
    /// Its name.
    pub name: String,
    /// Its own units of the year: collected at its own drives, and for emergency requests by
    /// donors it registered.
    pub units: i64,
    /// `units` of the chapter and of every chapter below it (within the report's scope).
    pub units_with_subordinates: i64,
}

/// Units of a drive.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriveUnitsOut {
    /// The drive.
    pub drive_id: String,
    /// Its name.
    pub name: String,
    /// Units collected in the year at its events.
    pub units: i64,
}

/// A year's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnnualReport {
    /// The year.
    pub year: i32,
    /// The chapter whose subtree the figures cover; null for everything.
    pub chapter_id: Option<String>,
    /// Drives with at least one day in the year.
    pub drives: i64,
    /// Events held in the year.
    pub events: i64,
    /// `drive_units` + `emergency_units`.
    pub units: i64,
    /// Collected, not voided donations at events in the year.
    pub drive_units: i64,
    /// Collected, not voided donations for emergency requests in the year (with a chapter:
    /// those of donors registered by a chapter of the subtree).
    pub emergency_units: i64,
    /// Millilitres of those units.
    pub volume_ml: i64,
    /// Deferrals (not voided) at screening in the year: at events and for emergency requests.
    /// Deferrals noted afterwards (`POST /donors/{id}/deferrals`) are not counted.
    pub deferrals: i64,
    /// Distinct donors of those units.
    pub donors: i64,
    /// Those whose first collection ever is in the year and who have no prior donations.
    pub new_donors: i64,
    /// Donors in the emergency reserve on 31 December.
    pub reserve_donors: i64,
    /// Donors due an honor tier as of 31 December.
    pub honor_due: i64,
    /// Every chapter with units in its subtree, by its own units, most first.
    pub by_chapter: Vec<ChapterUnitsOut>,
    /// Drives of the year by units, most first.
    pub by_drive: Vec<DriveUnitsOut>,
}

impl From<YearFigures> for AnnualReport {
    fn from(r: YearFigures) -> Self {
        let f = r.figures;
        AnnualReport {
            year: r.year,
            chapter_id: r.chapter_id,
            drives: f.drives,
            events: f.events,
            units: r.units,
            drive_units: f.drive_units,
            emergency_units: f.emergency_units,
            volume_ml: f.volume_ml,
            deferrals: f.deferrals,
            donors: f.donors,
            new_donors: f.new_donors,
            reserve_donors: f.reserve_donors,
            honor_due: f.honor_due,
            by_chapter: f
                .by_chapter
                .into_iter()
                .map(|c| ChapterUnitsOut {
                    chapter_id: c.chapter_id,
                    name: c.name,
                    units: c.units,
                    units_with_subordinates: c.units_with_subordinates,
                })
                .collect(),
            by_drive: f
                .by_drive
                .into_iter()
                .map(|d| DriveUnitsOut {
                    drive_id: d.drive_id,
                    name: d.name,
                    units: d.units,
                })
                .collect(),
        }
    }
}
