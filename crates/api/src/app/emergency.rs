//! Emergency requests: a hospital asks for reserve donors of a patient's group; the system
//! offers candidates, records the donors' answers to the call-up and the units they gave.
//!
//! **Who.** Hospital callers (a user of the hospital or its API key) act for their own
//! hospital; admins act for any hospital (giving `hospital_id` when opening a request) and
//! read all requests. Another hospital's request is not found, and so is everything under it
//! (candidates, responses, donations, cancel). Coordinators and the honors role are refused by
//! the route's policy.
//!
//! **Decisions** (where the contract is silent):
//! - `blood_group` in the command is free text like the donor's: an unknown group is invalid;
//!   `units_needed` 1–1000, `note` at most 2000 characters, `province`/`commune` at most 100,
//!   `opened_at` (default now) not in the future (5 minutes of clock skew allowed). An admin
//!   must give `hospital_id` (and an existing one); a hospital caller may give only its own.
//! - Candidates, responses and donations are for open requests only
//!   ([`RequestStatus::require_open`]): a cancelled or fulfilled request is a conflict.
//!   Cancelling a cancelled request returns it unchanged; cancelling a fulfilled one is a
//!   conflict ([`RequestStatus::cancel`]).
//! - Candidates: `limit` default 20, at most 100 (larger values capped), negative unreadable.
//!   Every call is written to the audit log (`contact_disclosed`, with the donors disclosed,
//!   possibly none) in the same transaction as the read. Who is a candidate is the domain's
//!   [`CandidateCriteria`] plus the stored facts the repository checks (reserve, eligible
//!   today, not declined for this request). A donor whose weight is unknown is offered (the
//!   weight is checked at the collection).
//! - **Disclosures.** A donor returned by the candidates to a hospital caller (user or API
//!   key) is *disclosed* for that request, for every caller of the hospital, for good (a later
//!   decline does not undo it); the row is written with the call's audit entry. A hospital
//!   records answers and donations only for disclosed donors: any other id is refused with
//!   exactly the answer of an id that names no donor, before anything about the donor is
//!   judged, so a refusal tells nothing of a donor the hospital was not shown. Admins see
//!   candidates without disclosing (nor being capped) and record any donor on record.
//! - **The cap** ([`disclosure_cap`]): at most `disclosures_per_unit` × `units_needed`
//!   distinct donors (or the admin's `disclosure_cap`) per request, so that declining each
//!   candidate and asking again cannot page through the reserve. Below the cap, a page lists
//!   the donors already disclosed and new ones up to the cap (the rest of the page is left
//!   out); at the cap, a page holding any new donor is refused whole (`disclosure_limit`),
//!   and a page of donors already disclosed is still answered. Raising `units_needed`
//!   (`PATCH`) raises the default cap.
//! - **Back-dating.** A hospital's `opened_at` is at most 7 days before the request is
//!   recorded (an admin's is not bounded: history entered after the fact); a donation for a
//!   request falls between its `opened_at` and now. A hospital may not record a permanent
//!   deferral (it blocks the donor everywhere; the chapters' screening records those).
//! - **Changes** ([`update`]): `units_needed` may be raised, never lowered (the units already
//!   called up stay needed); raising it past `units_received` reopens a fulfilled request. A
//!   cancelled request is not changed (conflict). `disclosure_cap` is the admin's: from
//!   anyone else it is an invalid field (422), like `hospital_id` on opening.
//! - Emergency donations: the rules and idempotency of event donations
//!   ([`crate::app::donations`]), `donated_at` must not be in the future. A collection must be
//!   of the request's component from a donor whose blood group is known and compatible with
//!   the patient's for it (the candidates' tables), else `incompatible_donor` and nothing is
//!   recorded; a deferral is not checked against the patient (it takes no blood and counts no
//!   unit; see [`crate::app::donations`]). `units_received` is the number of collected, not
//!   voided donations for the request; the status follows it ([`RequestStatus::with_units`]).
//!
//! Every write here takes the request's row lock first; the order of all locks is in
//! [`crate::app::donations`].

