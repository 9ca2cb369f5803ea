//! Emergency candidates: reserve donors a hospital may call for one request, filtered and
//! ordered by the database, never by loading donors into memory.
//!
//! The order is a series of tiers: identical groups before compatible ones, and within each,
//! same commune, same province, elsewhere. [`find`] reads the tiers in that order, each with
//! `LIMIT` of what is still missing, and stops once it has `limit` rows, so a national reserve
//! is never sorted whole to take twenty. The same-commune tier is small and sorts in SQL. The
//! same-province and elsewhere tiers can hold tens of thousands of donors: they are read per
//! donor group along the partial indexes of migration `000004_candidates_order`
//! (`blood_group[, province_folded], COALESCE(..) NULLS FIRST, id WHERE reserve`), which give
//! the first rows in call order without a sort, and the per-group lists (each already the best
//! of its group) are merged in Rust by the same key. Every tier query carries every filter.
//! [`find_reference`] keeps the single-query form the tiers must reproduce row for row; the
//! tests compare the two on both backends.

use chrono::NaiveDate;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamp};
use hienmau_domain::{CandidateCriteria, ResponseKind, Sex};

use crate::models::Donor;
use crate::repo::Db;
use crate::schema::{donor_responses, donors};
use crate::{DbConn, DbError};

/// What makes a donor a candidate for a request: the domain's [`CandidateCriteria`]
/// (compatibility table, age and weight limits) as columns compare them, built by
/// [`CandidateQuery::new`], with the request's place and the page size.
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

impl CandidateQuery {
    /// The query for `request_id` under `criteria`, candidates in the request's commune and
    /// province (folded) first, at most `limit`.
    pub fn new(
        request_id: &str,
        criteria: &CandidateCriteria,
        commune_folded: Option<String>,
        province_folded: Option<String>,
        limit: i64,
    ) -> Self {
        let names = |groups: &[hienmau_domain::BloodGroup]| -> Vec<String> {
            groups.iter().map(|g| g.as_str().to_owned()).collect()
        };
        Self {
            request_id: request_id.to_owned(),
            identical_groups: names(&criteria.identical_groups),
            compatible_groups: names(&criteria.compatible_groups),
            today: criteria.on,
            born_after: criteria.born_after,
            born_on_or_before: criteria.born_on_or_before,
            min_weight_female_kg: criteria.min_weight_female_kg,
            min_weight_male_kg: criteria.min_weight_male_kg,
            commune_folded,
            province_folded,
            limit,
        }
    }
}

/// `COALESCE(last_donation_at, prior_last_donation_on)`, for ordering only. Portable as
/// written: PostgreSQL resolves the pair to `timestamp` (the date at midnight), and SQLite
/// compares the stored ISO texts, where `YYYY-MM-DD` sorts before every time of that day.
fn last_donation() -> diesel::expression::SqlLiteral<Nullable<Timestamp>> {
    diesel::dsl::sql::<Nullable<Timestamp>>(
        "COALESCE(donors.last_donation_at, donors.prior_last_donation_on)",
    )
}

/// The filters every candidate query carries, whatever its groups and place: not permanently
/// deferred, eligible on the day, of age, heavy enough (unknown weight passes) and not having
/// declined this request.
fn eligible(
    query: donors::BoxedQuery<'static, Db>,
    q: &CandidateQuery,
) -> donors::BoxedQuery<'static, Db> {
    let declined = donor_responses::table
        .filter(donor_responses::request_id.eq(q.request_id.clone()))
        .filter(donor_responses::response.eq(ResponseKind::Declined.as_str()))
        .select(donor_responses::donor_id);
    let weight_ok = donors::weight_kg.is_null().or(donors::sex
        .eq(Sex::Female.as_str())
        .and(donors::weight_kg.ge(q.min_weight_female_kg))
        .or(donors::sex
            .eq(Sex::Male.as_str())
            .and(donors::weight_kg.ge(q.min_weight_male_kg))));
    query
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
}

