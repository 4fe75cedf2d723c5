//! From YAML text to a checked [`Plan`]: syntax and types by serde, then the rules serde
//! cannot express (one action per step, one check per assertion, valid JSONPath, unique ids).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde_json_path::JsonPath;

use super::model::{JsonAssertion, PlanFile, SamlStepSpec, StepSpec, TestSpec};
use super::{
    Action, Capture, CaptureFrom, Check, CompiledExpect, JsonCheck, Plan, Step, TestCase, builtin,
    location_string,
};
use crate::diag::{Diagnostic, Position, Source};
use crate::saml::attacks::Attack;
use crate::template::Template;

/// Loads a plan from a path on disk.
pub fn load_plan(path: &Path) -> Result<Plan, Diagnostic> {
    let source = crate::yaml::read_source(path)?;
    load_plan_source(&source)
}

/// Turns the `PLAN` arguments of `run`/`list`/`validate` into plans: an existing file, or
/// the name of a built-in plan (`scim-rfc`, `scim-rfc.yaml`).
pub fn resolve_plan_args(args: &[String]) -> Result<Vec<Plan>, Diagnostic> {
    let mut plans = Vec::new();
    // Kept so that a duplicate id across plans can quote its line.
    let mut sources = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.exists() {
            let source = crate::yaml::read_source(path)?;
            plans.push(load_plan_source(&source)?);
            sources.push(source);
        } else if let Some(src) = builtin::find(arg) {
            plans.push(load_plan_source(&src)?);
            sources.push(src);
        } else {
            return Err(Diagnostic::file(arg, "no such plan file or built-in plan")
                .with_help(format!("built-in plans: {}", builtin::names().join(", "))));
        }
    }
    check_unique_ids_in(&plans, &sources)?;
    Ok(plans)
}

/// Test ids must be unique across everything one run loads: JUnit consumers drop
/// duplicates (GitLab) or merge them (Jenkins), and `--only` would be ambiguous.
#[cfg(test)]
pub(crate) fn check_unique_ids(plans: &[Plan]) -> Result<(), Diagnostic> {
    check_unique_ids_in(plans, &[])
}

/// [`check_unique_ids`], quoting the duplicate's line when its source is among `sources`.
fn check_unique_ids_in(plans: &[Plan], sources: &[Source]) -> Result<(), Diagnostic> {
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for plan in plans {
        for test in &plan.tests {
            if let Some(first) = seen.insert(&test.id, &test.location) {
                let message = format!("duplicate test id `{}` (first defined at {first})", test.id);
                let help = "test ids must be unique across every plan of a run; rename one";
                let (file, pos) = split_location(&test.location);
                let diag = match sources.iter().find(|s| s.name == file) {
                    Some(source) if pos.is_some() => Diagnostic::at(source, pos, message),
                    _ => Diagnostic::file(&test.location, message),
                };
                return Err(diag.with_help(help));
            }
        }
    }
    Ok(())
}

