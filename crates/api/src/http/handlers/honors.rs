//! Honors: the configured tiers, the donors due a tier as of a day (JSON pages or one CSV
//! download), recording awards, and a donor's awards.
//!
//! **Due.** As of day D (default: today in the configured zone) a donor's count is
//! `prior_donations` plus their collected, not voided donations on or before D; the award held
//! is the highest tier awarded on or before D; the tier due is the highest threshold reached
//! that is above the award held. An award at a tier settles every lower one.
//!
//! **Chapter.** A donor's chapter as of D is the chapter of their most recent collected, not
//! voided donation on or before D. An emergency donation has no chapter: a donor whose most
//! recent donation was for an emergency request (or who has only paper-era donations) belongs
//! to no chapter and is left out when `chapter_id` is given.
//!
//! **Filters.** `min_tier` keeps donors due a tier at or above that number (any number is
//! accepted; a threshold is the usual value). `chapter_id` keeps the chapter and those below
//! it; an unknown chapter is 404.
//!
//! **Order.** By tier (lowest first), then the name folded (case and diacritics ignored, as
//! both backends sort it the same), then id.
//!
//! **CSV.** With `Accept: text/csv` the whole list (no paging) is streamed: UTF-8 with a
//! byte-order mark (so spreadsheet programs read Vietnamese names), a header row, dates as
//! `YYYY-MM-DD`, and every cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
//! prefixed with `'` so spreadsheets do not run it as a formula. Rows are read in keyset-paged
//! chunks by a low-priority thread and sent through a bounded channel, so memory stays flat
//! however long the list. The export is written to the audit log (`honors_exported`) before the first
//! byte is sent.

use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use hienmau_db::models::Award;
use hienmau_db::repo::honors::{self, DueQuery, DueRow};
use hienmau_db::repo::{awards, chapters, donors};
use hienmau_domain::calendar::Zone;
use hienmau_domain::honors::TierTable;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::audit::{self, AuditRecord};
use crate::app::validate::optional_text;
use crate::http::auth::Actor;
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::{ListResponse, Paging};
use crate::http::limits::Turn;
use crate::http::state::AppState;

/// Rows per chunk of a CSV export.
const EXPORT_CHUNK: i64 = 1_000;
/// Chunks buffered between the database task and the socket.
const EXPORT_BUFFER: usize = 4;

/// One configured tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierOut {
    /// Donations that reach the tier.
    #[schema(example = 5)]
    pub threshold: u32,
    /// The award given at the tier.
    #[schema(example = "Giấy khen của Hội Chữ thập đỏ tỉnh")]
    pub name: String,
}

/// The configured honor tiers, lowest first (honors, admin).
#[utoipa::path(get, path = "/api/v1/honors/tiers", tag = "honors",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tiers from configuration, lowest threshold first", body = Vec<TierOut>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read honors", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_tiers(
    state: web::Data<AppState>,
    _user: Actor,
) -> Result<HttpResponse, ApiError> {
    let tiers: Vec<TierOut> = state
        .settings
        .honors
        .tiers
        .tiers()
        .iter()
        .map(|t| TierOut {
            threshold: t.threshold,
            name: t.name.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(tiers))
}

/// `GET /honors/eligible` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EligibleQuery {
    /// The cut-off day (inclusive) for donations and awards; default today in the configured
    /// zone.
    pub as_of: Option<NaiveDate>,
    /// Only donors due a tier at or above this number of donations.
    pub min_tier: Option<u32>,
    /// Only donors whose chapter (that of their latest collected donation up to `as_of`) is
    /// this chapter or one below it; unknown → 404.
    pub chapter_id: Option<Uuid>,
    /// Items per page (JSON only): default 50, at most 500 (larger values are capped);
    /// negative is 400.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (JSON only).
    pub cursor: Option<String>,
}

