//! Extractors that read requests as the OpenAPI document describes them.

use crate::http::error::ApiError;

/// A JSON request body, read as the OpenAPI document describes it. Like `web::Json` (the
/// same size limit, content type check and problem answers, through `JsonConfig`), and also:
/// - the body must be a JSON object (serde alone would build a struct from an array);
/// - a whole number written with a zero fraction (`86.0`), which JSON Schema counts as an
///   integer, is read as that integer.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let body = actix_web::web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let mut value = body.await?.into_inner();
            if !value.is_object() {
                return Err(
                    ApiError::BadRequest("the body must be a JSON object".to_owned()).into(),
                );
            }
            whole_numbers(&mut value);
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| ApiError::BadRequest(format!("unreadable JSON: {e}")).into())
        })
    }
}

/// The largest magnitude at which every whole `f64` is exactly an integer we can read.
const EXACT_WHOLE_F64: f64 = 9_007_199_254_740_992.0; // 2^53

/// Rewrites whole numbers written as floats (`86.0`, `1e3`) as integers, everywhere in `v`.
fn whole_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() <= EXACT_WHOLE_F64 {
                    // Exact: |f| ≤ 2^53 fits an i64 without rounding.
                    let i = f as i64;
                    *v = serde_json::Value::from(i);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}
