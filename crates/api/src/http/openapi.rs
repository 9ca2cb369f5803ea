//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::handlers::{api_keys, audit_log, emergency};
use crate::http::handlers::{auth, donations, donors, drives, ops, org};
use crate::http::handlers::{honors, reports};

/// The API's OpenAPI 3 document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hienmau",
        description = "Voluntary blood-donation drives for Red Cross chapters: donors, drives, donations, emergency reserve donors, honors and reports.\n\nEvery error is `application/problem+json` with a stable `code`.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/")),
    paths(
        ops::health, ops::ready,
        auth::login,
        org::list_chapters, org::create_chapter, org::list_hospitals, org::create_hospital,
        org::list_users, org::create_user, org::update_user,
        donors::create_donor, donors::get_donor, donors::update_donor, donors::list_donors,
        drives::create_drive, drives::list_drives, drives::get_drive, drives::update_drive,
        drives::drive_tally, drives::create_event, drives::list_events, drives::get_event,
        donations::create_donation, donations::create_batch, donations::get_donation,
        donations::void_donation,
        api_keys::create_api_key, api_keys::list_api_keys, api_keys::revoke_api_key,
        emergency::create_request, emergency::list_requests, emergency::get_request,
        emergency::cancel_request, emergency::list_candidates, emergency::create_response,
        emergency::list_responses, emergency::create_donation,
        audit_log::list_audit,
        honors::list_tiers, honors::eligible, honors::record_award, honors::donor_awards,
        reports::annual,
    ),
    components(schemas(
        crate::http::error::Problem, crate::http::error::FieldErrorSchema, crate::http::dto::RoleSchema,
        crate::http::dto::emergency::RequestStatusSchema, crate::http::dto::donations::BatchItem,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health and readiness"),
        (name = "auth", description = "Sign-in"),
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