/// A donor due a tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibleOut {
    /// The donor.
    pub donor_id: String,
    /// Full name.
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Prior donations plus collected donations on or before `as_of`.
    pub donation_count: i64,
    /// The threshold now due (the highest reached above the highest award held).
    pub tier: i64,
    /// The award's name at that tier.
    pub tier_name: String,
    /// The last collected donation on or before `as_of` (UTC); else the start of the
    /// paper-era last donation's day; else null.
    pub last_donation_at: Option<DateTime<Utc>>,
    /// The donor's chapter as of `as_of` (null: none, e.g. the latest donation was for an
    /// emergency request).
    pub chapter_id: Option<String>,
}

fn last_donation_day(row: &DueRow, zone: Zone, as_of: NaiveDate) -> Option<NaiveDate> {
    match row.last_donation_at {
        Some(at) => Some(zone.day_of(at.and_utc())),
        None => row.prior_last_donation_on.filter(|d| *d <= as_of),
    }
}

fn tier_name(tiers: &TierTable, tier: i64) -> String {
    u32::try_from(tier)
        .ok()
        .and_then(|t| tiers.get(t))
        .map(|t| t.name.clone())
        .unwrap_or_default()
}

impl EligibleOut {
    fn new(row: DueRow, tiers: &TierTable, zone: Zone, as_of: NaiveDate) -> Self {
        let last_donation_at = match row.last_donation_at {
            Some(at) => Some(at.and_utc()),
            None => row
                .prior_last_donation_on
                .filter(|d| *d <= as_of)
                .map(|d| zone.start_of_day(d)),
        };
        EligibleOut {
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

/// True when the client asks for CSV.
fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"))
        })
}

