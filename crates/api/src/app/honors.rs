//! Honors: the configured tiers, the donors due a tier as of a day (pages or one CSV export),
//! recording and voiding awards, and a donor's awards.
//!
//! **Due.** As of day D (default: today in the configured zone) a donor's count is
//! `prior_donations` plus their collected, not voided donations on or before D; the award held
//! is the highest tier of the awards in force (not voided) dated on or before D; the tier due
//! is the highest threshold reached that is above the award held. An award at a tier settles
//! every lower one.
//!
//! **Voided awards.** Voiding an award (honors, admin; a reason is required) corrects a
//! mistake: the award is kept, marked voided with the reason, the time and who voided it, and
//! is audited (`award_voided`), but it counts for nothing from then on: not in the lists due,
//! the donor's `honor_due_tier`, the annual report's `honor_due`, nor the "already holds that
//! tier" check, so the tier may be awarded again. Voiding a voided award answers it unchanged
//! (the first reason stays), as voiding a donation does.
//!
//! **Chapter.** A donor's chapter as of D is the chapter of their most recent collected, not
//! voided donation on or before D. An emergency donation has no chapter: a donor whose most
//! recent donation was for an emergency request, or who has only paper-era donations, is
//! listed under the chapter that registered them (`donors.chapter_id`); only a donor with
//! neither belongs to no chapter and is left out when `chapter_id` is given.
//!
//! **Filters.** `min_tier` keeps donors due a tier at or above that number (any number is
//! accepted; a threshold is the usual value). `chapter_id` keeps the chapter and those below
//! it; an unknown chapter is not found.
//!
//! **Order.** By tier (lowest first), then the name folded (case and diacritics ignored, as
//! both backends sort it the same), then id.
//!
//! **CSV.** The export is the whole list (no paging): UTF-8 with a byte-order mark (so
//! spreadsheet programs read Vietnamese names), a header row, dates as `YYYY-MM-DD`, and every
//! cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return prefixed with `'` so
//! spreadsheets do not run it as a formula. [`start_export`] checks the scope and writes the
//! audit entry (`honors_exported`) before the first byte is sent; [`export_chunks`] then reads
//! the list in chunks (keyset paging or a cursor, see `hienmau_db::repo::honors::export_due`)
//! and hands each over as CSV bytes, so memory stays flat however long the list.

use crate::app::FieldCode;
use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use hienmau_db::models::Award;
use hienmau_db::repo::honors::{self, DueQuery, DueRow};
use hienmau_db::repo::{awards, chapters, donors, Page};
use hienmau_db::DbConn;
use hienmau_domain::calendar::Zone;
use hienmau_domain::honors::{check_award, AwardRefusal, Tier, TierTable};

use crate::app::audit::{self, AuditRecord};
use crate::app::validate::{optional_text, required_text};
use crate::app::{Actor, AppError, Ctx, FieldError};

/// Rows per chunk of a CSV export.
pub const EXPORT_CHUNK: i64 = 1_000;

/// The configured honor tiers, lowest threshold first.
pub fn tiers(ctx: &Ctx) -> &[Tier] {
    ctx.settings.honors.tiers.tiers()
}

/// Which donors due a tier to list or export.
#[derive(Debug, Clone, Default)]
pub struct DueFilter {
    /// The cut-off day (inclusive); None: today in the configured zone.
    pub as_of: Option<NaiveDate>,
    /// Only donors due a tier at or above this number of donations.
    pub min_tier: Option<u32>,
    /// Only donors whose chapter as of the day is this chapter or one below it.
    pub chapter_id: Option<String>,
}

/// A donor due a tier, as listed.
#[derive(Debug, Clone)]
pub struct Due {
    /// The donor.
    pub donor_id: String,
    /// Full name.
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Prior donations plus collected donations on or before the day.
    pub donation_count: i64,
    /// The threshold now due.
    pub tier: i64,
    /// The award's name at that tier.
    pub tier_name: String,
    /// The last collected donation on or before the day; else the start of the paper-era
    /// last donation's day; else None.
    pub last_donation_at: Option<DateTime<Utc>>,
    /// The donor's chapter as of the day.
    pub chapter_id: Option<String>,
}

fn tier_name(tiers: &TierTable, tier: i64) -> String {
    tiers.name_of(tier).unwrap_or_default().to_owned()
}

