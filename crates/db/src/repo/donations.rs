//! Donation records (collected or deferred) and the drive tally.
//!
//! A voided record stays for the audit and counts nowhere: every query here leaves voided rows
//! out unless it says otherwise.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::{count, count_star, exists, not, sum};
use diesel::prelude::*;

use hienmau_domain::Outcome;

use crate::models::Donation;
use crate::repo::{split_cursor, Db, Page};
use crate::schema::{donations, donors, events};
use crate::{DbConn, DbError};

/// The outcome of a donation that took blood (one unit).
const COLLECTED: &str = Outcome::Collected.as_str();
/// The outcome of a screening that deferred the donor.
const DEFERRED: &str = Outcome::Deferred.as_str();

/// A drive's numbers, computed by the database (no donation is loaded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Collected donations at the drive.
    pub units: i64,
    /// The millilitres of those.
    pub volume_ml: i64,
    /// Deferred outcomes at the drive.
    pub deferrals: i64,
    /// Distinct donors with a collected donation at the drive.
    pub donors: i64,
    /// Donors without prior (paper) donations whose first collected donation ever is at this
    /// drive.
    pub first_time_donors: i64,
    /// Units by the donor's blood group ("unknown" for none), by group.
    pub by_blood_group: Vec<(String, i64)>,
    /// Units per event of the drive, every event included (0 too), by (held_on, id).
    pub by_event: Vec<(String, i64)>,
}

