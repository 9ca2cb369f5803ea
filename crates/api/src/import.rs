//! `hienmau import donors FILE.csv [--chapter ID] [--skip-invalid]`: loads a chapter's donor
//! register kept in a spreadsheet.
//!
//! **File.** CSV in UTF-8 (a byte-order mark is fine), separated by commas, semicolons or tabs
//! (guessed from the header line), one header row. Headers are matched ignoring case,
//! Vietnamese diacritics and punctuation, in Vietnamese or English (see [`FIELDS`]): "Họ và
//! tên"/`full_name`, "Ngày sinh"/`date_of_birth`, "Giới tính"/`sex`, "CCCD"/`national_id`,
//! "Số điện thoại"/`phone`, "Nhóm máu"/`blood_group`, "Xã/Phường"/`commune`,
//! "Tỉnh"/`province`, "Cân nặng"/`weight_kg`, "Số lần hiến trước"/`prior_donations`, "Lần hiến
//! gần nhất"/`prior_last_donation_on`, "Dự bị"/`reserve`. Name, date of birth and sex are
//! required columns; other columns (a row number, notes) are ignored and named in a warning.
//! Dates are `YYYY-MM-DD` or `DD/MM/YYYY`; sex `Nam`/`Nữ`/`male`/`female`; the reserve
//! `Có`/`Không`/`yes`/`no`/`true`/`false`/`1`/`0`/`x` (empty: no).
//!
//! **Rules.** Every row is checked first, with the same rules as `POST /donors`; each bad row is
//! reported with its line number and reasons. With any bad row nothing is written, unless
//! `--skip-invalid`, which writes the good rows and reports the others.
//!
//! **Re-runs.** A row matches a registered donor by national id when it has one, else by name
//! (folded), date of birth and phone. A matched donor's paper-era history (`prior_donations`,
//! `prior_last_donation_on`) is updated when the row differs, else the row is skipped as
//! unchanged; nothing else of a registered donor is changed. Running the same file twice
//! creates nobody the second time.
//!
//! **Writing.** One write transaction: all or nothing. Each created or updated donor's counters
//! are refreshed, so an imported last-donation date blocks a donation inside the interval and
//! shows in `next_eligible_on`. New donors get `--chapter` as their registering chapter; a
//! reserve member's consent date is the day of the import. One audit entry
//! (`donors_imported`) records the file's name and the counts.

use crate::app::FieldCode;
use std::path::Path;

use chrono::NaiveDate;
use diesel::prelude::*;
use hienmau_db::models::{Donor, DonorChanges};
use hienmau_db::repo::{chapters, donors};
use hienmau_db::schema::donors as donors_t;
use hienmau_db::{DbConn, DbPool};
use hienmau_domain::text::fold;
use hienmau_domain::{DonorDetails, DonorDraft, Sex};

use crate::app::audit::{self, AuditRecord};
use crate::app::donations::refresh_stats;
use crate::app::donors::{self as app_donors, new_donor};
use crate::app::{AppError, Ctx, FieldError};

/// The columns an import understands, each with the header names it accepts (compared after
/// [`header_key`]).
pub const FIELDS: &[(&str, &[&str])] = &[
    (
        "full_name",
        &[
            "họ và tên",
            "họ tên",
            "tên",
            "full_name",
            "name",
            "full name",
        ],
    ),
    (
        "date_of_birth",
        &[
            "ngày sinh",
            "ngày tháng năm sinh",
            "năm sinh",
            "date_of_birth",
            "birth date",
            "birth_date",
            "dob",
        ],
    ),
    ("sex", &["giới tính", "giới", "sex", "gender"]),
    (
        "national_id",
        &[
            "cccd",
            "số cccd",
            "căn cước",
            "căn cước công dân",
            "cmnd/cccd",
            "số định danh",
            "national_id",
            "national id",
            "citizen id",
        ],
    ),
    (
        "phone",
        &[
            "số điện thoại",
            "điện thoại",
            "sđt",
            "số đt",
            "phone",
            "phone number",
            "mobile",
        ],
    ),
    ("blood_group", &["nhóm máu", "blood_group", "blood group"]),
    (
        "commune",
        &[
            "xã/phường",
            "xã phường",
            "phường/xã",
            "xã",
            "phường",
            "commune",
            "ward",
        ],
    ),
    (
        "province",
        &["tỉnh", "tỉnh/thành phố", "tỉnh thành", "province"],
    ),
    (
        "weight_kg",
        &["cân nặng", "cân nặng (kg)", "weight", "weight_kg"],
    ),
    (
        "prior_donations",
        &[
            "số lần hiến trước",
            "số lần hiến",
            "số lần đã hiến",
            "số lần hiến máu",
            "prior_donations",
            "prior donations",
            "donations before",
        ],
    ),
    (
        "prior_last_donation_on",
        &[
            "lần hiến gần nhất",
            "ngày hiến gần nhất",
            "lần hiến cuối",
            "ngày hiến cuối",
            "prior_last_donation_on",
            "last donation",
            "last_donation_on",
            "last donation date",
        ],
    ),
    (
        "reserve",
        &["dự bị", "lực lượng dự bị", "hiến máu dự bị", "reserve"],
    ),
];