use crate::app::FieldCode;
use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use hienmau_db::models::{
    Donation, Donor, DonorResponse, EmergencyRequest, EmergencyRequestChanges,
};
use hienmau_db::repo::candidates::{self, CandidateQuery};
use hienmau_db::repo::{disclosures, donations, donors, emergency, hospitals, Page};
use hienmau_db::DbConn;
use hienmau_domain::emergency::{Cancelling, NotOpen};
use hienmau_domain::text::fold;
use hienmau_domain::{
    BloodGroup, CandidateCriteria, Component, Match, RequestStatus, ResponseKind, Role, Urgency,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::audit::{self, AuditRecord};
use crate::app::donations::{
    self as donation, no_such_donor, truncate_micros, NewDonation, Patient, Target, MAX_CLOCK_SKEW,
};
use crate::app::error::{AppError, FieldError};
use crate::app::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::app::scope::Actor;
use crate::app::validate::optional_text;
use crate::app::Ctx;

/// The most units one request may ask for.
const MAX_UNITS: i64 = 1000;
/// The longest note.
const MAX_NOTE_CHARS: usize = 2000;
/// Candidates per call: default and maximum.
const DEFAULT_CANDIDATES: i64 = 20;
const MAX_CANDIDATES: i64 = 100;
/// How long before it is recorded a hospital's request may say it was made.
const MAX_BACKDATE: Duration = Duration::days(7);
/// The largest cap an admin may set on one request.
const MAX_DISCLOSURE_CAP: i64 = 100_000;

/// A request to open.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// The patient's group, as text (an unknown group is invalid).
    pub blood_group: String,
    /// The component needed.
    pub component: Component,
    /// Units needed, 1 to 1000.
    pub units_needed: i64,
    /// How soon.
    pub urgency: Urgency,
    /// By when.
    pub needed_by: Option<DateTime<Utc>>,
    /// The province where donors are needed.
    pub province: Option<String>,
    /// The commune or ward where donors are needed.
    pub commune: Option<String>,
    /// Free text, at most 2000 characters.
    pub note: Option<String>,
    /// When the request was made; defaults to now; not in the future.
    pub opened_at: Option<DateTime<Utc>>,
    /// The hospital: required for an admin; a hospital caller may omit it or give its own.
    pub hospital_id: Option<Uuid>,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only requests in this status.
    pub status: Option<RequestStatus>,
    /// Admin only: one hospital's requests; a hospital caller may give only its own.
    pub hospital_id: Option<Uuid>,
    /// The repository's key of the last request of the previous page.
    pub after: Option<String>,
    /// Page size.
    pub limit: i64,
}

/// A reserve donor the hospital may call.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The donor (contact details included).
    pub donor: Donor,
    /// The donor's group.
    pub blood_group: BloodGroup,
    /// How well it fits the patient.
    pub match_: Match,
    /// The last recorded donation, else the start of the paper-era last donation day.
    pub last_donation_at: Option<DateTime<Utc>>,
}

/// A donor's answer to a call-up.
#[derive(Debug, Clone, Deserialize)]
pub struct NewResponse {
    /// The donor called.
    pub donor_id: Uuid,
    /// The answer.
    pub response: ResponseKind,
}

