//! Response types of the operations endpoints.

use serde::Serialize;
use utoipa::ToSchema;

/// The health answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process runs.
    pub status: &'static str,
}
