//! Sign-in: which account a name signs in as, and the record of every attempt.
//!
//! Checking the password (slow on purpose, bounded per instance) and throttling repeated
//! failures are the HTTP layer's; a sign-in here is two steps around them: [`account`] finds
//! the account before the password is checked, [`finish`] records the outcome after.

use hienmau_db::models::User;
use hienmau_db::repo::{api_keys, users};
use hienmau_db::DbConn;
use hienmau_domain::Role;

use crate::app::audit::{self, AuditRecord};
use crate::app::error::AppError;
use crate::app::scope::{Actor, Principal};
use crate::app::validate::forbidden_in_text;

/// Longer names are looked up as nobody (no account can have one).
const MAX_USERNAME_CHARS: usize = 256;

/// The username a sign-in gave, as names are compared: NFKC-normalised and lower-cased
/// ([`hienmau_domain::username::normalise`]), so `Demo.Admin` signs in as `demo.admin` and
/// counts against its throttle. A name that no account may be created with (a Cyrillic
/// look-alike, say) is simply nobody's: the same 401 as an unknown user.
#[derive(Debug, Clone)]
pub struct SignInName {
    /// The normalised name, bounded, with the characters no text may hold replaced: what is
    /// looked up, and what logs, throttling and the audit log keep.
    pub shown: String,
    /// False for a name no account can have (control characters, which PostgreSQL refuses in
    /// text, or over 256 characters): it is looked up as nobody.
    plausible: bool,
}

impl SignInName {
    /// Reads the name as given.
    pub fn new(given: &str) -> Self {
        let bounded: String = given.chars().take(MAX_USERNAME_CHARS + 1).collect();
        let normal = hienmau_domain::username::normalise(&bounded);
        let plausible = given.chars().count() <= MAX_USERNAME_CHARS
            && normal.chars().count() <= MAX_USERNAME_CHARS
            && !normal.chars().any(forbidden_in_text);
        let shown = normal
            .chars()
            .take(MAX_USERNAME_CHARS)
            .map(|c| if forbidden_in_text(c) { '\u{FFFD}' } else { c })
            .collect();
        Self { shown, plausible }
    }
}

/// The enabled account `name` names, if any. An unknown name, a disabled account and a name
/// no account can have are all None, so that they get the same answer as a wrong password.
pub fn account(conn: &mut DbConn, name: &SignInName) -> Result<Option<User>, AppError> {
    if !name.plausible {
        return Ok(None);
    }
    Ok(users::find_by_username(conn, &name.shown)?.filter(|u| !u.disabled))
}

/// A sign-in whose password was checked.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The name given.
    pub name: SignInName,
    /// The caller's address.
    pub address: String,
    /// The HTTP request's id (`X-Request-Id`), kept in the audit entry.
    pub http_request_id: Option<String>,
    /// The account signed in to: [`account`]'s answer when the password matched, else None.
    pub account: Option<User>,
}

/// The account a sign-in succeeded for: what its token carries.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    /// The user id.
    pub user_id: String,
    /// The role.
    pub role: Role,
    /// A coordinator's chapter.
    pub chapter_id: Option<String>,
    /// A hospital user's hospital.
    pub hospital_id: Option<String>,
    /// The user's token version, which the token carries.
    pub token_version: i32,
}

/// Records the attempt in the audit log (and the service log); the signed-in account, or None
/// when the sign-in is refused.
pub fn finish(tx: &mut DbConn, attempt: Attempt) -> Result<Option<SignedIn>, AppError> {
    let Attempt {
        name,
        address,
        http_request_id,
        account,
    } = attempt;
    let Some(user) = account else {
        // What was typed is kept only when it names an account: otherwise it may be anything
        // (a CCCD, a password typed into the wrong field) and stays out of both logs.
        let known = name.plausible && users::find_by_username(tx, &name.shown)?.is_some();
        let username = known.then_some(name.shown);
        let detail = serde_json::json!({ "username": username, "address": address });
        let shown = username.as_deref().unwrap_or("(no such account)");
        tracing::info!(username = %shown, %address, outcome = "failure", "sign-in");
        audit::append(
            tx,
            AuditRecord::system("sign_in_failed", detail).http_request(http_request_id),
        )?;
        return Ok(None);
    };
    let username = name.shown;
    let detail = serde_json::json!({ "username": username, "address": address });
    let role = Role::parse(&user.role).map_err(|_| AppError::internal("stored role"))?;
    tracing::info!(%username, %address, user_id = %user.id, outcome = "success", "sign-in");
    audit::append(
        tx,
        AuditRecord::system("sign_in", detail)
            .by_user(Some(user.id.clone()))
            .http_request(http_request_id),
    )?;
    Ok(Some(SignedIn {
        user_id: user.id,
        role,
        chapter_id: user.chapter_id,
        hospital_id: user.hospital_id,
        token_version: user.token_version,
    }))
}

/// Who the caller is, as `GET /auth/me` answers: the account behind a token or an API key.
#[derive(Debug, Clone, PartialEq)]
pub struct Me {
    /// The user's id, or the API key's.
    pub id: String,
    /// The username, or the API key's name.
    pub username: String,
    /// The role in force.
    pub role: Role,
    /// A coordinator's chapter.
    pub chapter_id: Option<String>,
    /// A hospital caller's hospital.
    pub hospital_id: Option<String>,
    /// True for a hospital system's API key.
    pub api_key: bool,
}

/// The caller's own account (any role). The policy middleware has just read the user or the
/// key (a disabled user or a revoked key never gets here); the name is read again.
pub fn me(conn: &mut DbConn, actor: &Actor) -> Result<Me, AppError> {
    let (id, username, api_key) = match &actor.principal {
        Principal::User { id } => {
            let user = users::find(conn, id)?.ok_or(AppError::NotFound)?;
            (user.id, user.username, false)
        }
        Principal::ApiKey { id } => {
            let key = api_keys::find(conn, id)?.ok_or(AppError::NotFound)?;
            (key.id, key.name, true)
        }
    };
    Ok(Me {
        id,
        username,
        role: actor.role,
        chapter_id: actor.chapter.as_ref().map(|c| c.id.clone()),
        hospital_id: actor.hospital_id.clone(),
        api_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_no_account_can_have_are_nobody_and_shown_bounded() {
        let cases: &[(&str, bool, &str)] = &[
            ("admin", true, "admin"),
            ("Demo.Admin", true, "demo.admin"),
            (" ｄｅｍｏ.ａｄｍｉｎ ", true, "demo.admin"),
            ("điều-phối", true, "điều-phối"),
            ("ĐIỀU-PHỐI", true, "điều-phối"),
            ("ad\u{0}min", false, "ad\u{FFFD}min"),
            ("a\u{202E}b", false, "a\u{FFFD}b"),
        ];
        for (given, plausible, shown) in cases {
            let name = SignInName::new(given);
            assert_eq!(name.plausible, *plausible, "{given:?}");
            assert_eq!(name.shown, *shown, "{given:?}");
        }
        let long = SignInName::new(&"x".repeat(300));
        assert!(!long.plausible);
        assert_eq!(long.shown.chars().count(), MAX_USERNAME_CHARS);
        assert!(SignInName::new(&"x".repeat(256)).plausible);
    }
}
