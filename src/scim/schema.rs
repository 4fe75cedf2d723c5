//! TEMPORARY placeholder until the RFC 7643 validator lands (never released).
use crate::severity::Severity;
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum ResourceKind {
    User,
    Group,
    EnterpriseUser,
    ListResponse,
    Error,
    PatchOp,
    ServiceProviderConfig,
    ResourceType,
    Schema,
}
impl std::str::FromStr for ResourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "User" => Ok(Self::User),
            _ => Err(format!("unknown kind {s}")),
        }
    }
}
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    pub path: String,
    pub expected: String,
    pub actual: String,
    pub rule: String,
    pub reference: &'static str,
    pub severity: Severity,
}
pub fn validate(_kind: ResourceKind, _body: &serde_json::Value) -> Vec<Violation> {
    Vec::new()
}
pub fn validate_list(_kind: ResourceKind, _body: &serde_json::Value) -> Vec<Violation> {
    Vec::new()
}
impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path)
    }
}