const REQUIRED: [&str; 3] = ["full_name", "date_of_birth", "sex"];

/// A header or alias reduced to words: folded, punctuation as spaces.
pub fn header_key(s: &str) -> String {
    let folded = fold(s.trim_start_matches('\u{feff}'));
    let spaced: String = folded
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What to do.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The registering chapter of new donors.
    pub chapter: Option<String>,
    /// Write the good rows when some are bad.
    pub skip_invalid: bool,
}

/// A bad row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The line of the file (the header is line 1).
    pub line: u64,
    /// The fields at fault.
    pub errors: Vec<FieldError>,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reasons: Vec<String> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        write!(f, "line {}: {}", self.line, reasons.join("; "))
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// Donors registered.
    pub created: usize,
    /// Registered donors whose paper-era history changed.
    pub updated: usize,
    /// Rows matching a registered donor with nothing to change.
    pub unchanged: usize,
    /// Bad rows (skipped with `--skip-invalid`; otherwise nothing was written).
    pub invalid: Vec<RowError>,
    /// Columns ignored.
    pub ignored_columns: Vec<String>,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read as a donor register.
    #[error("{0}")]
    Unreadable(String),
    /// Bad rows without `--skip-invalid`.
    #[error("{} invalid row(s); nothing was written (fix them, or pass --skip-invalid to import the others)", .0.invalid.len())]
    Invalid(ImportReport),
    /// The database refused.
    #[error("{0}")]
    Database(String),
}

impl From<AppError> for ImportError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Internal(cause) => ImportError::Database(cause),
            other => ImportError::Database(other.to_string()),
        }
    }
}

/// A validated row.
struct Row {
    line: u64,
    valid: DonorDetails,
    reserve: bool,
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%d-%m-%Y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .ok()
}

fn parse_sex(s: &str) -> Option<Sex> {
    match header_key(s).as_str() {
        "nam" | "male" | "m" => Some(Sex::Male),
        "nu" | "female" | "f" => Some(Sex::Female),
        _ => None,
    }
}

fn parse_yes_no(s: &str) -> Option<bool> {
    match header_key(s).as_str() {
        "" | "khong" | "no" | "false" | "0" | "n" => Some(false),
        "co" | "yes" | "true" | "1" | "x" | "y" => Some(true),
        _ => None,
    }
}

/// The valid rows, the bad ones, and the columns ignored.
type ReadRows = (Vec<Row>, Vec<RowError>, Vec<String>);

