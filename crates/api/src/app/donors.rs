//! Donors: register, read, partial update, list and search; and the one path that stores a new
//! donor, shared by the API, `hienmau import donors` and the demonstration data.
//!
//! **Scope.** The contract scopes drives, events and donations to a chapter, not donors: a
//! donor is a person who may give at any chapter's drive and who must be found (and not
//! registered twice) wherever they turn up. Donors are therefore one shared registry for
//! admins, coordinators (create, read, update) and honors (read only); hospital callers may not
//! use it (they see reserve donors only through an emergency request's candidates). The
//! registering chapter is recorded in `donors.chapter_id` for reports, honors and follow-up
//! (an admin names it; a coordinator's defaults to its own chapter and may be one in its
//! scope), but it does not restrict who may read or update the donor, except for the paper
//! history (below).
//!
//! **Validation.** The rules are the domain's ([`DonorDraft::validate`]): one error per field
//! at fault. An edit applies the same rules to the merged record, so changing `sex` or
//! `date_of_birth` re-checks the stored national id. A national id registered to another donor
//! is a conflict naming that donor, also when a concurrent registration wins the race.
//!
//! **Derived figures.** Each answer carries the domain's [`DonorFigures`]: `donation_count`,
//! `last_donation_at`, `next_eligible_on`, honor eligibility and the tier due.
//!
//! **Reads that show a CCCD or a phone** ([`get`], [`list`]: the full view) are the registry's
//! disclosures: each is audited (`donor_read`, `donors_listed`: the filter's shape, how many,
//! the donor ids) and counted against the caller's budget of donors shown per clock hour
//! (`registry.donors_per_hour`), so they run in a write transaction. The brief view
//! ([`list_brief`]: no CCCD, no phone, for search as you type) is neither. Writes answer the
//! donor they wrote, which is not a read.
//!
//! **Paper history** (`prior_donations`, `prior_last_donation_on`) may be changed only by an
//! admin or a coordinator whose scope holds the donor's registering chapter (others: 404, as
//! for an object outside the scope); it feeds honors, which the registering chapter answers
//! for.

use crate::app::FieldCode;
use chrono::{NaiveDate, NaiveDateTime};
use hienmau_db::models::{Donor, DonorChanges, NewDonor};
use hienmau_db::repo::donors::{self, DonorFilter};
use hienmau_db::repo::{awards, chapters, Page};
use hienmau_db::{DbConn, DbError};
use hienmau_domain::donor::{self, FigureRules};
use hienmau_domain::ids::PhoneNumber;
use hienmau_domain::text::fold_words;
use hienmau_domain::{
    BloodGroup, Component, DonorDetails, DonorDraft, DonorFigures, DonorRecord, FieldProblem, Role,
    Sex,
};

use crate::app::audit::{self, AuditRecord};
use crate::app::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::app::{Actor, AppError, Ctx, FieldError};

/// A donor as the use cases answer it: the stored row and the figures derived from it.
#[derive(Debug, Clone)]
pub struct DonorView {
    /// The stored donor.
    pub donor: Donor,
    /// What the record implies today.
    pub figures: DonorFigures,
}

/// `register`'s command: the person's details and the reserve consent.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The details to check and store.
    pub draft: DonorDraft,
    /// Consents to the emergency reserve (from today).
    pub reserve: bool,
    /// The registering chapter: required of an admin; a coordinator's own when absent.
    pub chapter_id: Option<String>,
}