/// Donors due an honor tier as of a day (honors, admin); CSV with `Accept: text/csv`.
#[utoipa::path(get, path = "/api/v1/honors/eligible", tag = "honors", params(EligibleQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Donors due a tier, by tier, then folded name, then id. With `Accept: text/csv`: the whole list as a CSV download (UTF-8 with a byte-order mark, a header row `donor_id,full_name,date_of_birth,donation_count,tier,tier_name,last_donation_at,phone,commune,province,chapter_id`, dates `YYYY-MM-DD`, formula-like cells prefixed with `'`); each export is audited.",
            content(
                (ListResponse<EligibleOut> = "application/json"),
                (String = "text/csv"),
            )),
        (status = 400, description = "Unreadable parameter (as_of not a date, negative min_tier or limit, bad cursor)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read honors", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this caller on an expensive route", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No turn at expensive work within the configured wait (Retry-After), or the database is unavailable", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such chapter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn eligible(
    state: web::Data<AppState>,
    user: Actor,
    req: HttpRequest,
    query: web::Query<EligibleQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let as_of = query.as_of.unwrap_or_else(|| state.zone.today());
    let tiers = state.settings.honors.tiers.clone();
    let thresholds: Vec<u32> = tiers.tiers().iter().map(|t| t.threshold).collect();
    let chapter_id = query.chapter_id.map(|c| c.to_string());
    let csv = wants_csv(&req);
    let paging = Paging {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = paging.limit()?;
    let after = paging.after()?;

    let lookup = chapter_id.clone();
    let scope_user = user.clone();
    let prefix = state
        .db(move |conn| match lookup {
            Some(id) => {
                let chapter = chapters::find(conn, &id)?.ok_or(ApiError::NotFound)?;
                scope_user.require_chapter(&chapter)?;
                Ok(Some(chapter.path))
            }
            None => Ok(None),
        })
        .await?;
    let q = DueQuery {
        as_of,
        thresholds,
        min_tier: query.min_tier,
        chapter_path_prefix: prefix,
    };

    if csv {
        let detail = serde_json::json!({
            "as_of": as_of,
            "min_tier": query.min_tier,
            "chapter_id": chapter_id,
            "format": "csv",
        });
        state
            .write_http(move |conn| {
                Ok(audit::append(
                    conn,
                    AuditRecord::by(&user, "honors_exported", detail),
                )?)
            })
            .await?;
        let turn = req.extensions().get::<Turn>().cloned();
        return stream_csv(&state, q, tiers, turn);
    }

    let zone = state.zone;
    let page = state
        .db(move |conn| Ok(honors::due_page(conn, &q, after.as_deref(), limit)?))
        .await?;
    Ok(
        HttpResponse::Ok().json(ListResponse::from_page(page, |row| {
            EligibleOut::new(row, &tiers, zone, as_of)
        })),
    )
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

/// Prefixes a cell that a spreadsheet would read as a formula.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn csv_bytes(records: &[Vec<String>]) -> Result<web::Bytes, ApiError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(records.len() * 128));
    for r in records {
        w.write_record(r.iter().map(|c| neutralise(c).into_owned()))
            .map_err(ApiError::internal)?;
    }
    let bytes = w.into_inner().map_err(ApiError::internal)?;
    Ok(web::Bytes::from(bytes))
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

/// Streams the list: a low-priority thread ([`crate::background`]) reads keyset-paged chunks
/// and sends each as CSV bytes through a bounded channel; the response body is the channel. A
/// reader that goes away closes the channel and the thread stops at the next chunk. The
/// caller's turn at expensive work is held until the last row is sent.
fn stream_csv(
    state: &AppState,
    q: DueQuery,
    tiers: TierTable,
    turn: Option<Turn>,
) -> Result<HttpResponse, ApiError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, ApiError>>(EXPORT_BUFFER);
    let pool = state.pool.clone();
    let zone = state.zone;
    let filename = format!("attachment; filename=\"honors-due-{}.csv\"", q.as_of);
    let started = crate::background::spawn("export", move || {
        let _turn = turn;
        let header: Vec<String> = CSV_HEADER.iter().map(|h| (*h).to_owned()).collect();
        let mut first = b"\xEF\xBB\xBF".to_vec();
        match csv_bytes(&[header]) {
            Ok(b) => first.extend_from_slice(&b),
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
        if tx.blocking_send(Ok(web::Bytes::from(first))).is_err() {
            return;
        }
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "no database connection for the export");
                let _ = tx.blocking_send(Err(ApiError::Unavailable));
                return;
            }
        };
        let as_of = q.as_of;
        let result = honors::export_due(&mut conn, &q, EXPORT_CHUNK, |rows| {
            let records: Vec<Vec<String>> = rows
                .into_iter()
                .map(|r| csv_record(r, &tiers, zone, as_of))
                .collect();
            match csv_bytes(&records) {
                Ok(b) => tx.blocking_send(Ok(b)).is_ok(),
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    false
                }
            }
        });
        match result {
            Ok(rows) => tracing::info!(rows, "honors list exported"),
            Err(e) => {
                tracing::error!(error = %e, "honors export failed");
                let _ = tx.blocking_send(Err(ApiError::from(e)));
            }
        }
    });
    started?;
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, filename))
        .streaming(body))
}

/// An award to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAward {
    /// The donor.
    pub donor_id: Uuid,
    /// A configured threshold (another number is 422).
    #[schema(example = 5, minimum = 1)]
    pub tier: i64,
    /// The day of the award; the donor's count as of this day must reach the tier.
    pub awarded_on: NaiveDate,
    /// Free text, e.g. the decision's number (at most 500 characters).
    pub note: Option<String>,
}

/// A recorded award.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardOut {
    /// Id.
    pub id: String,
    /// The donor.
    pub donor_id: String,
    /// The tier's threshold.
    pub tier: i32,
    /// The tier's award name (empty for a tier no longer configured).
    pub tier_name: String,
    /// The day of the award.
    pub awarded_on: NaiveDate,
    /// Free text.
    pub note: Option<String>,
    /// The user who recorded it.
    pub recorded_by: String,
    /// When it was recorded (UTC).
    pub created_at: DateTime<Utc>,
}

