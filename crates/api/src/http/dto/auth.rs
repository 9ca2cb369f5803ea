//! Request and response types of sign-in.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::auth::SignedIn;
use crate::http::auth::jwt::{Claims, JwtKeys};
use crate::http::error::ApiError;

/// Sign-in credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

/// An access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

impl TokenResponse {
    /// A token for the signed-in account, valid from now.
    pub fn issue(jwt: &JwtKeys, signed_in: SignedIn) -> Result<Self, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: signed_in.user_id,
            role: signed_in.role,
            chapter_id: signed_in.chapter_id,
            hospital_id: signed_in.hospital_id,
            iat: now,
            exp: now + jwt.ttl_seconds,
            tv: signed_in.token_version,
        };
        Ok(Self {
            access_token: jwt.issue(&claims).map_err(ApiError::internal)?,
            token_type: "Bearer",
            expires_in: jwt.ttl_seconds,
        })
    }
}

/// The caller's own account (`GET /auth/me`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    /// The user's id; for a hospital system's API key, the key's id.
    pub id: String,
    /// The username; for an API key, the key's name.
    pub username: String,
    /// The role in force.
    #[schema(value_type = crate::http::dto::RoleSchema)]
    pub role: hienmau_domain::Role,
    /// A coordinator's chapter (the root of its scope); null for other roles.
    pub chapter_id: Option<String>,
    /// A hospital caller's hospital; null for other roles.
    pub hospital_id: Option<String>,
    /// `user`, or `api_key` for a hospital system.
    #[schema(example = "user")]
    pub kind: &'static str,
}

impl From<crate::app::auth::Me> for MeOut {
    fn from(me: crate::app::auth::Me) -> Self {
        Self {
            id: me.id,
            username: me.username,
            role: me.role,
            chapter_id: me.chapter_id,
            hospital_id: me.hospital_id,
            kind: if me.api_key { "api_key" } else { "user" },
        }
    }
}