/// `update`'s command: only the fields given change. `Some(None)` is an explicit null, which
/// clears an optional field and is refused for the others.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    /// Full name (cannot be null).
    pub full_name: Option<Option<String>>,
    /// Date of birth (cannot be null).
    pub date_of_birth: Option<Option<NaiveDate>>,
    /// Sex (cannot be null).
    pub sex: Option<Option<Sex>>,
    /// Citizen id.
    pub national_id: Option<Option<String>>,
    /// Blood group.
    pub blood_group: Option<Option<String>>,
    /// Phone.
    pub phone: Option<Option<String>>,
    /// Province.
    pub province: Option<Option<String>>,
    /// Commune.
    pub commune: Option<Option<String>>,
    /// Weight.
    pub weight_kg: Option<Option<f64>>,
    /// Joins (keeping an earlier consent day) or withdraws from the reserve (cannot be null).
    pub reserve: Option<Option<bool>>,
    /// Prior donations (cannot be null).
    pub prior_donations: Option<Option<i64>>,
    /// Day of the last prior donation.
    pub prior_last_donation_on: Option<Option<NaiveDate>>,
}

/// `list`'s search, before it is checked (see [`search_filter`]).
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Words of the name, an exact national id, or a phone number in any accepted form.
    pub q: Option<String>,
    /// One blood group.
    pub blood_group: Option<String>,
    /// Reserve members only (true) or non-members only (false).
    pub reserve: Option<bool>,
}

/// `list`'s page: the size and the key of the last row of the previous page.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Rows per page.
    pub limit: i64,
    /// The repository key the page starts after.
    pub after: Option<String>,
}

/// Admins and coordinators keep the registry.
fn require_writer(actor: &Actor) -> Result<(), AppError> {
    match actor.role {
        Role::Admin | Role::Coordinator => Ok(()),
        Role::Honors | Role::Hospital => Err(AppError::Forbidden),
    }
}

/// Admins, coordinators and honors read it.
fn require_reader(actor: &Actor) -> Result<(), AppError> {
    match actor.role {
        Role::Admin | Role::Coordinator | Role::Honors => Ok(()),
        Role::Hospital => Err(AppError::Forbidden),
    }
}

impl From<FieldProblem> for FieldError {
    fn from(p: FieldProblem) -> Self {
        FieldError::new(p.field, p.code, p.message)
    }
}

/// The draft's details, or Invalid naming every field at fault.
pub fn validated(draft: DonorDraft, today: NaiveDate) -> Result<DonorDetails, AppError> {
    draft.validate(today).map_err(|problems| {
        AppError::check(problems.into_iter().map(FieldError::from).collect())
            .err()
            .unwrap_or_else(|| AppError::internal("validation failed without errors"))
    })
}

/// The row to store for a new donor with `details`; in the reserve when `reserve_since` (the
/// consent day) is given; `chapter_id` is the registering chapter.
pub fn new_donor(
    details: DonorDetails,
    reserve_since: Option<NaiveDate>,
    chapter_id: Option<String>,
    now: NaiveDateTime,
) -> NewDonor {
    NewDonor {
        id: hienmau_db::new_id(),
        full_name: details.full_name,
        name_folded: details.name_folded,
        date_of_birth: details.date_of_birth,
        sex: details.sex.as_str().to_owned(),
        national_id: details.national_id.map(|n| n.as_str().to_owned()),
        blood_group: details.blood_group.map(|g| g.as_str().to_owned()),
        phone: details.phone.map(|p| p.as_str().to_owned()),
        province: details.province,
        province_folded: details.province_folded,
        commune: details.commune,
        commune_folded: details.commune_folded,
        weight_kg: details.weight_kg,
        reserve: reserve_since.is_some(),
        reserve_since,
        prior_donations: details.prior_donations,
        prior_last_donation_on: details.prior_last_donation_on,
        chapter_id,
        created_at: now,
        updated_at: now,
    }
}

/// Stores a new donor: the one registration path of the API, the import and the demonstration
/// data. A national id already registered is a conflict naming that donor. The counters start
/// from the column defaults, which is what [`refresh_stats`] computes for a donor with nothing
/// on record; a paper-era last donation is on record, so it is counted at once (emergency
/// candidates filter on `next_eligible_on`).
///
/// [`refresh_stats`]: crate::app::donations::refresh_stats
pub fn insert(tx: &mut DbConn, ctx: &Ctx, new: &NewDonor) -> Result<(), AppError> {
    let nid = new.national_id.as_deref();
    refuse_taken_national_id(tx, nid, None)?;
    guard_national_id(tx, nid, |c| donors::insert(c, new))?;
    if new.prior_last_donation_on.is_some() {
        crate::app::donations::refresh_stats(tx, &ctx.settings.eligibility, &new.id)?;
    }
    Ok(())
}