impl AwardOut {
    fn new(a: Award, tiers: &TierTable) -> Self {
        AwardOut {
            tier_name: tier_name(tiers, i64::from(a.tier)),
            id: a.id,
            donor_id: a.donor_id,
            tier: a.tier,
            awarded_on: a.awarded_on,
            note: a.note,
            recorded_by: a.recorded_by,
            created_at: a.created_at.and_utc(),
        }
    }
}

fn already_held(held: i32) -> ApiError {
    ApiError::Conflict {
        detail: format!("the donor already holds the award at tier {held}, at or above this one"),
        existing_id: None,
    }
}

/// Records an award (honors, admin). It settles the tier and every tier below it.
#[utoipa::path(post, path = "/api/v1/honors/awards", tag = "honors", request_body = NewAward,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = AwardOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not record awards", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The donor already holds this tier or a higher one", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`tier` is not a configured threshold, the donor had not reached it by `awarded_on`, no such donor, or the note is too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_award(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewAward>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let tiers = state.settings.honors.tiers.clone();
    let tier = u32::try_from(body.tier)
        .ok()
        .filter(|t| tiers.is_threshold(*t))
        .and_then(|t| i32::try_from(t).ok())
        .ok_or_else(|| {
            let configured: Vec<String> = tiers
                .tiers()
                .iter()
                .map(|t| t.threshold.to_string())
                .collect();
            ApiError::field(
                "tier",
                format!("must be a configured threshold ({})", configured.join(", ")),
            )
        })?;
    let mut errors = Vec::new();
    let note = optional_text("note", body.note.as_deref(), 500, &mut errors);
    ApiError::check(errors)?;
    let donor_id = body.donor_id.to_string();
    let awarded_on = body.awarded_on;
    let recorded_by = user.principal_id().to_owned();
    let row = state
        .write_http(move |conn| {
            // The donor's row lock serialises two awards for the same donor (PostgreSQL).
            if !donors::lock(conn, &donor_id)? {
                return Err(ApiError::field("donor_id", "no such donor"));
            }
            if let Some(held) = awards::highest_tier(conn, &donor_id)? {
                if held >= tier {
                    return Err(already_held(held));
                }
            }
            let count = honors::count_as_of(conn, &donor_id, awarded_on)?.unwrap_or(0);
            if count < i64::from(tier) {
                return Err(ApiError::field(
                    "tier",
                    format!(
                        "the donor had {count} donation(s) by {awarded_on}; tier {tier} needs {tier}"
                    ),
                ));
            }
            let row = Award {
                id: hienmau_db::new_id(),
                donor_id: donor_id.clone(),
                tier,
                awarded_on,
                note,
                recorded_by,
                created_at: hienmau_db::now(),
            };
            match hienmau_db::savepoint(conn, |c| awards::insert(c, &row)) {
                Ok(()) => {}
                Err(e) if e.is_unique_on("tier") || e.is_unique_on("awards") => {
                    return Err(already_held(tier))
                }
                Err(e) => return Err(e.into()),
            }
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "award_recorded",
                    serde_json::json!({
                        "award_id": row.id, "donor_id": row.donor_id, "tier": tier,
                        "awarded_on": awarded_on,
                    }),
                )
                .donors(vec![row.donor_id.clone()]),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(AwardOut::new(row, &tiers)))
}

/// A donor's awards, lowest tier first (admin, coordinator, honors).
#[utoipa::path(get, path = "/api/v1/donors/{id}/awards", tag = "honors",
    params(("id" = Uuid, Path, description = "Donor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The donor's awards", body = Vec<AwardOut>),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not read donors", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such donor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn donor_awards(
    state: web::Data<AppState>,
    _user: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner().to_string();
    let rows = state
        .db(move |conn| {
            donors::find(conn, &id)?.ok_or(ApiError::NotFound)?;
            Ok(awards::list_for_donor(conn, &id)?)
        })
        .await?;
    let tiers = &state.settings.honors.tiers;
    let out: Vec<AwardOut> = rows.into_iter().map(|a| AwardOut::new(a, tiers)).collect();
    Ok(HttpResponse::Ok().json(out))
}
