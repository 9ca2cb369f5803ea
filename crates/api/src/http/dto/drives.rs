//! Request and response types of drives, events and the drive tally.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hienmau_db::models::Event;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::drives::{
    CreateDrive, CreateEvent, DriveTally, DriveWithUnits, ListDrives, UpdateDrive,
};

/// A drive.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriveOut {
    /// Id.
    pub id: String,
    /// Name, e.g. "Chủ nhật Đỏ 2024".
    pub name: String,
    /// The chapter that runs it.
    pub chapter_id: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day (inclusive).
    pub ends_on: NaiveDate,
    /// The units the drive aims to collect.
    pub target_units: Option<i32>,
    /// Units collected so far (collected, not voided donations at its events).
    pub units: i64,
}

impl From<DriveWithUnits> for DriveOut {
    fn from(d: DriveWithUnits) -> Self {
        let DriveWithUnits { drive, units } = d;
        Self {
            id: drive.id,
            name: drive.name,
            chapter_id: drive.chapter_id,
            starts_on: drive.starts_on,
            ends_on: drive.ends_on,
            target_units: drive.target_units,
            units,
        }
    }
}

/// A new drive.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDrive {
    /// Name (1–200 characters).
    pub name: String,
    /// The chapter that runs it; a coordinator may name its chapter or one below it.
    pub chapter_id: Uuid,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day, not before `starts_on`.
    pub ends_on: NaiveDate,
    /// The units the drive aims to collect (0 or more).
    pub target_units: Option<i32>,
}

impl From<NewDrive> for CreateDrive {
    fn from(b: NewDrive) -> Self {
        CreateDrive {
            name: b.name,
            chapter_id: b.chapter_id.to_string(),
            starts_on: b.starts_on,
            ends_on: b.ends_on,
            target_units: b.target_units,
        }
    }
}

/// Changes to a drive; omitted fields stay, `target_units: null` clears the target.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrivePatch {
    /// Name.
    pub name: Option<String>,
    /// First day; every event must stay within the dates.
    pub starts_on: Option<NaiveDate>,
    /// Last day; every event must stay within the dates.
    pub ends_on: Option<NaiveDate>,
    /// Target units; null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<i32>)]
    pub target_units: Option<Option<i32>>,
}

impl From<DrivePatch> for UpdateDrive {
    fn from(b: DrivePatch) -> Self {
        UpdateDrive {
            name: b.name,
            starts_on: b.starts_on,
            ends_on: b.ends_on,
            target_units: b.target_units,
        }
    }
}

/// `GET /drives` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DriveQuery {
    /// Drives with at least one day in this year.
    pub year: Option<i32>,
    /// Drives of this chapter and the chapters below it.
    pub chapter_id: Option<Uuid>,
}

impl From<DriveQuery> for ListDrives {
    fn from(q: DriveQuery) -> Self {
        ListDrives {
            year: q.year,
            chapter_id: q.chapter_id.map(|c| c.to_string()),
        }
    }
}

/// A drive's numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TallyOut {
    /// The drive.
    pub drive_id: String,
    /// Collected, not voided donations at the drive's events.
    pub units: i64,
    /// Their millilitres.
    pub volume_ml: i64,
    /// Deferrals (not voided) at the drive's events.
    pub deferrals: i64,
    /// Distinct donors with a collected donation at the drive.
    pub donors: i64,
    /// Donors without prior (paper) donations whose first collection ever was at this drive.
    pub first_time_donors: i64,
    /// The drive's target.
    pub target_units: Option<i32>,
    /// Units by the donor's blood group: every group (`O+` … `AB-`) is present, 0 when none;
    /// `unknown` (donors not yet typed) appears only when non-zero.
    #[schema(value_type = Object, example = json!({"O+": 3, "O-": 0, "A+": 1, "A-": 0, "B+": 2, "B-": 0, "AB+": 0, "AB-": 0}))]
    pub by_blood_group: BTreeMap<String, i64>,
    /// Units per event, every event of the drive included (0 too), by day.
    pub by_event: Vec<EventUnits>,
}

impl From<DriveTally> for TallyOut {
    fn from(t: DriveTally) -> Self {
        TallyOut {
            drive_id: t.drive.id,
            units: t.units,
            volume_ml: t.volume_ml,
            deferrals: t.deferrals,
            donors: t.donors,
            first_time_donors: t.first_time_donors,
            target_units: t.drive.target_units,
            by_blood_group: t.by_blood_group,
            by_event: t
                .by_event
                .into_iter()
                .map(|(event_id, units)| EventUnits { event_id, units })
                .collect(),
        }
    }
}

/// Units at one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventUnits {
    /// The event.
    pub event_id: String,
    /// Its units.
    pub units: i64,
}

/// An event: one site on one day of a drive.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Id.
    pub id: String,
    /// The drive.
    pub drive_id: String,
    /// Where, e.g. "Nhà văn hóa phường Cốc Lếu".
    pub site: String,
    /// The day, within the drive's dates.
    pub held_on: NaiveDate,
    /// Province.
    pub province: Option<String>,
    /// Commune or ward.
    pub commune: Option<String>,
}

impl From<Event> for EventOut {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            drive_id: e.drive_id,
            site: e.site,
            held_on: e.held_on,
            province: e.province,
            commune: e.commune,
        }
    }
}

/// A new event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Where (1–200 characters).
    pub site: String,
    /// The day; must fall within the drive's dates.
    pub held_on: NaiveDate,
    /// Province.
    pub province: Option<String>,
    /// Commune or ward.
    pub commune: Option<String>,
}

impl NewEvent {
    /// The command to add this event to `drive_id`.
    pub fn into_command(self, drive_id: String) -> CreateEvent {
        CreateEvent {
            drive_id,
            site: self.site,
            held_on: self.held_on,
            province: self.province,
            commune: self.commune,
        }
    }
}