/// Inserts a donation; a taken unit code or (event, client_ref) is a unique violation.
pub fn insert(conn: &mut DbConn, row: &Donation) -> Result<(), DbError> {
    diesel::insert_into(donations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// One donation (voided or not), or None.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Donation>, DbError> {
    Ok(donations::table
        .find(id)
        .select(Donation::as_select())
        .first(conn)
        .optional()?)
}

/// The donor's donations that count (not voided), both outcomes, by (donated_at, id).
pub fn history(conn: &mut DbConn, donor_id: &str) -> Result<Vec<Donation>, DbError> {
    Ok(donations::table
        .filter(donations::donor_id.eq(donor_id))
        .filter(donations::voided.eq(false))
        .order((donations::donated_at.asc(), donations::id.asc()))
        .select(Donation::as_select())
        .load(conn)?)
}

/// The format of an instant in a cursor (its fraction as stored).
const CURSOR_TS: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// A page of the donor's donations that count (not voided), both outcomes, newest first by
/// (donated_at, id); `after` is the key the previous page ended with.
pub fn page_for_donor(
    conn: &mut DbConn,
    donor_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Donation>, DbError> {
    let mut q = donations::table
        .filter(donations::donor_id.eq(donor_id.to_owned()))
        .filter(donations::voided.eq(false))
        .order((donations::donated_at.desc(), donations::id.desc()))
        .select(Donation::as_select())
        .limit(limit + 1)
        .into_boxed::<Db>();
    if let Some(after) = after {
        let (at, id) = split_cursor(after)?;
        let at = NaiveDateTime::parse_from_str(at, CURSOR_TS).map_err(|_| DbError::BadCursor)?;
        q = q.filter(
            donations::donated_at.lt(at).or(donations::donated_at
                .eq(at)
                .and(donations::id.lt(id.to_owned()))),
        );
    }
    let rows = q.load(conn)?;
    Ok(Page::from_overfetch(rows, limit, |d| {
        format!("{}\t{}", d.donated_at.format(CURSOR_TS), d.id)
    }))
}

/// The donation recorded at this event under the client's reference (voided or not), or None.
pub fn find_by_client_ref(
    conn: &mut DbConn,
    event_id: &str,
    client_ref: &str,
) -> Result<Option<Donation>, DbError> {
    Ok(donations::table
        .filter(donations::event_id.eq(event_id))
        .filter(donations::client_ref.eq(client_ref))
        .select(Donation::as_select())
        .first(conn)
        .optional()?)
}

/// Voids a donation and returns it as stored; NotFound when it does not exist. Voiding is
/// done once: a donation already voided keeps its first reason, author and instant.
pub fn void(
    conn: &mut DbConn,
    id: &str,
    reason: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<Donation, DbError> {
    diesel::update(
        donations::table
            .find(id)
            .filter(donations::voided.eq(false)),
    )
    .set((
        donations::voided.eq(true),
        donations::void_reason.eq(reason),
        donations::voided_by.eq(by),
        donations::voided_at.eq(at),
    ))
    .execute(conn)?;
    find(conn, id)?.ok_or(DbError::NotFound)
}

/// Units (collected, not voided) given for an emergency request.
pub fn count_for_request(conn: &mut DbConn, request_id: &str) -> Result<i64, DbError> {
    Ok(donations::table
        .filter(donations::emergency_request_id.eq(request_id))
        .filter(donations::outcome.eq(COLLECTED))
        .filter(donations::voided.eq(false))
        .select(count_star())
        .first(conn)?)
}

/// A drive's tally; see [`Tally`]. Every number is an SQL aggregate.
pub fn tally(conn: &mut DbConn, drive_id: &str) -> Result<Tally, DbError> {
    let (units, volume_ml, donors_n): (i64, Option<i64>, i64) = donations::table
        .filter(donations::drive_id.eq(drive_id))
        .filter(donations::outcome.eq(COLLECTED))
        .filter(donations::voided.eq(false))
        .select((
            count_star(),
            sum(donations::volume_ml),
            count(donations::donor_id).aggregate_distinct(),
        ))
        .first(conn)?;

    let deferrals: i64 = donations::table
        .filter(donations::drive_id.eq(drive_id))
        .filter(donations::outcome.eq(DEFERRED))
        .filter(donations::voided.eq(false))
        .select(count_star())
        .first(conn)?;

    // First-time donors: a collected donation at this drive with no earlier collected
    // donation of the same donor anywhere (ties on the instant broken by id, so exactly one
    // donation is a donor's first), by donors without a paper history.
    let earlier = diesel::alias!(donations as earlier);
    let first_time_donors: i64 = donations::table
        .filter(donations::drive_id.eq(drive_id))
        .filter(donations::outcome.eq(COLLECTED))
        .filter(donations::voided.eq(false))
        // A correlated probe of the donor's primary key per row, not `donor_id IN (SELECT id
        // FROM donors WHERE prior_donations = 0)`: SQLite materialised that list of every such
        // donor for each tally (72 ms at 30,000 donors in the benchmark, growing with the
        // registry), where the probe costs a few microseconds per unit of the drive.
        .filter(exists(
            donors::table
                .filter(donors::id.eq(donations::donor_id))
                .filter(donors::prior_donations.eq(0))
                .select(donors::id),
        ))
        .filter(not(exists(
            earlier
                .filter(earlier.field(donations::donor_id).eq(donations::donor_id))
                .filter(earlier.field(donations::outcome).eq(COLLECTED))
                .filter(earlier.field(donations::voided).eq(false))
                .filter(
                    earlier
                        .field(donations::donated_at)
                        .lt(donations::donated_at)
                        .or(earlier
                            .field(donations::donated_at)
                            .eq(donations::donated_at)
                            .and(earlier.field(donations::id).lt(donations::id))),
                )
                .select(earlier.field(donations::id)),
        )))
        .select(count(donations::donor_id).aggregate_distinct())
        .first(conn)?;

    let mut by_blood_group: Vec<(String, i64)> = donations::table
        .inner_join(donors::table)
        .filter(donations::drive_id.eq(drive_id))
        .filter(donations::outcome.eq(COLLECTED))
        .filter(donations::voided.eq(false))
        .group_by(donors::blood_group)
        .select((donors::blood_group, count_star()))
        .load::<(Option<String>, i64)>(conn)?
        .into_iter()
        .map(|(g, n)| (g.unwrap_or_else(|| "unknown".to_owned()), n))
        .collect();
    // Sorted here: the backends place NULL differently.
    by_blood_group.sort();

    let per_event: HashMap<Option<String>, i64> = donations::table
        .filter(donations::drive_id.eq(drive_id))
        .filter(donations::outcome.eq(COLLECTED))
        .filter(donations::voided.eq(false))
        .group_by(donations::event_id)
        .select((donations::event_id, count_star()))
        .load::<(Option<String>, i64)>(conn)?
        .into_iter()
        .collect();
    let by_event = events::table
        .filter(events::drive_id.eq(drive_id))
        .order((events::held_on.asc(), events::id.asc()))
        .select(events::id)
        .load::<String>(conn)?
        .into_iter()
        .map(|id| {
            let n = per_event.get(&Some(id.clone())).copied().unwrap_or(0);
            (id, n)
        })
        .collect();

    Ok(Tally {
        units,
        volume_ml: volume_ml.unwrap_or(0),
        deferrals,
        donors: donors_n,
        first_time_donors,
        by_blood_group,
        by_event,
    })
}
