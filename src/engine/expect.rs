//! Judges a response against a step's expectations. Every failed expectation becomes a
//! [`Finding`]; a step reports all of them, not just the first.

use serde_json::Value;

use crate::http::HttpResponse;
use crate::plan::{Check, CompiledExpect, JsonCheck};
use crate::run::outcome::Finding;
use crate::run::scope::Scope;
use crate::template::Template;

/// What the response is judged on, with rendering of templates in expected values.
pub fn judge(
    expect: &CompiledExpect,
    resp: &HttpResponse,
    scope: &mut Scope,
    step: usize,
    location: &str,
) -> Result<Vec<Finding>, RenderError> {
    let mut findings = Vec::new();
    let mut found = |subject: String, expected: String, actual: String| {
        findings.push(Finding {
            step,
            subject,
            expected,
            actual,
            location: location.to_string(),
        });
    };
    if let Some(status) = &expect.status
        && !status.matches(resp.status)
    {
        found(
            "HTTP status".into(),
            status.to_string(),
            resp.status.to_string(),
        );
        // A response of another kind (an error instead of a resource) fails every other
        // expectation too; listing those buries the one finding that matters.
        return Ok(findings);
    }
    for (name, want) in &expect.headers {
        match (resp.header(name), want) {
            (None, _) => found(format!("header {name}"), "present".into(), "absent".into()),
            (Some(got), Some(want)) => {
                let want = render(want, scope)?;
                if got != want {
                    found(format!("header {name}"), quote(&want), quote(got));
                }
            }
            (Some(_), None) => {}
        }
    }
    if let Some(types) = &expect.content_type {
        let got = resp.header("content-type").unwrap_or("");
        let media = got.split(';').next().unwrap_or("").trim();
        if !types.iter().any(|t| t.eq_ignore_ascii_case(media)) {
            let expected = if types.len() == 1 {
                types[0].clone()
            } else {
                format!("one of {}", types.join(", "))
            };
            found(
                "Content-Type".into(),
                expected,
                if got.is_empty() {
                    "none".into()
                } else {
                    quote(got)
                },
            );
        }
    }
    for needle in &expect.body_contains {
        let needle = render(needle, scope)?;
        if !String::from_utf8_lossy(&resp.body).contains(&needle) {
            found(
                "body".into(),
                format!("to contain {}", quote(&needle)),
                "no such text".into(),
            );
        }
    }
    if !expect.json.is_empty() {
        match resp.json() {
            Ok(body) => {
                for check in &expect.json {
                    if let Some((expected, actual)) = judge_json(check, &body, scope)? {
                        found(check.path_text.clone(), expected, actual);
                    }
                }
            }
            Err(e) => found("body".into(), "a JSON document".into(), e),
        }
    }
    Ok(findings)
}

/// Why an expected value could not be rendered.
#[derive(Debug)]
pub enum RenderError {
    /// A var or capture has no value (an earlier test of the sequence did not make it).
    Missing(crate::template::Placeholder),
    Invalid(String),
}

impl From<crate::template::Placeholder> for RenderError {
    fn from(p: crate::template::Placeholder) -> Self {
        Self::Missing(p)
    }
}

fn render(t: &Template, scope: &mut Scope) -> Result<String, RenderError> {
    Ok(t.render(scope)?)
}

/// Renders templates inside an expected JSON value.
pub fn render_json(v: &Value, scope: &mut Scope) -> Result<Value, RenderError> {
    Ok(match v {
        Value::String(s) => {
            let t = Template::parse(s).map_err(|e| RenderError::Invalid(e.to_string()))?;
            if let Some(value) = t.sole_placeholder().and_then(|p| scope.value_of(p)) {
                return Ok(value);
            }
            Value::String(render(&t, scope)?)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_json(i, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, scope)?)))
                .collect::<Result<_, RenderError>>()?,
        ),
        other => other.clone(),
    })
}

/// `Some((expected, actual))` when the check fails.
fn judge_json(
    check: &JsonCheck,
    body: &Value,
    scope: &mut Scope,
) -> Result<Option<(String, String)>, RenderError> {
    let nodes: Vec<&Value> = check.path.query(body).all();
    // A path that can select several nodes (`$.Resources[*].id`) is judged as the list of
    // what it selected, the same way a capture of it is stored.
    let many = crate::engine::path_selects_many(&check.path_text);
    let selected: Option<Value> = if many {
        Some(Value::Array(nodes.iter().map(|v| (*v).clone()).collect()))
    } else {
        nodes.first().map(|v| (*v).clone())
    };
    let actual = || match (&selected, many) {
        (None, _) => "nothing (no such path)".to_string(),
        (Some(Value::Array(a)), true) if a.is_empty() => "nothing (no such path)".to_string(),
        (Some(v), _) => short(v),
    };
    let first = selected.as_ref();
    let verdict = match &check.check {
        Check::Exists(want) => {
            let exists = !nodes.is_empty();
            (exists != *want).then(|| {
                (
                    if *want {
                        "present".to_string()
                    } else {
                        "absent".to_string()
                    },
                    if exists {
                        actual()
                    } else {
                        "absent".to_string()
                    },
                )
            })
        }
        Check::Equals(want) => {
            let want = render_json(want, scope)?;
            (first != Some(&want)).then(|| (short(&want), actual()))
        }
        Check::NotEquals(want) => {
            let want = render_json(want, scope)?;
            (first == Some(&want) || first.is_none())
                .then(|| (format!("not {}", short(&want)), actual()))
        }
        Check::EqualsIgnoreCase(want) => {
            let want = render(want, scope)?;
            let ok = first
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase() == want.to_lowercase());
            (!ok).then(|| (format!("{} (any case)", quote(&want)), actual()))
        }
        Check::Type(t) => {
            let ok = first.is_some_and(|v| t.matches(v));
            (!ok).then(|| (format!("a JSON {}", t.as_str()), actual()))
        }
        Check::Length(n) => {
            let len = first.and_then(|v| match v {
                Value::Array(a) => Some(a.len()),
                Value::String(s) => Some(s.chars().count()),
                Value::Object(o) => Some(o.len()),
                _ => None,
            });
            (len != Some(*n)).then(|| {
                (
                    format!("length {n}"),
                    len.map_or_else(actual, |l| format!("length {l}")),
                )
            })
        }
        Check::Min(m) => {
            let ok = first.and_then(Value::as_f64).is_some_and(|v| v >= *m);
            (!ok).then(|| (format!("a number >= {m}"), actual()))
        }
        Check::Max(m) => {
            let ok = first.and_then(Value::as_f64).is_some_and(|v| v <= *m);
            (!ok).then(|| (format!("a number <= {m}"), actual()))
        }
        Check::Contains(want) => {
            let want = render_json(want, scope)?;
            let ok = match (first, &want) {
                (Some(Value::Array(items)), _) => items.contains(&want),
                (Some(Value::String(s)), Value::String(w)) => s.contains(w.as_str()),
                _ => false,
            };
            (!ok).then(|| (format!("to contain {}", short(&want)), actual()))
        }
        Check::OneOf(list) => {
            let list = list
                .iter()
                .map(|v| render_json(v, scope))
                .collect::<Result<Vec<_>, _>>()?;
            let ok = first.is_some_and(|v| list.contains(v));
            (!ok).then(|| {
                (
                    format!("one of {}", short(&Value::Array(list.clone()))),
                    actual(),
                )
            })
        }
    };
    Ok(verdict)
}

fn quote(s: &str) -> String {
    short(&Value::String(s.to_string()))
}

/// A JSON value on one line, cut to a readable length.
pub fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}...")
    } else {
        text
    }
}
