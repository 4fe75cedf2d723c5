//! TEMPORARY placeholder until the reference SCIM server lands (never committed).
use super::{BreakInfo, Breaks};
pub const BREAKS: &[BreakInfo] = &[];
pub struct RateLimit {
    pub every_nth_request: u64,
    pub retry_after_secs: u64,
}
pub struct ScimConfig {
    pub bearer_token: String,
    pub breaks: Breaks,
    pub base_path: String,
    pub rate_limit: Option<RateLimit>,
}
#[derive(Clone)]
pub struct ScimServer;
impl ScimServer {
    pub fn new(_cfg: ScimConfig) -> Self {
        Self
    }
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
    }
    pub fn user_count(&self) -> usize {
        0
    }
    pub fn group_count(&self) -> usize {
        0
    }
}
