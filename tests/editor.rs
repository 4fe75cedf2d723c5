//! Editor and shell support: the committed JSON Schemas match the types, every built-in plan
//! and example target validates against them and names them for the YAML language server,
//! and completions and the man page come from the clap definitions.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use oinspect::schema::{SchemaKind, committed_path, render};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn oinspect() -> Command {
    let mut cmd = Command::cargo_bin("oinspect").expect("binary is built by cargo test");
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

/// `*.yaml` files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn committed_schemas_match_the_types() {
    for kind in [SchemaKind::Plan, SchemaKind::Target] {
        let path = root().join(committed_path(kind));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let name = match kind {
            SchemaKind::Plan => "plan",
            SchemaKind::Target => "target",
        };
        assert!(
            committed == render(kind),
            "{} is out of date with the {name} types; regenerate it with\n  cargo run -- schema {name} > {}",
            path.display(),
            committed_path(kind)
        );
    }
}

#[test]
fn the_schema_command_prints_the_committed_schemas() {
    let out = oinspect().args(["schema", "target"]).output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed["$schema"],
        "http://json-schema.org/draft-07/schema#"
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        render(SchemaKind::Target)
    );
}

fn validator(kind: SchemaKind) -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&render(kind)).unwrap();
    jsonschema::draft7::new(&schema).expect("the schema is a valid draft-07 schema")
}

/// YAML to JSON the way an editor's language server sees it (numbers stay numbers).
fn yaml_to_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_valid(kind: SchemaKind, path: &Path) {
    let v = validator(kind);
    let doc = yaml_to_json(path);
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("  {} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not validate against {}:\n{}",
        path.display(),
        committed_path(kind),
        errors.join("\n")
    );
}

fn assert_schema_line(path: &Path, schema: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or_default();
    let rel = format!("../{schema}");
    assert_eq!(
        first,
        format!("# yaml-language-server: $schema={rel}"),
        "{} must start with the yaml-language-server line naming {rel}",
        path.display()
    );
}

#[test]
fn every_builtin_plan_validates_and_names_the_schema() {
    let plans = yaml_files(&root().join("test-plans"));
    assert!(plans.len() >= 6, "{plans:?}");
    for p in &plans {
        assert_schema_line(p, committed_path(SchemaKind::Plan));
        assert_valid(SchemaKind::Plan, p);
    }
}

#[test]
fn example_targets_validate_and_name_the_schema() {
    let targets = yaml_files(&root().join("examples"));
    assert!(!targets.is_empty());
    for t in &targets {
        assert_schema_line(t, committed_path(SchemaKind::Target));
        assert_valid(SchemaKind::Target, t);
    }
}

#[test]
fn the_schema_refuses_what_the_loader_refuses() {
    let v = validator(SchemaKind::Plan);
    let typo = serde_json::json!({
        "plan": "p", "title": "t",
        "tests": [{ "id": "a.b", "title": "t", "severty": "required", "why": "w", "spec": "s", "steps": [] }]
    });
    assert!(!v.is_valid(&typo), "unknown keys are errors");
    let bad_severity = serde_json::json!({
        "plan": "p", "title": "t",
        "tests": [{ "id": "a.b", "title": "t", "severity": "urgent", "why": "w", "spec": "s", "steps": [] }]
    });
    assert!(!v.is_valid(&bad_severity));
    let t = validator(SchemaKind::Target);
    assert!(!t.is_valid(
        &serde_json::json!({ "name": "x", "scim": { "base_url": "u", "auth": { "token": "x" } } })
    ));
    assert!(t.is_valid(&serde_json::json!({ "name": "x", "scim": { "base_url": "https://a.example/scim/v2", "auth": { "bearer": "${env:T}" } } })));
}

#[test]
fn completions_mention_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = oinspect().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for sub in ["run", "demo", "explain", "init", "schema", "completions"] {
            assert!(text.contains(sub), "{shell} completion lacks `{sub}`");
        }
        assert!(text.contains("github-summary"), "{shell}: run's flags");
    }
}

#[test]
fn man_page_documents_every_subcommand() {
    let out = oinspect().arg("man").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(".ie") || text.contains(".TH oinspect 1"),
        "roff"
    );
    for sub in ["RUN", "DEMO", "EXPLAIN", "INIT", "SCHEMA", "SERVE"] {
        assert!(
            text.contains(&format!(".SH \"OINSPECT {sub}\"")),
            "man page lacks `{sub}`"
        );
    }
    assert!(text.contains("\\-\\-html"), "run's options are listed");
}