/// The request, when the caller may reach it; not found otherwise (another hospital's request
/// looks like no request at all).
pub fn get(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<EmergencyRequest, AppError> {
    let r = emergency::find_request(conn, id)?.ok_or(AppError::NotFound)?;
    actor.require_hospital(&r.hospital_id)?;
    Ok(r)
}

/// Locks the request (see [`emergency::lock_request`]) and reads it again, so what follows
/// decides on its latest state.
fn lock_and_read(conn: &mut DbConn, id: &str) -> Result<EmergencyRequest, AppError> {
    emergency::lock_request(conn, id)?;
    emergency::find_request(conn, id)?.ok_or(AppError::NotFound)
}

/// The stored status of a request.
fn status_of(r: &EmergencyRequest) -> Result<RequestStatus, AppError> {
    RequestStatus::parse(&r.status).map_err(|_| AppError::internal("stored request status"))
}

fn not_open(e: NotOpen) -> AppError {
    AppError::conflict(e.to_string())
}

/// A conflict unless the request is open.
fn require_open(r: &EmergencyRequest) -> Result<(), AppError> {
    status_of(r)?.require_open().map_err(not_open)
}

/// Rewrites `units_received` from the request's collected, not voided donations and the
/// status to match ([`RequestStatus::with_units`]). Call with the request locked.
pub fn recount(
    conn: &mut DbConn,
    ctx: &Ctx,
    request_id: &str,
) -> Result<EmergencyRequest, AppError> {
    let r = emergency::find_request(conn, request_id)?.ok_or(AppError::NotFound)?;
    let units = i32::try_from(donations::count_for_request(conn, request_id)?).unwrap_or(i32::MAX);
    let status = status_of(&r)?.with_units(units, r.units_needed);
    let closed_at = match status {
        RequestStatus::Cancelled => r.closed_at,
        RequestStatus::Fulfilled => Some(r.closed_at.unwrap_or(ctx.now)),
        RequestStatus::Open => None,
    };
    if units != r.units_received || status.as_str() != r.status || closed_at != r.closed_at {
        emergency::update_request_status(conn, request_id, status.as_str(), units, closed_at)?;
    }
    emergency::find_request(conn, request_id)?.ok_or(AppError::NotFound)
}

/// A note: at most 2000 characters; line breaks and tabs allowed, other control characters
/// not; blank is none.
fn note_text(value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > MAX_NOTE_CHARS {
        errors.push(FieldError::new(
            "note",
            FieldCode::TooLong,
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        ));
    } else if v
        .chars()
        .any(|c| crate::app::validate::forbidden_in_text(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.push(FieldError::new(
            "note",
            FieldCode::InvalidFormat,
            "must not contain control characters",
        ));
    }
    Some(v.to_owned())
}

/// The hospital a request is opened for: an admin names it; a hospital caller opens for
/// itself.
fn hospital_for(
    actor: &Actor,
    given: Option<Uuid>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match (actor.role, given.map(|h| h.to_string())) {
        (Role::Admin, Some(h)) => Some(h),
        (Role::Admin, None) => {
            errors.push(FieldError::new(
                "hospital_id",
                FieldCode::Required,
                "required when an admin opens a request",
            ));
            None
        }
        (_, Some(h)) if actor.hospital_id.as_deref() != Some(h.as_str()) => {
            errors.push(FieldError::new(
                "hospital_id",
                FieldCode::NotAllowed,
                "a hospital opens requests for itself only",
            ));
            None
        }
        (_, _) => actor.hospital_id.clone(),
    }
}

/// Opens an emergency request (a hospital for itself; an admin for the hospital it names).
pub fn open(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    cmd: OpenRequest,
) -> Result<EmergencyRequest, AppError> {
    let now = ctx.now;
    let mut errors = Vec::new();
    let blood_group = match BloodGroup::parse(&cmd.blood_group) {
        Ok(g) => g.as_str().to_owned(),
        Err(e) => {
            errors.push(FieldError::new(
                "blood_group",
                FieldCode::InvalidFormat,
                e.to_string(),
            ));
            String::new()
        }
    };
    if !(1..=MAX_UNITS).contains(&cmd.units_needed) {
        errors.push(FieldError::new(
            "units_needed",
            FieldCode::OutOfRange,
            format!("must be between 1 and {MAX_UNITS}"),
        ));
    }
    let opened_at = match cmd.opened_at {
        Some(t) => truncate_micros(t.naive_utc()),
        None => now,
    };
    if opened_at > now + MAX_CLOCK_SKEW {
        errors.push(FieldError::new(
            "opened_at",
            FieldCode::OutOfRange,
            "must not be in the future",
        ));
    } else if !actor.is_admin() && opened_at < now - MAX_BACKDATE {
        errors.push(FieldError::new(
            "opened_at",
            FieldCode::NotAllowed,
            "must be at most 7 days before now (an administrator records older requests)",
        ));
    }
    let province = optional_text("province", cmd.province.as_deref(), 100, &mut errors);
    let commune = optional_text("commune", cmd.commune.as_deref(), 100, &mut errors);
    let note = note_text(cmd.note.as_deref(), &mut errors);
    let hospital_id = hospital_for(actor, cmd.hospital_id, &mut errors);
    AppError::check(errors)?;
    let hospital_id =
        hospital_id.ok_or_else(|| AppError::internal("hospital caller without a hospital"))?;

    let row = EmergencyRequest {
        id: hienmau_db::new_id(),
        hospital_id,
        blood_group,
        component: cmd.component.as_str().to_owned(),
        units_needed: i32::try_from(cmd.units_needed).unwrap_or(1),
        units_received: 0,
        urgency: cmd.urgency.as_str().to_owned(),
        status: RequestStatus::Open.as_str().to_owned(),
        needed_by: cmd.needed_by.map(|t| truncate_micros(t.naive_utc())),
        province_folded: province.as_deref().map(fold),
        province,
        commune_folded: commune.as_deref().map(fold),
        commune,
        note,
        opened_at,
        created_by_user: actor.user_id().map(str::to_owned),
        created_by_key: actor.key_id().map(str::to_owned),
        created_at: now,
        closed_at: None,
        disclosure_cap: None,
    };
    if hospitals::find(tx, &row.hospital_id)?.is_none() {
        return Err(AppError::field(
            "hospital_id",
            FieldCode::NotFound,
            "no such hospital",
        ));
    }
    emergency::insert_request(tx, &row)?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "emergency_request_opened",
            serde_json::json!({
                "blood_group": row.blood_group,
                "component": row.component,
                "units_needed": row.units_needed,
                "urgency": row.urgency,
            }),
        )
        .request(&row.id)
        .hospital(Some(row.hospital_id.clone())),
    )?;
    Ok(row)
}

