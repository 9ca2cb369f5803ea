//! Emergency candidates: reserve donors a hospital may call for one request, filtered and
//! ordered by the database (indexes on `donors (reserve, blood_group, next_eligible_on)`),
//! never by loading donors into memory.

use chrono::NaiveDate;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Timestamp};

use crate::models::Donor;
use crate::repo::Db;
use crate::schema::{donor_responses, donors};
use crate::{DbConn, DbError};

/// What makes a donor a candidate for a request. The caller derives it from the domain rules
/// (compatibility table, age and weight limits) so this module stays free of them.
#[derive(Debug, Clone)]
pub struct CandidateQuery {
    /// The request.
    pub request_id: String,
    /// Donor groups of an identical match (same ABO and RhD; plasma: same ABO).
    pub identical_groups: Vec<String>,
    /// Donor groups of a compatible (not identical) match.
    pub compatible_groups: Vec<String>,
    /// The day eligibility is judged on ("today").
    pub today: NaiveDate,
    /// Oldest allowed date of birth (the donor is at most the maximum age today).
    pub born_after: NaiveDate,
    /// Youngest allowed date of birth (the donor is at least the minimum age today).
    pub born_on_or_before: NaiveDate,
    /// Minimum weight for the component by sex (female, male); donors of unknown weight pass
    /// (weight is checked at the collection).
    pub min_weight_female_kg: f64,
    /// See `min_weight_female_kg`.
    pub min_weight_male_kg: f64,
    /// The request's commune and province, folded; candidates there come first.
    pub commune_folded: Option<String>,
    /// See `commune_folded`.
    pub province_folded: Option<String>,
    /// How many to return.
    pub limit: i64,
}

/// `COALESCE(last_donation_at, prior_last_donation_on)`, for ordering only. Portable as
/// written: PostgreSQL resolves the pair to `timestamp` (the date at midnight), and SQLite
/// compares the stored ISO texts, where `YYYY-MM-DD` sorts before every time of that day.
fn last_donation() -> diesel::expression::SqlLiteral<Nullable<Timestamp>> {
    diesel::dsl::sql::<Nullable<Timestamp>>(
        "COALESCE(donors.last_donation_at, donors.prior_last_donation_on)",
    )
}

/// The candidates, best first: identical before compatible, then same commune, same province,
/// elsewhere, then never donated, then the longest since the last donation (recorded, else the
/// paper-era date); id breaks ties.
pub fn find(conn: &mut DbConn, q: &CandidateQuery) -> Result<Vec<Donor>, DbError> {
    let all_groups: Vec<String> = q
        .identical_groups
        .iter()
        .chain(&q.compatible_groups)
        .cloned()
        .collect();
    if all_groups.is_empty() {
        return Ok(Vec::new());
    }
    let declined = donor_responses::table
        .filter(donor_responses::request_id.eq(q.request_id.clone()))
        .filter(donor_responses::response.eq("declined"))
        .select(donor_responses::donor_id);

    let match_rank = case_when(
        donors::blood_group.eq_any(q.identical_groups.clone()),
        0.into_sql::<Integer>(),
    )
    .otherwise(1.into_sql::<Integer>());
    // A request without a commune (or province) ranks every donor the same on it. Commune
    // names repeat across provinces, so "same commune" also needs the same province when the
    // request names one.
    let has_commune = q.commune_folded.is_some();
    let has_province = q.province_folded.is_some();
    let commune = q.commune_folded.clone().unwrap_or_default();
    let province = q.province_folded.clone().unwrap_or_default();
    let in_commune = has_commune
        .into_sql::<Bool>()
        .and(donors::commune_folded.eq(commune))
        .and(
            (!has_province)
                .into_sql::<Bool>()
                .or(donors::province_folded.eq(province.clone())),
        );
    let in_province = has_province
        .into_sql::<Bool>()
        .and(donors::province_folded.eq(province));
    let place_rank = case_when(in_commune, 0.into_sql::<Integer>())
        .when(in_province, 1.into_sql::<Integer>())
        .otherwise(2.into_sql::<Integer>());

    let weight_ok = donors::weight_kg.is_null().or(donors::sex
        .eq("female")
        .and(donors::weight_kg.ge(q.min_weight_female_kg))
        .or(donors::sex
            .eq("male")
            .and(donors::weight_kg.ge(q.min_weight_male_kg))));

    let query = donors::table
        .filter(donors::reserve.eq(true))
        .filter(donors::blood_group.eq_any(all_groups))
        .filter(donors::permanently_deferred.eq(false))
        // A null `next_eligible_on` means "nothing on record" only when nothing is: with a
        // donation, a paper-era date or a deferral on record it means "never" (e.g. the
        // interval ends after the donor's last birthday within the age limit).
        .filter(
            donors::next_eligible_on
                .le(q.today)
                .or(donors::next_eligible_on
                    .is_null()
                    .and(donors::last_donation_at.is_null())
                    .and(donors::prior_last_donation_on.is_null())
                    .and(donors::deferred_until.is_null())),
        )
        .filter(donors::date_of_birth.gt(q.born_after))
        .filter(donors::date_of_birth.le(q.born_on_or_before))
        .filter(weight_ok)
        .filter(donors::id.ne_all(declined))
        .order_by((
            match_rank.asc(),
            place_rank.asc(),
            // Never donated first; NULL placement differs between backends, so sort on the
            // flag explicitly. The last donation is the last recorded one, else the paper-era
            // `prior_last_donation_on` (as the API shows it): a donor with only paper history
            // has donated too.
            donors::last_donation_at
                .is_not_null()
                .or(donors::prior_last_donation_on.is_not_null())
                .asc(),
            last_donation().asc(),
            donors::id.asc(),
        ))
        .limit(q.limit)
        .select(Donor::as_select())
        .into_boxed::<Db>();
    Ok(query.load(conn)?)
}
