//! HTTP handlers, one module per resource, each with its own `router()`.

pub mod audit;
pub mod flags;
pub mod health;
pub mod integrators;
pub mod overrides;
pub mod profile;
pub mod removal;
pub mod scope;
pub mod snapshot;
pub mod tenants;
pub mod tokens;

use serde::Deserialize;
use utoipa::IntoParams;

/// Query parameters of a plain paginated list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000; 100 when absent.
    pub limit: Option<usize>,
}
