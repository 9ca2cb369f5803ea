//! Organisation: chapters, hospitals and user accounts.
//!
//! Creating an account is one path for every caller (the API, `hienmau user create`, the demo
//! loader, the test harness): [`check_new_user`] applies the rules while the password is still
//! in clear, the caller hashes it (hashing is slow and bounded per request, which is the HTTP
//! layer's business), and [`create_user`] stores it.

use crate::app::FieldCode;
use hienmau_db::models::{self, Chapter, Hospital, User, UserChanges};
use hienmau_db::repo::{chapters, hospitals, users, Page};
use hienmau_db::{DbConn, DbError};
use hienmau_domain::{Role, Username};

use crate::app::audit::{self, AuditRecord};
use crate::app::error::{AppError, FieldError};
use crate::app::scope::Actor;
use crate::app::validate::{optional_text, required_text};

/// The shortest password accepted (the contract's rule).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The longest password accepted, so that hashing stays cheap to refuse.
const MAX_PASSWORD_CHARS: usize = 1024;

/// Every chapter, parents before children, paged on the tree path: `limit` chapters after the
/// path `after`.
pub fn list_chapters(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Chapter>, AppError> {
    let mut rows = chapters::list(conn)?;
    // Few chapters exist (a province has tens): page in memory, in byte order of the path,
    // whatever the database's collation.
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    rows.retain(|c| after.is_none_or(|after| c.path.as_str() > after));
    Ok(Page::from_overfetch(rows, limit, |c| c.path.clone()))
}

/// A new chapter.
#[derive(Debug, Clone)]
pub struct NewChapterCommand {
    /// Name.
    pub name: String,
    /// The chapter above; None for a root (a province).
    pub parent_id: Option<String>,
}

/// Creates a chapter under an existing parent (or as a root).
pub fn create_chapter(
    tx: &mut DbConn,
    actor: &Actor,
    cmd: NewChapterCommand,
) -> Result<Chapter, AppError> {
    let mut errors = Vec::new();
    let name = required_text("name", &cmd.name, 200, &mut errors);
    AppError::check(errors)?;
    if let Some(parent) = &cmd.parent_id {
        if chapters::find(tx, parent)?.is_none() {
            return Err(AppError::field(
                "parent_id",
                FieldCode::NotFound,
                "no such chapter",
            ));
        }
    }
    let chapter = chapters::insert(tx, &hienmau_db::new_id(), &name, cmd.parent_id.as_deref())?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "chapter_created",
            serde_json::json!({ "chapter_id": chapter.id }),
        ),
    )?;
    Ok(chapter)
}

/// Every hospital by name, paged on name and id: `limit` hospitals after the key `after`.
pub fn list_hospitals(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Hospital>, AppError> {
    let key = |h: &Hospital| format!("{}\t{}", h.name, h.id);
    let mut rows = hospitals::list(conn)?;
    rows.retain(|h| after.is_none_or(|after| key(h).as_str() > after));
    Ok(Page::from_overfetch(rows, limit, key))
}

/// A new hospital.
#[derive(Debug, Clone)]
pub struct NewHospitalCommand {
    /// Name.
    pub name: String,
    /// Province.
    pub province: Option<String>,
    /// Commune or ward.
    pub commune: Option<String>,
}

/// Creates a hospital.
pub fn create_hospital(
    tx: &mut DbConn,
    actor: &Actor,
    cmd: NewHospitalCommand,
) -> Result<Hospital, AppError> {
    let mut errors = Vec::new();
    let row = Hospital {
        id: hienmau_db::new_id(),
        name: required_text("name", &cmd.name, 200, &mut errors),
        province: optional_text("province", cmd.province.as_deref(), 100, &mut errors),
        commune: optional_text("commune", cmd.commune.as_deref(), 100, &mut errors),
        created_at: hienmau_db::now(),
    };
    AppError::check(errors)?;
    hospitals::insert(tx, &row)?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "hospital_created",
            serde_json::json!({ "hospital_id": row.id }),
        ),
    )?;
    Ok(row)
}

