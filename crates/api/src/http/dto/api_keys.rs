//! Request and response types of hospital API keys.

use chrono::{DateTime, Utc};
use hienmau_db::models::ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::api_keys::{self, CreatedKey};

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for (1–200 characters), e.g. the hospital system's name.
    #[schema(example = "HIS Bệnh viện Đa khoa tỉnh")]
    pub name: String,
}

impl From<NewApiKey> for api_keys::NewApiKey {
    fn from(b: NewApiKey) -> Self {
        api_keys::NewApiKey { name: b.name }
    }
}

/// A key as listed (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The hospital the key acts for.
    pub hospital_id: String,
    /// The admin who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; null while it works.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            hospital_id: k.hospital_id,
            created_by: k.created_by,
            created_at: k.created_at.and_utc(),
            revoked_at: k.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// A key just created: the only answer that carries the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The secret, `hmk_…`: shown this once, stored only as a hash.
    pub key: String,
    /// The hospital the key acts for.
    pub hospital_id: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<CreatedKey> for CreatedApiKey {
    fn from(c: CreatedKey) -> Self {
        Self {
            id: c.row.id,
            name: c.row.name,
            key: c.key,
            hospital_id: c.row.hospital_id,
            created_at: c.row.created_at.and_utc(),
        }
    }
}
