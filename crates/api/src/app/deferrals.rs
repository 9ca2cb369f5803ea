//! Deferrals: the configured reason catalogue, its minimums applied to every deferral (at an
//! event, in a batch, for an emergency request), and deferrals recorded outside any event.
//!
//! **The catalogue** is [`hienmau_domain::deferral`]'s: a `deferral_reason` that is exactly a
//! code (after trimming) must last at least the code's `min_days` from the donation's day, or be
//! `permanent: true` for a permanent code; any other text is a free-text reason under the
//! general rule (an until-date after the day, or permanent).
//!
//! **Standalone deferrals** (`POST /donors/{id}/deferrals`): a screening result that arrives
//! after the drive (a positive hepatitis B test, a low haemoglobin confirmed by the lab). It is
//! stored as a donation row with outcome `deferred` and no event, drive or emergency request,
//! dated `noted_on` (default today, never in the future): the catalogue's minimum and the
//! general rule count from that day, and the donor's counters (`next_eligible_on`, the stored
//! deferral) are refreshed in the same transaction, so the donor is refused at an event and
//! drops from emergency candidates until it ends. Its component is recorded as `whole_blood`
//! (a deferral applies to every kind of donation; the column needs one). Its `chapter_id` is the
//! donor's registering chapter, so the coordinators who may record it may also read and void it
//! (`GET /donations/{id}`, `POST /donations/{id}/void`). Who may record one: admins, and
//! coordinators whose scope holds the donor's registering chapter (others: 404, as for an
//! object outside the scope; a donor with no registering chapter is the admins' only).
//!
//! **Counting.** It is not a deferral at a drive: the drive tally counts deferrals by drive
//! (it has none), and the annual report's `deferrals` counts the screenings that turned a
//! donor away at an event or for an emergency request, not results noted afterwards (a donor
//! whose unit was collected and later tested positive would otherwise count twice).

use crate::app::FieldCode;
use chrono::NaiveDate;
use hienmau_db::models::Donation;
use hienmau_db::repo::{chapters, donors};
use hienmau_db::DbConn;
use hienmau_domain::deferral::{DeferralReason, Deferring};
use hienmau_domain::{Component, Outcome, Role};
use uuid::Uuid;

use crate::app::audit::{self, AuditRecord};
use crate::app::donations::{self, NewDonation, Recorded, Target};
use crate::app::{Actor, AppError, Ctx, FieldError};

/// The configured reasons, in configuration order (any signed-in role).
pub fn catalogue(ctx: &Ctx) -> &[DeferralReason] {
    ctx.settings.deferral_reasons.reasons()
}

/// The catalogue's verdict on a deferral given `reason` on `day`: the field at fault, if any.
pub fn check(
    ctx: &Ctx,
    reason: &str,
    day: NaiveDate,
    until: Option<NaiveDate>,
    permanent: bool,
) -> Option<FieldError> {
    ctx.settings
        .deferral_reasons
        .check(&Deferring {
            reason,
            day,
            until,
            permanent,
        })
        .err()
        .map(FieldError::from)
}

/// A deferral noted outside any event.
#[derive(Debug, Clone)]
pub struct StandaloneDeferral {
    /// A catalogue code or free text (1–500 characters).
    pub deferral_reason: String,
    /// The first day the donor may give again; or `permanent`.
    pub deferred_until: Option<NaiveDate>,
    /// A permanent deferral.
    pub permanent: Option<bool>,
    /// The day the result was noted: default today, not in the future.
    pub noted_on: Option<NaiveDate>,
}

/// Records a deferral outside any event for `donor_id` (admin; coordinator whose scope holds
/// the donor's registering chapter), audited as `deferral_recorded`.
pub fn record(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    donor_id: &str,
    cmd: StandaloneDeferral,
) -> Result<Donation, AppError> {
    if !matches!(actor.role, Role::Admin | Role::Coordinator) {
        return Err(AppError::Forbidden);
    }
    let donor = donors::find(tx, donor_id)?.ok_or(AppError::NotFound)?;
    if !actor.is_admin() {
        let chapter = match &donor.chapter_id {
            Some(id) => chapters::find(tx, id)?,
            None => None,
        };
        actor.require_chapter(&chapter.ok_or(AppError::NotFound)?)?;
    }
    let today = ctx.today();
    let noted_on = cmd.noted_on.unwrap_or(today);
    if noted_on > today {
        return Err(AppError::field(
            "noted_on",
            FieldCode::OutOfRange,
            "must not be in the future",
        ));
    }
    let body = NewDonation {
        donor_id: Uuid::parse_str(&donor.id).map_err(AppError::internal)?,
        component: Component::WholeBlood,
        volume_ml: None,
        outcome: Outcome::Deferred,
        donated_at: (noted_on != today).then(|| ctx.zone.start_of_day(noted_on)),
        unit_code: None,
        deferral_reason: Some(cmd.deferral_reason),
        deferred_until: cmd.deferred_until,
        permanent: cmd.permanent,
        weight_kg: None,
    };
    let target = Target {
        chapter_id: donor.chapter_id.clone(),
        ..Target::default()
    };
    let valid = donations::validate(body, &target, ctx)?;
    let row = match donations::record(tx, ctx, actor.principal_id(), &target, valid, None)? {
        Recorded::New(d) | Recorded::ClientRefTaken(d) => d,
    };
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "deferral_recorded",
            serde_json::json!({
                "donation_id": row.id,
                "donor_id": row.donor_id,
                "deferral_reason": row.deferral_reason,
                "deferred_until": row.deferred_until,
                "permanent": row.permanent,
                "noted_on": row.donated_on,
            }),
        )
        .donors(vec![row.donor_id.clone()]),
    )?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_configuration_file_holds_the_built_in_catalogue() {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
        let loaded = crate::settings::Settings::load_from(&file, |_| None).unwrap();
        assert_eq!(
            loaded.deferral_reasons,
            hienmau_domain::DeferralCatalogue::default()
        );
        assert_eq!(loaded.deferral_reasons.reasons().len(), 17);
    }
}