/// Users by username, keyset-paged on it: `limit` users after the username `after`.
pub fn list_users(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<User>, AppError> {
    Ok(users::list(conn, after, limit)?)
}

/// A new account as given, its password in clear.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Username (unique): stored NFKC-normalised and lower-cased, then 3–64 characters of
    /// `a-z 0-9 . _ -` ([`hienmau_domain::username`]).
    pub username: String,
    /// The password.
    pub password: String,
    /// Role.
    pub role: Role,
    /// A coordinator's chapter.
    pub chapter_id: Option<String>,
    /// A hospital user's hospital.
    pub hospital_id: Option<String>,
}

impl NewAccount {
    /// The command that stores this account, with its password's hash (made by the caller from
    /// [`NewAccount::password`] after [`check_new_user`] accepted it).
    pub fn with_hash(self, password_hash: String) -> NewUserCommand {
        NewUserCommand {
            // Stored in its normal spelling; a name that is not a username stays as given, for
            // [`create_user`] to refuse.
            username: Username::parse(&self.username)
                .map(Username::into_string)
                .unwrap_or(self.username),
            password_hash,
            role: self.role,
            chapter_id: self.chapter_id,
            hospital_id: self.hospital_id,
        }
    }
}

/// An account to store: a checked [`NewAccount`] with its password hashed.
#[derive(Debug, Clone)]
pub struct NewUserCommand {
    /// Username (unique).
    pub username: String,
    /// The password's hash (never the password).
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// A coordinator's chapter.
    pub chapter_id: Option<String>,
    /// A hospital user's hospital.
    pub hospital_id: Option<String>,
}

/// Who creates an account: the audit entry names them.
#[derive(Debug, Clone, Copy)]
pub enum CreatedBy<'a> {
    /// An admin, through the API.
    Actor(&'a Actor),
    /// Whoever runs the program on the server, with no account: `via` names the command
    /// (`cli` for `hienmau user create`, `demo` for the demo loader).
    Operator {
        /// The command.
        via: &'static str,
    },
}

/// Checks a new account before its password is hashed: username, password length, and the
/// chapter or hospital its role requires. Every fault is reported at once.
pub fn check_new_user(account: &NewAccount) -> Result<(), AppError> {
    let mut errors = Vec::new();
    check_username(&account.username, &mut errors);
    check_password(&account.password, &mut errors);
    check_binding(
        account.role,
        account.chapter_id.as_deref(),
        account.hospital_id.as_deref(),
        &mut errors,
    );
    AppError::check(errors)
}

/// Creates an account: its chapter or hospital must exist; a taken username is a conflict.
/// The username and the role's binding are checked again here (they do not need the
/// password), so no caller stores an account that breaks them.
pub fn create_user(
    tx: &mut DbConn,
    by: CreatedBy<'_>,
    cmd: NewUserCommand,
) -> Result<User, AppError> {
    let mut errors = Vec::new();
    check_username(&cmd.username, &mut errors);
    check_binding(
        cmd.role,
        cmd.chapter_id.as_deref(),
        cmd.hospital_id.as_deref(),
        &mut errors,
    );
    AppError::check(errors)?;
    check_bound_to_existing(tx, cmd.chapter_id.as_deref(), cmd.hospital_id.as_deref())?;
    let now = hienmau_db::now();
    let username = Username::parse(&cmd.username)
        .map_err(|e| AppError::field("username", FieldCode::InvalidFormat, e.to_string()))?;
    let row = models::NewUser {
        id: hienmau_db::new_id(),
        username: username.into_string(),
        password_hash: cmd.password_hash,
        role: cmd.role.as_str().to_owned(),
        chapter_id: cmd.chapter_id,
        hospital_id: cmd.hospital_id,
        created_at: now,
        updated_at: now,
    };
    // The username is the table's only unique column besides the id.
    let user = users::insert(tx, &row).map_err(|e| match e {
        DbError::UniqueViolation { .. } => AppError::conflict("username is taken"),
        e => e.into(),
    })?;
    let record = match by {
        CreatedBy::Actor(actor) => AuditRecord::by(
            actor,
            "user_created",
            serde_json::json!({ "user_id": user.id, "role": user.role }),
        ),
        CreatedBy::Operator { via } => AuditRecord::system(
            "user_created",
            serde_json::json!({ "user_id": user.id, "role": user.role, "via": via }),
        ),
    };
    audit::append(tx, record)?;
    Ok(user)
}