/// The candidates in one query that sorts every eligible reserve donor of the groups: the
/// definition [`find`] must reproduce, kept for the tests (and as the readable statement of the
/// order). Same arguments and result as [`find`].
#[doc(hidden)]
pub fn find_reference(conn: &mut DbConn, q: &CandidateQuery) -> Result<Vec<Donor>, DbError> {
    let all_groups: Vec<String> = q
        .identical_groups
        .iter()
        .chain(&q.compatible_groups)
        .cloned()
        .collect();
    if all_groups.is_empty() {
        return Ok(Vec::new());
    }
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

    let query = eligible(
        donors::table
            .filter(donors::reserve.eq(true))
            .filter(donors::blood_group.eq_any(all_groups))
            .into_boxed::<Db>(),
        q,
    )
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
    .select(Donor::as_select());
    Ok(query.load(conn)?)
}

/// The candidates, best first: identical before compatible, then same commune, same province,
/// elsewhere, then never donated, then the longest since the last donation (recorded, else the
/// paper-era date); id breaks ties. Read tier by tier (see the module documentation); the rows
/// and their order are those of [`find_reference`]. A limit below 1 returns nothing.
pub fn find(conn: &mut DbConn, q: &CandidateQuery) -> Result<Vec<Donor>, DbError> {
    let limit = usize::try_from(q.limit).unwrap_or(0);
    // A group listed twice, or as both identical and compatible, ranks once and as identical
    // (the reference's CASE), so each tier reads it once.
    let identical = distinct(&q.identical_groups, &[]);
    let compatible = distinct(&q.compatible_groups, &identical);
    let mut out: Vec<Donor> = Vec::new();
    for groups in [&identical, &compatible] {
        if groups.is_empty() {
            continue;
        }
        for place in [Place::Commune, Place::Province, Place::Elsewhere] {
            let remaining = limit.saturating_sub(out.len());
            if remaining == 0 {
                return Ok(out);
            }
            let rows = match place {
                Place::Commune if q.commune_folded.is_none() => continue,
                Place::Province if q.province_folded.is_none() => continue,
                Place::Commune => sorted_tier(conn, q, groups, remaining)?,
                Place::Province | Place::Elsewhere => {
                    merged_tier(conn, q, groups, place, remaining)?
                }
            };
            out.extend(rows);
        }
    }
    Ok(out)
}

/// The place tiers, in rank order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Same commune (and province, when the request names one).
    Commune,
    /// Same province, not the commune.
    Province,
    /// Neither.
    Elsewhere,
}

/// `groups` without repeats and without those in `taken`, in their order.
fn distinct(groups: &[String], taken: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        if !taken.contains(g) && !out.contains(g) {
            out.push(g.clone());
        }
    }
    out
}

/// `COALESCE(...) NULLS FIRST`: never donated first. SQLite puts NULL first in ascending
/// order already and accepts the clause (3.30+) as that same default order, so the one text
/// serves both backends and both read it along the indexes (PostgreSQL's are declared
/// `NULLS FIRST` for it).
fn last_donation_nulls_first() -> diesel::expression::SqlLiteral<Nullable<Timestamp>> {
    diesel::dsl::sql::<Nullable<Timestamp>>(
        "COALESCE(donors.last_donation_at, donors.prior_last_donation_on) NULLS FIRST",
    )
}

/// The last donation as the database compares it, to merge per-group lists in Rust exactly as
/// one ORDER BY would. SQLite compares the stored texts (a paper-era `YYYY-MM-DD` sorts before
/// every time of its day, midnight included); PostgreSQL compares timestamps (the date is its
/// midnight, a tie). One call only ever holds one variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LastDonation {
    Text(String),
    Time(chrono::NaiveDateTime),
}

