//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers::{auth, donations, donors, drives, ops, org};

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
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::auth::Role)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health and readiness"),
        (name = "auth", description = "Sign-in"),
        (name = "organisation", description = "Chapters, hospitals, users (admin)"),
        (name = "donors", description = "The donor registry (admin, coordinator; honors read-only)"),
        (name = "drives", description = "Drives, events and tallies (admin; coordinator within its chapter's subtree)"),
        (name = "donations", description = "Donations at events: single with Idempotency-Key, offline batch, void"),
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
