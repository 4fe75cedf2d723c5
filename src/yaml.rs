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
    let text =
        String::from_utf8(bytes).map_err(|e| not_utf8(&name, e.as_bytes(), e.utf8_error()))?;
    Ok(Source::new(name, text))
}

/// Points at the first byte that is not UTF-8 (Latin-1 `é` is the usual culprit), quoting
/// the line with the bad bytes shown as U+FFFD.
fn not_utf8(name: &str, bytes: &[u8], err: std::str::Utf8Error) -> Diagnostic {
    let offset = err.valid_up_to();
    let message = format!(
        "file is not valid UTF-8 (first bad byte 0x{:02x} at offset {offset}); expected UTF-8 text (re-save the file as UTF-8)",
        bytes.get(offset).copied().unwrap_or_default()
    );
    let source = Source::new(name, String::from_utf8_lossy(bytes).into_owned());
    Diagnostic::at(&source, Some(byte_position(bytes, offset)), message)
}

/// The 1-based line and column (in characters) of byte `offset`, counting only the valid
/// UTF-8 before it.
fn byte_position(bytes: &[u8], offset: usize) -> Position {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u64
        + 1;
    Position { line, column }
}

/// Parses `source` into `T`. Unknown keys, duplicate keys and budget breaches are errors.
pub fn parse<T: DeserializeOwned>(source: &Source) -> Result<T, Diagnostic> {
    if source.text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::file(
            &source.name,
            format!("more than the {MAX_FILE_BYTES} byte limit for plans and targets"),
        ));
    }
    if let Some(offset) = source.text.find('\0') {
        return Err(Diagnostic::at(
            source,
            Some(byte_position(source.text.as_bytes(), offset)),
            "file contains NUL bytes: binary data, expected YAML text",
        ));
    }
    if source
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(Diagnostic::file(
            &source.name,
            "file is empty: expected a YAML mapping (`name: ...` for a target, `plan: ...` for a plan)",
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
    let (message, defined_at) = strip_location_suffix(&plain);
    let help = help_for(&message).or_else(|| {
        defined_at.map(|at| format!("the value comes from the anchor defined at {at}"))
    });
    let diag = Diagnostic::at(source, position, message);
    match help {
        Some(h) => diag.with_help(h),
        None => diag,
    }
}

/// serde-saphyr appends " at line L, column C" and, for values reached through an alias,
/// " (defined at line L, column C) (used at line L, column C)"; we print the position
/// ourselves. Returns the message and where an aliased value was defined.
fn strip_location_suffix(message: &str) -> (String, Option<String>) {
    let mut text = message.lines().next().unwrap_or(message).trim_end();
    let mut defined_at = None;
    loop {
        if let Some(rest) = text.strip_suffix(')')
            && let Some(open) = rest.rfind(" (")
        {
            let inner = &rest[open + 2..];
            if let Some(at) = inner.strip_prefix("defined at ") {
                defined_at = Some(at.to_string());
                text = rest[..open].trim_end();
                continue;
            }
            if inner.starts_with("used at line ") {
                text = rest[..open].trim_end();
                continue;
            }
        }
        break;
    }
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if let Some(i) = text.rfind(" at line ")
        && let Some((line, column)) = text[i + 9..].split_once(", column ")
        && numeric(line)
        && numeric(column)
    {
        text = &text[..i];
    }
    (text.to_string(), defined_at)
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
    if message.contains("recursion limit") {
        return Some(
            "values are nested deeper than a plan or target can need (at most 64 levels)".into(),
        );
    }
    if message.contains("untagged enum StatusExpect") {
        return Some(
            "expected an HTTP status code (`201`) or a list of codes (`[200, 204]`)".into(),
        );
    }
    for (marker, expected) in [
        ("invalid u", "expected a whole number, 0 or more"),
        ("invalid i", "expected a whole number"),
        ("invalid floating point", "expected a number"),
        (
            "expected sequence start",
            "expected a list here (`[a, b]` or `- item` lines)",
        ),
        (
            "expected mapping start",
            "expected a mapping here (`key: value` lines or `{ key: value }`)",
        ),
    ] {
        if message.starts_with(marker) {
            return Some(expected.into());
        }
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
    fn alias_suffixes_are_stripped_whole() {
        let (m, at) = strip_location_suffix(
            "expected string scalar (defined at line 5, column 17) (used at line 8, column 18)",
        );
        assert_eq!(m, "expected string scalar");
        assert_eq!(at.as_deref(), Some("line 5, column 17"));
        let (m, at) = strip_location_suffix("unknown field `x` at line 2, column 1");
        assert_eq!(m, "unknown field `x`");
        assert_eq!(at, None);
    }

    #[test]
    fn type_errors_say_what_is_expected() {
        let src = Source::new("t.yaml", "name: x\nitems: notalist\n");
        let d = parse::<Doc>(&src).unwrap_err();
        assert_eq!(d.location(), "t.yaml:2:8");
        assert!(d.help.unwrap().contains("expected a list"));
    }

    #[test]
    fn empty_file_says_what_is_expected() {
        let d = parse::<Doc>(&Source::new("t.yaml", "# nothing\n\n")).unwrap_err();
        assert!(d.message.contains("file is empty"), "{}", d.message);
    }

    #[test]
    fn latin1_points_at_the_bad_byte() {
        let bytes = b"name: x\ntitle: Caf\xe9\n".to_vec();
        let err = String::from_utf8(bytes.clone()).unwrap_err();
        let d = not_utf8("l.yaml", &bytes, err.utf8_error());
        assert_eq!(d.location(), "l.yaml:2:11");
        assert!(d.message.contains("0xe9"), "{}", d.message);
        assert!(d.to_string().contains("title: Caf\u{fffd}"));
    }

    #[test]
    fn nul_bytes_are_binary() {
        let src = Source::new("b.yaml", "name: \0\n");
        let d = parse::<Doc>(&src).unwrap_err();
        assert!(d.message.contains("binary"));
    }
}