/// Requests, newest first (by `opened_at`): a hospital caller's own; an admin's all.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: RequestFilter,
) -> Result<Page<EmergencyRequest>, AppError> {
    let hospital = match (actor.role, filter.hospital_id.map(|h| h.to_string())) {
        (Role::Admin, h) => h,
        (_, Some(h)) => {
            actor.require_hospital(&h)?;
            Some(h)
        }
        (_, None) => Some(
            actor
                .hospital_id
                .clone()
                .ok_or_else(|| AppError::internal("hospital caller without a hospital"))?,
        ),
    };
    Ok(emergency::list_requests(
        conn,
        hospital.as_deref(),
        filter.status.map(RequestStatus::as_str),
        filter.after.as_deref(),
        filter.limit,
    )?)
}

/// Cancels an open request. Cancelling a cancelled request returns it unchanged; a fulfilled
/// request cannot be cancelled (conflict).
pub fn cancel(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
) -> Result<EmergencyRequest, AppError> {
    get(tx, actor, id)?;
    let r = lock_and_read(tx, id)?;
    match status_of(&r)?.cancel().map_err(not_open)? {
        Cancelling::AlreadyCancelled => return Ok(r),
        Cancelling::Cancel => {}
    }
    emergency::update_request_status(
        tx,
        id,
        RequestStatus::Cancelled.as_str(),
        r.units_received,
        Some(ctx.now),
    )?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "emergency_request_cancelled",
            serde_json::json!({ "units_received": r.units_received }),
        )
        .request(id)
        .hospital(Some(r.hospital_id.clone())),
    )?;
    emergency::find_request(tx, id)?.ok_or(AppError::NotFound)
}

/// The number of candidates to give: default 20, at most 100; negative is unreadable.
fn candidate_limit(limit: Option<i64>) -> Result<i64, AppError> {
    match limit {
        None => Ok(DEFAULT_CANDIDATES),
        Some(l) if l < 0 => Err(AppError::Unreadable(
            "limit must not be negative".to_owned(),
        )),
        Some(l) => Ok(l.clamp(1, MAX_CANDIDATES)),
    }
}

