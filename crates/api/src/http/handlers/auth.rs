//! `POST /auth/login`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::audit::{self, AuditRecord};
use crate::http::auth::jwt::Claims;
use crate::http::auth::Role;
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::state::AppState;

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

/// Longer usernames cannot exist (sign-in treats them as unknown).
const MAX_USERNAME_CHARS: usize = 256;

/// Signs in. Unknown users, disabled users and wrong passwords get the same 401 after the same
/// work; repeated failures per username or address answer 429.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Sign-ins are flooding this instance: no turn to check the password within the wait (Retry-After), or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        username: given,
        password,
    } = body.into_inner();
    // A username no account can have (control characters, which PostgreSQL refuses in text,
    // or over 256 characters) is looked up as nobody: the same 401 as any unknown user. Logs,
    // throttling and the audit log keep a bounded copy with such characters replaced.
    let plausible = given.chars().count() <= MAX_USERNAME_CHARS
        && !given.chars().any(crate::app::validate::forbidden_in_text);
    let username: String = given
        .chars()
        .take(MAX_USERNAME_CHARS)
        .map(|c| {
            if crate::app::validate::forbidden_in_text(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    if let Some(retry_after_secs) = state.throttle.blocked_for(&username, &address) {
        tracing::warn!(%username, %address, "sign-in throttled");
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    let lookup = username.clone();
    let user = if plausible {
        state
            .db(move |conn| Ok(hienmau_db::repo::users::find_by_username(conn, &lookup)?))
            .await?
            .filter(|u| !u.disabled)
    } else {
        None
    };
    let ok = state
        .hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await?;
    let user = match user {
        Some(u) if ok => u,
        _ => {
            state.throttle.record_failure(&username, &address);
            tracing::info!(%username, %address, outcome = "failure", "sign-in");
            let detail = serde_json::json!({ "username": username, "address": address });
            state
                .write(move |conn| {
                    audit::append(conn, AuditRecord::system("sign_in_failed", detail))
                })
                .await?;
            return Err(ApiError::Unauthorized);
        }
    };
    state.throttle.record_success(&username);
    let role = Role::parse(&user.role).map_err(|_| ApiError::internal("stored role"))?;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: user.id.clone(),
        role,
        chapter_id: user.chapter_id.clone(),
        hospital_id: user.hospital_id.clone(),
        iat: now,
        exp: now + state.jwt.ttl_seconds,
    };
    let access_token = state.jwt.issue(&claims).map_err(ApiError::internal)?;
    tracing::info!(%username, %address, user_id = %user.id, outcome = "success", "sign-in");
    let detail = serde_json::json!({ "username": username, "address": address });
    let user_id = user.id.clone();
    state
        .write(move |conn| {
            audit::append(
                conn,
                AuditRecord::system("sign_in", detail).by_user(Some(user_id)),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_seconds,
    }))
}
