//! `X-Request-Id`: the id [`tracing_actix_web::TracingLogger`] gives each request (and records
//! in its log span), returned on every answer, named by a problem body's `instance` and carried
//! into audit entries as `http_request_id`, so that a log line, an audit entry and a user's
//! report can be tied together. An incoming `X-Request-Id` is ignored: a client must not be
//! able to make its requests look like another's.

use actix_web::body::{self, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing_actix_web::RootSpan;

use crate::http::error::PROBLEM_JSON;

/// The response header.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Problem bodies are small; anything larger is left as it is.
const PROBLEM_BODY_LIMIT: usize = 64 * 1024;

/// The id of the request, once the logger has assigned it.
pub fn of(req: &ServiceRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string)
}

/// Adds `X-Request-Id` to every answer (refusals and errors included) and names it as the
/// `instance` of a problem body, whose `code` it records in the request's log span.
pub async fn header<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let id = of(&req);
    let span = req.extensions().get::<RootSpan>().cloned();
    let mut res = next.call(req).await?;
    let Some(id) = id else {
        return Ok(res.map_into_left_body());
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID, value);
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !is_problem {
        return Ok(res.map_into_left_body());
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = body::to_bytes_limited(body, PROBLEM_BODY_LIMIT)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let mut problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(fields) = problem.as_object_mut() {
        if let (Some(span), Some(code)) = (&span, fields.get("code").and_then(|c| c.as_str())) {
            span.record("code", code);
        }
        fields.insert("instance".to_owned(), serde_json::Value::String(id));
    }
    let body = match problem {
        serde_json::Value::Object(_) => BoxBody::new(problem.to_string()),
        // Not the JSON object every problem body is: pass the bytes through untouched.
        _ => BoxBody::new(bytes),
    };
    Ok(ServiceResponse::new(req, head.set_body(body)).map_into_right_body())
}
