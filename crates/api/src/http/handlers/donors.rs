//! Donors: create, read, partial update, list and search.
//!
//! **Scope.** The contract scopes drives, events and donations to a chapter, not donors: a
//! donor is a person who may give at any chapter's drive and who must be found (and not
//! registered twice) wherever they turn up. Donors are therefore one shared registry for
//! admins, coordinators (create, read, update) and honors (read only); hospital callers get
//! 403 on every donor endpoint (they see reserve donors only through an emergency request's
//! candidates). The creating coordinator's chapter is recorded in `donors.chapter_id` for
//! reports and follow-up, but it does not restrict who may read or update the donor.
//!
//! **Validation.** A body that is not JSON, has a wrong type, an unknown field, a `sex`
//! other than `male`/`female` (an unknown enum value) or a date that is not `YYYY-MM-DD` is
//! 400. A well-formed body that breaks a rule is 422 with one `errors` entry per field at
//! fault: `full_name` (non-empty, at most 200 characters, no control characters),
//! `date_of_birth` (not in the future in the configured zone, not before 1900),
//! `national_id` (a CCCD agreeing with `sex` and `date_of_birth`), `blood_group` (one of
//! `O+ O- A+ A- B+ B- AB+ AB-`; the field is free text, so an unknown group is 422, not 400),
//! `phone` (a Vietnamese mobile number in any accepted form, stored as `0…`), `province` and
//! `commune` (at most 100 characters), `weight_kg` (above 0 and below 300), `prior_donations`
//! (0 to 1000), `prior_last_donation_on` (not in the future, not before the date of birth).
//! A PATCH applies the same rules to the merged record, so changing `sex` or `date_of_birth`
//! re-checks the stored national id. Blank optional strings count as absent.
//!
//! **Derived fields.** `donation_count` = `prior_donations` + collected, not voided donations
//! recorded. `last_donation_at` is the last recorded donation's instant or, when none is
//! recorded, the start (in the configured zone) of `prior_last_donation_on`.
//! `next_eligible_on` is the first day from today on which a whole-blood donation would pass
//! the date rules (intervals, age, deferrals); null when never (permanent deferral, too old).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use hienmau_db::models::{Donor, DonorChanges};
use hienmau_db::repo::awards;
use hienmau_db::repo::donors::{self, DonorFilter};
use hienmau_db::{DbConn, DbError};
use hienmau_domain::eligibility::{self, Deferral, PastDonation};
use hienmau_domain::ids::{NationalId, PhoneNumber};
use hienmau_domain::text::{fold, fold_words};
use hienmau_domain::{BloodGroup, Component, Sex};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::audit::{self, AuditRecord};
use crate::app::validate::{optional_text, required_text};
use crate::http::auth::Actor;
use crate::http::error::{ApiError, FieldError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::{ListResponse, Paging};
use crate::http::state::AppState;

/// The oldest accepted date of birth.
const EARLIEST_BIRTH_YEAR: i32 = 1900;
/// The most prior donations one may enter (a lifetime of donating every 12 weeks is ~200).
const MAX_PRIOR_DONATIONS: i64 = 1000;
/// Weights at or above this are typing errors.
const MAX_WEIGHT_KG: f64 = 300.0;

/// A donor as the API shows it: the stored person plus the figures derived from the records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DonorOut {
    /// Id.
    pub id: String,
    /// Full name as written on the citizen id.
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// `male` or `female`.
    #[schema(example = "female")]
    pub sex: String,
    /// Citizen id (CCCD), 12 digits; unique.
    pub national_id: Option<String>,
    /// `O+ O- A+ A- B+ B- AB+ AB-`; null until tested.
    pub blood_group: Option<String>,
    /// Mobile number in the national form `0912345678`.
    pub phone: Option<String>,
    /// Province of residence.
    pub province: Option<String>,
    /// Commune or ward of residence.
    pub commune: Option<String>,
    /// Last recorded weight.
    pub weight_kg: Option<f64>,
    /// In the emergency reserve.
    pub reserve: bool,
    /// The day the donor consented to the emergency reserve; null when not in it.
    pub reserve_since: Option<NaiveDate>,
    /// Donations made before the system (paper records).
    pub prior_donations: i32,
    /// The day of the last prior donation, when known (counts as whole blood).
    pub prior_last_donation_on: Option<NaiveDate>,
    /// `prior_donations` + collected donations recorded (voided ones excluded).
    pub donation_count: i32,
    /// The last recorded donation (UTC); else the start of `prior_last_donation_on` in the
    /// configured zone; else null.
    pub last_donation_at: Option<DateTime<Utc>>,
    /// The first day from today a whole-blood donation would be allowed by the date rules;
    /// null when never.
    pub next_eligible_on: Option<NaiveDate>,
    /// `donation_count` ≥ the lowest honor tier.
    pub honor_eligible: bool,
    /// The highest tier reached with no award at that tier or above, else null.
    pub honor_due_tier: Option<i32>,
}