/// Splits a `file:line:col` location string back into its parts.
fn split_location(location: &str) -> (&str, Option<Position>) {
    let mut parts = location.rsplitn(3, ':');
    let (Some(col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return (location, None);
    };
    match (line.parse(), col.parse()) {
        (Ok(line), Ok(column)) => (file, Some(Position { line, column })),
        _ => (location, None),
    }
}

pub fn load_plan_source(source: &Source) -> Result<Plan, Diagnostic> {
    let file: PlanFile = crate::yaml::parse(source)?;
    let plan_pos = Position::from_yaml(&file.plan.referenced);
    check_id(source, &file.plan.value, plan_pos, "plan id")?;
    if file.tests.is_empty() {
        return Err(Diagnostic::at(source, plan_pos, "plan has no tests")
            .with_help("add at least one entry under `tests:`"));
    }
    let mut ids = HashSet::new();
    let mut tests = Vec::with_capacity(file.tests.len());
    for spec in &file.tests {
        let pos = Position::from_yaml(&spec.id.referenced);
        check_id(source, &spec.id.value, pos, "test id")?;
        if !ids.insert(spec.id.value.clone()) {
            return Err(Diagnostic::at(
                source,
                pos,
                format!("duplicate test id `{}` in this plan", spec.id.value),
            ));
        }
        let test = compile_test(source, &file.plan.value, spec)?;
        for t in expand_attack_families(test) {
            tests.push(Arc::new(t));
        }
    }
    Ok(Plan {
        id: file.plan.value,
        title: file.title,
        source_name: source.name.clone(),
        requires: file.requires,
        tests,
    })
}

fn check_id(
    source: &Source,
    id: &str,
    pos: Option<Position>,
    what: &str,
) -> Result<(), Diagnostic> {
    let ok = !id.is_empty()
        && id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        && !id.ends_with('.')
        && !id.contains("..");
    if ok {
        Ok(())
    } else {
        Err(
            Diagnostic::at(source, pos, format!("invalid {what} `{id}`")).with_help(
                "ids are lowercase dotted names like `scim.users.create` (a-z, 0-9, `.`, `-`, `_`)",
            ),
        )
    }
}

fn compile_test(source: &Source, plan_id: &str, spec: &TestSpec) -> Result<TestCase, Diagnostic> {
    let pos = Position::from_yaml(&spec.id.referenced);
    if spec.steps.is_empty() {
        return Err(Diagnostic::at(
            source,
            pos,
            format!("test `{}` has no steps", spec.id.value),
        ));
    }
    let steps = spec
        .steps
        .iter()
        .map(|s| compile_step(source, &s.value, Position::from_yaml(&s.referenced)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TestCase {
        id: spec.id.value.clone(),
        plan_id: plan_id.to_string(),
        title: spec.title.clone(),
        severity: spec.severity,
        why: spec.why.trim().to_string(),
        spec: spec.spec.clone(),
        fix: spec.fix.as_ref().map(|f| f.trim().to_string()),
        sequence: spec.sequence.clone(),
        vars: spec
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        steps,
        location: location_string(source, pos),
    })
}

fn compile_step(
    source: &Source,
    spec: &StepSpec,
    pos: Option<Position>,
) -> Result<Step, Diagnostic> {
    let err = |msg: String| Diagnostic::at(source, pos, msg);
    let given: Vec<&str> = [
        ("scim", spec.scim.is_some()),
        ("http", spec.http.is_some()),
        ("saml", spec.saml.is_some()),
    ]
    .iter()
    .filter(|(_, present)| *present)
    .map(|(name, _)| *name)
    .collect();
    let action = match (&spec.scim, &spec.http, &spec.saml) {
        (Some(r), None, None) => Action::Scim(r.clone()),
        (None, Some(r), None) => Action::Http(r.clone()),
        (None, None, Some(s)) => Action::Saml(s.clone()),
        (None, None, None) => {
            return Err(err("step has no action".into())
                .with_help("start the step with one of `scim:`, `http:` or `saml:`"));
        }
        _ => {
            return Err(err(format!(
                "step has more than one action (`{}`)",
                given.join("` and `")
            ))
            .with_help("split it into separate steps"));
        }
    };
    if let Action::Scim(request) | Action::Http(request) = &action {
        if request.json.is_some() && request.body.is_some() {
            return Err(err("request has both `json` and `body`; give one".into()));
        }
        if let Some(json) = &request.json {
            check_json_templates(json).map_err(|e| err(format!("in `json` body: {e}")))?;
        }
    }
    let saml_only = spec.expect.login.is_some()
        || !spec.expect.authn_request.is_empty()
        || spec.expect.offsite_redirect.is_some();
    if saml_only && !matches!(action, Action::Saml(_)) {
        return Err(err(
            "`expect.login`, `expect.authn_request` and `expect.offsite_redirect` apply to `saml:` steps"
                .into(),
        ));
    }
    if let Action::Saml(saml) = &action {
        check_saml_step(saml).map_err(err)?;
    }
    for check in &spec.expect.authn_request {
        if !AUTHN_REQUEST_CHECKS.contains(&check.as_str()) {
            return Err(err(format!(
                "unknown AuthnRequest check `{check}`; expected one of {}",
                AUTHN_REQUEST_CHECKS.join(", ")
            )));
        }
    }
    let json = spec
        .expect
        .json
        .iter()
        .map(|a| compile_assertion(a).map_err(&err))
        .collect::<Result<Vec<_>, _>>()?;
    let captures = spec
        .capture
        .iter()
        .map(|(name, from)| compile_capture(name, from, false).map_err(&err))
        .chain(
            spec.capture_if_present
                .iter()
                .map(|(name, from)| compile_capture(name, from, true).map_err(&err)),
        )
        .collect::<Result<Vec<_>, _>>()?;
    let schema = match (&spec.expect.schema, &spec.expect.schema_list) {
        (Some(_), Some(_)) => return Err(err("give one of `schema` and `schema_list`".into())),
        (Some(kind), None) => Some(super::SchemaCheck::One(parse_kind(kind).map_err(err)?)),
        (None, Some(kind)) => Some(super::SchemaCheck::List(parse_kind(kind).map_err(err)?)),
        (None, None) => None,
    };
    let repeat = spec.repeat.unwrap_or(1);
    if !(1..=1000).contains(&repeat) {
        return Err(err(format!(
            "repeat: {repeat} is out of range; expected 1 to 1000"
        )));
    }
    Ok(Step {
        repeat,
        when: spec.when.clone(),
        require: spec.require.clone(),
        note: spec.note.clone(),
        action,
        expect: CompiledExpect {
            status: spec.expect.status.clone(),
            headers: spec
                .expect
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            content_type: spec.expect.content_type.clone(),
            json,
            body_contains: spec.expect.body_contains.clone(),
            max_ms: spec.expect.max_ms,
            schema,
            login: spec.expect.login,
            authn_request: spec.expect.authn_request.clone(),
            offsite_redirect: spec.expect.offsite_redirect,
        },
        captures,
        location: location_string(source, pos),
    })
}

/// What a plan writes after `attack:` to get one test per wrapping-matrix variant.
pub const XSW_MATRIX: &str = "xsw-matrix";

fn check_saml_step(s: &SamlStepSpec) -> Result<(), String> {
    use crate::plan::model::{SamlFlow, TenantSpec};
    if let Some(name) = &s.attack
        && name != XSW_MATRIX
        && Attack::from_name(name).is_none()
    {
        let mut known: Vec<String> = Attack::all()
            .iter()
            .filter(|a| !matches!(a, Attack::Matrix(_)))
            .map(Attack::name)
            .collect();
        known.push(XSW_MATRIX.into());
        known.push("skew/<seconds>".into());
        return Err(format!(
            "unknown attack `{name}`; expected one of {}",
            known.join(", ")
        ));
    }
    if s.other_browser && s.flow != SamlFlow::SpInitiated {
        return Err("`other_browser` needs `flow: sp-initiated` (a request to answer)".into());
    }
    if s.audience_of.is_some() && s.tenant != Some(TenantSpec::Second) {
        return Err("`audience_of` applies to steps with `tenant: second`".into());
    }
    if s.encrypt.is_some() && s.attack.is_some() {
        return Err("`encrypt` applies to correct logins; the `encrypted-*` attacks encrypt their own forgeries".into());
    }
    if s.measure.is_some() && (s.attack.is_some() || s.replay || s.other_browser) {
        return Err(
            "`measure` runs its own series of logins: drop `attack`, `replay` and `other_browser`"
                .into(),
        );
    }
    Ok(())
}

/// A test whose steps say `attack: xsw-matrix` becomes one test per variant
/// (`ID.<placement>.<fate>`), so that each shape has its own result.
fn expand_attack_families(test: TestCase) -> Vec<TestCase> {
    let is_family = |step: &Step| matches!(&step.action, Action::Saml(s) if s.attack.as_deref() == Some(XSW_MATRIX));
    if !test.steps.iter().any(is_family) {
        return vec![test];
    }
    crate::saml::attacks::MatrixVariant::all()
        .into_iter()
        .map(|v| {
            let mut t = test.clone();
            t.id = format!("{}.{}", test.id, v.name().replace('/', "."));
            t.title = format!("{} [{}]", test.title, v.name());
            for step in &mut t.steps {
                if is_family(step)
                    && let Action::Saml(s) = &mut step.action
                {
                    s.attack = Some(Attack::Matrix(v).name());
                }
            }
            t
        })
        .collect()
}

/// The AuthnRequest checks a plan can require (see `saml::request::check`).
pub const AUTHN_REQUEST_CHECKS: &[&str] = &[
    "version",
    "id",
    "issue-instant",
    "destination",
    "issuer",
    "acs",
    "name-id-policy",
    "signature",
];

fn parse_kind(name: &str) -> Result<crate::scim::schema::ResourceKind, String> {
    name.parse::<crate::scim::schema::ResourceKind>()
        .map_err(|e| e.to_string())
}

fn compile_assertion(a: &JsonAssertion) -> Result<JsonCheck, String> {
    let path =
        JsonPath::parse(&a.path).map_err(|e| format!("invalid JSONPath `{}`: {e}", a.path))?;
    let mut checks = Vec::new();
    if let Some(v) = &a.equals {
        check_json_templates(v)?;
        checks.push(Check::Equals(v.clone()));
    }
    if let Some(t) = &a.equals_ignore_case {
        checks.push(Check::EqualsIgnoreCase(t.clone()));
    }
    if let Some(v) = &a.not_equals {
        check_json_templates(v)?;
        checks.push(Check::NotEquals(v.clone()));
    }
    if let Some(b) = a.exists {
        checks.push(Check::Exists(b));
    }
    if let Some(t) = a.json_type {
        checks.push(Check::Type(t));
    }
    if let Some(n) = a.length {
        checks.push(Check::Length(n));
    }
    if let Some(n) = a.min {
        checks.push(Check::Min(n));
    }
    if let Some(n) = a.max {
        checks.push(Check::Max(n));
    }
    if let Some(v) = &a.contains {
        check_json_templates(v)?;
        checks.push(Check::Contains(v.clone()));
    }
    if let Some(list) = &a.one_of {
        list.iter().try_for_each(check_json_templates)?;
        checks.push(Check::OneOf(list.clone()));
    }
    match checks.len() {
        1 => Ok(JsonCheck {
            path,
            path_text: a.path.clone(),
            check: checks.remove(0),
        }),
        0 => Err(format!(
            "assertion on `{}` checks nothing: add one of equals, equals_ignore_case, not_equals, exists, type, length, min, max, contains, one_of",
            a.path
        )),
        _ => Err(format!(
            "assertion on `{}` has {} checks; give one per assertion so a failure says exactly what was wrong",
            a.path,
            checks.len()
        )),
    }
}

fn compile_capture(name: &str, from: &Template, optional: bool) -> Result<Capture, String> {
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
        return Err(format!(
            "invalid capture name `{name}`: use letters, digits and `_`"
        ));
    }
    let text = from.as_str();
    let from = if let Some(header) = text.strip_prefix("header:") {
        CaptureFrom::Header(header.trim().to_string())
    } else if text.starts_with('$') {
        let path = JsonPath::parse(text)
            .map_err(|e| format!("invalid JSONPath `{text}` for capture `{name}`: {e}"))?;
        CaptureFrom::Json(path, text.to_string())
    } else {
        return Err(format!(
            "capture `{name}` must be a JSONPath (`$.id`) or `header:Name`, got `{text}`"
        ));
    };
    Ok(Capture {
        name: name.to_string(),
        from,
        optional,
    })
}

/// Strings inside JSON bodies and expected values are templates; check them at load time.
fn check_json_templates(value: &serde_json::Value) -> Result<(), String> {
    match value {
        serde_json::Value::String(s) => {
            let resolved = crate::template::interpolate_env(s, &crate::template::process_env)
                .map_err(|e| e.to_string())?;
            Template::parse(&resolved)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        serde_json::Value::Array(items) => items.iter().try_for_each(check_json_templates),
        serde_json::Value::Object(map) => map.values().try_for_each(check_json_templates),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Plan, Diagnostic> {
        load_plan_source(&Source::new("p.yaml", text))
    }

    const GOOD: &str = r#"
plan: demo-plan
title: Demo
requires: [scim]
tests:
  - id: scim.users.create
    title: Create
    severity: required
    why: because
    spec: RFC 7644 §3.3
    vars: { user: "{{random.email}}" }
    steps:
      - scim: { method: POST, path: /Users, json: { userName: "{{user}}" } }
        expect:
          status: 201
          headers: { Location: ~ }
          json:
            - { path: "$.userName", equals: "{{user}}" }
            - { path: "$.id", type: string }
        capture: { user_id: "$.id", etag: "header:ETag" }
"#;

    #[test]
    fn loads_a_good_plan() {
        let plan = load(GOOD).unwrap();
        assert_eq!(plan.id, "demo-plan");
        let t = &plan.tests[0];
        assert_eq!(t.location, "p.yaml:6:9");
        assert_eq!(t.steps[0].expect.json.len(), 2);
        assert_eq!(t.steps[0].captures.len(), 2);
        assert!(t.steps[0].location.starts_with("p.yaml:"));
    }

    #[test]
    fn typo_in_key_names_file_line_col() {
        let bad = GOOD.replace("severity: required", "severty: required");
        let d = load(&bad).unwrap_err();
        assert_eq!(d.location(), "p.yaml:8:5");
        assert!(
            d.message.contains("unknown field `severty`"),
            "{}",
            d.message
        );
    }

    #[test]
    fn misspelt_step_kind() {
        let bad = GOOD.replace("- scim: {", "- scmi: {");
        let d = load(&bad).unwrap_err();
        assert!(d.message.contains("unknown field `scmi`"), "{}", d.message);
        assert!(
            d.message.contains("scim"),
            "lists the valid kinds: {}",
            d.message
        );
    }

    #[test]
    fn assertion_with_two_checks_is_rejected() {
        let bad = GOOD.replace(
            r#"{ path: "$.id", type: string }"#,
            r#"{ path: "$.id", type: string, exists: true }"#,
        );
        let d = load(&bad).unwrap_err();
        assert!(d.message.contains("2 checks"), "{}", d.message);
    }

    #[test]
    fn bad_jsonpath_and_capture() {
        let d = load(&GOOD.replace(r#"path: "$.id""#, r#"path: "$[""#)).unwrap_err();
        assert!(d.message.contains("invalid JSONPath"), "{}", d.message);
        let d = load(&GOOD.replace(r#"user_id: "$.id""#, r#"user_id: "id""#)).unwrap_err();
        assert!(d.message.contains("must be a JSONPath"), "{}", d.message);
    }

    #[test]
    fn unknown_placeholder_points_at_the_string() {
        let d = load(&GOOD.replace("{{random.email}}", "{{random.mail}}")).unwrap_err();
        assert_eq!(d.position.map(|p| p.line), Some(11));
        assert!(d.message.contains("random.email"), "{}", d.message);
    }

    #[test]
    fn missing_env_variable_is_named() {
        let d = load(&GOOD.replace("because", "${env:OINSPECT_TEST_SURELY_UNSET_VAR}"))
            .unwrap_or_else(|_| panic!("why is not a template"));
        // `why` is plain text, not interpolated; a header template is.
        assert_eq!(d.id, "demo-plan");
        let bad = GOOD.replace(
            "Location: ~",
            "Location: \"${env:OINSPECT_TEST_SURELY_UNSET_VAR}\"",
        );
        let d = load(&bad).unwrap_err();
        assert!(
            d.message.contains("OINSPECT_TEST_SURELY_UNSET_VAR"),
            "{}",
            d.message
        );
        assert_eq!(d.position.map(|p| p.line), Some(16));
    }

    #[test]
    fn duplicate_ids_and_bad_ids() {
        let twice = format!("{GOOD}{}", &GOOD[GOOD.find("  - id:").unwrap()..]);
        let d = load(&twice).unwrap_err();
        assert!(d.message.contains("duplicate test id"), "{}", d.message);
        let d = load(&GOOD.replace("scim.users.create", "Scim Users")).unwrap_err();
        assert!(d.message.contains("invalid test id"), "{}", d.message);
    }

    #[test]
    fn duplicate_id_across_plans_quotes_the_second() {
        let a = Source::new("a.yaml", GOOD);
        let b = Source::new("b.yaml", GOOD.replace("demo-plan", "other-plan"));
        let plans = vec![load_plan_source(&a).unwrap(), load_plan_source(&b).unwrap()];
        let d = check_unique_ids_in(&plans, &[a, b]).unwrap_err();
        assert_eq!(d.location(), "b.yaml:6:9");
        assert!(
            d.message.contains("first defined at a.yaml:6:9"),
            "{}",
            d.message
        );
        assert!(d.to_string().contains("  - id: scim.users.create"));
        assert_eq!(split_location("x:y.yaml:3:4").0, "x:y.yaml");
        assert_eq!(split_location("builtin").1, None);
    }

    #[test]
    fn step_without_action() {
        let bad = GOOD.replace("- scim: { method: POST, path: /Users, json: { userName: \"{{user}}\" } }\n        expect:", "- expect:");
        let d = load(&bad).unwrap_err();
        assert!(d.message.contains("no action"), "{}", d.message);
    }
}