/// Reserve donors to call for an open request, best first, with contact details; the
/// disclosure is written to the audit log (`contact_disclosed`) in the same transaction.
pub fn candidates(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    limit: Option<i64>,
) -> Result<Vec<Candidate>, AppError> {
    let limit = candidate_limit(limit)?;
    let mut r = get(tx, actor, id)?;
    if !actor.is_admin() {
        // Two calls of one hospital count the disclosures one after the other.
        r = lock_and_read(tx, id)?;
    }
    require_open(&r)?;
    let patient =
        BloodGroup::parse(&r.blood_group).map_err(|_| AppError::internal("stored blood group"))?;
    let component =
        Component::parse(&r.component).map_err(|_| AppError::internal("stored component"))?;
    let criteria =
        CandidateCriteria::for_request(&ctx.settings.eligibility, patient, component, ctx.today());
    let q = CandidateQuery::new(
        &r.id,
        &criteria,
        r.commune_folded.clone(),
        r.province_folded.clone(),
        limit,
    );
    let found = candidates::find(tx, &q)?;
    let (found, new) = if actor.is_admin() {
        (found, 0)
    } else {
        disclose(tx, ctx, &r, found)?
    };
    let items = found
        .into_iter()
        .map(|d| candidate(ctx, d, patient, component))
        .collect::<Result<Vec<_>, _>>()?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "contact_disclosed",
            serde_json::json!({
                "fields": ["full_name", "phone", "province", "commune"],
                "count": items.len(),
                "newly_disclosed": new,
                "limit": limit,
            }),
        )
        .request(&r.id)
        .hospital(Some(r.hospital_id.clone()))
        .donors(items.iter().map(|c| c.donor.id.clone()).collect()),
    )?;
    Ok(items)
}

/// The most distinct donors the request's candidates may disclose to its hospital: the
/// admin's cap when set, else `disclosures_per_unit` × `units_needed`.
pub fn disclosure_cap(ctx: &Ctx, r: &EmergencyRequest) -> i64 {
    let per_unit = i64::from(ctx.settings.emergency.disclosures_per_unit.get());
    r.disclosure_cap
        .map(i64::from)
        .unwrap_or(i64::from(r.units_needed) * per_unit)
}

/// Applies the cap to a hospital's page of candidates and records the donors it discloses
/// for the first time; the page to answer and how many it discloses anew. Call with the
/// request locked.
///
/// The rule (the contract: donors already disclosed are still listed; a call that would show
/// a new donor past the cap answers 429): donors already disclosed always stay in the page;
/// new ones fill what is left below the cap, in the page's order, and the new ones past it
/// are left out of this page (a later call shows them, or is refused). Once the cap is
/// reached, a page that would hold any new donor is refused whole
/// ([`AppError::DisclosureLimit`]) and discloses nothing; a smaller page of donors already
/// disclosed is still answered.
fn disclose(
    tx: &mut DbConn,
    ctx: &Ctx,
    r: &EmergencyRequest,
    found: Vec<Donor>,
) -> Result<(Vec<Donor>, usize), AppError> {
    let ids: Vec<String> = found.iter().map(|d| d.id.clone()).collect();
    let seen: HashSet<String> = disclosures::among(tx, &r.id, &ids)?.into_iter().collect();
    let cap = disclosure_cap(ctx, r);
    let mut room = (cap - disclosures::count(tx, &r.id)?).max(0);
    if room == 0 && found.iter().any(|d| !seen.contains(&d.id)) {
        return Err(AppError::DisclosureLimit(format!(
            "this request has disclosed as many donors as it may ({cap}); a hospital may raise \
             units_needed (PATCH /emergency-requests/{{id}}), an administrator the cap"
        )));
    }
    let mut page = Vec::with_capacity(found.len());
    let mut fresh = Vec::new();
    for d in found {
        if seen.contains(&d.id) {
            page.push(d);
        } else if room > 0 {
            room -= 1;
            fresh.push(d.id.clone());
            page.push(d);
        }
    }
    disclosures::insert(tx, &r.id, &fresh, ctx.now)?;
    Ok((page, fresh.len()))
}