/// Reads and checks every row of `text`: the valid rows and the bad ones.
fn read_rows(text: &str, today: NaiveDate) -> Result<ReadRows, ImportError> {
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Unreadable(format!("cannot read the header row: {e}")))?
        .clone();

    // Column index of each field.
    let mut columns: Vec<(&str, usize)> = Vec::new();
    let mut ignored = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let key = header_key(h);
        if key.is_empty() {
            continue;
        }
        let field = FIELDS
            .iter()
            .find(|(_, aliases)| aliases.iter().any(|a| header_key(a) == key))
            .map(|(f, _)| *f);
        match field {
            Some(f) if columns.iter().any(|(g, _)| *g == f) => {
                return Err(ImportError::Unreadable(format!(
                    "two columns mean {f} (\"{h}\" is the second)"
                )));
            }
            Some(f) => columns.push((f, i)),
            None => ignored.push(h.to_owned()),
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|f| !columns.iter().any(|(g, _)| g == f))
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::Unreadable(format!(
            "the header row lacks a column for {} (found: {})",
            missing.join(", "),
            headers.iter().collect::<Vec<_>>().join(", ")
        )));
    }

    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| ImportError::Unreadable(format!("cannot read the file: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |f: &str| -> Option<String> {
            columns
                .iter()
                .find(|(g, _)| *g == f)
                .and_then(|(_, i)| record.get(*i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let mut errors = Vec::new();
        let date = |f: &str, errors: &mut Vec<FieldError>| -> Option<NaiveDate> {
            let raw = cell(f)?;
            let parsed = parse_date(&raw);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    f,
                    FieldCode::InvalidFormat,
                    format!("\"{raw}\" is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
                ));
            }
            parsed
        };
        let date_of_birth = match cell("date_of_birth") {
            None => {
                errors.push(FieldError::new(
                    "date_of_birth",
                    FieldCode::Required,
                    "is required",
                ));
                None
            }
            Some(_) => date("date_of_birth", &mut errors),
        };
        let prior_last_donation_on = date("prior_last_donation_on", &mut errors);
        let sex = match cell("sex") {
            None => {
                errors.push(FieldError::new(
                    "sex",
                    FieldCode::Required,
                    "is required (Nam or Nữ)",
                ));
                None
            }
            Some(raw) => {
                let s = parse_sex(&raw);
                if s.is_none() {
                    errors.push(FieldError::new(
                        "sex",
                        FieldCode::InvalidFormat,
                        format!("\"{raw}\" is not Nam/Nữ (male/female)"),
                    ));
                }
                s
            }
        };
        let prior_donations = match cell("prior_donations") {
            None => 0,
            Some(raw) => raw.parse::<i64>().unwrap_or_else(|_| {
                errors.push(FieldError::new(
                    "prior_donations",
                    FieldCode::InvalidFormat,
                    format!("\"{raw}\" is not a whole number"),
                ));
                0
            }),
        };
        let weight_kg = match cell("weight_kg") {
            None => None,
            Some(raw) => match raw.replace(',', ".").parse::<f64>() {
                Ok(w) => Some(w),
                Err(_) => {
                    errors.push(FieldError::new(
                        "weight_kg",
                        FieldCode::InvalidFormat,
                        format!("\"{raw}\" is not a number"),
                    ));
                    None
                }
            },
        };
        let reserve = match cell("reserve") {
            None => false,
            Some(raw) => parse_yes_no(&raw).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "reserve",
                    FieldCode::InvalidFormat,
                    format!("\"{raw}\" is not Có/Không (yes/no)"),
                ));
                false
            }),
        };
        let full_name = cell("full_name").unwrap_or_default();
        let valid = match (date_of_birth, sex) {
            (Some(date_of_birth), Some(sex)) => {
                let draft = DonorDraft {
                    full_name,
                    date_of_birth,
                    sex,
                    national_id: cell("national_id"),
                    blood_group: cell("blood_group"),
                    phone: cell("phone"),
                    province: cell("province"),
                    commune: cell("commune"),
                    weight_kg,
                    prior_donations,
                    prior_last_donation_on,
                };
                match draft.validate(today) {
                    Ok(valid) => Some(valid),
                    Err(problems) => {
                        errors.extend(problems.into_iter().map(FieldError::from));
                        None
                    }
                }
            }
            _ => {
                if full_name.is_empty() {
                    errors.push(FieldError::new(
                        "full_name",
                        FieldCode::Required,
                        "must not be empty",
                    ));
                }
                None
            }
        };
        match valid {
            Some(valid) if errors.is_empty() => rows.push(Row {
                line,
                valid,
                reserve,
            }),
            _ => bad.push(RowError { line, errors }),
        }
    }
    Ok((rows, bad, ignored))
}

/// The registered donor a row stands for: by national id when the row has one, else by
/// folded name, date of birth and phone.
fn find_match(conn: &mut DbConn, v: &DonorDetails) -> Result<Option<Donor>, AppError> {
    if let Some(nid) = &v.national_id {
        return Ok(donors::find_by_national_id(conn, nid.as_str())?);
    }
    let mut q = donors_t::table
        .filter(donors_t::name_folded.eq(v.name_folded.clone()))
        .filter(donors_t::date_of_birth.eq(v.date_of_birth))
        .order((donors_t::created_at.asc(), donors_t::id.asc()))
        .select(Donor::as_select())
        .into_boxed();
    q = match &v.phone {
        Some(p) => q.filter(donors_t::phone.eq(p.as_str().to_owned())),
        None => q.filter(donors_t::phone.is_null()),
    };
    Ok(q.first(conn)
        .optional()
        .map_err(hienmau_db::DbError::from)?)
}

