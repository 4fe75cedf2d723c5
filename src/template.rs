//! String interpolation in plans and targets.
//!
//! Two kinds, resolved at different times:
//! - `${env:NAME}` / `${env:NAME:-default}`: resolved while the file is parsed, so a missing
//!   variable is a load error with `file:line:col` (exit 2) before any network traffic.
//! - `{{name}}`: resolved when a step runs, from test data (`random.*`), run facts
//!   (`run.*`), the target's users (`users.NAME.FIELD`) and the test's vars and captures.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "environment variable `{0}` is not set (write `${{env:{0}:-default}}` to give a default)"
    )]
    EnvUnset(String),
    #[error("unterminated `${{` in `{0}`: expected `${{env:NAME}}`")]
    UnterminatedEnv(String),
    #[error(
        "unknown interpolation `${{{0}}}`: expected `${{env:NAME}}` or `${{env:NAME:-default}}`"
    )]
    UnknownEnvSyntax(String),
    #[error("unterminated `{{{{` in `{0}`: expected `{{{{name}}}}`")]
    UnterminatedPlaceholder(String),
    #[error("unknown placeholder `{{{{{name}}}}}`: {expected}")]
    UnknownPlaceholder { name: String, expected: String },
}

/// Replaces every `${env:NAME}` / `${env:NAME:-default}` in `text`.
pub fn interpolate_env(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| TemplateError::UnterminatedEnv(text.to_string()))?;
        let inner = &after[..end];
        let spec = inner
            .strip_prefix("env:")
            .ok_or_else(|| TemplateError::UnknownEnvSyntax(inner.to_string()))?;
        let (name, default) = match spec.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (spec, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(TemplateError::UnknownEnvSyntax(inner.to_string()));
        }
        match (lookup(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => return Err(TemplateError::EnvUnset(name.to_string())),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub fn process_env(name: &str) -> Option<String> {
    // An empty variable counts as unset: CI systems export empty strings for missing secrets.
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Test data generators available as `{{random.KIND}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomKind {
    Email,
    Uuid,
    Name,
    GivenName,
    FamilyName,
    Id,
}

const RANDOM_KINDS: &[(&str, RandomKind)] = &[
    ("email", RandomKind::Email),
    ("uuid", RandomKind::Uuid),
    ("name", RandomKind::Name),
    ("given_name", RandomKind::GivenName),
    ("family_name", RandomKind::FamilyName),
    ("id", RandomKind::Id),
];

const RUN_FIELDS: &[&str] = &["seed", "prefix"];
/// Facts the target declares about the app, for checks that apply only where declared.
const TARGET_FIELDS: &[&str] = &["roles.value1", "roles.value2", "roles.resource"];
const USER_FIELDS: &[&str] = &["email", "given_name", "family_name"];

/// What a `{{...}}` placeholder refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    Random(RandomKind),
    /// `run.seed`, `run.prefix`.
    Run(&'static str),
    /// `users.NAME.FIELD` from the target.
    User {
        name: String,
        field: &'static str,
    },
    /// `target.roles.value1` and friends: what the target declares about the app.
    Target(&'static str),
    /// A var or capture of the test (or of an earlier test of its sequence).
    Name(String),
}

impl Placeholder {
    fn parse(raw: &str) -> Result<Self, TemplateError> {
        let name = raw.trim();
        let unknown = |expected: String| TemplateError::UnknownPlaceholder {
            name: name.to_string(),
            expected,
        };
        let mut parts = name.split('.');
        let head = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        match head {
            "random" => {
                let kind = rest.first().copied().unwrap_or_default();
                RANDOM_KINDS
                    .iter()
                    .find(|(n, _)| *n == kind && rest.len() == 1)
                    .map(|(_, k)| Self::Random(*k))
                    .ok_or_else(|| {
                        unknown(format!(
                            "expected one of {}",
                            RANDOM_KINDS
                                .iter()
                                .map(|(n, _)| format!("random.{n}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })
            }
            "run" => {
                let field = rest.first().copied().unwrap_or_default();
                RUN_FIELDS
                    .iter()
                    .find(|f| **f == field && rest.len() == 1)
                    .map(|f| Self::Run(f))
                    .ok_or_else(|| unknown("expected run.seed or run.prefix".into()))
            }
            "target" => {
                let field = rest.join(".");
                TARGET_FIELDS
                    .iter()
                    .find(|f| **f == field)
                    .map(|f| Self::Target(f))
                    .ok_or_else(|| {
                        unknown(format!(
                            "expected one of {}",
                            TARGET_FIELDS
                                .iter()
                                .map(|f| format!("target.{f}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })
            }
            "users" => match rest.as_slice() {
                [user, field] if is_identifier(user) => USER_FIELDS
                    .iter()
                    .find(|f| *f == field)
                    .map(|f| Self::User {
                        name: (*user).to_string(),
                        field: f,
                    })
                    .ok_or_else(|| {
                        unknown(format!("expected users.{user}.{}", USER_FIELDS.join("|")))
                    }),
                _ => Err(unknown(
                    "expected users.NAME.email (or given_name, family_name)".into(),
                )),
            },
            _ if rest.is_empty() && is_identifier(head) => Ok(Self::Name(head.to_string())),
            _ => Err(unknown(
                "expected a var or capture name, random.*, run.*, users.NAME.FIELD or target.*"
                    .into(),
            )),
        }
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Random(k) => {
                let name = RANDOM_KINDS
                    .iter()
                    .find(|(_, kind)| kind == k)
                    .map_or("?", |(n, _)| n);
                write!(f, "random.{name}")
            }
            Self::Run(field) => write!(f, "run.{field}"),
            Self::User { name, field } => write!(f, "users.{name}.{field}"),
            Self::Target(field) => write!(f, "target.{field}"),
            Self::Name(n) => f.write_str(n),
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Placeholder(Placeholder, Option<Transform>),
}

/// `{{name | upper}}`: a change applied to the value, for checks such as "the filter
/// ignores case" that need the same value in another case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    Upper,
    Lower,
}

impl Transform {
    fn parse(name: &str) -> Result<Self, TemplateError> {
        match name.trim() {
            "upper" => Ok(Self::Upper),
            "lower" => Ok(Self::Lower),
            other => Err(TemplateError::UnknownPlaceholder {
                name: format!("| {other}"),
                expected: "expected `| upper` or `| lower`".into(),
            }),
        }
    }

    fn apply(self, value: String) -> String {
        match self {
            Self::Upper => value.to_uppercase(),
            Self::Lower => value.to_lowercase(),
        }
    }
}

/// A plan string with `{{...}}` placeholders, checked at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    raw: String,
    parts: Vec<Part>,
}

/// Supplies values for placeholders while a step runs.
pub trait Resolve {
    /// `Ok(None)` means "not known (yet)": a capture an earlier step did not make.
    fn resolve(&mut self, placeholder: &Placeholder) -> Option<String>;
}

impl Template {
    pub fn parse(raw: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| TemplateError::UnterminatedPlaceholder(raw.to_string()))?;
            let inner = &after[..end];
            let (name, transform) = match inner.split_once('|') {
                Some((n, t)) => (n, Some(Transform::parse(t)?)),
                None => (inner, None),
            };
            parts.push(Part::Placeholder(Placeholder::parse(name)?, transform));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Self {
            raw: raw.to_string(),
            parts,
        })
    }

    /// A template with no placeholders.
    pub fn literal(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            parts: vec![Part::Literal(text.clone())],
            raw: text,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The placeholder when the template is exactly one placeholder and nothing else.
    pub fn sole_placeholder(&self) -> Option<&Placeholder> {
        match self.parts.as_slice() {
            [Part::Placeholder(p, None)] => Some(p),
            _ => None,
        }
    }

    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(ph, _) => Some(ph),
            Part::Literal(_) => None,
        })
    }

    /// Fills the placeholders; `Err` names the first one that has no value.
    pub fn render(&self, resolver: &mut dyn Resolve) -> Result<String, Placeholder> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Placeholder(ph, transform) => match resolver.resolve(ph) {
                    Some(v) => out.push_str(&match transform {
                        Some(t) => t.apply(v),
                        None => v,
                    }),
                    None => return Err(ph.clone()),
                },
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Deserializes a plan string: `${env:...}` resolved, `{{...}}` parsed. Errors carry the
/// string's position because serde-saphyr attaches the current location to custom errors.
impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        let resolved = interpolate_env(&raw, &process_env).map_err(serde::de::Error::custom)?;
        Self::parse(&resolved).map_err(serde::de::Error::custom)
    }
}

/// In plan and target files these are YAML scalars read as text: a string, or a number or
/// boolean written without quotes (`count: 100`), which the loader reads as its text.
fn scalar_text_schema(description: &str) -> schemars::Schema {
    schemars::json_schema!({
        "type": ["string", "number", "boolean"],
        "description": description
    })
}

impl schemars::JsonSchema for Template {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Template".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        scalar_text_schema(
            "Text with `{{...}}` placeholders (vars, captures, random.*, users.*) and `${env:NAME}` references.",
        )
    }
}

impl schemars::JsonSchema for EnvText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvText".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        scalar_text_schema(
            "Text; `${env:NAME}` or `${env:NAME:-default}` is resolved when the file loads.",
        )
    }
}

impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        scalar_text_schema(
            "A secret: write `${env:NAME}` rather than the value; masked as *** in every output.",
        )
    }
}

/// A target string with `${env:...}` resolved at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvText(pub String);

impl<'de> Deserialize<'de> for EnvText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        interpolate_env(&raw, &process_env)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

impl EnvText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A secret from a target (token, password, client secret). Its `Debug` never shows it;
/// every value is registered with the run's redactor before anything is printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EnvText::deserialize(deserializer).map(|t| Self(t.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            _ => None,
        }
    }

    #[test]
    fn env_substitution_and_defaults() {
        assert_eq!(
            interpolate_env("Bearer ${env:TOKEN}", &env).unwrap(),
            "Bearer s3cret"
        );
        assert_eq!(interpolate_env("${env:NOPE:-x}-y", &env).unwrap(), "x-y");
        assert_eq!(interpolate_env("plain {{a}}", &env).unwrap(), "plain {{a}}");
        assert_eq!(
            interpolate_env("${env:NOPE}", &env).unwrap_err(),
            TemplateError::EnvUnset("NOPE".into())
        );
        assert!(matches!(
            interpolate_env("${TOKEN}", &env),
            Err(TemplateError::UnknownEnvSyntax(_))
        ));
        assert!(matches!(
            interpolate_env("${env:TOKEN", &env),
            Err(TemplateError::UnterminatedEnv(_))
        ));
    }

    #[test]
    fn placeholders_parse_and_render() {
        let t = Template::parse("{{ random.email }} for {{users.primary.email}} id={{user_id}}")
            .unwrap();
        struct R;
        impl Resolve for R {
            fn resolve(&mut self, p: &Placeholder) -> Option<String> {
                match p {
                    Placeholder::Random(RandomKind::Email) => Some("r@x.test".into()),
                    Placeholder::User { name, field } => Some(format!("{name}/{field}")),
                    Placeholder::Name(n) if n == "user_id" => Some("42".into()),
                    _ => None,
                }
            }
        }
        assert_eq!(
            t.render(&mut R).unwrap(),
            "r@x.test for primary/email id=42"
        );
        let upper = Template::parse("{{ user_id | upper }}-{{users.a.email|lower}}").unwrap();
        assert_eq!(upper.render(&mut R).unwrap(), "42-a/email");
        let missing = Template::parse("{{other}}")
            .unwrap()
            .render(&mut R)
            .unwrap_err();
        assert_eq!(missing, Placeholder::Name("other".into()));
    }

    #[test]
    fn unknown_placeholders_are_load_errors() {
        let err = Template::parse("{{random.emial}}").unwrap_err();
        assert!(err.to_string().contains("random.email"), "{err}");
        assert!(Template::parse("{{users.primary.phone}}").is_err());
        assert!(Template::parse("{{run.nope}}").is_err());
        assert!(Template::parse("{{a.b}}").is_err());
        assert!(Template::parse("{{unterminated").is_err());
        assert!(Template::parse("{{user | shout}}").is_err());
    }

    #[test]
    fn secrets_do_not_debug_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