/// A hospital names only donors disclosed for the request; an admin any donor on record.
/// Either refusal is [`no_such_donor`], the answer to an id that names no donor.
fn require_recordable(
    conn: &mut DbConn,
    actor: &Actor,
    request_id: &str,
    donor_id: &str,
) -> Result<(), AppError> {
    let ok = if actor.is_admin() {
        donors::find(conn, donor_id)?.is_some()
    } else {
        disclosures::is_disclosed(conn, request_id, donor_id)?
    };
    if ok {
        Ok(())
    } else {
        Err(no_such_donor())
    }
}

fn candidate(
    ctx: &Ctx,
    donor: Donor,
    patient: BloodGroup,
    component: Component,
) -> Result<Candidate, AppError> {
    let group = donor
        .blood_group
        .as_deref()
        .and_then(|g| BloodGroup::parse(g).ok())
        .ok_or_else(|| AppError::internal("candidate without a blood group"))?;
    let match_ = hienmau_domain::blood::compatibility(patient, group, component)
        .ok_or_else(|| AppError::internal("incompatible candidate"))?;
    let last_donation_at = donor.last_donation_at.map(|t| t.and_utc()).or_else(|| {
        donor
            .prior_last_donation_on
            .map(|day| ctx.zone.start_of_day(day))
    });
    Ok(Candidate {
        donor,
        blood_group: group,
        match_,
        last_donation_at,
    })
}

/// Records a donor's answer to a call-up for an open request. A `declined` donor is never
/// offered again for this request; several answers per donor may be recorded.
pub fn respond(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    cmd: NewResponse,
) -> Result<DonorResponse, AppError> {
    get(tx, actor, id)?;
    let r = lock_and_read(tx, id)?;
    require_open(&r)?;
    let donor_id = cmd.donor_id.to_string();
    require_recordable(tx, actor, &r.id, &donor_id)?;
    let row = DonorResponse {
        id: hienmau_db::new_id(),
        request_id: r.id.clone(),
        donor_id,
        response: cmd.response.as_str().to_owned(),
        recorded_by: actor.principal_id().to_owned(),
        recorded_at: ctx.now,
    };
    emergency::insert_response(tx, &row)?;
    Ok(row)
}

/// The answers recorded for a request, oldest first.
pub fn responses(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
) -> Result<Vec<DonorResponse>, AppError> {
    get(conn, actor, id)?;
    Ok(emergency::list_responses(conn, id)?)
}

/// Records a unit (or a deferral) for an open request by `recorded_by` and recounts the
/// request's units: the emergency step of the one donation path, shared by [`donate`] and
/// `demo`. Call with the request locked (`request` as read under the lock).
pub fn give(
    conn: &mut DbConn,
    ctx: &Ctx,
    recorded_by: &str,
    request: &EmergencyRequest,
    cmd: NewDonation,
) -> Result<Donation, AppError> {
    require_open(request)?;
    let patient = Patient {
        blood_group: BloodGroup::parse(&request.blood_group)
            .map_err(|_| AppError::internal("stored blood group"))?,
        component: Component::parse(&request.component)
            .map_err(|_| AppError::internal("stored component"))?,
    };
    let target = Target::emergency(&request.id, request.opened_at, patient);
    let d = donation::log(conn, ctx, recorded_by, &target, cmd)?;
    if d.outcome == hienmau_domain::Outcome::Collected.as_str() {
        recount(conn, ctx, &request.id)?;
    }
    Ok(d)
}

/// The longest deferral a hospital may record, in days from today.
pub const HOSPITAL_DEFERRAL_DAYS: u64 = 365;

