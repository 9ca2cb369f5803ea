//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers::{auth, ops, org};

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
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::auth::Role)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health and readiness"),
        (name = "auth", description = "Sign-in"),
        (name = "organisation", description = "Chapters, hospitals, users (admin)"),
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