/// The registering chapter of a new donor: the one named (unknown: invalid `chapter_id`;
/// outside a coordinator's scope: not found), else a coordinator's own; an admin must name one.
fn registering_chapter(
    tx: &mut DbConn,
    actor: &Actor,
    named: Option<&str>,
) -> Result<String, AppError> {
    match named {
        Some(id) => {
            let chapter = chapters::find(tx, id)?.ok_or_else(|| {
                AppError::field("chapter_id", FieldCode::NotFound, "no such chapter")
            })?;
            actor.require_chapter(&chapter)?;
            Ok(chapter.id)
        }
        None => actor.chapter.as_ref().map(|c| c.id.clone()).ok_or_else(|| {
            AppError::field(
                "chapter_id",
                FieldCode::Required,
                "required: the chapter that registers the donor",
            )
        }),
    }
}

/// Registers a donor (admin, coordinator) with its registering chapter (see
/// [`Registration::chapter_id`]).
pub fn register(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    cmd: Registration,
) -> Result<DonorView, AppError> {
    require_writer(actor)?;
    let today = ctx.today();
    let details = validated(cmd.draft, today)?;
    let chapter_id = Some(registering_chapter(tx, actor, cmd.chapter_id.as_deref())?);
    let new = new_donor(details, cmd.reserve.then_some(today), chapter_id, ctx.now);
    insert(tx, ctx, &new)?;
    let row = donors::find(tx, &new.id)?.ok_or(AppError::NotFound)?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "donor_created",
            serde_json::json!({ "donor_id": row.id }),
        )
        .donors(vec![row.id.clone()]),
    )?;
    Ok(view(ctx, row, None))
}

/// [`register`] at most once per caller, `Idempotency-Key` and body (see
/// [`crate::app::idempotency::once`]): a repeat answers the stored response (`true`:
/// replayed) and registers no one; `answer` renders the new donor as the response to store.
pub fn register_once(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    key: Option<&IdempotencyKey>,
    cmd: Registration,
    answer: impl FnOnce(DonorView) -> Result<StoredResponse, AppError>,
) -> Result<(StoredResponse, bool), AppError> {
    require_writer(actor)?;
    idempotency::once(tx, actor.principal_id(), key, |tx| {
        answer(register(tx, ctx, actor, cmd)?)
    })
}

/// One donor (admin, coordinator, honors): audited as `donor_read` and counted against the
/// caller's budget, so `tx` is a write transaction.
pub fn get(tx: &mut DbConn, ctx: &Ctx, actor: &Actor, id: &str) -> Result<DonorView, AppError> {
    require_reader(actor)?;
    let row = donors::find(tx, id)?.ok_or(AppError::NotFound)?;
    charge_reads(tx, ctx, actor, 1)?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "donor_read",
            serde_json::json!({ "donor_id": row.id, "count": 1 }),
        )
        .donors(vec![row.id.clone()]),
    )?;
    let highest = awards::highest_tier(tx, id)?;
    Ok(view(ctx, row, highest))
}

