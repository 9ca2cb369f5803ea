//! The request log: one span and one access line per request, holding the method, the route
//! pattern (`/api/v1/donors/{id}`, never the path or the query string, which carry CCCDs and
//! phone numbers), the status, the latency, the request id and, for a refusal, the error's
//! stable code — never the error's text, which may echo the input.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::http::error::ApiError;

/// The log target of access lines (filter them with `RUST_LOG=hienmau::access=info`).
pub const TARGET: &str = "hienmau::access";

/// When the request arrived.
#[derive(Clone, Copy)]
struct Arrived(Instant);

/// The root span of [`tracing_actix_web::TracingLogger`], without the fields of its default
/// (target, user agent, client address) that can carry personal data.
pub struct AccessLog;

impl RootSpanBuilder for AccessLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Arrived(Instant::now()));
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "http_request",
            method = %request.method(),
            route = route(request.match_pattern()),
            request_id = %request_id,
            // The problem's code, recorded by `http::request_id::header`.
            code = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, latency_ms) = match outcome {
            Ok(res) => {
                let latency = res
                    .request()
                    .extensions()
                    .get::<Arrived>()
                    .map(|a| a.0.elapsed().as_secs_f64() * 1000.0);
                (res.status().as_u16(), latency)
            }
            Err(e) => {
                if let Some(code) = e.as_error::<ApiError>().map(ApiError::code) {
                    span.record("code", code);
                }
                (e.as_response_error().status_code().as_u16(), None)
            }
        };
        let _entered = span.enter();
        tracing::info!(
            target: TARGET,
            status,
            latency_ms = latency_ms.map(|ms| (ms * 10.0).round() / 10.0),
            "request"
        );
    }
}

/// The matched route pattern; `-` for a path that matches no route (whose text is the
/// client's and may be anything).
fn route(pattern: Option<String>) -> String {
    pattern.unwrap_or_else(|| "-".to_owned())
}
