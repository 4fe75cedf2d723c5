//! YAML loading for plans and targets: serde-saphyr with budgets, errors as [`Diagnostic`]s.

use serde::de::DeserializeOwned;

use crate::diag::{Diagnostic, Position, Source};

/// Plans and targets are hand-written; anything bigger is a mistake or an attack, and
/// refusing it early bounds the parser's time and memory.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Reads a user file, refusing what cannot be a plan or target before parsing it.
pub fn read_source(path: &std::path::Path) -> Result<Source, Diagnostic> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| Diagnostic::file(&name, format!("cannot read file: {e}")))?;
    if meta.is_dir() {
        return Err(Diagnostic::file(
            &name,
            "is a directory, expected a YAML file",
        ));
    }
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(Diagnostic::file(
            &name,
            format!(
                "file is {} bytes, more than the {} byte limit for plans and targets",
                meta.len(),
                MAX_FILE_BYTES
            ),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::file(&name, format!("cannot read file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::file(
            &name,
            format!(
                "file is not valid UTF-8 (first bad byte at offset {}); plans and targets must be UTF-8 text",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(Source::new(name, text))
}

/// Parses `source` into `T`. Unknown keys, duplicate keys and budget breaches are errors.
pub fn parse<T: DeserializeOwned>(source: &Source) -> Result<T, Diagnostic> {
    if source.text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::file(
            &source.name,
            format!("more than the {MAX_FILE_BYTES} byte limit for plans and targets"),
        ));
    }
    if source.text.contains('\0') {
        return Err(Diagnostic::file(
            &source.name,
            "file contains NUL bytes: binary data, expected YAML text",
        ));
    }
    serde_saphyr::from_str_with_options::<T>(&source.text, options())
        .map_err(|e| to_diagnostic(source, &e))
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // Anchors and aliases have legitimate uses in plans, but a handful of nested aliases can
    // expand to billions of nodes ("billion laughs"); these caps stop that in microseconds.
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_depth = 64;
    budget.max_events = 1_000_000;
    serde_saphyr::options! {
        budget: Some(budget),
        // YAML 1.2 booleans only: with YAML 1.1 rules `givenName: No` would send `false`
        // to the vendor, and a check would pass or fail for the wrong reason.
        strict_booleans: true,
    }
}

fn to_diagnostic(source: &Source, err: &serde_saphyr::Error) -> Diagnostic {
    let plain = err.render_with_options(serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
    });
    let position = err.location().as_ref().and_then(Position::from_yaml);
    let message = strip_location_suffix(&plain);
    let help = help_for(&message);
    let diag = Diagnostic::at(source, position, message);
    match help {
        Some(h) => diag.with_help(h),
        None => diag,
    }
}

/// serde-saphyr appends " at line L, column C"; we print the position ourselves.
fn strip_location_suffix(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

fn help_for(message: &str) -> Option<String> {
    if message.contains("duplicate mapping key") {
        return Some("each key may appear once in a mapping; remove or rename one".into());
    }
    if message.contains("budget") || message.contains("alias") && message.contains("exceed") {
        return Some(
            "the file expands to more YAML nodes than a plan or target can need (anchor/alias bomb?)".into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        items: Vec<String>,
    }

    #[test]
    fn unknown_key_points_at_the_key() {
        let src = Source::new("t.yaml", "name: x\nitemz: []\n");
        let d = parse::<Doc>(&src).unwrap_err();
        assert_eq!(d.location(), "t.yaml:2:1");
        assert!(d.message.contains("unknown field `itemz`"), "{}", d.message);
        assert!(
            d.message.contains("items"),
            "lists expected keys: {}",
            d.message
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let src = Source::new("t.yaml", "name: x\nname: y\nitems: []\n");
        let d = parse::<Doc>(&src).unwrap_err();
        assert_eq!(d.location(), "t.yaml:2:1");
        assert!(d.help.is_some());
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            let list = [prev.as_str(); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{list}]\n"));
        }
        text.push_str("name: x\nitems: []\n");
        let src = Source::new("bomb.yaml", text);
        assert!(parse::<Doc>(&src).is_err());
    }

    #[test]
    fn yes_and_no_are_strings_not_booleans() {
        #[derive(Debug, Deserialize)]
        struct Body {
            json: serde_json::Value,
        }
        let src = Source::new(
            "b.yaml",
            "json: { givenName: No, flag: true, other: off }\n",
        );
        let b: Body = parse(&src).unwrap();
        assert_eq!(b.json["givenName"], "No");
        assert_eq!(b.json["other"], "off");
        assert_eq!(b.json["flag"], true);
    }

    #[test]
    fn nul_bytes_are_binary() {
        let src = Source::new("b.yaml", "name: \0\n");
        let d = parse::<Doc>(&src).unwrap_err();
        assert!(d.message.contains("binary"));
    }
}