/// Records a donation for an open request (`POST /emergency-requests/{id}/donations`) with the
/// idempotency of event donations ([`crate::app::donations::record_at_event`]): a repeated
/// key answers the first response again, also once the request is fulfilled.
pub fn donate(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    key: Option<&IdempotencyKey>,
    cmd: NewDonation,
    answer: impl FnOnce(&Donation) -> Result<StoredResponse, AppError>,
) -> Result<(StoredResponse, bool), AppError> {
    get(tx, actor, id)?;
    let r = lock_and_read(tx, id)?;
    idempotency::once(tx, actor.principal_id(), key, |tx| {
        // After the claim: a replay answers even once the request is fulfilled.
        require_open(&r)?;
        if !actor.is_admin() {
            // Before anything is judged on the donor's record (see the module doc).
            require_recordable(tx, actor, &r.id, &cmd.donor_id.to_string())?;
            if cmd.permanent == Some(true) {
                return Err(AppError::field(
                    "permanent",
                    FieldCode::NotAllowed,
                    "a hospital may not record a permanent deferral",
                ));
            }
            // Nor one that works as permanent (a far `deferred_until` blocks the donor
            // everywhere as surely): longer deferrals are the chapters' and admins' to record.
            let latest = ctx.today() + chrono::Days::new(HOSPITAL_DEFERRAL_DAYS);
            if cmd.deferred_until.is_some_and(|until| until > latest) {
                return Err(AppError::field(
                    "deferred_until",
                    FieldCode::OutOfRange,
                    "a hospital may defer a donor for at most a year",
                ));
            }
        }
        let d = give(tx, ctx, actor.principal_id(), &r, cmd)?;
        answer(&d)
    })
}

/// Changes to a request (`PATCH /emergency-requests/{id}`); None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RequestChanges {
    /// Units needed: may be raised (1–1000), never lowered.
    pub units_needed: Option<i64>,
    /// The note; `Some(None)` removes it.
    pub note: Option<Option<String>>,
    /// Admins only: the request's cap on disclosed donors (0–100,000); `Some(None)` goes back
    /// to the configured multiple of `units_needed`.
    pub disclosure_cap: Option<Option<i64>>,
}

/// Changes a request that is open or fulfilled (see the module doc): raising `units_needed`
/// raises the default cap and may reopen a fulfilled request; the status is recounted.
pub fn update(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    cmd: RequestChanges,
) -> Result<EmergencyRequest, AppError> {
    get(tx, actor, id)?;
    let r = lock_and_read(tx, id)?;
    if status_of(&r)? == RequestStatus::Cancelled {
        return Err(AppError::conflict("a cancelled request cannot be changed"));
    }
    let mut errors = Vec::new();
    let units_needed = match cmd.units_needed {
        Some(n) if !(1..=MAX_UNITS).contains(&n) => {
            errors.push(FieldError::new(
                "units_needed",
                FieldCode::OutOfRange,
                format!("must be between 1 and {MAX_UNITS}"),
            ));
            None
        }
        Some(n) if n < i64::from(r.units_needed) => {
            errors.push(FieldError::new(
                "units_needed",
                FieldCode::BelowMinimum,
                format!("may be raised, not lowered (it is {})", r.units_needed),
            ));
            None
        }
        n => n.and_then(|n| i32::try_from(n).ok()),
    };
    let note = cmd.note.map(|n| note_text(n.as_deref(), &mut errors));
    let disclosure_cap = match cmd.disclosure_cap {
        Some(_) if !actor.is_admin() => {
            errors.push(FieldError::new(
                "disclosure_cap",
                FieldCode::NotAllowed,
                "only an administrator sets a request's disclosure cap",
            ));
            None
        }
        Some(Some(c)) if !(0..=MAX_DISCLOSURE_CAP).contains(&c) => {
            errors.push(FieldError::new(
                "disclosure_cap",
                FieldCode::OutOfRange,
                format!("must be between 0 and {MAX_DISCLOSURE_CAP}"),
            ));
            None
        }
        c => c.map(|c| c.and_then(|c| i32::try_from(c).ok())),
    };
    AppError::check(errors)?;
    let changes = EmergencyRequestChanges {
        units_needed,
        note,
        disclosure_cap,
    };
    emergency::update_request(tx, id, &changes)?;
    let updated = recount(tx, ctx, id)?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "emergency_request_updated",
            serde_json::json!({
                "units_needed": [r.units_needed, updated.units_needed],
                "disclosure_cap": [r.disclosure_cap, updated.disclosure_cap],
                "note_changed": changes.note.is_some(),
                "status": [r.status, updated.status],
            }),
        )
        .request(id)
        .hospital(Some(r.hospital_id.clone())),
    )?;
    Ok(updated)
}
