//! The actix application: state, extractor configuration, routes, and the middleware that keeps
//! every answer well-formed.

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Condition, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpResponse, ResponseError};
use tracing_actix_web::TracingLogger;

use crate::http::access_log::AccessLog;

use crate::http::error::{ApiError, PROBLEM_JSON};
use crate::http::routes::{self, Registrar};
use crate::http::state::AppState;

/// Builds the application for one worker.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limits = state.settings.limits.clone();
    let cors = cors(&state.settings.cors_allowed_origins);
    let mut registrar = Registrar::default();
    routes::register(&mut registrar);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(limits.json_body_bytes)
                .error_handler(json_error),
        )
        .app_data(web::PayloadConfig::default().limit(limits.json_body_bytes))
        .app_data(web::PathConfig::default().error_handler(|e, _| {
            ApiError::BadRequest(format!("invalid path parameter: {e}")).into()
        }))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .configure(|cfg| registrar.install(cfg))
        .default_service(web::to(crate::http::web::fallback))
        // CORS is closed unless origins are configured: then only those origins are allowed.
        .wrap(Condition::new(cors.is_some(), cors.unwrap_or_default()))
        .wrap(ErrorHandlers::new().default_handler(ensure_problem))
        .wrap(
            DefaultHeaders::new()
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .add((header::CACHE_CONTROL, "no-store")),
        )
        // Inside the logger, which assigns the id this puts on every answer.
        .wrap(actix_web::middleware::from_fn(
            crate::http::request_id::header,
        ))
        .wrap(TracingLogger::<AccessLog>::new())
}

/// The CORS policy for the configured origins; None (CORS closed: no
/// `Access-Control-Allow-*` header on any answer) when there are none.
fn cors(origins: &[String]) -> Option<Cors> {
    if origins.is_empty() {
        return None;
    }
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .max_age(3600)
        // A request from another origin is served without CORS headers (the browser keeps the
        // answer from the page) rather than refused, so non-browser clients are unaffected.
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    Some(cors)
}

fn json_error(e: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    match e {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => {
            ApiError::PayloadTooLarge("the body is too large".to_owned())
        }
        JsonPayloadError::ContentType => {
            ApiError::BadRequest("expected Content-Type: application/json".to_owned())
        }
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest(format!("unreadable JSON: {e}")),
        JsonPayloadError::Serialize(e) => ApiError::internal(e),
        other => ApiError::BadRequest(format!("unreadable body: {other}")),
    }
    .into()
}

fn query_error(e: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let QueryPayloadError::Deserialize(e) = e else {
        return ApiError::BadRequest("unreadable query string".to_owned()).into();
    };
    ApiError::BadRequest(format!("invalid query parameter: {e}")).into()
}

/// The safety net: any 4xx or 5xx produced without a problem body (by the framework or a
/// middleware) is replaced by the problem for its status.
fn ensure_problem<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status.as_u16() {
        400 => ApiError::BadRequest("bad request".to_owned()),
        401 => ApiError::Unauthorized,
        403 => ApiError::Forbidden,
        404 => ApiError::NotFound,
        405 => ApiError::MethodNotAllowed,
        413 => ApiError::PayloadTooLarge("the body is too large".to_owned()),
        429 => ApiError::RateLimited {
            retry_after_secs: 1,
        },
        503 => ApiError::Unavailable,
        s if s >= 500 => ApiError::internal(format!("status {s} without a problem body")),
        _ => ApiError::BadRequest(
            status
                .canonical_reason()
                .unwrap_or("bad request")
                .to_owned(),
        ),
    };
    let mut problem: HttpResponse<BoxBody> = error.error_response();
    // Keep the original status (e.g. 406, 415) even when mapped to a generic problem.
    *problem.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(PROBLEM_JSON) {
        problem.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, problem).map_into_right_body(),
    ))
}