/// Counts `n` donors shown to the caller in this clock hour (UTC), or refuses the read with
/// 429 and the seconds left in the hour when that would pass `registry.donors_per_hour`, or
/// when the budget is already spent (then an empty page is refused too: a search is an oracle
/// even when it finds no one).
///
/// Counted in the database (`registry_reads`, one row per caller and hour, upserted in this
/// transaction) rather than in memory, so that several stateless instances on one database
/// share one budget; rather than by summing audit entries, whose donor ids are JSON text that
/// no index can sum. A refused read rolls its increment back with the transaction, so it costs
/// nothing of the budget. Taken before the audit chain's head, which stays the last lock.
fn charge_reads(tx: &mut DbConn, ctx: &Ctx, actor: &Actor, n: usize) -> Result<(), AppError> {
    let (window, retry_after_secs) = hour_window(ctx.now);
    let n = i64::try_from(n).map_err(AppError::internal)?;
    let total = donors::count_reads(tx, actor.principal_id(), window, n)?;
    let budget = i64::from(ctx.settings.registry.donors_per_hour);
    if total > budget || total - n >= budget {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    Ok(())
}

/// The start of the clock hour holding `now`, and the seconds left in it rounded up (a retry
/// after them falls in the next hour).
fn hour_window(now: NaiveDateTime) -> (NaiveDateTime, u64) {
    use chrono::{Duration, Timelike};
    let start = now.date().and_hms_opt(now.hour(), 0, 0).unwrap_or(now);
    let left_ms = (start + Duration::hours(1) - now).num_milliseconds();
    let left = u64::try_from(left_ms).unwrap_or(0).div_ceil(1000);
    (start, left.max(1))
}

/// Applies an edit (admin, coordinator): the merged record must pass the rules of a new one.
/// Nulls for fields that cannot be cleared are refused before anything is read.
pub fn update(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    edit: Edit,
) -> Result<DonorView, AppError> {
    require_writer(actor)?;
    AppError::check(null_errors(&edit))?;
    let today = ctx.today();
    let stored = donors::find(tx, id)?.ok_or(AppError::NotFound)?;
    let reserve = edit.reserve.flatten().unwrap_or(stored.reserve);
    let draft = merged(&stored, edit)?;
    if draft.prior_donations != i64::from(stored.prior_donations)
        || draft.prior_last_donation_on != stored.prior_last_donation_on
    {
        require_registering_scope(tx, actor, &stored)?;
    }
    let details = validated(draft, today)?;
    let reserve_since = donor::reserve_since(reserve, stored.reserve, stored.reserve_since, today);
    let national_id = details.national_id.as_ref().map(|n| n.as_str().to_owned());
    if national_id != stored.national_id {
        refuse_taken_national_id(tx, national_id.as_deref(), Some(id))?;
    }
    let changes = DonorChanges {
        full_name: Some(details.full_name),
        name_folded: Some(details.name_folded),
        date_of_birth: Some(details.date_of_birth),
        sex: Some(details.sex.as_str().to_owned()),
        national_id: Some(national_id.clone()),
        blood_group: Some(details.blood_group.map(|g| g.as_str().to_owned())),
        phone: Some(details.phone.map(|p| p.as_str().to_owned())),
        province: Some(details.province),
        province_folded: Some(details.province_folded),
        commune: Some(details.commune),
        commune_folded: Some(details.commune_folded),
        weight_kg: Some(details.weight_kg),
        reserve: Some(reserve),
        reserve_since: Some(reserve_since),
        prior_donations: Some(details.prior_donations),
        prior_last_donation_on: Some(details.prior_last_donation_on),
        updated_at: Some(ctx.now),
    };
    guard_national_id(tx, national_id.as_deref(), |c| {
        donors::update(c, id, &changes)
    })?;
    // Date of birth and paper-era history feed the stored counters.
    crate::app::donations::refresh_stats(tx, &ctx.settings.eligibility, id)?;
    let row = donors::find(tx, id)?.ok_or(AppError::NotFound)?;
    if !edits_anything(&stored, &row) {
        // An edit that changes nothing answers the whole record, CCCD and phone included: a
        // read in disguise, charged to the caller's budget like one.
        charge_reads(tx, ctx, actor, 1)?;
    }
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "donor_updated",
            serde_json::json!({ "donor_id": id, "changes": audited_changes(&stored, &row) }),
        )
        .donors(vec![id.to_owned()]),
    )?;
    let highest = awards::highest_tier(tx, id)?;
    Ok(view(ctx, row, highest))
}