/// Imports the register at `path` (see the module documentation) on a connection of `pool`.
pub fn import_donors(
    pool: &DbPool,
    ctx: &Ctx,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ImportError::Unreadable(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        ImportError::Unreadable(format!(
            "{} is not UTF-8 text (save it as \"CSV UTF-8\")",
            path.display()
        ))
    })?;
    let today = ctx.today();
    let (rows, bad, ignored_columns) = read_rows(&text, today)?;
    let mut report = ImportReport {
        invalid: bad,
        ignored_columns,
        ..ImportReport::default()
    };
    if !report.invalid.is_empty() && !opts.skip_invalid {
        return Err(ImportError::Invalid(report));
    }

    let mut conn = pool
        .get()
        .map_err(|e| ImportError::Database(format!("no database connection: {e}")))?;
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rules = &ctx.settings.eligibility;
    let chapter = opts.chapter.clone();
    let invalid = report.invalid.len();
    let (created, updated, unchanged) = hienmau_db::write_tx(&mut conn, |conn| {
        if let Some(id) = &chapter {
            if chapters::find(conn, id)?.is_none() {
                return Err(ImportError::Unreadable(format!("no chapter with id {id}")));
            }
        }
        let (mut created, mut updated, mut unchanged) = (0usize, 0usize, 0usize);
        for row in rows {
            let v = row.valid;
            match find_match(conn, &v)? {
                Some(existing) => {
                    if existing.prior_donations == v.prior_donations
                        && existing.prior_last_donation_on == v.prior_last_donation_on
                    {
                        unchanged += 1;
                        continue;
                    }
                    let changes = DonorChanges {
                        prior_donations: Some(v.prior_donations),
                        prior_last_donation_on: Some(v.prior_last_donation_on),
                        updated_at: Some(hienmau_db::now()),
                        ..DonorChanges::default()
                    };
                    donors::update(conn, &existing.id, &changes)?;
                    refresh_stats(conn, rules, &existing.id)?;
                    updated += 1;
                }
                None => {
                    let reserve_since = row.reserve.then_some(today);
                    let new = new_donor(v, reserve_since, chapter.clone(), ctx.now);
                    app_donors::insert(conn, ctx, &new)
                        .map_err(|e| ImportError::Database(format!("line {}: {e}", row.line)))?;
                    created += 1;
                }
            }
        }
        audit::append(
            conn,
            AuditRecord::system(
                "donors_imported",
                serde_json::json!({
                    "file": file_name, "chapter_id": chapter, "created": created,
                    "updated": updated, "unchanged": unchanged, "invalid": invalid,
                }),
            ),
        )?;
        Ok::<_, ImportError>((created, updated, unchanged))
    })?;
    report.created = created;
    report.updated = updated;
    report.unchanged = unchanged;
    Ok(report)
}

impl From<hienmau_db::DbError> for ImportError {
    fn from(e: hienmau_db::DbError) -> Self {
        ImportError::Database(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_in_both_languages() {
        for (header, field) in [
            ("Họ và tên", "full_name"),
            ("HỌ VÀ TÊN", "full_name"),
            ("full_name", "full_name"),
            ("Ngày sinh", "date_of_birth"),
            ("Giới tính", "sex"),
            ("CCCD", "national_id"),
            ("Số điện thoại", "phone"),
            ("Nhóm máu", "blood_group"),
            ("Xã/Phường", "commune"),
            ("Tỉnh", "province"),
            ("Số lần hiến trước", "prior_donations"),
            ("Lần hiến gần nhất", "prior_last_donation_on"),
            ("Dự bị", "reserve"),
            ("\u{feff}Họ và tên", "full_name"),
        ] {
            let key = header_key(header);
            let found = FIELDS
                .iter()
                .find(|(_, aliases)| aliases.iter().any(|a| header_key(a) == key))
                .map(|(f, _)| *f);
            assert_eq!(found, Some(field), "{header}");
        }
    }

    #[test]
    fn values() {
        assert_eq!(parse_date("17/05/1990"), "1990-05-17".parse().ok());
        assert_eq!(parse_date("1990-05-17"), "1990-05-17".parse().ok());
        assert_eq!(parse_date("5/7/1990"), "1990-07-05".parse().ok());
        assert_eq!(parse_date("1990/05/17"), None);
        assert_eq!(parse_sex("Nữ"), Some(Sex::Female));
        assert_eq!(parse_sex("NAM"), Some(Sex::Male));
        assert_eq!(parse_sex("x"), None);
        assert_eq!(parse_yes_no("Có"), Some(true));
        assert_eq!(parse_yes_no("không"), Some(false));
        assert_eq!(parse_yes_no(""), Some(false));
        assert_eq!(parse_yes_no("maybe"), None);
    }
}
