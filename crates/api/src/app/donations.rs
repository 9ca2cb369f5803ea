//! Recording and voiding donations, and the donor counters they keep: the one donation path
//! of the API (event donations, the offline batch, emergency donations), `demo` and the tests.
//!
//! Everything here runs on a connection inside the caller's write transaction: the donor's
//! row is locked first ([`donors::lock`] on PostgreSQL; on SQLite the transaction already
//! holds the database's write lock), then eligibility is decided on what the
//! transaction sees, then the record is written and the donor's counters are rewritten. Two
//! devices recording the same donor therefore serialise, and the second one sees the first
//! one's donation when it decides (see `engineering-notes.md`).
//!
//! **Lock order**, the same in every write that takes more than one of these:
//! 1. the emergency request's row ([`emergency::lock_request`]), for anything done to a
//!    request or to one of its donations (emergency donations, answers, cancelling, voiding
//!    an emergency unit);
//! 2. the `Idempotency-Key` record (claimed by inserting it: a racing retry waits on it);
//! 3. the donor's row ([`donors::lock`]);
//! 4. the audit chain's head, last (`app::audit::append`).
//!
//! Event donations, the offline batch and emergency-request donations all go through
//! [`log`] (or, for batch items, [`validate`] and [`record`]); [`Target`] says where a
//! donation belongs.
//!
//! **Weight at screening.** A body may carry `weight_kg`, the weight measured at screening
//! (above 0 and below 300). A collection is judged on it, or on the donor's weight on record
//! when none is given; with neither, it is refused (422 naming `weight_kg`): the weight
//! minimum and the volume caps cannot be checked without one. A deferral needs no weight,
//! but one given is kept the same way. The weight given becomes the donor's weight on record
//! when the donation is recorded, unless a later donation (of either outcome) is already on
//! record: a paper form typed in late does not overwrite a newer measurement.
//!
//! **Emergency units** ([`Target::emergency`]): a collection must be of the request's
//! component from a donor whose blood group is known and compatible with the patient's for
//! that component (`hienmau_domain::emergency::unit_for_request`, the candidates' tables),
//! else [`AppError::IncompatibleDonor`]; this is judged on the donor's row under its lock,
//! before the weight and the eligibility rules. A deferral recorded for a request is not
//! checked against the patient: it takes no blood, counts no unit, and a called-up donor
//! found unfit at screening is worth recording whatever their group.

use crate::app::FieldCode;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use hienmau_db::models::{Donation, Donor, DonorChanges, DonorStats, Drive, Event};
use hienmau_db::repo::{api_keys, chapters, donations, donors, emergency, users};
use hienmau_db::{DbConn, DbError};
use hienmau_domain::donor::MAX_WEIGHT_KG;
use hienmau_domain::eligibility::{
    self, Deferral, EligibilityRules, Ineligible, PastDonation, Proposed,
};
use hienmau_domain::emergency::unit_for_request;
use hienmau_domain::{BloodGroup, Component, Role, Sex};
use rand::Rng;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

pub use hienmau_domain::Outcome;

use crate::app::audit::{self, AuditRecord};
use crate::app::error::{AppError, FieldError};
use crate::app::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::app::scope::{event_in_scope, Actor};
use crate::app::validate::required_text;
use crate::app::{savepoint, Ctx};

/// How far in the future (clock skew between a device and the server) a `donated_at` may be.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
/// The longest unit code, deferral reason and client reference.
const MAX_CODE_CHARS: usize = 64;
const MAX_REASON_CHARS: usize = 500;
/// Sanity bounds of `volume_ml` (any real collection is far inside them).
const MAX_VOLUME_ML: i32 = 2_000;

/// A donation to record (at an event, in a batch item, or for an emergency request). The
/// HTTP body is read as this (its documentation is `http::dto::donations::DonationBody`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDonation {
    /// The donor.
    pub donor_id: Uuid,
    /// The component.
    pub component: Component,
    /// Millilitres collected: required (1–2000) for a collection; for a deferral it may be
    /// omitted or 0 and is recorded as 0.
    pub volume_ml: Option<i32>,
    /// Collected or deferred.
    pub outcome: Outcome,
    /// When; defaults to now.
    pub donated_at: Option<DateTime<Utc>>,
    /// The code of a pre-labelled bag; generated when omitted (collections only).
    pub unit_code: Option<String>,
    /// Deferral only, required.
    pub deferral_reason: Option<String>,
    /// Deferral only: the first day the donor may give again.
    pub deferred_until: Option<NaiveDate>,
    /// Deferral only: a permanent deferral.
    pub permanent: Option<bool>,
    /// The weight measured at screening (kg, above 0 and below 300): judged on instead of
    /// the weight on record, which it replaces. A collection needs it when none is on record.
    pub weight_kg: Option<f64>,
}

/// Reads a donation from JSON already parsed: a shape or type error is
/// [`AppError::Unreadable`].
pub fn parse(value: Value) -> Result<NewDonation, AppError> {
    serde_json::from_value(value).map_err(|e| AppError::Unreadable(format!("unreadable JSON: {e}")))
}

