//! RFC 7643/7644 response validation.
//!
//! [`validate`] takes a JSON body and the kind of resource or message it should be, and lists
//! every violation with its JSONPath, what was expected, what was found, the rule, the RFC
//! section and a [`Severity`]. It never panics, whatever the JSON, and its work is bounded:
//! it only descends into known structure (a few levels), checks nesting depth with a walk that
//! stops at 64 levels, renders values with a size cap and stops listing after 1000 findings.
//!
//! Two SCIM semantics apply throughout: attribute names are case-insensitive (RFC 7643 §2.1),
//! so `UserName` satisfies `userName` and paths are reported as spelled in the body; and `null`
//! is the same as absent (RFC 7643 §2.5).
//!
//! The rules and their severities are listed in [`RULES`].

mod discovery;
mod group;
mod json;
mod message;
mod report;
mod resource;
mod rules;
mod user;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use self::report::{Actual, Report, index, push_child, push_index};
pub use self::rules::{RULES, Rule};
use crate::severity::Severity;

/// What a body is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
pub enum ResourceKind {
    User,
    Group,
    /// A User that must carry the enterprise extension (RFC 7643 §4.3).
    EnterpriseUser,
    ListResponse,
    Error,
    PatchOp,
    ServiceProviderConfig,
    ResourceType,
    Schema,
}

impl ResourceKind {
    /// Every kind, in the order error messages list them.
    pub const ALL: [ResourceKind; 9] = [
        ResourceKind::User,
        ResourceKind::Group,
        ResourceKind::EnterpriseUser,
        ResourceKind::ListResponse,
        ResourceKind::Error,
        ResourceKind::PatchOp,
        ResourceKind::ServiceProviderConfig,
        ResourceKind::ResourceType,
        ResourceKind::Schema,
    ];