/// Admins, and coordinators whose scope holds the donor's registering chapter; others (and
/// everyone but admins for a donor registered without a chapter) get NotFound.
fn require_registering_scope(
    tx: &mut DbConn,
    actor: &Actor,
    donor: &Donor,
) -> Result<(), AppError> {
    if actor.is_admin() {
        return Ok(());
    }
    let chapter = match &donor.chapter_id {
        Some(id) => chapters::find(tx, id)?,
        None => None,
    };
    actor.require_chapter(&chapter.ok_or(AppError::NotFound)?)
}

/// The audited fields that an edit changed, each as `{"old", "new"}`: the blood group (it
/// decides who is called for a patient), the identity and contact fields, the paper-era
/// history and the reserve consent. Other fields are not repeated in the audit log.
/// Whether an edit changed any field a caller can set.
fn edits_anything(old: &Donor, new: &Donor) -> bool {
    (
        &old.full_name,
        old.date_of_birth,
        &old.sex,
        &old.national_id,
        &old.blood_group,
        &old.phone,
        &old.province,
        &old.commune,
        old.weight_kg,
        old.reserve,
        old.prior_donations,
        old.prior_last_donation_on,
    ) != (
        &new.full_name,
        new.date_of_birth,
        &new.sex,
        &new.national_id,
        &new.blood_group,
        &new.phone,
        &new.province,
        &new.commune,
        new.weight_kg,
        new.reserve,
        new.prior_donations,
        new.prior_last_donation_on,
    )
}

fn audited_changes(old: &Donor, new: &Donor) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::{json, Value};
    let pairs: [(&str, Value, Value); 7] = [
        (
            "blood_group",
            json!(old.blood_group),
            json!(new.blood_group),
        ),
        (
            "national_id",
            json!(old.national_id),
            json!(new.national_id),
        ),
        ("phone", json!(old.phone), json!(new.phone)),
        (
            "date_of_birth",
            json!(old.date_of_birth),
            json!(new.date_of_birth),
        ),
        ("reserve", json!(old.reserve), json!(new.reserve)),
        (
            "prior_donations",
            json!(old.prior_donations),
            json!(new.prior_donations),
        ),
        (
            "prior_last_donation_on",
            json!(old.prior_last_donation_on),
            json!(new.prior_last_donation_on),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, o, n)| o != n)
        .map(|(field, o, n)| (field.to_owned(), json!({ "old": o, "new": n })))
        .collect()
}

/// A field error for each explicit null of a field that cannot be cleared.
fn null_errors(edit: &Edit) -> Vec<FieldError> {
    [
        ("full_name", matches!(edit.full_name, Some(None))),
        ("date_of_birth", matches!(edit.date_of_birth, Some(None))),
        ("sex", matches!(edit.sex, Some(None))),
        ("reserve", matches!(edit.reserve, Some(None))),
        (
            "prior_donations",
            matches!(edit.prior_donations, Some(None)),
        ),
    ]
    .into_iter()
    .filter(|(_, is_null)| *is_null)
    .map(|(field, _)| FieldError::new(field, FieldCode::Required, "must not be null"))
    .collect()
}

