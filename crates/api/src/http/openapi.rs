//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::http::Method;
use hienmau_domain::Role;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::http::auth::Policy;
use crate::http::error::PROBLEM_JSON;
use crate::http::routes;

use crate::http::handlers::{api_keys, audit_log, emergency};
use crate::http::handlers::{auth, donations, donors, drives, ops, org};
use crate::http::handlers::{deferrals, honors, reports};

/// The API's OpenAPI 3 document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hienmau",
        description = "Voluntary blood-donation drives for Red Cross chapters: donors, drives, donations, emergency reserve donors, honors and reports.\n\nEvery error is `application/problem+json` with a stable `code`; a validation error's `errors` each carry a stable `code` too (`FieldCode`: `required`, `too_long`, `invalid_format`, `out_of_range`, `below_minimum`, `not_found`, `not_allowed`). Eligibility reasons (`GET /donors/{id}/eligibility` and `donor_not_eligible`): `permanently_deferred`, `too_young`, `too_old`, `deferred`, `interval`, `underweight`, `volume_above_allowed` (recording only), `weight_required` (eligibility only).",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/")),
    paths(
        ops::health, ops::ready,
        auth::login, auth::me,
        org::list_chapters, org::create_chapter, org::list_hospitals, org::create_hospital,
        org::list_users, org::create_user, org::update_user,
        donors::create_donor, donors::get_donor, donors::update_donor, donors::list_donors,
        donors::donor_eligibility, donors::donor_donations,
        drives::create_drive, drives::list_drives, drives::get_drive, drives::update_drive,
        drives::drive_tally, drives::create_event, drives::list_events, drives::get_event,
        donations::create_donation, donations::create_batch, donations::get_donation,
        donations::void_donation,
        deferrals::list_deferral_reasons, deferrals::create_deferral,
        api_keys::create_api_key, api_keys::list_api_keys, api_keys::revoke_api_key,
        emergency::create_request, emergency::list_requests, emergency::get_request,
        emergency::cancel_request, emergency::list_candidates, emergency::create_response,
        emergency::list_responses, emergency::create_donation, emergency::update_request,
        audit_log::list_audit,
        honors::list_tiers, honors::eligible, honors::record_award, honors::donor_awards,
        honors::void_award,
        reports::annual,
    ),
    components(schemas(
        crate::http::error::Problem, crate::http::error::FieldErrorSchema, crate::http::dto::RoleSchema,
        crate::http::dto::emergency::RequestStatusSchema, crate::http::dto::donations::BatchItem,
    )),
    modifiers(&BearerAuth, &PolicyResponses),
    tags(
        (name = "operations", description = "Health and readiness"),
        (name = "auth", description = "Sign-in and the caller's own account"),
        (name = "organisation", description = "Chapters, hospitals, users (admin)"),
        (name = "donors", description = "The donor registry (admin, coordinator; honors read-only)"),
        (name = "drives", description = "Drives, events and tallies (admin; coordinator within its chapter's subtree)"),
        (name = "donations", description = "Donations at events: single with Idempotency-Key, offline batch, void"),
        (name = "emergency", description = "Emergency requests (hospital users and API keys for their own hospital; admin all): candidates from the reserve, call-up answers, emergency donations"),
        (name = "audit", description = "The append-only audit log (admin)"),
        (name = "honors", description = "Honor tiers, donors due a tier (JSON or CSV), awards (honors, admin)"),
        (name = "reports", description = "The annual report (admin, honors; coordinator for its chapter's subtree)"),
    )
)]
pub struct ApiDoc;

/// The answers every route gives because of its policy, added from [`routes::table`] so that a
/// handler documents only what is its own: 401 and 403 where a token is needed, 413 where a
/// body is read, 429 and 503 on expensive routes. A handler's own description of the same
/// status wins (sign-in's 401 is "Wrong credentials").
struct PolicyResponses;

impl Modify for PolicyResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for route in routes::table() {
            let Some(item) = openapi.paths.paths.get_mut(&route.path) else {
                continue;
            };
            let operation = match route.method {
                Method::GET => item.get.as_mut(),
                Method::POST => item.post.as_mut(),
                Method::PATCH => item.patch.as_mut(),
                Method::PUT => item.put.as_mut(),
                Method::DELETE => item.delete.as_mut(),
                _ => None,
            };
            let Some(operation) = operation else {
                continue;
            };
            for (status, description) in policy_answers(route.policy, operation) {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(&description).into());
            }
        }
    }
}

/// The statuses a policy adds to an operation, with their descriptions.
fn policy_answers(policy: &Policy, operation: &Operation) -> Vec<(&'static str, String)> {
    let mut answers = Vec::new();
    if !policy.public {
        let keys = policy.roles.contains(&Role::Hospital);
        answers.push((
            "401",
            if keys {
                "No valid token or API key"
            } else {
                "No valid token"
            }
            .to_owned(),
        ));
        if policy.roles.len() < Role::ALL.len() {
            let allowed: Vec<&str> = policy.roles.iter().map(|r| r.as_str()).collect();
            answers.push((
                "403",
                format!(
                    "Role may not call this route (allowed: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    if operation.request_body.is_some() {
        answers.push(("413", "Body over the size limit".to_owned()));
    }
    if policy.limited {
        answers.push((
            "429",
            "Too many requests from this caller on an expensive route".to_owned(),
        ));
        answers.push((
            "503",
            "No turn at expensive work within the configured wait (Retry-After), or the database is unavailable".to_owned(),
        ));
    }
    answers
}

/// A problem+json answer.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or hospital API key")
                    .build(),
            ),
        );
    }
}

/// The document as served at `/api/v1/openapi.json`, pretty-printed (the snapshot test's form).
pub fn pretty_json() -> String {
    serde_json::to_string_pretty(&ApiDoc::openapi()).unwrap_or_default()
}
