//! Writing the audit log: who saw or changed what, in the same transaction as the act.

use hienmau_db::models::NewAuditEntry;
use hienmau_db::DbConn;

use crate::auth::AuthUser;
use crate::error::ApiError;

/// An entry to append.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    action: &'static str,
    actor_user_id: Option<String>,
    actor_key_id: Option<String>,
    hospital_id: Option<String>,
    request_id: Option<String>,
    donor_ids: Vec<String>,
    detail: serde_json::Value,
}

impl AuditRecord {
    /// An action by the caller.
    pub fn by(user: &AuthUser, action: &'static str, detail: serde_json::Value) -> Self {
        Self {
            action,
            actor_user_id: user.user_id().map(str::to_owned),
            actor_key_id: user.key_id().map(str::to_owned),
            hospital_id: user.hospital_id.clone(),
            request_id: None,
            donor_ids: Vec::new(),
            detail,
        }
    }

    /// An action with no authenticated caller (sign-in attempts, the CLI).
    pub fn system(action: &'static str, detail: serde_json::Value) -> Self {
        Self {
            action,
            actor_user_id: None,
            actor_key_id: None,
            hospital_id: None,
            request_id: None,
            donor_ids: Vec::new(),
            detail,
        }
    }

    /// Sets the acting user.
    pub fn by_user(mut self, user_id: Option<String>) -> Self {
        self.actor_user_id = user_id;
        self
    }

    /// The emergency request concerned.
    pub fn request(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_owned());
        self
    }

    /// The hospital concerned.
    pub fn hospital(mut self, hospital_id: Option<String>) -> Self {
        self.hospital_id = hospital_id;
        self
    }

    /// The donors whose personal data the action disclosed or changed.
    pub fn donors(mut self, donor_ids: Vec<String>) -> Self {
        self.donor_ids = donor_ids;
        self
    }
}

/// Appends an entry on `conn` (inside the caller's transaction).
pub fn append(conn: &mut DbConn, record: AuditRecord) -> Result<(), ApiError> {
    let entry = NewAuditEntry {
        id: hienmau_db::new_id(),
        at: hienmau_db::now(),
        action: record.action.to_owned(),
        actor_user_id: record.actor_user_id,
        actor_key_id: record.actor_key_id,
        hospital_id: record.hospital_id,
        request_id: record.request_id,
        donor_ids: serde_json::to_string(&record.donor_ids).map_err(ApiError::internal)?,
        detail: record.detail.to_string(),
        prev_hash: None,
        hash: None,
    };
    hienmau_db::repo::audit::append(conn, &entry)?;
    Ok(())
}