/// Where a donation belongs, and the days it may fall on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    /// The event (drive donations).
    pub event_id: Option<String>,
    /// The emergency request (emergency donations).
    pub emergency_request_id: Option<String>,
    /// Copied from the event's drive.
    pub drive_id: Option<String>,
    /// Copied from the event's drive.
    pub chapter_id: Option<String>,
    /// The first and last day (inclusive, in the configured zone) the donation may fall on.
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// For an emergency request: the patient a collected unit must fit.
    pub patient: Option<Patient>,
    /// For an emergency request: when it was opened, the earliest `donated_at`.
    pub opened_at: Option<NaiveDateTime>,
}

/// The patient of an emergency request, as far as a unit for them must fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patient {
    /// The patient's blood group.
    pub blood_group: BloodGroup,
    /// The component the request asks for.
    pub component: Component,
}

impl Target {
    /// A donation at `event` of `drive`: within the drive's dates.
    pub fn event(event: &Event, drive: &Drive) -> Self {
        Self {
            event_id: Some(event.id.clone()),
            emergency_request_id: None,
            drive_id: Some(drive.id.clone()),
            chapter_id: Some(drive.chapter_id.clone()),
            days: Some((drive.starts_on, drive.ends_on)),
            patient: None,
            opened_at: None,
        }
    }

    /// A donation for an emergency request opened at `opened_at` for `patient`: a collected
    /// unit must fit them, and nothing is dated before the request was opened.
    pub fn emergency(request_id: &str, opened_at: NaiveDateTime, patient: Patient) -> Self {
        Self {
            emergency_request_id: Some(request_id.to_owned()),
            patient: Some(patient),
            opened_at: Some(opened_at),
            ..Self::default()
        }
    }
}

/// A donation that passed the checks that need no database.
#[derive(Debug, Clone, PartialEq)]
pub struct Valid {
    donor_id: String,
    component: Component,
    volume_ml: i32,
    outcome: Outcome,
    donated_at: NaiveDateTime,
    donated_on: NaiveDate,
    unit_code: Option<String>,
    deferral_reason: Option<String>,
    deferred_until: Option<NaiveDate>,
    permanent: bool,
    weight_kg: Option<f64>,
}

