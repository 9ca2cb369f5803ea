//! Response types of the audit log.

use chrono::{DateTime, Utc};
use hienmau_db::models::AuditEntry;
use serde::Serialize;
use utoipa::ToSchema;

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    /// Id.
    pub id: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// What happened, e.g. `contact_disclosed`, `login_succeeded`, `api_key_created`.
    #[schema(example = "contact_disclosed")]
    pub action: String,
    /// The acting user, when a user acted.
    pub actor_user_id: Option<String>,
    /// The acting API key, when a hospital's system acted.
    pub actor_key_id: Option<String>,
    /// The hospital concerned (the requesting hospital for disclosures).
    pub hospital_id: Option<String>,
    /// The emergency request concerned.
    pub request_id: Option<String>,
    /// The `X-Request-Id` of the HTTP request that wrote the entry (ties it to a log line).
    pub http_request_id: Option<String>,
    /// The donors whose personal data the action disclosed or changed.
    pub donor_ids: Vec<String>,
    /// Details of the action.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at.and_utc(),
            action: e.action,
            actor_user_id: e.actor_user_id,
            actor_key_id: e.actor_key_id,
            hospital_id: e.hospital_id,
            request_id: e.request_id,
            http_request_id: e.http_request_id,
            donor_ids: serde_json::from_str(&e.donor_ids).unwrap_or_default(),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}
