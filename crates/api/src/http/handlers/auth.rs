//! `POST /auth/login`, `GET /auth/me`.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use crate::app::auth::{self, Attempt, SignInName};
use crate::http::auth::Actor;
use crate::http::dto::auth::{LoginRequest, MeOut, TokenResponse};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::state::AppState;

/// Signs in. Unknown users, disabled users and wrong passwords get the same 401 after the same
/// work. Each attempt takes a place in the throttle's counts before its password is hashed
/// (given back on success), so repeated failures answer 429, unhashed, however concurrent.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins for this username from this address, for this username from all addresses, or from this address (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Sign-ins are flooding this instance: no turn to check the password within the wait (Retry-After), or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    let name = SignInName::new(&username);
    let client = client_address(&state, &req);
    let reservation = state
        .throttle
        .reserve(&name.shown, client)
        .map_err(|secs| {
            tracing::warn!(username = %name.shown, address = %client, "sign-in throttled");
            ApiError::RateLimited {
                retry_after_secs: secs,
            }
        })?;
    let lookup = name.clone();
    let account = state.read(move |conn| auth::account(conn, &lookup)).await?;
    let hash = account.as_ref().map(|u| u.password_hash.clone());
    let matched = state.hasher.verify(password, hash).await?;
    let account = account.filter(|_| matched);
    match account {
        // A success gives its place back.
        Some(_) => drop(reservation),
        None => reservation.keep(),
    }
    let attempt = Attempt {
        name,
        address: client.to_string(),
        http_request_id: request_id(&req),
        account,
    };
    let signed_in = state.write(move |tx| auth::finish(tx, attempt)).await?;
    let signed_in = signed_in.ok_or(ApiError::Unauthorized)?;
    Ok(HttpResponse::Ok().json(TokenResponse::issue(&state.jwt, signed_in)?))
}

/// The caller's own account (any role, also a hospital system's API key): who is signed in,
/// with the chapter or hospital that bounds what they see.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeOut),
    ))]
pub async fn me(state: web::Data<AppState>, actor: Actor) -> Result<HttpResponse, ApiError> {
    let me = state.read(move |conn| auth::me(conn, &actor)).await?;
    Ok(HttpResponse::Ok().json(MeOut::from(me)))
}

/// The client's address: the peer's, or what a trusted proxy forwarded.
fn client_address(state: &AppState, req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    state.throttle.proxies.client(peer, req.headers())
}

/// The id the request logger gave this request (see `crate::http::request_id`).
fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string)
}
