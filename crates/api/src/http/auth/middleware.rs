//! The policy middleware: authenticates the caller and checks the route's roles before any
//! extractor or handler runs.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};

use crate::http::auth::{Actor, Policy, Principal, Role};
use crate::http::error::ApiError;
use crate::http::limits::{Lane, Turn};
use crate::http::state::AppState;

pub use crate::app::api_keys::{hash_api_key, API_KEY_PREFIX};

/// Enforces `policy` on a request, then runs the rest of the chain.
pub async fn enforce<B: MessageBody>(
    policy: &'static Policy,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let mut counted = None;
    if !policy.public {
        match authorize(policy, &req).await {
            Ok((mut user, turn)) => {
                user.http_request_id = crate::http::request_id::of(&req);
                // Heavy work yields its busy share to these (not to itself, nor to sign-ins;
                // candidate searches count).
                if turn.is_none() || policy.lane != Lane::Heavy {
                    if let Some(state) = req.app_data::<web::Data<AppState>>() {
                        counted = Some(state.in_flight.enter());
                    }
                }
                let mut extensions = req.extensions_mut();
                extensions.insert(user);
                // Held as long as the request (until its answer is built); an export takes it
                // out for as long as it reads the database into its spool file.
                if let Some(turn) = turn {
                    extensions.insert(turn);
                }
            }
            // Answered here as a response (not an Err) so the outer middleware still adds its
            // headers to refusals.
            Err(e) => return Ok(req.into_response(e.error_response()).map_into_right_body()),
        }
    }
    let answer = next.call(req).await;
    drop(counted);
    answer.map(ServiceResponse::map_into_left_body)
}

/// The caller, and on an expensive route its turn at expensive work.
async fn authorize(
    policy: &Policy,
    req: &ServiceRequest,
) -> Result<(Actor, Option<Turn>), ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let token = bearer(req).ok_or(ApiError::Unauthorized)?;
    let user = authenticate(&state, token).await?;
    if !policy.allows(user.role) {
        return Err(ApiError::Forbidden);
    }
    if policy.limited {
        state
            .limiter
            .check(policy.lane, user.principal_id())
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
        let gate = match policy.lane {
            Lane::Heavy => &state.gate,
            Lane::Emergency => &state.candidates_gate,
        };
        return Ok((user, Some(gate.enter().await?)));
    }
    Ok((user, None))
}

fn bearer(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Resolves a bearer credential (API key or JWT) to the caller, re-reading the user or key so
/// that disabling and revoking take effect at once.
pub async fn authenticate(state: &AppState, token: String) -> Result<Actor, ApiError> {
    if token.starts_with(API_KEY_PREFIX) {
        let hash = hash_api_key(&token);
        return state
            .db(move |conn| {
                let key = hienmau_db::repo::api_keys::find_active_by_hash(conn, &hash)?
                    .ok_or(ApiError::Unauthorized)?;
                Ok(Actor {
                    principal: Principal::ApiKey { id: key.id },
                    role: Role::Hospital,
                    chapter: None,
                    hospital_id: Some(key.hospital_id),
                    http_request_id: None,
                })
            })
            .await;
    }
    let claims = state.jwt.verify(&token).ok_or(ApiError::Unauthorized)?;
    state
        .db(move |conn| {
            let (user, chapter) = hienmau_db::repo::users::find_with_chapter(conn, &claims.sub)?
                .ok_or(ApiError::Unauthorized)?;
            // A token from before a password change, a disable, a re-enable or a role change.
            if user.disabled || user.token_version != claims.tv {
                return Err(ApiError::Unauthorized);
            }
            let role = Role::parse(&user.role)
                .map_err(|_| ApiError::internal(format!("stored role {}", user.role)))?;
            Ok(Actor {
                principal: Principal::User { id: user.id },
                role,
                chapter,
                hospital_id: user.hospital_id,
                http_request_id: None,
            })
        })
        .await
}