/// Checks a body's fields against each other, the clock and the target's dates; every
/// problem is reported at once (422).
pub fn validate(body: NewDonation, target: &Target, ctx: &Ctx) -> Result<Valid, AppError> {
    let mut errors = Vec::new();
    let donated_at = match body.donated_at {
        Some(t) => truncate_micros(t.naive_utc()),
        None => ctx.now,
    };
    let donated_on = ctx.zone.day_of(donated_at.and_utc());
    if donated_at > ctx.now + MAX_CLOCK_SKEW {
        errors.push(FieldError::new(
            "donated_at",
            FieldCode::OutOfRange,
            "must not be in the future",
        ));
    } else if target.opened_at.is_some_and(|opened| donated_at < opened) {
        errors.push(FieldError::new(
            "donated_at",
            FieldCode::OutOfRange,
            "must not be before the emergency request was opened",
        ));
    } else if let Some((first, last)) = target.days {
        if donated_on < first || donated_on > last {
            errors.push(FieldError::new(
                "donated_at",
                FieldCode::OutOfRange,
                format!(
                    "its day ({donated_on}) must fall within the drive's dates ({first} to {last})"
                ),
            ));
        }
    }

    let unit_code = match body.unit_code.as_deref().map(str::trim) {
        None => None,
        Some(c) if c.is_empty() || c.chars().count() > MAX_CODE_CHARS => {
            errors.push(FieldError::new(
                "unit_code",
                FieldCode::TooLong,
                format!("must be 1 to {MAX_CODE_CHARS} characters"),
            ));
            None
        }
        Some(c)
            if c.chars()
                .any(|ch| crate::app::validate::forbidden_in_text(ch) || ch.is_whitespace()) =>
        {
            errors.push(FieldError::new(
                "unit_code",
                FieldCode::InvalidFormat,
                "must not contain spaces or control characters",
            ));
            None
        }
        Some(c) => Some(c.to_owned()),
    };

    if let Some(w) = body.weight_kg {
        if !(w.is_finite() && w > 0.0 && w < MAX_WEIGHT_KG) {
            errors.push(FieldError::new(
                "weight_kg",
                FieldCode::OutOfRange,
                format!("must be above 0 and below {MAX_WEIGHT_KG}"),
            ));
        }
    }

    let permanent = body.permanent.unwrap_or(false);
    let deferral_reason = body
        .deferral_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let volume_ml;
    match body.outcome {
        Outcome::Collected => {
            volume_ml = match body.volume_ml {
                Some(v) if (1..=MAX_VOLUME_ML).contains(&v) => v,
                Some(_) => {
                    errors.push(FieldError::new(
                        "volume_ml",
                        FieldCode::OutOfRange,
                        format!("must be between 1 and {MAX_VOLUME_ML}"),
                    ));
                    0
                }
                None => {
                    errors.push(FieldError::new(
                        "volume_ml",
                        FieldCode::Required,
                        "is required for a collected donation",
                    ));
                    0
                }
            };
            if body.deferral_reason.is_some() {
                errors.push(FieldError::new(
                    "deferral_reason",
                    FieldCode::NotAllowed,
                    "only for a deferral",
                ));
            }
            if body.deferred_until.is_some() {
                errors.push(FieldError::new(
                    "deferred_until",
                    FieldCode::NotAllowed,
                    "only for a deferral",
                ));
            }
            if permanent {
                errors.push(FieldError::new(
                    "permanent",
                    FieldCode::NotAllowed,
                    "only for a deferral",
                ));
            }
        }
        Outcome::Deferred => {
            // A deferral takes no blood: whatever volume the form carried, none was taken.
            volume_ml = 0;
            if body
                .volume_ml
                .is_some_and(|v| !(0..=MAX_VOLUME_ML).contains(&v))
            {
                errors.push(FieldError::new(
                    "volume_ml",
                    FieldCode::OutOfRange,
                    format!("must be between 0 and {MAX_VOLUME_ML}"),
                ));
            }
            match &deferral_reason {
                None => errors.push(FieldError::new(
                    "deferral_reason",
                    FieldCode::Required,
                    "is required for a deferral",
                )),
                Some(r) if r.chars().count() > MAX_REASON_CHARS => errors.push(FieldError::new(
                    "deferral_reason",
                    FieldCode::TooLong,
                    format!("must be at most {MAX_REASON_CHARS} characters"),
                )),
                Some(r) if r.chars().any(crate::app::validate::forbidden_in_text) => {
                    errors.push(FieldError::new(
                        "deferral_reason",
                        FieldCode::InvalidFormat,
                        "must not contain control characters",
                    ))
                }
                Some(_) => {}
            }
            match (body.deferred_until, permanent) {
                (Some(_), true) => errors.push(FieldError::new(
                    "deferred_until",
                    FieldCode::NotAllowed,
                    "give either deferred_until or permanent: true, not both",
                )),
                (None, false) => errors.push(FieldError::new(
                    "deferred_until",
                    FieldCode::Required,
                    "a deferral needs deferred_until or permanent: true",
                )),
                (Some(until), false) if until <= donated_on => errors.push(FieldError::new(
                    "deferred_until",
                    FieldCode::OutOfRange,
                    "must be after the day of the deferral",
                )),
                _ => {}
            }
            // A catalogue code must respect its minimum (or be permanent); free text passes.
            if let Some(reason) = &deferral_reason {
                errors.extend(crate::app::deferrals::check(
                    ctx,
                    reason,
                    donated_on,
                    body.deferred_until,
                    permanent,
                ));
            }
            if body.unit_code.is_some() {
                errors.push(FieldError::new(
                    "unit_code",
                    FieldCode::NotAllowed,
                    "a deferral takes no blood, so it has no unit code",
                ));
            }
        }
    }
    AppError::check(errors)?;
    Ok(Valid {
        donor_id: body.donor_id.to_string(),
        component: body.component,
        volume_ml,
        outcome: body.outcome,
        donated_at,
        donated_on,
        unit_code,
        deferral_reason: deferral_reason.filter(|_| body.outcome == Outcome::Deferred),
        deferred_until: body.deferred_until.filter(|_| !permanent),
        permanent,
        weight_kg: body.weight_kg,
    })
}

/// `t` to the microsecond the databases keep.
pub(crate) fn truncate_micros(t: NaiveDateTime) -> NaiveDateTime {
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

/// What [`record`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// A new donation.
    New(Donation),
    /// The client reference was already recorded at this event (by a racing request that
    /// committed first): the donation recorded under it. Nothing new was written.
    ClientRefTaken(Donation),
}

/// A batch item's identity at its event.
#[derive(Debug, Clone, Copy)]
pub struct ClientRef<'a> {
    /// The client's reference.
    pub client_ref: &'a str,
    /// The canonical hash of the item.
    pub hash: &'a str,
}