/// The stored donor with the edit applied, as a draft to check.
fn merged(stored: &Donor, edit: Edit) -> Result<DonorDraft, AppError> {
    let stored_sex = Sex::parse(&stored.sex).map_err(AppError::internal)?;
    fn pick<T: Clone>(new: Option<Option<T>>, old: &Option<T>) -> Option<T> {
        new.unwrap_or_else(|| old.clone())
    }
    Ok(DonorDraft {
        full_name: edit
            .full_name
            .flatten()
            .unwrap_or_else(|| stored.full_name.clone()),
        date_of_birth: edit.date_of_birth.flatten().unwrap_or(stored.date_of_birth),
        sex: edit.sex.flatten().unwrap_or(stored_sex),
        national_id: pick(edit.national_id, &stored.national_id),
        blood_group: pick(edit.blood_group, &stored.blood_group),
        phone: pick(edit.phone, &stored.phone),
        province: pick(edit.province, &stored.province),
        commune: pick(edit.commune, &stored.commune),
        weight_kg: pick(edit.weight_kg, &stored.weight_kg),
        prior_donations: edit
            .prior_donations
            .flatten()
            .unwrap_or(i64::from(stored.prior_donations)),
        prior_last_donation_on: pick(edit.prior_last_donation_on, &stored.prior_last_donation_on),
    })
}

