//! Access tokens: HS256 JWTs with the algorithm pinned on validation.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::http::auth::Role;

/// What a token says. The role and scope are informative: every request re-reads the user, so
/// a disabled user or a changed role takes effect at once, and a token whose `tv` is not the
/// user's token version (bumped by a password change, a disable, a re-enable or a role change)
/// is refused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The role when the token was issued.
    pub role: Role,
    /// A coordinator's chapter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chapter_id: Option<String>,
    /// A hospital user's hospital.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hospital_id: Option<String>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// The user's token version when the token was issued. Required: a token without one
    /// (issued before versions existed) is refused.
    pub tv: i32,
}

/// Keys and validation rules, built once at start.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Token lifetime in seconds.
    pub ttl_seconds: i64,
}

/// The longest token lifetime accepted (24 hours): a stolen token must not outlive a day.
pub const MAX_TTL_MINUTES: i64 = 24 * 60;

/// The token lifetime in seconds from the `token_ttl_minutes` setting: 1 to
/// [`MAX_TTL_MINUTES`], else an error naming the setting.
pub fn ttl_seconds(minutes: i64) -> Result<i64, String> {
    if (1..=MAX_TTL_MINUTES).contains(&minutes) {
        Ok(minutes * 60)
    } else {
        Err(format!(
            "token_ttl_minutes: must be between 1 and {MAX_TTL_MINUTES} (24 hours), not {minutes}"
        ))
    }
}

/// The smallest secret accepted: HS256 wants at least 256 bits of key.
pub const MIN_SECRET_BYTES: usize = 32;

impl JwtKeys {
    /// Keys from a secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn new(secret: &[u8], ttl_seconds: i64) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the JWT secret must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 5;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        // `tv` is required by the Claims type itself (no serde default).
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_seconds,
        })
    }

    /// Signs claims.
    pub fn issue(&self, claims: &Claims) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| e.to_string())
    }

    /// Verifies a token: signature, algorithm, expiry. Any failure is None (answered 401).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}
