//! `X-Request-Id`: the id [`tracing_actix_web::TracingLogger`] gives each request (and records
//! in its log span), returned on every answer and carried into audit entries as
//! `http_request_id`, so that a log line, an audit entry and a user's report can be tied
//! together. An incoming `X-Request-Id` is ignored: a client must not be able to make its
//! requests look like another's.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

/// The response header.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request, once the logger has assigned it.
pub fn of(req: &ServiceRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string)
}

/// Adds `X-Request-Id` to the answer (refusals and errors included).
pub async fn header<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let id = of(&req);
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(X_REQUEST_ID, value);
    }
    Ok(res)
}