/// Records a validated donation by `recorded_by` (user or API key id): locks the donor,
/// decides eligibility on what this transaction sees, inserts (generating a unit code when
/// none was given), and rewrites the donor's counters.
pub fn record(
    conn: &mut DbConn,
    ctx: &Ctx,
    recorded_by: &str,
    target: &Target,
    v: Valid,
    client: Option<ClientRef<'_>>,
) -> Result<Recorded, AppError> {
    let rules = &ctx.settings.eligibility;
    if !lock_donor(conn, &v.donor_id)? {
        return Err(no_such_donor());
    }
    // After the lock: a racing batch that recorded this reference for the same donor has
    // committed by now, and its record answers instead of an interval refusal.
    if let (Some(c), Some(event_id)) = (client, target.event_id.as_deref()) {
        if let Some(existing) = donations::find_by_client_ref(conn, event_id, c.client_ref)? {
            return Ok(Recorded::ClientRefTaken(existing));
        }
    }
    let donor = donors::find(conn, &v.donor_id)?.ok_or(AppError::NotFound)?;
    // Read once: the rules judge on it, and the counters are recomputed from it and the new
    // row (nothing else writes this donor's donations while the transaction holds the lock).
    let mut history = history_of(conn, &donor)?;
    if v.outcome == Outcome::Collected {
        if let Some(patient) = target.patient {
            fits_patient(patient, &donor, &v)?;
        }
        let weight_kg = v
            .weight_kg
            .or(donor.weight_kg)
            .filter(|w| w.is_finite())
            .ok_or_else(|| {
                AppError::field(
                    "weight_kg", FieldCode::Required,
                    "the weight measured at screening is required: the donor has no weight on record",
                )
            })?;
        check_eligible(rules, &donor, weight_kg, &history, &v)?;
    }
    // Known before the new row joins the history: is anything later already on record?
    let newest = history.rows.iter().all(|d| d.donated_at <= v.donated_at);

    let mut row = Donation {
        id: hienmau_db::new_id(),
        donor_id: v.donor_id.clone(),
        event_id: target.event_id.clone(),
        emergency_request_id: target.emergency_request_id.clone(),
        drive_id: target.drive_id.clone(),
        chapter_id: target.chapter_id.clone(),
        component: v.component.as_str().to_owned(),
        volume_ml: v.volume_ml,
        outcome: v.outcome.as_str().to_owned(),
        donated_at: v.donated_at,
        donated_on: v.donated_on,
        unit_code: None,
        deferral_reason: v.deferral_reason.clone(),
        deferred_until: v.deferred_until,
        permanent: v.permanent,
        voided: false,
        void_reason: None,
        voided_at: None,
        voided_by: None,
        recorded_by: recorded_by.to_owned(),
        client_ref: client.map(|c| c.client_ref.to_owned()),
        client_ref_hash: client.map(|c| c.hash.to_owned()),
        created_at: ctx.now,
    };

    // A generated code colliding is astronomically unlikely; try a few before giving up.
    let mut attempts = 0;
    loop {
        attempts += 1;
        row.unit_code = match (&v.unit_code, v.outcome) {
            (_, Outcome::Deferred) => None,
            (Some(code), _) => Some(code.clone()),
            (None, _) => Some(generate_unit_code(v.donated_on)),
        };
        let inserted = savepoint(conn, |c| Ok(donations::insert(c, &row)?));
        match inserted {
            Ok(()) => break,
            Err(e) => match unique_on(&e) {
                Some(UniqueOn::ClientRef) => {
                    let event_id = target.event_id.as_deref().unwrap_or_default();
                    let client_ref = client.map(|c| c.client_ref).unwrap_or_default();
                    let winner = donations::find_by_client_ref(conn, event_id, client_ref)?
                        .ok_or_else(|| AppError::internal("client_ref winner vanished"))?;
                    return Ok(Recorded::ClientRefTaken(winner));
                }
                Some(UniqueOn::UnitCode) if v.unit_code.is_none() && attempts < 5 => continue,
                Some(UniqueOn::UnitCode) => {
                    return Err(AppError::conflict(
                        "unit_code: this unit code is already recorded",
                    ))
                }
                None => return Err(e),
            },
        }
    }
    if let Some(w) = v
        .weight_kg
        .filter(|&w| newest && donor.weight_kg != Some(w))
    {
        donors::update(
            conn,
            &row.donor_id,
            &DonorChanges {
                weight_kg: Some(Some(w)),
                updated_at: Some(ctx.now),
                ..DonorChanges::default()
            },
        )?;
    }
    history.rows.push(row.clone());
    history
        .rows
        .sort_by(|a, b| (a.donated_at, &a.id).cmp(&(b.donated_at, &b.id)));
    let history = history_from_rows(&donor, history.rows)?;
    let stats = stats_from(rules, &donor, history)?;
    donors::set_stats(conn, &row.donor_id, &stats)?;
    Ok(Recorded::New(row))
}

/// The answer to a `donor_id` that names no donor, and (`app::emergency`) to one a hospital
/// was not shown: one constructor, so that the two cannot drift apart.
pub fn no_such_donor() -> AppError {
    AppError::field("donor_id", FieldCode::NotFound, "no such donor")
}

/// Locks the donor for the rest of the write transaction; false when there is no such donor.
/// On SQLite the transaction already holds the database's write lock (`BEGIN IMMEDIATE`), so
/// an existence probe does instead of the no-op `UPDATE` (one write fewer per batch item).
fn lock_donor(conn: &mut DbConn, donor_id: &str) -> Result<bool, AppError> {
    match conn {
        DbConn::Sqlite(_) => Ok(donors::find(conn, donor_id)?.is_some()),
        DbConn::Pg(_) => Ok(donors::lock(conn, donor_id)?),
    }
}

enum UniqueOn {
    ClientRef,
    UnitCode,
}

/// Which unique constraint of `donations` refused an insert, if one did.
fn unique_on(e: &AppError) -> Option<UniqueOn> {
    if e.is_unique_violation_on("client_ref") {
        Some(UniqueOn::ClientRef)
    } else if e.is_unique_violation_on("unit_code") {
        Some(UniqueOn::UnitCode)
    } else {
        None
    }
}

/// `HM-YYYYMMDD-` and 8 random characters of an unambiguous 32-letter alphabet.
fn generate_unit_code(day: NaiveDate) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..8)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("HM-{}-{tail}", day.format("%Y%m%d"))
}