impl Due {
    fn new(row: DueRow, tiers: &TierTable, zone: Zone, as_of: NaiveDate) -> Self {
        let last_donation_at = match row.last_donation_at {
            Some(at) => Some(at.and_utc()),
            None => row
                .prior_last_donation_on
                .filter(|d| *d <= as_of)
                .map(|d| zone.start_of_day(d)),
        };
        Due {
            tier_name: tier_name(tiers, row.tier),
            donor_id: row.donor_id,
            full_name: row.full_name,
            date_of_birth: row.date_of_birth,
            donation_count: row.donation_count,
            tier: row.tier,
            last_donation_at,
            chapter_id: row.chapter_id,
        }
    }
}

/// The repository's query for `filter`: the day, the thresholds, and the chapter's subtree
/// (unknown or outside the actor's scope: not found).
fn due_query(
    conn: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    filter: &DueFilter,
) -> Result<DueQuery, AppError> {
    let chapter_path_prefix = match &filter.chapter_id {
        Some(id) => {
            let chapter = chapters::find(conn, id)?.ok_or(AppError::NotFound)?;
            actor.require_chapter(&chapter)?;
            Some(chapter.path)
        }
        None => None,
    };
    Ok(DueQuery {
        as_of: filter.as_of.unwrap_or_else(|| ctx.today()),
        thresholds: tiers(ctx).iter().map(|t| t.threshold).collect(),
        min_tier: filter.min_tier,
        chapter_path_prefix,
    })
}

/// One page of the donors due a tier; `after` is the previous page's `next`.
pub fn due_page(
    conn: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    filter: &DueFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Due>, AppError> {
    let q = due_query(conn, ctx, actor, filter)?;
    let page = honors::due_page(conn, &q, after, limit)?;
    let tiers = &ctx.settings.honors.tiers;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|row| Due::new(row, tiers, ctx.zone, q.as_of))
            .collect(),
        next: page.next,
    })
}

/// An authorised, audited export: what [`export_chunks`] reads.
#[derive(Debug, Clone)]
pub struct Export {
    query: DueQuery,
    tiers: TierTable,
    zone: Zone,
}

impl Export {
    /// The cut-off day of the list.
    pub fn as_of(&self) -> NaiveDate {
        self.query.as_of
    }
}

/// Starts a CSV export: checks the chapter's scope and writes the audit entry
/// (`honors_exported`), in the caller's write transaction, before any row is read.
pub fn start_export(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    filter: DueFilter,
) -> Result<Export, AppError> {
    let query = due_query(tx, ctx, actor, &filter)?;
    let detail = serde_json::json!({
        "as_of": query.as_of,
        "min_tier": filter.min_tier,
        "chapter_id": filter.chapter_id,
        "format": "csv",
    });
    audit::append(tx, AuditRecord::by(actor, "honors_exported", detail))?;
    Ok(Export {
        query,
        tiers: ctx.settings.honors.tiers.clone(),
        zone: ctx.zone,
    })
}

/// The CSV header row.
const CSV_HEADER: [&str; 11] = [
    "donor_id",
    "full_name",
    "date_of_birth",
    "donation_count",
    "tier",
    "tier_name",
    "last_donation_at",
    "phone",
    "commune",
    "province",
    "chapter_id",
];

/// Prefixes a cell that a spreadsheet would read as a formula (also after leading blanks,
/// which spreadsheets skip).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let formula = ['=', '+', '-', '@', '\t', '\r', '\n'];
    if cell.starts_with(formula) || cell.trim_start().starts_with(formula) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// CSV lines (CRLF) of `records`, every cell neutralised and quoted. Quoting every cell keeps