impl DonorOut {
    /// Builds the API view of a stored donor; `highest_award` is the highest tier awarded
    /// (see [`awards::highest_tier`]). "Today" is today in the configured zone.
    pub fn build(row: Donor, highest_award: Option<i32>, state: &AppState) -> Self {
        Self::build_on(row, highest_award, state, state.zone.today())
    }

    /// [`DonorOut::build`] with an explicit "today".
    pub fn build_on(
        row: Donor,
        highest_award: Option<i32>,
        state: &AppState,
        today: NaiveDate,
    ) -> Self {
        let zone = state.zone;
        let tiers = &state.settings.honors.tiers;
        let donation_count = row.prior_donations.saturating_add(row.collected_count);
        let last_donation_at = row
            .last_donation_at
            .map(|t| t.and_utc())
            .or_else(|| row.prior_last_donation_on.map(|d| zone.start_of_day(d)));

        let mut history = Vec::with_capacity(2);
        if let Some(at) = row.last_donation_at {
            history.push(PastDonation {
                day: zone.day_of(at.and_utc()),
                component: row
                    .last_component
                    .as_deref()
                    .and_then(|c| Component::parse(c).ok())
                    .unwrap_or(Component::WholeBlood),
            });
        }
        if let Some(day) = row.prior_last_donation_on {
            history.push(PastDonation {
                day,
                component: Component::WholeBlood,
            });
        }
        let mut deferrals = Vec::with_capacity(2);
        if row.permanently_deferred {
            deferrals.push(Deferral {
                from: NaiveDate::MIN,
                until: None,
            });
        }
        if let Some(until) = row.deferred_until {
            deferrals.push(Deferral {
                from: NaiveDate::MIN,
                until: Some(until),
            });
        }
        let person = eligibility::Donor {
            date_of_birth: row.date_of_birth,
            sex: Sex::parse(&row.sex).unwrap_or(Sex::Female),
            weight_kg: row.weight_kg,
        };
        let next_eligible_on = eligibility::next_eligible_on(
            &state.settings.eligibility,
            &person,
            &history,
            &deferrals,
            Component::WholeBlood,
            today,
        );
        let count = u32::try_from(donation_count).unwrap_or(0);
        let held = highest_award.and_then(|t| u32::try_from(t).ok());
        let honor_due_tier = tiers
            .due_tier(count, held)
            .and_then(|t| i32::try_from(t).ok());

        DonorOut {
            id: row.id,
            full_name: row.full_name,
            date_of_birth: row.date_of_birth,
            sex: row.sex,
            national_id: row.national_id,
            blood_group: row.blood_group,
            phone: row.phone,
            province: row.province,
            commune: row.commune,
            weight_kg: row.weight_kg,
            reserve: row.reserve,
            reserve_since: row.reserve_since,
            prior_donations: row.prior_donations,
            prior_last_donation_on: row.prior_last_donation_on,
            donation_count,
            last_donation_at,
            next_eligible_on,
            honor_eligible: count >= tiers.lowest(),
            honor_due_tier,
        }
    }
}

