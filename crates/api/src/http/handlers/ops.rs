//! Operations: liveness, readiness, the OpenAPI document and the browsable docs.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::http::dto::ops::Health;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Liveness: 200 while the process runs, whatever the database does.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process runs", body = Health)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: 200 when the database is migrated, its stored eligibility figures match the rules
/// in force (recomputed at start after a change) and it answers; else 503 `unavailable`.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "Migrated, up to date with the configuration, and the database answers", body = Health),
        (status = 503, description = "Still migrating or recomputing after a configuration change, or the database does not answer", body = crate::http::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.ready.load(std::sync::atomic::Ordering::Acquire) {
        return Err(ApiError::Unavailable);
    }
    state
        .db(|conn| hienmau_db::conn::ping(conn).map_err(|_| ApiError::Unavailable))
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

/// The OpenAPI 3 document, generated from the code.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::http::openapi::ApiDoc::openapi())
}

const DOCS_HTML: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hienmau API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body>
</html>
"##;

/// Browsable API documentation (Swagger UI, vendored: works without internet access).
pub async fn docs() -> HttpResponse {
    let mut res = HttpResponse::Ok();
    html_headers(&mut res);
    res.content_type("text/html; charset=utf-8").body(DOCS_HTML)
}

/// The policy of every HTML page served: scripts only from this origin (no inline script:
/// the page's own start-up code is a file, [`docs_init_js`]), no framing (clickjacking), no
/// `Referer` to other sites. Swagger UI sets inline styles and data: images.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the headers every HTML answer carries (`Cache-Control: no-store` comes from the
/// application's default headers).
pub fn html_headers(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
}

/// The documentation page's start-up script.
pub async fn docs_init_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(
            "window.ui = SwaggerUIBundle({ url: \"/api/v1/openapi.json\", dom_id: \"#swagger-ui\" });\n",
        )
}

/// The vendored Swagger UI script.
pub async fn docs_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(&include_bytes!("../../../assets/swagger-ui/swagger-ui-bundle.js")[..])
}

/// The vendored Swagger UI stylesheet.
pub async fn docs_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(&include_bytes!("../../../assets/swagger-ui/swagger-ui.css")[..])
}