/// a cell whole in a spreadsheet that splits on `;` (the list separator of locales with a
/// decimal comma, Vietnamese among them): `Nguyễn Văn;=1+1` unquoted arrives there as a name
/// and a formula.
fn csv_bytes(records: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::with_capacity(records.len() * 128));
    for r in records {
        w.write_record(r.iter().map(|c| neutralise(c).into_owned()))
            .map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

/// The first bytes of the file: the byte-order mark and the header row.
pub fn csv_preamble() -> Result<Vec<u8>, AppError> {
    let header: Vec<String> = CSV_HEADER.iter().map(|h| (*h).to_owned()).collect();
    let mut first = b"\xEF\xBB\xBF".to_vec();
    first.extend_from_slice(&csv_bytes(&[header])?);
    Ok(first)
}

/// The day of the last donation on or before `as_of`: the recorded one's day in the zone,
/// else the paper-era one's.
fn last_donation_day(row: &DueRow, zone: Zone, as_of: NaiveDate) -> Option<NaiveDate> {
    match row.last_donation_at {
        Some(at) => Some(zone.day_of(at.and_utc())),
        None => row.prior_last_donation_on.filter(|d| *d <= as_of),
    }
}

fn csv_record(row: DueRow, tiers: &TierTable, zone: Zone, as_of: NaiveDate) -> Vec<String> {
    let last = last_donation_day(&row, zone, as_of)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    vec![
        row.donor_id,
        row.full_name,
        row.date_of_birth.format("%Y-%m-%d").to_string(),
        row.donation_count.to_string(),
        row.tier.to_string(),
        tier_name(tiers, row.tier),
        last,
        row.phone.unwrap_or_default(),
        row.commune.unwrap_or_default(),
        row.province.unwrap_or_default(),
        row.chapter_id.unwrap_or_default(),
    ]
}

/// Reads the export's rows in chunks of [`EXPORT_CHUNK`] and hands each to `sink` as CSV
/// lines (no header: see [`csv_preamble`]); `sink` returns false to stop (the reader went
/// away). Only one chunk is held at a time. Returns the rows read.
pub fn export_chunks(
    conn: &mut DbConn,
    export: &Export,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> Result<u64, AppError> {
    let as_of = export.query.as_of;
    let mut failed = None;
    let rows = honors::export_due(conn, &export.query, EXPORT_CHUNK, |rows| {
        let records: Vec<Vec<String>> = rows
            .into_iter()
            .map(|r| csv_record(r, &export.tiers, export.zone, as_of))
            .collect();
        match csv_bytes(&records) {
            Ok(bytes) => sink(bytes),
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(rows),
    }
}

/// An award to record.
#[derive(Debug, Clone)]
pub struct RecordAward {
    /// The donor.
    pub donor_id: String,
    /// A configured threshold.
    pub tier: i64,
    /// The day of the award, not after today; the donor's count as of this day must reach
    /// the tier.
    pub awarded_on: NaiveDate,
    /// Free text, e.g. the decision's number (at most 500 characters).
    pub note: Option<String>,
}

/// An award to void.
#[derive(Debug, Clone)]
pub struct VoidAward {
    /// The award.
    pub award_id: String,
    /// Why (required, at most 500 characters).
    pub reason: String,
}

/// An award with its tier's name (empty for a tier no longer configured).
#[derive(Debug, Clone)]
pub struct NamedAward {
    /// The award as stored.
    pub award: Award,
    /// The tier's award name.
    pub tier_name: String,
}

impl NamedAward {
    fn new(award: Award, tiers: &TierTable) -> Self {
        NamedAward {
            tier_name: tier_name(tiers, i64::from(award.tier)),
            award,
        }
    }
}

fn already_held(held: i64) -> AppError {
    AppError::conflict(format!(
        "the donor already holds the award at tier {held}, at or above this one"
    ))
}

/// The command's tier, when it is a configured threshold, and its stored form.
fn configured_tier(tiers: &TierTable, tier: i64) -> Result<(u32, i32), AppError> {
    tiers
        .threshold(tier)
        .and_then(|t| Some((t, i32::try_from(t).ok()?)))
        .ok_or_else(|| {
            let configured: Vec<String> = tiers
                .tiers()
                .iter()
                .map(|t| t.threshold.to_string())
                .collect();
            AppError::field(
                "tier",
                FieldCode::OutOfRange,
                format!("must be a configured threshold ({})", configured.join(", ")),
            )
        })
}

/// Records an award (honors, admin): the tier must be configured, above any award in force the
/// donor holds, and reached by the donor's count on the award's day, which is not after today.
/// It settles the tier and every tier below it. Audited (`award_recorded`).
pub fn record_award(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    cmd: RecordAward,
) -> Result<NamedAward, AppError> {
    let tiers = &ctx.settings.honors.tiers;
    let (threshold, tier) = configured_tier(tiers, cmd.tier)?;
    let mut errors = Vec::new();
    let note = optional_text("note", cmd.note.as_deref(), 500, &mut errors);
    if cmd.awarded_on > ctx.today() {
        errors.push(FieldError::new(
            "awarded_on",
            FieldCode::OutOfRange,
            "must not be after today",
        ));
    }
    AppError::check(errors)?;
    let donor_id = cmd.donor_id;
    let awarded_on = cmd.awarded_on;
    // The donor's row lock serialises two awards for the same donor (PostgreSQL).
    if !donors::lock(tx, &donor_id)? {
        return Err(AppError::field(
            "donor_id",
            FieldCode::NotFound,
            "no such donor",
        ));
    }
    let held = awards::highest_tier(tx, &donor_id)?.map(i64::from);
    let count = honors::count_as_of(tx, &donor_id, awarded_on)?.unwrap_or(0);
    match check_award(threshold, held, count) {
        Ok(()) => {}
        Err(AwardRefusal::AlreadyHeld { held }) => return Err(already_held(held)),
        Err(AwardRefusal::NotReached { count }) => {
            return Err(AppError::field(
                "tier",
                FieldCode::BelowMinimum,
                format!(
                    "the donor had {count} donation(s) by {awarded_on}; tier {tier} needs {tier}"
                ),
            ))
        }
    }
    let row = Award {
        id: hienmau_db::new_id(),
        donor_id,
        tier,
        awarded_on,
        note,
        recorded_by: actor.principal_id().to_owned(),
        created_at: ctx.now,
        voided: false,
        void_reason: None,
        voided_at: None,
        voided_by: None,
    };
    match hienmau_db::savepoint(tx, |c| awards::insert(c, &row)) {
        Ok(()) => {}
        Err(e) if e.is_unique_on("tier") || e.is_unique_on("awards") => {
            return Err(already_held(i64::from(tier)))
        }
        Err(e) => return Err(e.into()),
    }
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "award_recorded",
            serde_json::json!({
                "award_id": row.id, "donor_id": row.donor_id, "tier": tier,
                "awarded_on": awarded_on,
            }),
        )
        .donors(vec![row.donor_id.clone()]),
    )?;
    Ok(NamedAward::new(row, tiers))
}

/// Voids an award (honors, admin): it is kept, marked voided with the reason, and stops
/// counting. Not found for an unknown award; a voided award is answered unchanged. Audited
/// (`award_voided`, with the reason).
pub fn void_award(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    cmd: VoidAward,
) -> Result<NamedAward, AppError> {
    let mut errors = Vec::new();
    let reason = required_text("reason", &cmd.reason, 500, &mut errors);
    AppError::check(errors)?;
    let award = awards::find(tx, &cmd.award_id)?.ok_or(AppError::NotFound)?;
    // The donor's row lock orders this against an award being recorded for the same donor.
    donors::lock(tx, &award.donor_id)?;
    if !awards::void(tx, &award.id, &reason, actor.principal_id(), ctx.now)? {
        // Voided already (perhaps by a concurrent request): the first reason stays.
        let stored = awards::find(tx, &award.id)?.ok_or(AppError::NotFound)?;
        return Ok(NamedAward::new(stored, &ctx.settings.honors.tiers));
    }
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "award_voided",
            serde_json::json!({
                "award_id": award.id, "donor_id": award.donor_id, "tier": award.tier,
                "awarded_on": award.awarded_on, "reason": reason,
            }),
        )
        .donors(vec![award.donor_id.clone()]),
    )?;
    let voided = awards::find(tx, &award.id)?.ok_or(AppError::NotFound)?;
    Ok(NamedAward::new(voided, &ctx.settings.honors.tiers))
}

/// A donor's awards, voided ones included, lowest tier first; not found when the donor does
/// not exist.
pub fn donor_awards(
    conn: &mut DbConn,
    ctx: &Ctx,
    donor_id: &str,
) -> Result<Vec<NamedAward>, AppError> {
    donors::find(conn, donor_id)?.ok_or(AppError::NotFound)?;
    let tiers = &ctx.settings.honors.tiers;
    Ok(awards::list_for_donor(conn, donor_id)?
        .into_iter()
        .map(|a| NamedAward::new(a, tiers))
        .collect())
}