/// Changes to an account.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// Disable (true) or enable (false).
    pub disabled: Option<bool>,
    /// A new password's hash, made by the caller after [`check_password`] accepted it.
    pub password_hash: Option<String>,
    /// A new role. The chapter and hospital the old role was bound to are dropped unless
    /// given again.
    pub role: Option<Role>,
    /// The chapter (coordinators).
    pub chapter_id: Option<String>,
    /// The hospital (hospital users).
    pub hospital_id: Option<String>,
}

/// The password rule, for a caller about to hash a new password.
pub fn check_new_password(password: &str) -> Result<(), AppError> {
    let mut errors = Vec::new();
    check_password(password, &mut errors);
    AppError::check(errors)
}

/// Disables, enables, resets the password of or changes the role of an account; not found
/// when there is none. Any of these bumps the account's token version, so that every token
/// issued before stops working. The last active admin can be neither disabled nor given
/// another role (conflict): nobody could then manage accounts.
pub fn update_user(
    tx: &mut DbConn,
    actor: &Actor,
    id: &str,
    update: UserUpdate,
) -> Result<User, AppError> {
    if update.disabled.is_some() || update.role.is_some() {
        users::lock_admins(tx)?;
    }
    let current = users::find(tx, id)?.ok_or(AppError::NotFound)?;
    let current_role = Role::parse(&current.role).map_err(|_| AppError::internal("stored role"))?;
    let role = update.role.unwrap_or(current_role);
    let role_changed = role != current_role;
    let kept = |given: Option<String>, now: &Option<String>| {
        given.or_else(|| (!role_changed).then(|| now.clone()).flatten())
    };
    let chapter_id = kept(update.chapter_id, &current.chapter_id);
    let hospital_id = kept(update.hospital_id, &current.hospital_id);
    let mut errors = Vec::new();
    check_binding(
        role,
        chapter_id.as_deref(),
        hospital_id.as_deref(),
        &mut errors,
    );
    AppError::check(errors)?;
    check_bound_to_existing(tx, chapter_id.as_deref(), hospital_id.as_deref())?;
    let disabled_changed = update.disabled.is_some_and(|d| d != current.disabled);
    if current_role == Role::Admin && !current.disabled {
        let leaves_admins = update.disabled == Some(true) || role_changed;
        if leaves_admins && users::count_active_admins(tx)? <= 1 {
            return Err(AppError::conflict(if role_changed {
                "the last active admin cannot be given another role"
            } else {
                "the last active admin cannot be disabled"
            }));
        }
    }
    let binding_changed =
        role_changed || chapter_id != current.chapter_id || hospital_id != current.hospital_id;
    let revokes = update.password_hash.is_some() || disabled_changed || binding_changed;
    let changes = UserChanges {
        password_hash: update.password_hash,
        disabled: update.disabled,
        updated_at: Some(hienmau_db::now()),
        role: role_changed.then(|| role.as_str().to_owned()),
        chapter_id: binding_changed.then(|| chapter_id.clone()),
        hospital_id: binding_changed.then(|| hospital_id.clone()),
        token_version: revokes.then(|| current.token_version.wrapping_add(1)),
    };
    let row = users::update(tx, id, &changes).map_err(|e| match e {
        DbError::NotFound => AppError::NotFound,
        e => e.into(),
    })?;
    audit::append(
        tx,
        AuditRecord::by(
            actor,
            "user_updated",
            serde_json::json!({
                "user_id": id,
                "disabled": changes.disabled,
                "password_reset": changes.password_hash.is_some(),
                "role": changes.role,
                "chapter_id": changes.chapter_id,
                "hospital_id": changes.hospital_id,
                "tokens_revoked": revokes,
            }),
        ),
    )?;
    Ok(row)
}

