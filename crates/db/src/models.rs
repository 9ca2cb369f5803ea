//! Row, insert and changeset structs per table. Field meanings are the columns' (see the
//! migrations); only fields whose meaning is not obvious carry a comment.
#![expect(
    missing_docs,
    reason = "fields are the columns, documented in the migrations"
)]
//!
//! Where every column is known when the row is written (ids are made by the application), the
//! row struct is also the insert struct; changesets list exactly what an update may change.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::*;

/// A chapter of the Red Cross (a tree: the province and the chapters below it).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chapters)]
pub struct Chapter {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    /// "/root/…/id/": every ancestor's id, for subtree queries.
    pub path: String,
    pub created_at: NaiveDateTime,
}

/// A hospital that requests emergency donors.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = hospitals)]
pub struct Hospital {
    pub id: String,
    pub name: String,
    pub province: Option<String>,
    pub commune: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A person who signs in.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub chapter_id: Option<String>,
    pub hospital_id: Option<String>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Carried in the user's tokens; a token of another version is refused.
    pub token_version: i32,
}

/// A new user: the columns a caller sets (`disabled` starts false and `token_version` 0, the
/// columns' defaults).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub chapter_id: Option<String>,
    pub hospital_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What an update of a user may change.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
    pub role: Option<String>,
    /// `Some(None)` clears the chapter.
    pub chapter_id: Option<Option<String>>,
    /// `Some(None)` clears the hospital.
    pub hospital_id: Option<Option<String>>,
    pub token_version: Option<i32>,
}

/// A hospital system's API key (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub hospital_id: String,
    pub name: String,
    pub key_hash: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A donor, with the counters the donation write transaction keeps.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = donors)]
pub struct Donor {
    pub id: String,
    pub full_name: String,
    pub name_folded: String,
    pub date_of_birth: NaiveDate,
    pub sex: String,
    pub national_id: Option<String>,
    pub blood_group: Option<String>,
    pub phone: Option<String>,
    pub province: Option<String>,
    pub province_folded: Option<String>,
    pub commune: Option<String>,
    pub commune_folded: Option<String>,
    pub weight_kg: Option<f64>,
    pub reserve: bool,
    pub reserve_since: Option<NaiveDate>,
    pub prior_donations: i32,
    pub prior_last_donation_on: Option<NaiveDate>,
    pub chapter_id: Option<String>,
    /// Collected, not voided donations recorded in the system (prior ones excluded).
    pub collected_count: i32,
    pub first_collected_on: Option<NaiveDate>,
    pub last_donation_at: Option<NaiveDateTime>,
    pub last_component: Option<String>,
    pub next_eligible_on: Option<NaiveDate>,
    pub deferred_until: Option<NaiveDate>,
    pub permanently_deferred: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The chapter of the latest collected, not voided donation (None for an emergency one).
    pub last_chapter_id: Option<String>,
}

