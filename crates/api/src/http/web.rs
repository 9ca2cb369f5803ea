//! The web app, served at `/` from files embedded in the binary (`web/dist`, built from `web/`
//! and committed, so that `cargo build` needs no Node and the app works on a closed network).
//!
//! - Every embedded file is a route of its own in the route table ([`files`]), for `GET` and
//!   `HEAD`; `/` is `index.html`.
//! - Caching: `index.html`, `/sw.js` and `/manifest.webmanifest` must be revalidated on every
//!   load (`no-cache`: a new release is seen at once, and the service worker is what keeps the
//!   app offline); files under `/assets/` have content-hashed names and never change, so they
//!   are cached for a year (`immutable`). Each file has a strong `ETag` (its SHA-256), and a
//!   matching `If-None-Match` answers 304.
//! - A strict Content-Security-Policy on every file of the app (no inline script or style,
//!   nothing from another origin); `/docs` keeps its own.
//! - Client-side routes: a `GET`/`HEAD` of any other path outside the server's own prefixes
//!   (`/api`, `/docs`, `/health`, `/ready`, `/metrics`) whose last segment has no dot (not a
//!   file name) answers `index.html` ([`fallback`]); anything else stays a problem+json 404
//!   (an unknown `/api/…` path, a missing `/assets/…` file: a stale service worker must not
//!   cache a page as a script).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use rust_embed::RustEmbed;

use crate::http::error::ApiError;

/// The built app (relative to this crate's manifest).
#[derive(RustEmbed)]
#[folder = "../../web/dist"]
struct Dist;

/// The app's policy: everything from this origin only; images may also be `data:`/`blob:`
/// URLs (a scanned code's preview).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; \
    worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The page every client-side route answers.
const INDEX: &str = "index.html";

/// Paths the server answers itself: never the app's.
const SERVER_PREFIXES: [&str; 5] = ["/api", "/docs", "/health", "/ready", "/metrics"];

/// The URL path of every embedded file (`/index.html`, `/assets/index-1a2b3c.js`, …), in a
/// stable order.
pub fn files() -> Vec<String> {
    let mut paths: Vec<String> = Dist::iter().map(|p| format!("/{p}")).collect();
    paths.sort();
    paths
}

/// `GET /`: the app's page.
pub async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, INDEX)
}

/// `GET /<file>`: an embedded file, named by the request's path.
pub async fn file(req: HttpRequest) -> HttpResponse {
    let path = req.path().trim_start_matches('/').to_owned();
    serve(&req, &path)
}

/// Every request no route matched: a client-side route answers the app's page; anything else
/// is a problem+json 404.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
    if is_read && is_client_route(req.path()) {
        return serve(&req, INDEX);
    }
    ApiError::NotFound.error_response()
}

/// Whether `path` may be one of the app's own routes (see the module doc).
fn is_client_route(path: &str) -> bool {
    let ours = SERVER_PREFIXES
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    let under_assets = path.starts_with("/assets/");
    let last = path.rsplit('/').next().unwrap_or("");
    !ours && !under_assets && !last.contains('.')
}

/// How long a file may be cached.
fn cache_control(path: &str) -> &'static str {
    if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// The content type of an embedded file.
fn content_type(path: &str) -> String {
    // mime_guess has no entry for the web manifest.
    if path.ends_with(".webmanifest") {
        return "application/manifest+json".to_owned();
    }
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    match mime.type_() {
        mime_guess::mime::TEXT | mime_guess::mime::APPLICATION
            if mime.get_param("charset").is_none() && is_text(&mime) =>
        {
            format!("{mime}; charset=utf-8")
        }
        _ => mime.to_string(),
    }
}

fn is_text(mime: &mime_guess::Mime) -> bool {
    mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json")
}

/// Answers the embedded file `path`, or a problem+json 404.
fn serve(req: &HttpRequest, path: &str) -> HttpResponse {
    let Some(file) = Dist::get(path) else {
        return ApiError::NotFound.error_response();
    };
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let unchanged = matches(req, &etag);
    let mut res = if unchanged {
        HttpResponse::build(StatusCode::NOT_MODIFIED)
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, cache_control(path)))
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if unchanged {
        return res.finish();
    }
    if let Ok(v) = HeaderValue::from_str(&content_type(path)) {
        res.insert_header((header::CONTENT_TYPE, v));
    }
    res.body(file.data.into_owned())
}

/// Whether the request's `If-None-Match` names `etag` (or is `*`).
fn matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_routes_are_paths_the_server_does_not_own() {
        for p in ["/", "/log", "/signin", "/log/today", "/apix", "/documents"] {
            assert!(is_client_route(p), "{p}");
        }
        for p in [
            "/api",
            "/api/v1/nothing",
            "/docs",
            "/docs/x",
            "/health",
            "/ready",
            "/metrics",
            "/assets/gone-123.js",
            "/favicon.ico",
            "/log/x.png",
        ] {
            assert!(!is_client_route(p), "{p}");
        }
    }

    #[test]
    fn types_and_lifetimes() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/a-1.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("assets/a-1.css"), "text/css; charset=utf-8");
        assert_eq!(
            content_type("manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("icon.png"), "image/png");
        assert_eq!(cache_control("index.html"), "no-cache");
        assert_eq!(cache_control("sw.js"), "no-cache");
        assert_eq!(
            cache_control("assets/a-1.js"),
            "public, max-age=31536000, immutable"
        );
    }
}