/// The chapter and hospital an account is bound to exist.
fn check_bound_to_existing(
    tx: &mut DbConn,
    chapter_id: Option<&str>,
    hospital_id: Option<&str>,
) -> Result<(), AppError> {
    if let Some(c) = chapter_id {
        if chapters::find(tx, c)?.is_none() {
            return Err(AppError::field(
                "chapter_id",
                FieldCode::NotFound,
                "no such chapter",
            ));
        }
    }
    if let Some(h) = hospital_id {
        if hospitals::find(tx, h)?.is_none() {
            return Err(AppError::field(
                "hospital_id",
                FieldCode::NotFound,
                "no such hospital",
            ));
        }
    }
    Ok(())
}

/// The username rule ([`hienmau_domain::username`]).
fn check_username(username: &str, errors: &mut Vec<FieldError>) {
    if let Err(e) = Username::parse(username) {
        errors.push(FieldError::new(
            "username",
            FieldCode::InvalidFormat,
            e.to_string(),
        ));
    }
}

fn check_password(password: &str, errors: &mut Vec<FieldError>) {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        errors.push(FieldError::new(
            "password",
            FieldCode::BelowMinimum,
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    } else if n > MAX_PASSWORD_CHARS {
        errors.push(FieldError::new(
            "password",
            FieldCode::TooLong,
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
}

/// A coordinator belongs to a chapter and a hospital user to a hospital; no one else belongs
/// to either.
fn check_binding(
    role: Role,
    chapter_id: Option<&str>,
    hospital_id: Option<&str>,
    errors: &mut Vec<FieldError>,
) {
    match (role, chapter_id, hospital_id) {
        (Role::Coordinator, None, _) => errors.push(FieldError::new(
            "chapter_id",
            FieldCode::Required,
            "required for a coordinator",
        )),
        (Role::Hospital, _, None) => errors.push(FieldError::new(
            "hospital_id",
            FieldCode::Required,
            "required for a hospital user",
        )),
        _ => {}
    }
    if role != Role::Coordinator && chapter_id.is_some() {
        errors.push(FieldError::new(
            "chapter_id",
            FieldCode::NotAllowed,
            "only coordinators belong to a chapter",
        ));
    }
    if role != Role::Hospital && hospital_id.is_some() {
        errors.push(FieldError::new(
            "hospital_id",
            FieldCode::NotAllowed,
            "only hospital users belong to a hospital",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(username: &str, password: &str, role: Role) -> NewAccount {
        NewAccount {
            username: username.to_owned(),
            password: password.to_owned(),
            role,
            chapter_id: None,
            hospital_id: None,
        }
    }

    fn fields(r: Result<(), AppError>) -> Vec<String> {
        match r {
            Ok(()) => Vec::new(),
            Err(AppError::Invalid { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn new_accounts_follow_the_rules() {
        let good = "twelve chars";
        let cases: &[(NewAccount, &[&str])] = &[
            (account("admin", good, Role::Admin), &[]),
            (account("  admin  ", good, Role::Admin), &[]),
            (account("", good, Role::Admin), &["username"]),
            (account("a b", good, Role::Admin), &["username"]),
            (account(&"x".repeat(65), good, Role::Admin), &["username"]),
            (account("admin", "short", Role::Admin), &["password"]),
            (
                account("admin", &"p".repeat(1025), Role::Admin),
                &["password"],
            ),
            (account("coord", good, Role::Coordinator), &["chapter_id"]),
            (account("hosp", good, Role::Hospital), &["hospital_id"]),
            (account("ab", good, Role::Admin), &["username"]),
            (account("Demo.Admin", good, Role::Admin), &[]),
            (
                account("dem\u{043E}.admin", good, Role::Admin),
                &["username"],
            ),
            (
                NewAccount {
                    chapter_id: Some("c".to_owned()),
                    hospital_id: Some("h".to_owned()),
                    ..account("", "short", Role::Honors)
                },
                &["username", "password", "chapter_id", "hospital_id"],
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(fields(check_new_user(given)), *expected, "{given:?}");
        }
    }

    #[test]
    fn the_command_keeps_the_normal_spelling_of_the_username() {
        let cmd = account(" admin ", "twelve chars", Role::Admin).with_hash("h".to_owned());
        assert_eq!(cmd.username, "admin");
        let cmd = account(" Demo.Admin ", "twelve chars", Role::Admin).with_hash("h".to_owned());
        assert_eq!(cmd.username, "demo.admin");
        assert_eq!(cmd.password_hash, "h");
    }
}