/// A new donor: the person's details and where they registered. The counters the donation
/// transaction keeps start from the columns' defaults (zero, false, NULL).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = donors)]
pub struct NewDonor {
    pub id: String,
    pub full_name: String,
    pub name_folded: String,
    pub date_of_birth: NaiveDate,
    pub sex: String,
    pub national_id: Option<String>,
    pub blood_group: Option<String>,
    pub phone: Option<String>,
    pub province: Option<String>,
    pub province_folded: Option<String>,
    pub commune: Option<String>,
    pub commune_folded: Option<String>,
    pub weight_kg: Option<f64>,
    pub reserve: bool,
    pub reserve_since: Option<NaiveDate>,
    pub prior_donations: i32,
    pub prior_last_donation_on: Option<NaiveDate>,
    pub chapter_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a donor update may change: the person's details. `Option<Option<_>>` distinguishes
/// "leave" (None) from "clear" (Some(None)).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = donors)]
pub struct DonorChanges {
    pub full_name: Option<String>,
    pub name_folded: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<String>,
    pub national_id: Option<Option<String>>,
    pub blood_group: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub province: Option<Option<String>>,
    pub province_folded: Option<Option<String>>,
    pub commune: Option<Option<String>>,
    pub commune_folded: Option<Option<String>>,
    pub weight_kg: Option<Option<f64>>,
    pub reserve: Option<bool>,
    pub reserve_since: Option<Option<NaiveDate>>,
    pub prior_donations: Option<i32>,
    pub prior_last_donation_on: Option<Option<NaiveDate>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// The counters derived from a donor's donations, rewritten in every donation transaction.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = donors, treat_none_as_null = true)]
pub struct DonorStats {
    pub collected_count: i32,
    pub first_collected_on: Option<NaiveDate>,
    pub last_donation_at: Option<NaiveDateTime>,
    pub last_component: Option<String>,
    pub next_eligible_on: Option<NaiveDate>,
    pub deferred_until: Option<NaiveDate>,
    pub permanently_deferred: bool,
    pub last_chapter_id: Option<String>,
}

/// A blood-donation drive (campaign) of a chapter.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = drives)]
pub struct Drive {
    pub id: String,
    pub name: String,
    pub chapter_id: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub target_units: Option<i32>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

/// What a drive update may change.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = drives)]
pub struct DriveChanges {
    pub name: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub target_units: Option<Option<i32>>,
}

/// A donation event: one site on one day of a drive.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: String,
    pub drive_id: String,
    pub site: String,
    pub held_on: NaiveDate,
    pub province: Option<String>,
    pub commune: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A hospital's request for emergency donors.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = emergency_requests)]
pub struct EmergencyRequest {
    pub id: String,
    pub hospital_id: String,
    pub blood_group: String,
    pub component: String,
    pub units_needed: i32,
    pub units_received: i32,
    pub urgency: String,
    pub status: String,
    pub needed_by: Option<NaiveDateTime>,
    pub province: Option<String>,
    pub province_folded: Option<String>,
    pub commune: Option<String>,
    pub commune_folded: Option<String>,
    pub note: Option<String>,
    pub opened_at: NaiveDateTime,
    pub created_by_user: Option<String>,
    pub created_by_key: Option<String>,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    /// An admin's cap on the donors disclosed for the request; None: the configured
    /// multiple of `units_needed`.
    pub disclosure_cap: Option<i32>,
}

/// Changes to an emergency request (`PATCH /emergency-requests/{id}`); None leaves a column.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = emergency_requests)]
pub struct EmergencyRequestChanges {
    pub units_needed: Option<i32>,
    pub note: Option<Option<String>>,
    pub disclosure_cap: Option<Option<i32>>,
}

/// A donation record: collected or deferred, at an event or for an emergency request.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = donations)]
pub struct Donation {
    pub id: String,
    pub donor_id: String,
    pub event_id: Option<String>,
    pub emergency_request_id: Option<String>,
    pub drive_id: Option<String>,
    pub chapter_id: Option<String>,
    pub component: String,
    pub volume_ml: i32,
    pub outcome: String,
    pub donated_at: NaiveDateTime,
    pub donated_on: NaiveDate,
    pub unit_code: Option<String>,
    pub deferral_reason: Option<String>,
    pub deferred_until: Option<NaiveDate>,
    pub permanent: bool,
    pub voided: bool,
    pub void_reason: Option<String>,
    pub voided_at: Option<NaiveDateTime>,
    pub voided_by: Option<String>,
    pub recorded_by: String,
    pub client_ref: Option<String>,
    pub client_ref_hash: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A donor's answer to a call-up for a request.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = donor_responses)]
pub struct DonorResponse {
    pub id: String,
    pub request_id: String,
    pub donor_id: String,
    pub response: String,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

/// An honor awarded to a donor at a tier. A voided award (a correction) is kept for the
/// audit and counts for nothing.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = awards)]
pub struct Award {
    pub id: String,
    pub donor_id: String,
    pub tier: i32,
    pub awarded_on: NaiveDate,
    pub note: Option<String>,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
    pub voided: bool,
    pub void_reason: Option<String>,
    pub voided_at: Option<NaiveDateTime>,
    pub voided_by: Option<String>,
}

/// A stored response to a request sent with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub id: String,
    pub principal: String,
    pub idem_key: String,
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: String,
    pub created_at: NaiveDateTime,
}

/// An audit entry as read back.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub seq: i64,
    pub id: String,
    pub at: NaiveDateTime,
    pub action: String,
    pub actor_user_id: Option<String>,
    pub actor_key_id: Option<String>,
    pub hospital_id: Option<String>,
    pub request_id: Option<String>,
    pub donor_ids: String,
    pub detail: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
    pub http_request_id: Option<String>,
    /// The fingerprint of the key that hashed the entry (None: written before keying).
    pub key_fp: Option<String>,
}

/// A new audit entry (the sequence number is the database's).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub id: String,
    pub at: NaiveDateTime,
    pub action: String,
    pub actor_user_id: Option<String>,
    pub actor_key_id: Option<String>,
    pub hospital_id: Option<String>,
    pub request_id: Option<String>,
    pub donor_ids: String,
    pub detail: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
    pub http_request_id: Option<String>,
    /// The fingerprint of the key that hashed the entry (None: written before keying).
    pub key_fp: Option<String>,
}

/// A donor disclosed for an emergency request (returned by its candidates to a caller of its
/// hospital), first when.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = emergency_disclosures)]
pub struct EmergencyDisclosure {
    pub request_id: String,
    pub donor_id: String,
    pub disclosed_at: NaiveDateTime,
}