/// The rules' view of a donor weighing `weight_kg`.
pub(crate) fn rules_donor(
    donor: &Donor,
    weight_kg: Option<f64>,
) -> Result<eligibility::Donor, AppError> {
    Ok(eligibility::Donor {
        date_of_birth: donor.date_of_birth,
        sex: Sex::parse(&donor.sex).map_err(|_| AppError::internal("stored sex"))?,
        weight_kg,
    })
}

/// A donor's record as the rules see it.
pub(crate) struct History {
    /// Not voided donations, both outcomes, by (donated_at, id).
    pub(crate) rows: Vec<Donation>,
    /// Collections, plus the paper-era last donation as whole blood.
    pub(crate) past: Vec<PastDonation>,
    /// Deferrals.
    pub(crate) deferrals: Vec<Deferral>,
}

/// The donor's collected (not voided) donations, the paper-era last donation as whole
/// blood, and the deferrals on record.
pub(crate) fn history_of(conn: &mut DbConn, donor: &Donor) -> Result<History, AppError> {
    history_from_rows(donor, donations::history(conn, &donor.id)?)
}

/// [`history_of`] from rows already read (not voided, ordered by (donated_at, id)).
fn history_from_rows(donor: &Donor, rows: Vec<Donation>) -> Result<History, AppError> {
    let mut past = Vec::new();
    let mut deferrals = Vec::new();
    for d in &rows {
        let outcome =
            Outcome::parse(&d.outcome).map_err(|_| AppError::internal("stored outcome"))?;
        match outcome {
            Outcome::Collected => past.push(PastDonation {
                day: d.donated_on,
                component: Component::parse(&d.component)
                    .map_err(|_| AppError::internal("stored component"))?,
            }),
            Outcome::Deferred => deferrals.push(Deferral {
                from: d.donated_on,
                until: if d.permanent { None } else { d.deferred_until },
            }),
        }
    }
    if let Some(day) = donor.prior_last_donation_on {
        past.push(PastDonation {
            day,
            component: Component::WholeBlood,
        });
    }
    Ok(History {
        rows,
        past,
        deferrals,
    })
}

fn not_eligible(e: Ineligible) -> AppError {
    AppError::NotEligible {
        reason: e.reason.code().to_owned(),
        message: e.reason.message(),
        next_eligible_on: e.next_eligible_on,
    }
}

/// Decides a collection by the domain rules, on the weight measured at screening (or on
/// record).
fn check_eligible(
    rules: &EligibilityRules,
    donor: &Donor,
    weight_kg: f64,
    history: &History,
    v: &Valid,
) -> Result<(), AppError> {
    let History {
        past, deferrals, ..
    } = history;
    let who = rules_donor(donor, Some(weight_kg))?;
    let proposed = Proposed {
        day: v.donated_on,
        component: v.component,
        volume_ml: v.volume_ml,
    };
    eligibility::check(rules, &who, past, deferrals, &proposed).map_err(not_eligible)
}

/// Whether a collected unit fits an emergency request's patient (see the module doc).
fn fits_patient(patient: Patient, donor: &Donor, v: &Valid) -> Result<(), AppError> {
    // A stored group is always one of the eight; anything else is as good as unknown.
    let group = donor
        .blood_group
        .as_deref()
        .and_then(|g| BloodGroup::parse(g).ok());
    unit_for_request(patient.blood_group, patient.component, group, v.component)
        .map(|_| ())
        .map_err(|e| AppError::IncompatibleDonor(e.to_string()))
}

/// Validates and records one donation (no client reference) by `recorded_by` in the
/// caller's transaction: the path shared by event and emergency donations and `demo`.
pub fn log(
    conn: &mut DbConn,
    ctx: &Ctx,
    recorded_by: &str,
    target: &Target,
    cmd: NewDonation,
) -> Result<Donation, AppError> {
    let valid = validate(cmd, target, ctx)?;
    match record(conn, ctx, recorded_by, target, valid, None)? {
        Recorded::New(d) | Recorded::ClientRefTaken(d) => Ok(d),
    }
}

/// Rewrites the donor's counters from their not-voided donations:
///
/// - `collected_count`, `first_collected_on`, `last_donation_at`, `last_component`,
///   `last_chapter_id`: over collected donations;
/// - `next_eligible_on`: the first day, from the latest collection or deferral on record
///   (the paper-era last donation included), on which the donor could give whole blood;
///   null when nothing is on record, or when never (permanent deferral, past the age limit);
/// - `deferred_until`: the latest end of a temporary deferral (compare with today to know
///   whether it is active); `permanently_deferred`: any permanent deferral.
pub fn refresh_stats(
    conn: &mut DbConn,
    rules: &EligibilityRules,
    donor_id: &str,
) -> Result<DonorStats, AppError> {
    let donor = donors::find(conn, donor_id)?.ok_or(AppError::NotFound)?;
    let history = history_of(conn, &donor)?;
    let stats = stats_from(rules, &donor, history)?;
    donors::set_stats(conn, donor_id, &stats)?;
    Ok(stats)
}