/// The repository filter for a search: an unknown blood group cannot be read (400); `q` longer
/// than 200 characters or with control characters is invalid (422). Checked before the page
/// parameters, so it is its own step.
pub fn search_filter(search: &Search) -> Result<DonorFilter, AppError> {
    let mut filter = DonorFilter {
        reserve: search.reserve,
        ..DonorFilter::default()
    };
    if let Some(g) = search
        .blood_group
        .as_deref()
        .filter(|g| !g.trim().is_empty())
    {
        let group = BloodGroup::parse(g).map_err(|e| AppError::Unreadable(e.to_string()))?;
        filter.blood_group = Some(group.as_str().to_owned());
    }
    let text = crate::app::validate::query_text("q", search.q.as_deref(), 200)?;
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

/// A page of donors matching `filter` (admin, coordinator, honors), ordered by rank (with
/// `q`: see [`donors::search`]), folded name and id, in the full view: audited as `donors_listed` (also when empty: who searched for
/// what) and counted against the caller's budget, so `tx` is a write transaction.
pub fn list(
    tx: &mut DbConn,
    ctx: &Ctx,
    actor: &Actor,
    filter: &DonorFilter,
    page: PageRequest,
) -> Result<Page<DonorView>, AppError> {
    let rows = search(tx, actor, filter, &page)?;
    // At least one: a search that finds no one still answers a question about the registry
    // (and writes an audit entry), so a flood of empty searches spends the budget too.
    charge_reads(tx, ctx, actor, rows.items.len().max(1))?;
    let ids: Vec<String> = rows.items.iter().map(|d| d.id.clone()).collect();
    let detail = serde_json::json!({
        "view": "full",
        "filter": filter_shape(filter),
        "cursor": page.after.is_some(),
        "count": ids.len(),
    });
    audit::append(
        tx,
        AuditRecord::by(actor, "donors_listed", detail).donors(ids),
    )?;
    let mut items = Vec::with_capacity(rows.items.len());
    for row in rows.items {
        let highest = awards::highest_tier(tx, &row.id)?;
        items.push(view(ctx, row, highest));
    }
    Ok(Page {
        items,
        next: rows.next,
    })
}

/// A page of donors matching `filter` (admin, coordinator, honors) as [`list`] finds them,
/// for the brief view: the caller shows only names, dates of birth, sex, blood groups and
/// communes, so the read is neither audited nor counted.
pub fn list_brief(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &DonorFilter,
    page: PageRequest,
) -> Result<Page<Donor>, AppError> {
    // Names only: an exact CCCD or phone look-up would tell who holds that number without an
    // audit entry or a charge (the full view answers those, audited).
    let by_name = DonorFilter {
        national_id: None,
        phone: None,
        ..filter.clone()
    };
    search(conn, actor, &by_name, &page)
}

fn search(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &DonorFilter,
    page: &PageRequest,
) -> Result<Page<Donor>, AppError> {
    require_reader(actor)?;
    // The search's keys are a rank, a folded name and an id joined by tabs.
    if page.after.as_deref().is_some_and(|a| !a.contains('\t')) {
        return Err(AppError::Unreadable(
            "cursor is not one this API issued".to_owned(),
        ));
    }
    Ok(donors::search(
        conn,
        filter,
        page.after.as_deref(),
        page.limit,
    )?)
}

/// What a search looked for, for the audit log: which alternatives `q` was read as (name
/// words, a national id, a phone) and the narrowing filters, not the text itself: the entry
/// names the donors it returned, and a CCCD or phone searched for that matched no one is not
/// the registry's to keep.
fn filter_shape(filter: &DonorFilter) -> serde_json::Value {
    let q = !filter.words.is_empty() || filter.national_id.is_some() || filter.phone.is_some();
    serde_json::json!({
        "q": q.then(|| serde_json::json!({
            "words": filter.words.len(),
            "national_id": filter.national_id.is_some(),
            "phone": filter.phone.is_some(),
        })),
        "blood_group": filter.blood_group,
        "reserve": filter.reserve,
    })
}

/// The view of a stored donor; `highest_award` is the highest tier awarded.
fn view(ctx: &Ctx, donor: Donor, highest_award: Option<i32>) -> DonorView {
    let record = DonorRecord {
        date_of_birth: donor.date_of_birth,
        // The column's check constraint admits only the two values.
        sex: Sex::parse(&donor.sex).unwrap_or(Sex::Female),
        weight_kg: donor.weight_kg,
        prior_donations: donor.prior_donations,
        prior_last_donation_on: donor.prior_last_donation_on,
        collected_count: donor.collected_count,
        last_donation_at: donor.last_donation_at,
        last_component: donor
            .last_component
            .as_deref()
            .and_then(|c| Component::parse(c).ok()),
        deferred_until: donor.deferred_until,
        permanently_deferred: donor.permanently_deferred,
    };
    let rules = FigureRules {
        eligibility: &ctx.settings.eligibility,
        tiers: &ctx.settings.honors.tiers,
        zone: ctx.zone,
        today: ctx.today(),
    };
    DonorView {
        figures: record.figures(rules, highest_award),
        donor,
    }
}

/// A conflict naming the donor holding `national_id`, unless that donor is `except`.
fn refuse_taken_national_id(
    tx: &mut DbConn,
    national_id: Option<&str>,
    except: Option<&str>,
) -> Result<(), AppError> {
    let Some(nid) = national_id else {
        return Ok(());
    };
    match donors::find_by_national_id(tx, nid)? {
        Some(other) if Some(other.id.as_str()) != except => Err(taken(other.id)),
        _ => Ok(()),
    }
}

fn taken(existing_id: String) -> AppError {
    AppError::Conflict {
        detail: "a donor with this national_id is already registered".to_owned(),
        existing_id: Some(existing_id),
    }
}

/// Runs a write that may hit the national id's unique index in a savepoint; a violation (a
/// concurrent registration that won) is the same conflict as the check before it.
fn guard_national_id<T>(
    tx: &mut DbConn,
    national_id: Option<&str>,
    f: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
) -> Result<T, AppError> {
    match hienmau_db::savepoint(tx, f) {
        Ok(v) => Ok(v),
        Err(e) if e.is_unique_on("national_id") => {
            let winner = match national_id {
                Some(nid) => donors::find_by_national_id(tx, nid)?.map(|d| d.id),
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

#[cfg(test)]
mod tests {
    use super::hour_window;
    use chrono::NaiveDate;

    #[test]
    fn the_budget_window_is_the_clock_hour_and_retry_after_its_rest() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let at = |h, m, s, ms| day.and_hms_milli_opt(h, m, s, ms).unwrap();
        assert_eq!(hour_window(at(12, 34, 56, 500)), (at(12, 0, 0, 0), 1504));
        assert_eq!(hour_window(at(12, 0, 0, 0)), (at(12, 0, 0, 0), 3600));
        // Rounded up: the last instant of the hour still waits a second, never 0.
        assert_eq!(hour_window(at(23, 59, 59, 999)), (at(23, 0, 0, 0), 1));
    }
}
