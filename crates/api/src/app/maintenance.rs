//! Housekeeping: keeping the database from growing without bound, and keeping the figures it
//! derives from the configuration in step with the configuration in force.

use chrono::Duration;
use hienmau_db::repo::idempotency;
use hienmau_db::repo::rules::{self, ELIGIBILITY};
use hienmau_db::DbConn;
use hienmau_domain::EligibilityRules;

use crate::app::donations::refresh_stats;
use crate::app::{AppError, Ctx};

/// Deletes the stored `Idempotency-Key` answers older than the configured retention; returns
/// how many. A re-send of a purged key is treated as a new request, which is why the
/// retention may not be shorter than a day.
pub fn purge_idempotency_keys(tx: &mut DbConn, ctx: &Ctx) -> Result<usize, AppError> {
    let retention = Duration::hours(i64::from(ctx.settings.idempotency_retention_hours));
    Ok(idempotency::purge_older_than(tx, ctx.now - retention)?)
}

/// Donors recomputed per page of ids.
const PAGE: i64 = 1_000;

/// The fingerprint of a set of eligibility rules ([`EligibilityRules::fingerprint`]).
pub fn eligibility_fingerprint(rules: &EligibilityRules) -> Result<String, AppError> {
    rules.fingerprint().map_err(AppError::internal)
}

/// Recomputes every donor's stored eligibility figures (`next_eligible_on`, which the
/// emergency candidates filter on, and the other counters) when the eligibility rules in force
/// differ from those they were computed with; returns how many donors were recomputed (0 when
/// up to date). Run at start, before the instance reports ready, in one write transaction: on
/// PostgreSQL under an advisory lock, so that of several instances starting together one
/// recomputes and the others find the fingerprint current. A database that has donors but no
/// fingerprint yet (one older than this check) is recomputed once.
pub fn recompute_if_rules_changed(tx: &mut DbConn, ctx: &Ctx) -> Result<usize, AppError> {
    let rules_in_force = &ctx.settings.eligibility;
    let fingerprint = eligibility_fingerprint(rules_in_force)?;
    rules::lock_recomputation(tx)?;
    if rules::fingerprint(tx, ELIGIBILITY)?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(0);
    }
    let mut recomputed = 0;
    let mut after: Option<String> = None;
    loop {
        let ids = rules::donor_ids_after(tx, after.as_deref(), PAGE)?;
        for id in &ids {
            refresh_stats(tx, rules_in_force, id)?;
        }
        recomputed += ids.len();
        match ids.into_iter().last() {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    rules::set_fingerprint(tx, ELIGIBILITY, &fingerprint, ctx.now)?;
    Ok(recomputed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_changed_number_changes_the_fingerprint() {
        let national = EligibilityRules::default();
        let same = eligibility_fingerprint(&national.clone()).unwrap();
        assert_eq!(eligibility_fingerprint(&national).unwrap(), same);
        let longer = EligibilityRules {
            long_interval_days: national.long_interval_days + 1,
            ..national.clone()
        };
        let older = EligibilityRules {
            max_age: national.max_age + 5,
            ..national
        };
        assert_ne!(eligibility_fingerprint(&longer).unwrap(), same);
        assert_ne!(eligibility_fingerprint(&older).unwrap(), same);
    }
}