/// The counters of [`refresh_stats`] from the donor's history.
fn stats_from(
    rules: &EligibilityRules,
    donor: &Donor,
    history: History,
) -> Result<DonorStats, AppError> {
    let History {
        rows,
        past,
        deferrals,
    } = history;
    let collected: Vec<&Donation> = rows
        .iter()
        .filter(|d| d.outcome == Outcome::Collected.as_str())
        .collect();
    // `history` is ordered by (donated_at, id): the last collected is the latest.
    let last = collected.last();
    let from = past
        .iter()
        .map(|p| p.day)
        .chain(deferrals.iter().map(|d| d.from))
        .max();
    let next_eligible_on = match from {
        Some(from) => eligibility::next_eligible_on(
            rules,
            &rules_donor(donor, donor.weight_kg)?,
            &past,
            &deferrals,
            Component::WholeBlood,
            from,
        ),
        None => None,
    };
    let stats = DonorStats {
        collected_count: i32::try_from(collected.len()).unwrap_or(i32::MAX),
        first_collected_on: collected.iter().map(|d| d.donated_on).min(),
        last_donation_at: last.map(|d| d.donated_at),
        last_component: last.map(|d| d.component.clone()),
        next_eligible_on,
        deferred_until: deferrals.iter().filter_map(|d| d.until).max(),
        permanently_deferred: deferrals.iter().any(|d| d.until.is_none()),
        last_chapter_id: last.and_then(|d| d.chapter_id.clone()),
    };
    Ok(stats)
}

/// Records a donation at an event (`POST /events/{id}/donations`), at most once per
/// `key`: the first answer, rendered by `answer` in the caller's wire form, is stored with the
/// key and given again (with `true`: replayed) to a repeat. A failure records nothing.
pub fn record_at_event(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    event_id: &str,
    key: Option<&IdempotencyKey>,
    cmd: NewDonation,
    answer: impl FnOnce(&Donation) -> Result<StoredResponse, AppError>,
) -> Result<(StoredResponse, bool), AppError> {
    let (event, drive) = event_in_scope(tx, actor, event_id)?;
    idempotency::once(tx, actor.principal_id(), key, |tx| {
        let target = Target::event(&event, &drive);
        let donation = log(tx, ctx, actor.principal_id(), &target, cmd)?;
        answer(&donation)
    })
}

/// The longest `client_ref`.
const MAX_CLIENT_REF_CHARS: usize = 64;

/// What became of one batch item.
#[derive(Debug)]
pub struct ItemResult {
    /// The item's `client_ref`, as sent (null when it had none).
    pub client_ref: Value,
    /// Recorded now, recorded before, or the item's own error.
    pub outcome: Result<ItemRecorded, AppError>,
}

/// A batch item that holds a donation.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemRecorded {
    /// Recorded by this batch.
    New(Donation),
    /// Recorded before under the same `client_ref` with the same body.
    Again(Donation),
}

/// Records donations collected offline at an event: one transaction, a savepoint per item,
/// so a failed item loses only itself. Each `client_ref` is recorded at most once per event
/// (the same body again answers the first donation; another body is
/// [`AppError::KeyReused`]). `Err` only for what breaks the whole transaction.
pub fn record_batch(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    event_id: &str,
    items: Vec<Value>,
) -> Result<Vec<ItemResult>, AppError> {
    let (event, drive) = event_in_scope(tx, actor, event_id)?;
    let target = Target::event(&event, &drive);
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let client_ref = item.get("client_ref").cloned().unwrap_or(Value::Null);
        let outcome = match judge_item(tx, ctx, actor.principal_id(), &target, &event.id, item) {
            Err(e) if breaks_the_batch(&e) => return Err(e),
            outcome => outcome,
        };
        results.push(ItemResult {
            client_ref,
            outcome,
        });
    }
    Ok(results)
}

/// True for an error that leaves the transaction unusable or is a bug: the batch answers it
/// and records nothing.
fn breaks_the_batch(e: &AppError) -> bool {
    match e {
        AppError::Internal(_) => true,
        AppError::Database(d) => !matches!(
            d,
            DbError::NotFound | DbError::BadCursor | DbError::UniqueViolation { .. }
        ),
        _ => false,
    }
}

fn judge_item(
    conn: &mut DbConn,
    ctx: &Ctx,
    recorded_by: &str,
    target: &Target,
    event_id: &str,
    item: Value,
) -> Result<ItemRecorded, AppError> {
    let Value::Object(mut fields) = item else {
        return Err(AppError::Unreadable(
            "an item must be a JSON object".to_owned(),
        ));
    };
    let client_ref = match fields.get("client_ref").and_then(Value::as_str) {
        Some(s)
            if !s.trim().is_empty()
                && s.chars().count() <= MAX_CLIENT_REF_CHARS
                && !s.chars().any(crate::app::validate::forbidden_in_text) =>
        {
            s.to_owned()
        }
        _ => {
            return Err(AppError::field(
                "client_ref", FieldCode::InvalidFormat,
                format!("must be a non-empty string of at most {MAX_CLIENT_REF_CHARS} characters, without control characters"),
            ))
        }
    };
    let hash = idempotency::request_hash("batch item", &Value::Object(fields.clone()));
    let settle = |d: Donation| -> Result<ItemRecorded, AppError> {
        if d.client_ref_hash.as_deref() == Some(hash.as_str()) {
            Ok(ItemRecorded::Again(d))
        } else {
            Err(AppError::KeyReused)
        }
    };
    if let Some(existing) = donations::find_by_client_ref(conn, event_id, &client_ref)? {
        return settle(existing);
    }
    fields.remove("client_ref");
    let body = parse(Value::Object(fields))?;
    let client = ClientRef {
        client_ref: &client_ref,
        hash: &hash,
    };
    let recorded = savepoint(conn, |c| {
        let valid = validate(body, target, ctx)?;
        record(c, ctx, recorded_by, target, valid, Some(client))
    })?;
    match recorded {
        Recorded::New(d) => Ok(ItemRecorded::New(d)),
        Recorded::ClientRefTaken(d) => settle(d),
    }
}