/// Reads a donor and their highest award on `conn`; NotFound when there is no such donor.
pub fn load(conn: &mut DbConn, id: &str) -> Result<(Donor, Option<i32>), ApiError> {
    let row = donors::find(conn, id)?.ok_or(ApiError::NotFound)?;
    let highest = awards::highest_tier(conn, id)?;
    Ok((row, highest))
}

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null` (`Some(None)`).
/// Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `male` or `female`, as the documentation lists it.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SexName {
    /// Male.
    Male,
    /// Female.
    Female,
}

/// A new donor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDonor {
    /// Full name as written on the citizen id.
    #[schema(example = "Giàng Thị Dung")]
    pub full_name: String,
    /// Date of birth, not in the future, not before 1900.
    pub date_of_birth: NaiveDate,
    /// `male` or `female` (any other value is 400).
    #[schema(value_type = SexName, example = "female")]
    pub sex: Sex,
    /// Citizen id (CCCD): 12 digits agreeing with sex and date of birth; unique.
    #[schema(example = "010195012345")]
    pub national_id: Option<String>,
    /// `O+ O- A+ A- B+ B- AB+ AB-` (another value is 422).
    #[schema(example = "O+")]
    pub blood_group: Option<String>,
    /// Vietnamese mobile number, `0912345678` or `+84912345678` (spaces, dots, dashes allowed).
    pub phone: Option<String>,
    /// Province of residence.
    pub province: Option<String>,
    /// Commune or ward of residence.
    pub commune: Option<String>,
    /// Weight in kg, above 0 and below 300.
    pub weight_kg: Option<f64>,
    /// Consents to the emergency reserve (default false); sets `reserve_since` to today.
    pub reserve: Option<bool>,
    /// Donations before the system, 0 to 1000 (default 0).
    pub prior_donations: Option<i64>,
    /// The day of the last prior donation: not in the future, not before the date of birth.
    pub prior_last_donation_on: Option<NaiveDate>,
}

/// Changes to a donor: only the fields given change; `null` clears an optional field. The
/// merged record must pass the same rules as a new donor.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DonorPatch {
    /// Full name (cannot be null).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, required = false)]
    pub full_name: Option<Option<String>>,
    /// Date of birth (cannot be null).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = NaiveDate, required = false)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    /// `male` or `female` (cannot be null).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = SexName, required = false)]
    pub sex: Option<Option<Sex>>,
    /// Citizen id; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub national_id: Option<Option<String>>,
    /// Blood group; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub blood_group: Option<Option<String>>,
    /// Phone; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub phone: Option<Option<String>>,
    /// Province; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub province: Option<Option<String>>,
    /// Commune; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub commune: Option<Option<String>>,
    /// Weight; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, nullable)]
    pub weight_kg: Option<Option<f64>>,
    /// true joins the reserve (keeping an earlier consent date); false withdraws at once
    /// (cannot be null).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = bool, required = false)]
    pub reserve: Option<Option<bool>>,
    /// Prior donations, 0 to 1000 (cannot be null).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = i64, required = false)]
    pub prior_donations: Option<Option<i64>>,
    /// Day of the last prior donation; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub prior_last_donation_on: Option<Option<NaiveDate>>,
}

/// A donor's details before validation (a new donor, or a stored one with a patch applied).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub full_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub national_id: Option<String>,
    pub blood_group: Option<String>,
    pub phone: Option<String>,
    pub province: Option<String>,
    pub commune: Option<String>,
    pub weight_kg: Option<f64>,
    pub prior_donations: i64,
    pub prior_last_donation_on: Option<NaiveDate>,
}

/// A donor's details after validation, normalised for storage.
#[derive(Debug, Clone)]
pub struct Valid {
    pub full_name: String,
    pub name_folded: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub national_id: Option<String>,
    pub blood_group: Option<String>,
    pub phone: Option<String>,
    pub province: Option<String>,
    pub province_folded: Option<String>,
    pub commune: Option<String>,
    pub commune_folded: Option<String>,
    pub weight_kg: Option<f64>,
    pub prior_donations: i32,
    pub prior_last_donation_on: Option<NaiveDate>,
}

/// Checks every rule, collecting one error per field at fault.
pub fn validate(c: Candidate, today: NaiveDate, errors: &mut Vec<FieldError>) -> Option<Valid> {
    let start = errors.len();
    let full_name = required_text("full_name", &c.full_name, 200, errors);

    let earliest = NaiveDate::from_ymd_opt(EARLIEST_BIRTH_YEAR, 1, 1).unwrap_or(NaiveDate::MIN);
    let dob_ok = if c.date_of_birth > today {
        errors.push(FieldError::new(
            "date_of_birth",
            "must not be in the future",
        ));
        false
    } else if c.date_of_birth < earliest {
        errors.push(FieldError::new(
            "date_of_birth",
            format!("must not be before {EARLIEST_BIRTH_YEAR}"),
        ));
        false
    } else {
        true
    };

    let national_id = match optional_text("national_id", c.national_id.as_deref(), 32, errors) {
        Some(nid) => match NationalId::parse(&nid, c.sex, c.date_of_birth) {
            Ok(n) => Some(n.as_str().to_owned()),
            Err(e) => {
                errors.push(FieldError::new("national_id", e.to_string()));
                None
            }
        },
        None => None,
    };

    let blood_group = match c
        .blood_group
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(g) => match BloodGroup::parse(g) {
            Ok(g) => Some(g.as_str().to_owned()),
            Err(e) => {
                errors.push(FieldError::new("blood_group", e.to_string()));
                None
            }
        },
        None => None,
    };

    let phone = match c.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(p) => match PhoneNumber::parse(p) {
            Ok(p) => Some(p.as_str().to_owned()),
            Err(e) => {
                errors.push(FieldError::new("phone", e.to_string()));
                None
            }
        },
        None => None,
    };

    let province = optional_text("province", c.province.as_deref(), 100, errors);
    let commune = optional_text("commune", c.commune.as_deref(), 100, errors);

    if let Some(w) = c.weight_kg {
        if !(w.is_finite() && w > 0.0 && w < MAX_WEIGHT_KG) {
            errors.push(FieldError::new(
                "weight_kg",
                format!("must be above 0 and below {MAX_WEIGHT_KG}"),
            ));
        }
    }

    let prior_donations = if (0..=MAX_PRIOR_DONATIONS).contains(&c.prior_donations) {
        i32::try_from(c.prior_donations).unwrap_or(0)
    } else {
        errors.push(FieldError::new(
            "prior_donations",
            format!("must be between 0 and {MAX_PRIOR_DONATIONS}"),
        ));
        0
    };

    if let Some(d) = c.prior_last_donation_on {
        if d > today {
            errors.push(FieldError::new(
                "prior_last_donation_on",
                "must not be in the future",
            ));
        } else if dob_ok && d < c.date_of_birth {
            errors.push(FieldError::new(
                "prior_last_donation_on",
                "must not be before the date of birth",
            ));
        }
    }

    if errors.len() > start {
        return None;
    }
    Some(Valid {
        name_folded: fold(&full_name),
        full_name,
        date_of_birth: c.date_of_birth,
        sex: c.sex,
        national_id,
        blood_group,
        phone,
        province_folded: province.as_deref().map(fold),
        province,
        commune_folded: commune.as_deref().map(fold),
        commune,
        weight_kg: c.weight_kg,
        prior_donations,
        prior_last_donation_on: c.prior_last_donation_on,
    })
}

/// Validates or answers 422 with every field error.
fn validated(c: Candidate, today: NaiveDate) -> Result<Valid, ApiError> {
    let mut errors = Vec::new();
    let valid = validate(c, today, &mut errors);
    ApiError::check(errors)?;
    valid.ok_or_else(|| ApiError::internal("validation failed without errors"))
}

/// 409 with the id of the donor holding `national_id`, unless that donor is `except`.
fn refuse_taken_national_id(
    conn: &mut DbConn,
    national_id: Option<&str>,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let Some(nid) = national_id else {
        return Ok(());
    };
    match donors::find_by_national_id(conn, nid)? {
        Some(other) if Some(other.id.as_str()) != except => Err(taken(other.id)),
        _ => Ok(()),
    }
}

fn taken(existing_id: String) -> ApiError {
    ApiError::Conflict {
        detail: "a donor with this national_id is already registered".to_owned(),
        existing_id: Some(existing_id),
    }
}

/// Runs a write that may hit the national id's unique index in a savepoint; a violation (a
/// concurrent registration that won) answers the same 409 as the check before it.
fn guard_national_id<T>(
    conn: &mut DbConn,
    national_id: Option<&str>,
    f: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
) -> Result<T, ApiError> {
    match hienmau_db::savepoint(conn, f) {
        Ok(v) => Ok(v),
        Err(e) if e.is_unique_on("national_id") => {
            let winner = match national_id {
                Some(nid) => donors::find_by_national_id(conn, nid)?.map(|d| d.id),
                None => None,
            };
            Err(match winner {
                Some(id) => taken(id),
                None => e.into(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Registers a donor (admin, coordinator).
#[utoipa::path(post, path = "/api/v1/donors", tag = "donors", request_body = NewDonor,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = DonorOut),
        (status = 400, description = "Unreadable body: not JSON, wrong type, unknown field, bad sex or date", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not register donors", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "National id already registered; `existing_id` names the donor", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule; `errors` names each", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_donor(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewDonor>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let today = state.zone.today();
    let v = validated(
        Candidate {
            full_name: body.full_name,
            date_of_birth: body.date_of_birth,
            sex: body.sex,
            national_id: body.national_id,
            blood_group: body.blood_group,
            phone: body.phone,
            province: body.province,
            commune: body.commune,
            weight_kg: body.weight_kg,
            prior_donations: body.prior_donations.unwrap_or(0),
            prior_last_donation_on: body.prior_last_donation_on,
        },
        today,
    )?;
    let reserve = body.reserve.unwrap_or(false);
    let now = hienmau_db::now();
    let row = Donor {
        id: hienmau_db::new_id(),
        full_name: v.full_name,
        name_folded: v.name_folded,
        date_of_birth: v.date_of_birth,
        sex: v.sex.as_str().to_owned(),
        national_id: v.national_id,
        blood_group: v.blood_group,
        phone: v.phone,
        province: v.province,
        province_folded: v.province_folded,
        commune: v.commune,
        commune_folded: v.commune_folded,
        weight_kg: v.weight_kg,
        reserve,
        reserve_since: reserve.then_some(today),
        prior_donations: v.prior_donations,
        prior_last_donation_on: v.prior_last_donation_on,
        chapter_id: user.chapter.as_ref().map(|c| c.id.clone()),
        collected_count: 0,
        first_collected_on: None,
        last_donation_at: None,
        last_component: None,
        next_eligible_on: None,
        deferred_until: None,
        permanently_deferred: false,
        created_at: now,
        updated_at: now,
        last_chapter_id: None,
    };
    let st = state.clone();
    let row = state
        .write_http(move |conn| {
            let nid = row.national_id.clone();
            refuse_taken_national_id(conn, nid.as_deref(), None)?;
            guard_national_id(conn, nid.as_deref(), |c| donors::insert(c, &row))?;
            // The stored counters (next_eligible_on: emergency candidates filter on it) must
            // count a paper-era last donation from the start.
            crate::app::donations::refresh_stats(conn, &st.settings.eligibility, &row.id)?;
            let row = donors::find(conn, &row.id)?.ok_or(ApiError::NotFound)?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "donor_created",
                    serde_json::json!({ "donor_id": row.id }),
                )
                .donors(vec![row.id.clone()]),
            )?;
            Ok(row)
        })
        .await?;
    let out = DonorOut::build_on(row, None, &state, today);
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("{}/donors/{}", crate::http::routes::API, out.id),
        ))
        .json(out))
}

/// One donor (admin, coordinator, honors).
#[utoipa::path(get, path = "/api/v1/donors/{id}", tag = "donors",
    params(("id" = Uuid, Path, description = "Donor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The donor", body = DonorOut),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read donors", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_donor(
    state: web::Data<AppState>,
    _user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let (row, highest) = state.db(move |conn| load(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(DonorOut::build(row, highest, &state)))
}

/// Updates a donor partially (admin, coordinator); the merged record must pass the rules of a
/// new one.
#[utoipa::path(patch, path = "/api/v1/donors/{id}", tag = "donors", request_body = DonorPatch,
    params(("id" = Uuid, Path, description = "Donor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = DonorOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not update donors", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "National id registered to another donor; `existing_id` names it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule; `errors` names each", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_donor(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<DonorPatch>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    // Nulls for fields that cannot be cleared are rule violations, found before any work.
    let mut errors = Vec::new();
    for (field, is_null) in [
        ("full_name", matches!(patch.full_name, Some(None))),
        ("date_of_birth", matches!(patch.date_of_birth, Some(None))),
        ("sex", matches!(patch.sex, Some(None))),
        ("reserve", matches!(patch.reserve, Some(None))),
        (
            "prior_donations",
            matches!(patch.prior_donations, Some(None)),
        ),
    ] {
        if is_null {
            errors.push(FieldError::new(field, "must not be null"));
        }
    }
    ApiError::check(errors)?;
    let id = id.into_inner().to_string();
    let today = state.zone.today();
    let st = state.clone();
    let (row, highest) = state
        .write_http(move |conn| {
            let stored = donors::find(conn, &id)?.ok_or(ApiError::NotFound)?;
            let stored_sex = Sex::parse(&stored.sex).map_err(ApiError::internal)?;
            let pick = |new: Option<Option<String>>, old: &Option<String>| match new {
                Some(v) => v,
                None => old.clone(),
            };
            let candidate = Candidate {
                full_name: patch
                    .full_name
                    .flatten()
                    .unwrap_or_else(|| stored.full_name.clone()),
                date_of_birth: patch
                    .date_of_birth
                    .flatten()
                    .unwrap_or(stored.date_of_birth),
                sex: patch.sex.flatten().unwrap_or(stored_sex),
                national_id: pick(patch.national_id, &stored.national_id),
                blood_group: pick(patch.blood_group, &stored.blood_group),
                phone: pick(patch.phone, &stored.phone),
                province: pick(patch.province, &stored.province),
                commune: pick(patch.commune, &stored.commune),
                weight_kg: match patch.weight_kg {
                    Some(w) => w,
                    None => stored.weight_kg,
                },
                prior_donations: patch
                    .prior_donations
                    .flatten()
                    .unwrap_or(i64::from(stored.prior_donations)),
                prior_last_donation_on: match patch.prior_last_donation_on {
                    Some(d) => d,
                    None => stored.prior_last_donation_on,
                },
            };
            let v = validated(candidate, today)?;
            let reserve = patch.reserve.flatten().unwrap_or(stored.reserve);
            let reserve_since = match (reserve, stored.reserve, stored.reserve_since) {
                (false, _, _) => None,
                (true, true, Some(since)) => Some(since),
                (true, _, _) => Some(today),
            };
            if v.national_id != stored.national_id {
                refuse_taken_national_id(conn, v.national_id.as_deref(), Some(&id))?;
            }
            let changes = DonorChanges {
                full_name: Some(v.full_name),
                name_folded: Some(v.name_folded),
                date_of_birth: Some(v.date_of_birth),
                sex: Some(v.sex.as_str().to_owned()),
                national_id: Some(v.national_id.clone()),
                blood_group: Some(v.blood_group),
                phone: Some(v.phone),
                province: Some(v.province),
                province_folded: Some(v.province_folded),
                commune: Some(v.commune),
                commune_folded: Some(v.commune_folded),
                weight_kg: Some(v.weight_kg),
                reserve: Some(reserve),
                reserve_since: Some(reserve_since),
                prior_donations: Some(v.prior_donations),
                prior_last_donation_on: Some(v.prior_last_donation_on),
                updated_at: Some(hienmau_db::now()),
            };
            let nid = v.national_id;
            guard_national_id(conn, nid.as_deref(), |c| donors::update(c, &id, &changes))?;
            // Date of birth and paper-era history feed the stored counters.
            crate::app::donations::refresh_stats(conn, &st.settings.eligibility, &id)?;
            let row = donors::find(conn, &id)?.ok_or(ApiError::NotFound)?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "donor_updated",
                    serde_json::json!({ "donor_id": id }),
                )
                .donors(vec![id.clone()]),
            )?;
            let highest = awards::highest_tier(conn, &id)?;
            Ok((row, highest))
        })
        .await?;
    Ok(HttpResponse::Ok().json(DonorOut::build_on(row, highest, &state, today)))
}

/// `GET /donors` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DonorQuery {
    /// Words that must all appear in the name (case and Vietnamese diacritics ignored, any
    /// order), or an exact national id, or a phone number in any accepted form. At most 200
    /// characters; control characters are 422.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only this blood group (`O+ O- A+ A- B+ B- AB+ AB-`; another value is 400).
    #[param(pattern = r"^((O|A|B|AB)[+-])?$")]
    pub blood_group: Option<String>,
    /// Only reserve members (true) or only non-members (false).
    pub reserve: Option<bool>,
    /// Items per page: default 50, at most 500 (larger values are capped); negative is 400.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The repository filter for a query; a bad blood group is 400 (an unknown enum value).
fn filter_for(q: &DonorQuery) -> Result<DonorFilter, ApiError> {
    let mut filter = DonorFilter {
        reserve: q.reserve,
        ..DonorFilter::default()
    };
    if let Some(g) = q.blood_group.as_deref().filter(|g| !g.trim().is_empty()) {
        let group = BloodGroup::parse(g).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        filter.blood_group = Some(group.as_str().to_owned());
    }
    // Control characters are 422 (as in every text field); a name is at most 200 characters.
    let text = crate::app::validate::query_text("q", q.q.as_deref(), 200)?;
    if let Some(text) = text.as_deref() {
        filter.words = fold_words(text);
        if let Ok(phone) = PhoneNumber::parse(text) {
            filter.phone = Some(phone.as_str().to_owned());
        }
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            filter.national_id = Some(text.to_owned());
        }
    }
    Ok(filter)
}

/// Lists and searches donors (admin, coordinator, honors), ordered by name (folded) then id.
#[utoipa::path(get, path = "/api/v1/donors", tag = "donors", params(DonorQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of donors", body = ListResponse<DonorOut>),
        (status = 400, description = "Bad limit, cursor, blood group or reserve", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`q` too long or with control characters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read donors", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_donors(
    state: web::Data<AppState>,
    _user: Actor,
    query: web::Query<DonorQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let filter = filter_for(&query)?;
    let paging = Paging {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = paging.limit()?;
    let after = paging.after()?;
    if after.as_deref().is_some_and(|a| !a.contains('\t')) {
        return Err(ApiError::BadRequest(
            "cursor is not one this API issued".to_owned(),
        ));
    }
    let (page, highest) = state
        .db(move |conn| {
            let page = donors::search(conn, &filter, after.as_deref(), limit)?;
            let highest = page
                .items
                .iter()
                .map(|d| awards::highest_tier(conn, &d.id))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((page, highest))
        })
        .await?;
    let today = state.zone.today();
    let mut highest = highest.into_iter();
    let list = ListResponse::from_page(page, |row| {
        DonorOut::build_on(row, highest.next().flatten(), &state, today)
    });
    Ok(HttpResponse::Ok().json(list))
}