    /// The name as written in plans (and by serde).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
            ResourceKind::EnterpriseUser => "EnterpriseUser",
            ResourceKind::ListResponse => "ListResponse",
            ResourceKind::Error => "Error",
            ResourceKind::PatchOp => "PatchOp",
            ResourceKind::ServiceProviderConfig => "ServiceProviderConfig",
            ResourceKind::ResourceType => "ResourceType",
            ResourceKind::Schema => "Schema",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource kind name that [`ResourceKind::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownResourceKind {
    pub given: String,
    /// The kind the name matches when case is ignored ("user" → `User`).
    pub suggestion: Option<ResourceKind>,
}

impl fmt::Display for UnknownResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown resource kind {:?}", self.given)?;
        if let Some(kind) = self.suggestion {
            write!(f, " (did you mean {kind:?}?)")?;
        }
        let names: Vec<&str> = ResourceKind::ALL.iter().map(|kind| kind.as_str()).collect();
        write!(f, "; valid kinds: {}", names.join(", "))
    }
}

impl std::error::Error for UnknownResourceKind {}

impl FromStr for ResourceKind {
    type Err = UnknownResourceKind;

    /// Exact names only, like serde, so a plan and the CLI accept the same spellings.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let trimmed = name.trim();
        if let Some(kind) = Self::ALL.into_iter().find(|kind| kind.as_str() == trimmed) {
            return Ok(kind);
        }
        Err(UnknownResourceKind {
            given: name.to_owned(),
            suggestion: Self::ALL
                .into_iter()
                .find(|kind| kind.as_str().eq_ignore_ascii_case(trimmed)),
        })
    }
}

/// One way a body departs from RFC 7643/7644 (or from what identity providers need).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    /// JSONPath of the offending value, e.g. `$.emails[0].primary`; for an absent attribute,
    /// where it should be.
    pub path: String,
    pub expected: String,
    /// Short rendering of the actual JSON, truncated to about 80 characters; `(absent)` when
    /// missing.
    pub actual: String,
    /// One sentence stating the rule.
    pub rule: String,
    /// The RFC section, e.g. "RFC 7643 §4.1.1".
    pub reference: &'static str,
    pub severity: Severity,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, got {} ({}; {}) [{}]",
            self.path, self.expected, self.actual, self.rule, self.reference, self.severity
        )
    }
}

/// Validates `body` as a `kind`. For a `ListResponse` this checks the envelope only; use
/// [`validate_list`] to validate its items too.
pub fn validate(kind: ResourceKind, body: &Value) -> Vec<Violation> {
    let mut report = Report::default();
    check_depth(&mut report, body);
    check_body(&mut report, kind, body, "$");
    report.finish()
}

/// Validates `body` as a ListResponse whose `Resources[i]` are each an `item_kind`, with
/// per-item paths such as `$.Resources[2].userName`.
pub fn validate_list(item_kind: ResourceKind, body: &Value) -> Vec<Violation> {
    let mut report = Report::default();
    check_depth(&mut report, body);
    let base = "$";
    let Some(obj) = json::open(&mut report, body, base) else {
        flag_not_object(&mut report, body, base);
        return report.finish();
    };
    if let Some(page) = message::check_list(&mut report, obj, base) {
        for (i, item) in page.items.iter().enumerate() {
            check_body(&mut report, item_kind, item, &index(&page.path, i));
        }
    }
    report.finish()
}

fn flag_not_object(report: &mut Report, body: &Value, path: &str) {
    report.flag(
        &rules::BODY_NOT_OBJECT,
        path,
        "a JSON object",
        Actual::Json(body),
    );
}

/// Validates one body (or list item) at `base`.
fn check_body(report: &mut Report, kind: ResourceKind, body: &Value, base: &str) {
    let Some(obj) = json::open(report, body, base) else {
        flag_not_object(report, body, base);
        return;
    };
    match kind {
        ResourceKind::User => user::check_user(report, obj, base, false),
        ResourceKind::EnterpriseUser => user::check_user(report, obj, base, true),
        ResourceKind::Group => group::check_group(report, obj, base),
        ResourceKind::ListResponse => {
            // Envelope only: items of unknown kind must still be objects.
            if let Some(page) = message::check_list(report, obj, base) {
                for (i, item) in page.items.iter().enumerate() {
                    if !item.is_object() {
                        flag_not_object(report, item, &index(&page.path, i));
                    }
                }
            }
        }
        ResourceKind::Error => message::check_error(report, obj, base),
        ResourceKind::PatchOp => message::check_patch(report, obj, base),
        ResourceKind::ServiceProviderConfig => {
            discovery::check_service_provider_config(report, obj, base);
        }
        ResourceKind::ResourceType => discovery::check_resource_type(report, obj, base),
        ResourceKind::Schema => discovery::check_schema(report, obj, base),
    }
}

/// Deepest nesting accepted before `body.too_deep`; real SCIM bodies stay under 10.
const MAX_DEPTH: usize = 64;

/// Reports the first value nested deeper than [`MAX_DEPTH`]. The walk itself stops at that
/// depth, so the recursion is bounded whatever the input; each value is visited at most once.
fn check_depth(report: &mut Report, body: &Value) {
    let mut path = String::from("$");
    if let Some(deep) = find_too_deep(body, 0, &mut path) {
        report.flag(
            &rules::TOO_DEEP,
            &path,
            format!("at most {MAX_DEPTH} levels of nesting"),
            Actual::Json(deep),
        );
    }
}

/// Depth-first search; on success `path` holds the path of the returned value.
fn find_too_deep<'a>(value: &'a Value, depth: usize, path: &mut String) -> Option<&'a Value> {
    if depth > MAX_DEPTH {
        return Some(value);
    }
    let parent_len = path.len();
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                push_index(path, i);
                if let Some(deep) = find_too_deep(item, depth + 1, path) {
                    return Some(deep);
                }
                path.truncate(parent_len);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                push_child(path, key);
                if let Some(deep) = find_too_deep(member, depth + 1, path) {
                    return Some(deep);
                }
                path.truncate(parent_len);
            }
        }
        _ => {}
    }
    None
}
