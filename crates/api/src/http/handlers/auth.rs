//! `POST /auth/login`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::auth::{self, Attempt, SignInName};
use crate::http::dto::auth::{LoginRequest, TokenResponse};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::state::AppState;

/// Signs in. Unknown users, disabled users and wrong passwords get the same 401 after the same
/// work; repeated failures per username or address answer 429.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Sign-ins are flooding this instance: no turn to check the password within the wait (Retry-After), or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    let name = SignInName::new(&username);
    let address = req
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    if let Some(retry_after_secs) = state.throttle.blocked_for(&name.shown, &address) {
        tracing::warn!(username = %name.shown, %address, "sign-in throttled");
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    let lookup = name.clone();
    let account = state.read(move |conn| auth::account(conn, &lookup)).await?;
    let hash = account.as_ref().map(|u| u.password_hash.clone());
    let matched = state.hasher.verify(password, hash).await?;
    let account = account.filter(|_| matched);
    match account {
        Some(_) => state.throttle.record_success(&name.shown),
        None => state.throttle.record_failure(&name.shown, &address),
    }
    let attempt = Attempt {
        name,
        address,
        account,
    };
    let signed_in = state.write(move |tx| auth::finish(tx, attempt)).await?;
    let signed_in = signed_in.ok_or(ApiError::Unauthorized)?;
    Ok(HttpResponse::Ok().json(TokenResponse::issue(&state.jwt, signed_in)?))
}
