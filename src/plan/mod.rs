//! Plans: YAML test definitions, loaded into checked, ready-to-run types.

pub mod builtin;
mod load;
pub mod model;

use std::sync::Arc;

use serde_json_path::JsonPath;

use crate::diag::{Position, Source};
use crate::severity::Severity;
use crate::template::Template;

pub use load::{load_plan, load_plan_source, resolve_plan_args};
pub use model::{Capability, Expect, JsonType, Method, RequestSpec, StatusExpect};

/// A loaded plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub title: String,
    /// Where it came from: a path, or `builtin:NAME.yaml`.
    pub source_name: String,
    pub requires: Vec<Capability>,
    pub tests: Vec<Arc<TestCase>>,
}

/// One test, ready to run.
#[derive(Debug, Clone)]
pub struct TestCase {
    pub id: String,
    pub plan_id: String,
    pub title: String,
    pub severity: Severity,
    pub why: String,
    pub spec: String,
    pub fix: Option<String>,
    pub sequence: Option<String>,
    pub vars: Vec<(String, Template)>,
    pub steps: Vec<Step>,
    /// `file:line:col` of the test's id, for reports that point back into the plan.
    pub location: String,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    pub repeat: u32,
    pub when: Option<model::When>,
    pub require: Option<model::Require>,
    pub note: Option<String>,
    pub expect: CompiledExpect,
    pub captures: Vec<Capture>,
    pub location: String,
}

#[derive(Debug, Clone)]
pub enum Action {
    Scim(RequestSpec),
    Http(RequestSpec),
    Saml(model::SamlStepSpec),
}

#[derive(Debug, Clone)]
pub struct CompiledExpect {
    pub status: Option<StatusExpect>,
    pub headers: Vec<(String, Option<Template>)>,
    pub content_type: Option<Vec<String>>,
    pub json: Vec<JsonCheck>,
    pub body_contains: Vec<Template>,
    pub max_ms: Option<u64>,
    pub schema: Option<SchemaCheck>,
    pub login: Option<model::LoginExpect>,
    pub authn_request: Vec<String>,
    pub offsite_redirect: Option<bool>,
}

/// RFC 7643 validation requested by a step.
#[derive(Debug, Clone, Copy)]
pub enum SchemaCheck {
    One(crate::scim::schema::ResourceKind),
    List(crate::scim::schema::ResourceKind),
}

#[derive(Debug, Clone)]
pub struct JsonCheck {
    pub path: JsonPath,
    pub path_text: String,
    pub check: Check,
}

/// What a JSON assertion checks. Strings inside expected JSON values are templates.
#[derive(Debug, Clone)]
pub enum Check {
    Equals(serde_json::Value),
    EqualsIgnoreCase(Template),
    NotEquals(serde_json::Value),
    Exists(bool),
    Type(JsonType),
    Length(usize),
    Min(f64),
    Max(f64),
    Contains(serde_json::Value),
    OneOf(Vec<serde_json::Value>),
}

#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub from: CaptureFrom,
    /// A missing value is not a failure.
    pub optional: bool,
}

#[derive(Debug, Clone)]
pub enum CaptureFrom {
    Json(JsonPath, String),
    Header(String),
}

pub(crate) fn location_string(source: &Source, position: Option<Position>) -> String {
    match position {
        Some(p) => format!("{}:{}:{}", source.name, p.line, p.column),
        None => source.name.clone(),
    }
}