/// One donation record (voided ones too): a drive donation (or a standalone deferral) through
/// its chapter; an emergency record (no chapter) for an admin, a caller of the request's
/// hospital, or a coordinator whose scope holds the donor's registering chapter (the chapter
/// that answers for the donor's record). Not found otherwise.
pub fn get(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<Donation, AppError> {
    let d = donations::find(conn, id)?.ok_or(AppError::NotFound)?;
    match (&d.chapter_id, &d.emergency_request_id, actor.role) {
        (Some(chapter_id), _, _) => {
            let chapter = chapters::find(conn, chapter_id)?
                .ok_or_else(|| AppError::internal("donation without its chapter"))?;
            actor.require_chapter(&chapter)?;
        }
        (None, _, Role::Admin) => {}
        (None, Some(request_id), Role::Hospital) => {
            let r = emergency::find_request(conn, request_id)?
                .ok_or_else(|| AppError::internal("donation without its request"))?;
            actor.require_hospital(&r.hospital_id)?;
        }
        (None, Some(_), Role::Coordinator) => {
            let registering = donors::find(conn, &d.donor_id)?
                .ok_or_else(|| AppError::internal("donation without its donor"))?
                .chapter_id
                .ok_or(AppError::NotFound)?;
            let chapter = chapters::find(conn, &registering)?
                .ok_or_else(|| AppError::internal("donor without its chapter"))?;
            actor.require_chapter(&chapter)?;
        }
        _ => return Err(AppError::NotFound),
    }
    Ok(d)
}

/// How long after recording it a hospital may void an emergency record it made.
pub const HOSPITAL_VOID_HOURS: i64 = 24;

/// A hospital voids only what its own callers (users or API keys) recorded, within
/// [`HOSPITAL_VOID_HOURS`] of recording it: a record made by an admin is forbidden to it; a
/// later void is a conflict (an admin, or a coordinator of the donor's registering chapter,
/// may still void it). Call after [`get`] (the record is of the hospital's request).
fn hospital_may_void(
    conn: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    d: &Donation,
) -> Result<(), AppError> {
    let recorder_hospital = match users::find(conn, &d.recorded_by)? {
        Some(u) => u.hospital_id,
        None => api_keys::find(conn, &d.recorded_by)?.map(|k| k.hospital_id),
    };
    if recorder_hospital.is_none() || recorder_hospital != actor.hospital_id {
        return Err(AppError::Forbidden);
    }
    if ctx.now - d.created_at > Duration::hours(HOSPITAL_VOID_HOURS) {
        return Err(AppError::conflict(format!(
            "a hospital may void its record within {HOSPITAL_VOID_HOURS} hours of recording it; \
             ask an administrator or the donor's chapter"
        )));
    }
    Ok(())
}

/// Why a record is voided.
#[derive(Debug, Clone, Deserialize)]
pub struct VoidDonation {
    /// Why (1–500 characters), kept for the audit.
    pub reason: String,
}

/// Voids a mistaken record: it stops counting everywhere and is kept for the audit; the
/// donor's counters (and an emergency request's units) are recounted. Voiding a voided record
/// returns it unchanged (the first reason stays). A permanent deferral is the admins' to void
/// ([`AppError::Forbidden`] for anyone else, voided or not); a hospital voids only its own
/// recent emergency records (`hospital_may_void`). Who reaches which record is [`get`]. The
/// audit entry holds the reason, the outcome and whether it was permanent.
pub fn void(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    cmd: VoidDonation,
) -> Result<Donation, AppError> {
    let mut errors = Vec::new();
    let reason = required_text("reason", &cmd.reason, 500, &mut errors);
    AppError::check(errors)?;
    let d = get(tx, actor, id)?;
    // A permanent deferral (a positive infection screen) keeps the donor off every list:
    // only an admin may undo it.
    if d.permanent && d.outcome == Outcome::Deferred.as_str() && !actor.is_admin() {
        return Err(AppError::Forbidden);
    }
    if actor.role == Role::Hospital {
        hospital_may_void(tx, ctx, actor, &d)?;
    }
    // An emergency unit: its request first (the lock order above), recounted once voided.
    if let Some(request_id) = &d.emergency_request_id {
        emergency::lock_request(tx, request_id)?;
    }
    if d.voided {
        return Ok(d);
    }
    donors::lock(tx, &d.donor_id)?;
    let voided = donations::void(tx, &d.id, &reason, actor.principal_id(), ctx.now)?;
    refresh_stats(tx, &ctx.settings.eligibility, &d.donor_id)?;
    if let Some(request_id) = &voided.emergency_request_id {
        crate::app::emergency::recount(tx, ctx, request_id)?;
    }
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "donation_voided",
            serde_json::json!({
                "donation_id": voided.id,
                "event_id": voided.event_id,
                "emergency_request_id": voided.emergency_request_id,
                "outcome": voided.outcome,
                "permanent": voided.permanent,
                "reason": reason,
            }),
        )
        .donors(vec![voided.donor_id.clone()]),
    )?;
    Ok(voided)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx {
            settings: std::sync::Arc::new(crate::settings::Settings::default()),
            zone: hienmau_domain::Zone::default(),
            now: "2024-04-07T03:00:00".parse().unwrap(),
        }
    }

    fn body(outcome: Outcome) -> NewDonation {
        NewDonation {
            donor_id: Uuid::nil(),
            component: Component::WholeBlood,
            volume_ml: Some(350),
            outcome,
            donated_at: None,
            unit_code: None,
            deferral_reason: None,
            deferred_until: None,
            permanent: None,
            weight_kg: None,
        }
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Invalid { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn days_are_counted_in_the_zone_and_bounded_by_the_drive() {
        let c = ctx();
        let drive_days = Target {
            days: Some(("2024-04-07".parse().unwrap(), "2024-04-08".parse().unwrap())),
            ..Target::default()
        };
        let v = validate(body(Outcome::Collected), &drive_days, &c).unwrap();
        assert_eq!(v.donated_on.to_string(), "2024-04-07");
        // 23:30 UTC on the 5th is the 6th in Vietnam: before the drive.
        let mut b = body(Outcome::Collected);
        b.donated_at = Some("2024-04-05T23:30:00Z".parse().unwrap());
        assert_eq!(
            fields(validate(b, &drive_days, &c).unwrap_err()),
            ["donated_at"]
        );
        // 17:00 UTC on the 6th is midnight of the 7th: inside.
        let mut b = body(Outcome::Collected);
        b.donated_at = Some("2024-04-06T17:00:00Z".parse().unwrap());
        assert!(validate(b, &drive_days, &c).is_ok());
        let mut b = body(Outcome::Collected);
        b.donated_at = Some("2024-04-07T03:10:00Z".parse().unwrap());
        assert_eq!(
            fields(validate(b, &Target::default(), &c).unwrap_err()),
            ["donated_at"]
        );
    }

    #[test]
    fn deferral_fields() {
        let c = ctx();
        let t = Target::default();
        assert_eq!(
            fields(validate(body(Outcome::Deferred), &t, &c).unwrap_err()),
            ["deferral_reason", "deferred_until"]
        );
        let mut b = body(Outcome::Deferred);
        b.deferral_reason = Some("flu".into());
        b.deferred_until = Some("2024-04-14".parse().unwrap());
        b.permanent = Some(true);
        assert_eq!(
            fields(validate(b.clone(), &t, &c).unwrap_err()),
            ["deferred_until"]
        );
        b.permanent = None;
        let v = validate(b.clone(), &t, &c).unwrap();
        assert_eq!(v.volume_ml, 0);
        b.deferred_until = Some("2024-04-07".parse().unwrap());
        assert_eq!(fields(validate(b, &t, &c).unwrap_err()), ["deferred_until"]);
        let mut b = body(Outcome::Collected);
        b.volume_ml = None;
        b.permanent = Some(true);
        assert_eq!(
            fields(validate(b, &t, &c).unwrap_err()),
            ["volume_ml", "permanent"]
        );
    }

    #[test]
    fn weight_at_screening_is_checked_for_both_outcomes() {
        let c = ctx();
        let t = Target::default();
        for (kg, ok) in [
            (None, true),
            (Some(0.1), true),
            (Some(299.9), true),
            (Some(0.0), false),
            (Some(-1.0), false),
            (Some(300.0), false),
            (Some(f64::NAN), false),
            (Some(f64::INFINITY), false),
        ] {
            let mut b = body(Outcome::Collected);
            b.weight_kg = kg;
            match validate(b, &t, &c) {
                Ok(v) => assert!(ok && v.weight_kg == kg, "{kg:?}"),
                Err(e) => assert!(!ok && fields(e) == ["weight_kg"], "{kg:?}"),
            }
        }
        let mut b = body(Outcome::Deferred);
        b.deferral_reason = Some("low weight".into());
        b.deferred_until = Some("2024-04-14".parse().unwrap());
        b.weight_kg = Some(40.5);
        assert_eq!(validate(b, &t, &c).unwrap().weight_kg, Some(40.5));
    }

    #[test]
    fn generated_codes_look_right() {
        let code = generate_unit_code("2024-04-07".parse().unwrap());
        assert!(code.starts_with("HM-20240407-"), "{code}");
        assert_eq!(code.len(), "HM-20240407-".len() + 8);
    }
}
