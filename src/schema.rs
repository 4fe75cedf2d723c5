//! JSON Schemas (draft-07, as the YAML language server reads them) of plan and target files,
//! derived from the serde types the loader uses, so editors complete and check exactly what
//! oinspect accepts. `oinspect schema plan|target` prints them; `schemas/` holds committed
//! copies (a test fails when they drift).

use schemars::generate::SchemaSettings;

/// Which file kind a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    Plan,
    Target,
}

/// Where the committed copies live, relative to the repository root.
pub fn committed_path(kind: SchemaKind) -> &'static str {
    match kind {
        SchemaKind::Plan => "schemas/plan.schema.json",
        SchemaKind::Target => "schemas/target.schema.json",
    }
}

/// The schema as pretty JSON with a trailing newline (the committed file's exact bytes).
pub fn render(kind: SchemaKind) -> String {
    let generator = SchemaSettings::draft07().into_generator();
    let (mut schema, title) = match kind {
        SchemaKind::Plan => (
            generator.into_root_schema_for::<crate::plan::model::PlanFile>(),
            "oinspect plan",
        ),
        SchemaKind::Target => (
            generator.into_root_schema_for::<crate::target::Target>(),
            "oinspect target",
        ),
    };
    schema.insert("title".into(), title.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_else(|e| {
        // Serializing a serde_json::Value-backed schema cannot fail; keep the command total.
        format!("{{\"error\": \"{e}\"}}")
    });
    text.push('\n');
    text
}