/// Every filter of the reference and the place tier; the caller adds the groups and the order.
fn filtered(q: &CandidateQuery, place: Place) -> donors::BoxedQuery<'static, Db> {
    let mut query = eligible(
        donors::table
            // Written as the candidates indexes' predicate (`WHERE reserve`): SQLite uses a
            // partial index only when the query has the same term, and `reserve = ?` with a
            // bound value is not one.
            .filter(diesel::dsl::sql::<Bool>("donors.reserve"))
            .into_boxed::<Db>(),
        q,
    );
    // The reference's place rank, split into its three sets. Its CASE treats a NULL comparison
    // as false, so "not in the commune/province" includes donors with no place on record.
    let commune = q.commune_folded.clone();
    let province = q.province_folded.clone();
    match place {
        Place::Commune => {
            query = query.filter(donors::commune_folded.eq(commune.unwrap_or_default()));
            if let Some(p) = province {
                query = query.filter(donors::province_folded.eq(p));
            }
        }
        Place::Province => {
            query = query.filter(donors::province_folded.eq(province.unwrap_or_default()));
            if let Some(c) = commune {
                query = query.filter(
                    donors::commune_folded
                        .is_null()
                        .or(donors::commune_folded.ne(c)),
                );
            }
        }
        // With a province, the commune tier lies inside it: elsewhere is outside the province.
        Place::Elsewhere => match (province, commune) {
            (Some(p), _) => {
                query = query.filter(
                    donors::province_folded
                        .is_null()
                        .or(donors::province_folded.ne(p)),
                );
            }
            (None, Some(c)) => {
                query = query.filter(
                    donors::commune_folded
                        .is_null()
                        .or(donors::commune_folded.ne(c)),
                );
            }
            (None, None) => {}
        },
    }
    query
}

/// A small tier (the commune's) in one sorted query over all its groups.
fn sorted_tier(
    conn: &mut DbConn,
    q: &CandidateQuery,
    groups: &[String],
    remaining: usize,
) -> Result<Vec<Donor>, DbError> {
    let query = filtered(q, Place::Commune)
        .filter(donors::blood_group.eq_any(groups.to_vec()))
        .order_by((
            // The reference's order; no index gives it, so the planner picks the one that finds
            // the commune (a commune-only request has no province to narrow the search).
            donors::last_donation_at
                .is_not_null()
                .or(donors::prior_last_donation_on.is_not_null())
                .asc(),
            last_donation().asc(),
            donors::id.asc(),
        ))
        .limit(i64::try_from(remaining).unwrap_or(i64::MAX))
        .select(Donor::as_select());
    Ok(query.load(conn)?)
}

/// A large tier (province, elsewhere): the first `remaining` rows of each group along its
/// index, merged by (never donated first, last donation, id). Each list is the best of its
/// group in that order, so the merged best `remaining` are the tier's.
fn merged_tier(
    conn: &mut DbConn,
    q: &CandidateQuery,
    groups: &[String],
    place: Place,
    remaining: usize,
) -> Result<Vec<Donor>, DbError> {
    let n = i64::try_from(remaining).unwrap_or(i64::MAX);
    let mut rows: Vec<(Option<LastDonation>, Donor)> = Vec::new();
    for group in groups {
        // One group per query, by equality: the index's order is the call order only under
        // `blood_group = ?` (an IN list, or PostgreSQL's `= ANY`, reads several ranges).
        let query = filtered(q, place)
            .filter(donors::blood_group.eq(group.clone()))
            .order_by((last_donation_nulls_first(), donors::id.asc()))
            .limit(n);
        // The key is read as each backend compares it (see `LastDonation`), so the merge
        // agrees with the database's own order.
        match conn {
            DbConn::Sqlite(_) => {
                let got: Vec<(Donor, Option<String>)> = query
                    .select((
                        Donor::as_select(),
                        diesel::dsl::sql::<Nullable<Text>>(
                            "COALESCE(donors.last_donation_at, donors.prior_last_donation_on)",
                        ),
                    ))
                    .load(conn)?;
                rows.extend(got.into_iter().map(|(d, k)| (k.map(LastDonation::Text), d)));
            }
            DbConn::Pg(_) => {
                let got: Vec<(Donor, Option<chrono::NaiveDateTime>)> = query
                    .select((Donor::as_select(), last_donation()))
                    .load(conn)?;
                rows.extend(got.into_iter().map(|(d, k)| (k.map(LastDonation::Time), d)));
            }
        }
    }
    // Ids compare by bytes here, as SQLite's BINARY and PostgreSQL's C collations do; ids are
    // lowercase UUIDs (one shape, hex digits), which locale collations order that way too.
    rows.sort_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| a.id.cmp(&b.id)));
    rows.truncate(remaining);
    Ok(rows.into_iter().map(|(_, d)| d).collect())
}
