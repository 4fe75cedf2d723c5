//! The `saml-accept-dtd` and `saml-fetch-external-entities` breaks only: expands the
//! entities of a DOCTYPE, as an SP on a permissive XML parser would, before the project's
//! parser (which refuses DTDs) sees the document. `saml-accept-dtd` fetches nothing
//! (external and parameter entities are refused); `saml-fetch-external-entities` also
//! resolves external entities, but only over plain HTTP to 127.0.0.1 or localhost, with a
//! short timeout and a size cap (see `fetch_loopback`), so that the XXE check can be shown
//! to fail without the reference app ever reaching beyond the machine. Output and work are
//! capped either way.
//!
//! It works on text, not on a tree: entity references are replaced wherever they appear
//! after the DOCTYPE (CDATA sections and comments included). That imprecision only matters
//! in the broken mode and only makes it accept a little more.

use std::borrow::Cow;
use std::collections::HashMap;

/// Most bytes the expanded document may have.
pub const MAX_EXPANDED_BYTES: usize = 4 * 1024 * 1024;
/// Most entity references expanded in total (bounds work when entities expand to nothing).
pub const MAX_EXPANSIONS: usize = 200_000;
/// Most entity declarations in the internal subset.
pub const MAX_ENTITIES: usize = 64;
/// Deepest nesting of entity references inside entity values.
pub const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtdError {
    #[error("external DTD or entity {0:?} refused: nothing is ever fetched")]
    External(String),
    #[error("parameter entities are not supported")]
    ParameterEntity,
    #[error("malformed DOCTYPE: {0}")]
    Malformed(&'static str),
    #[error("more than {MAX_ENTITIES} entity declarations")]
    TooManyEntities,
    #[error("entity expansion exceeds {MAX_EXPANDED_BYTES} bytes")]
    TooLarge,
    #[error("more than {MAX_EXPANSIONS} entity expansions")]
    TooManyExpansions,
    #[error("entity references nested deeper than {MAX_DEPTH} (or recursive)")]
    TooDeep,
}

/// Resolves an external entity's system identifier to its text.
pub type Fetch<'f> = &'f dyn Fn(&str) -> Result<String, DtdError>;

/// The input unchanged if it has no DOCTYPE; otherwise the input without it and with its
/// internal entities expanded.
pub fn expand_internal_entities(input: &str) -> Result<Cow<'_, str>, DtdError> {
    expand_entities(input, None)
}

/// [`expand_internal_entities`], resolving external entities with `fetch` when given.
pub fn expand_entities<'i>(
    input: &'i str,
    fetch: Option<Fetch<'_>>,
) -> Result<Cow<'i, str>, DtdError> {
    let Some(start) = doctype_start(input) else {
        return Ok(Cow::Borrowed(input));
    };
    let (entities, end) = parse_doctype(input, start, fetch)?;
    let mut out = String::with_capacity(input.len());
    out.push_str(&input[..start]);
    let mut budget = Budget { expansions: 0 };
    expand(&input[end..], &entities, 0, &mut out, &mut budget)?;
    Ok(Cow::Owned(out))
}

/// Where `<!DOCTYPE` starts, if it comes in the prolog (before the root element).
fn doctype_start(input: &str) -> Option<usize> {
    let mut i = 0;
    loop {
        let rest = &input[i..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n', '\u{feff}']);
        i += rest.len() - trimmed.len();
        let rest = &input[i..];
        if rest.starts_with("<!DOCTYPE") {
            return Some(i);
        }
        let close = if rest.starts_with("<?") {
            "?>"
        } else if rest.starts_with("<!--") {
            "-->"
        } else {
            return None;
        };
        i += rest.find(close)? + close.len();
    }
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }
    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.i += rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    fn name(&mut self) -> Result<&'a str, DtdError> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '[' | '>' | '"' | '\'' | ']'))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(DtdError::Malformed("a name is missing"));
        }
        self.i += len;
        Ok(&rest[..len])
    }
    fn skip_past(&mut self, lit: &str) -> Result<(), DtdError> {
        let at = self
            .rest()
            .find(lit)
            .ok_or(DtdError::Malformed("unterminated declaration"))?;
        self.i += at + lit.len();
        Ok(())
    }
    fn quoted(&mut self) -> Result<&'a str, DtdError> {
        let rest = self.rest();
        let q = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\''))
            .ok_or(DtdError::Malformed("a quoted value is missing"))?;
        let end = rest[1..]
            .find(q)
            .ok_or(DtdError::Malformed("unterminated quoted value"))?;
        self.i += end + 2;
        Ok(&rest[1..=end])
    }
    /// Skips a markup declaration up to its closing `>`, outside quotes.
    fn skip_decl(&mut self) -> Result<(), DtdError> {
        loop {
            let rest = self.rest();
            match rest.chars().next() {
                None => return Err(DtdError::Malformed("unterminated declaration")),
                Some('>') => {
                    self.i += 1;
                    return Ok(());
                }
                Some('"' | '\'') => {
                    self.quoted()?;
                }
                Some(c) => self.i += c.len_utf8(),
            }
        }
    }
    fn external_id_follows(&self) -> bool {
        self.rest().starts_with("SYSTEM") || self.rest().starts_with("PUBLIC")
    }
    /// `SYSTEM "uri"` or `PUBLIC "id" "uri"`: the system identifier.
    fn external_id(&mut self) -> Result<&'a str, DtdError> {
        if self.eat("PUBLIC") {
            self.skip_ws();
            self.quoted()?;
        } else if !self.eat("SYSTEM") {
            return Err(DtdError::Malformed("SYSTEM or PUBLIC expected"));
        }
        self.skip_ws();
        self.quoted()
    }
}

/// Parses `<!DOCTYPE name [subset]>` at `start`: the declared entities and the end offset.
fn parse_doctype(
    input: &str,
    start: usize,
    fetch: Option<Fetch<'_>>,
) -> Result<(HashMap<String, String>, usize), DtdError> {
    let mut c = Cursor {
        s: input,
        i: start + "<!DOCTYPE".len(),
    };
    c.skip_ws();
    let root = c.name()?;
    c.skip_ws();
    if c.external_id_follows() {
        let Some(fetch) = fetch else {
            return Err(DtdError::External(root.to_string()));
        };
        // The external subset is loaded, as a resolving parser would; its declarations
        // are not interpreted.
        fetch(c.external_id()?)?;
        c.skip_ws();
    }
    let mut entities = HashMap::new();
    let mut parameter_entities = 0usize;
    if c.eat("[") {
        loop {
            c.skip_ws();
            if c.eat("]") {
                break;
            } else if c.eat("<!--") {
                c.skip_past("-->")?;
            } else if c.eat("<?") {
                c.skip_past("?>")?;
            } else if c.eat("<!ENTITY") {
                c.skip_ws();
                if c.rest().starts_with('%') {
                    let Some(fetch) = fetch else {
                        return Err(DtdError::ParameterEntity);
                    };
                    // An external parameter entity: loaded (the blind-XXE channel), its
                    // declarations not interpreted.
                    c.eat("%");
                    c.skip_ws();
                    c.name()?;
                    c.skip_ws();
                    fetch(c.external_id()?)?;
                    c.skip_decl()?;
                    parameter_entities += 1;
                    if parameter_entities > MAX_ENTITIES {
                        return Err(DtdError::TooManyEntities);
                    }
                    continue;
                }
                let name = c.name()?;
                c.skip_ws();
                let fetched;
                let value = if c.external_id_follows() {
                    let Some(fetch) = fetch else {
                        return Err(DtdError::External(name.to_string()));
                    };
                    fetched = fetch(c.external_id()?)?;
                    fetched.as_str()
                } else {
                    c.quoted()?
                };
                if value.contains('%') {
                    return Err(DtdError::ParameterEntity);
                }
                c.skip_ws();
                if !c.eat(">") {
                    return Err(DtdError::Malformed("entity declaration not closed"));
                }
                if entities.len() >= MAX_ENTITIES {
                    return Err(DtdError::TooManyEntities);
                }
                // XML: the first declaration of an entity is binding.
                entities
                    .entry(name.to_string())
                    .or_insert_with(|| value.to_string());
            } else if c.eat("<!ELEMENT") || c.eat("<!ATTLIST") || c.eat("<!NOTATION") {
                c.skip_decl()?;
            } else if c.rest().starts_with('%') && fetch.is_some() && parameter_entities > 0 {
                // A reference to a loaded parameter entity: its content is not interpreted.
                c.skip_past(";")?;
            } else if c.rest().starts_with('%') {
                return Err(DtdError::ParameterEntity);
            } else {
                return Err(DtdError::Malformed(
                    "unexpected content in the internal subset",
                ));
            }
        }
        c.skip_ws();
    }
    if !c.eat(">") {
        return Err(DtdError::Malformed("DOCTYPE not closed"));
    }
    Ok((entities, c.i))
}

struct Budget {
    expansions: usize,
}

/// Copies `text` to `out`, replacing references to declared entities by their expanded
/// values. Predefined entities, character references and unknown names are copied as they
/// are: the XML parser resolves the first two and refuses the last.
fn expand(
    text: &str,
    entities: &HashMap<String, String>,
    depth: usize,
    out: &mut String,
    budget: &mut Budget,
) -> Result<(), DtdError> {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        push_capped(out, &rest[..amp])?;
        let after = &rest[amp + 1..];
        let replacement = after
            .find(';')
            .map(|semi| (&after[..semi], semi))
            .and_then(|(name, semi)| entities.get(name).map(|v| (v, semi)));
        match replacement {
            Some((value, semi)) => {
                budget.expansions += 1;
                if budget.expansions > MAX_EXPANSIONS {
                    return Err(DtdError::TooManyExpansions);
                }
                if depth >= MAX_DEPTH {
                    return Err(DtdError::TooDeep);
                }
                expand(value, entities, depth + 1, out, budget)?;
                rest = &after[semi + 1..];
            }
            None => {
                push_capped(out, "&")?;
                rest = after;
            }
        }
    }
    push_capped(out, rest)
}

/// Most bytes read from an external entity.
const MAX_FETCH_BYTES: usize = 64 * 1024;
/// Connect and read timeout of an external-entity fetch.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Fetches `uri` if it is plain HTTP to 127.0.0.1 or localhost; anything else is refused.
/// Blocking, bounded in time and size: only the `saml-fetch-external-entities` break uses it.
pub fn fetch_loopback(uri: &str) -> Result<String, DtdError> {
    use std::io::{Read as _, Write as _};
    let refused = || DtdError::External(uri.to_string());
    let url = url::Url::parse(uri).map_err(|_| refused())?;
    let host = url.host_str().ok_or_else(refused)?;
    if url.scheme() != "http" || !matches!(host, "127.0.0.1" | "localhost") {
        return Err(refused());
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], url.port().unwrap_or(80)));
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, FETCH_TIMEOUT).map_err(|_| refused())?;
    stream
        .set_read_timeout(Some(FETCH_TIMEOUT))
        .map_err(|_| refused())?;
    stream
        .set_write_timeout(Some(FETCH_TIMEOUT))
        .map_err(|_| refused())?;
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        &url[url::Position::BeforePath..]
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|_| refused())?;
    let mut raw = Vec::new();
    stream
        .take(MAX_FETCH_BYTES as u64)
        .read_to_end(&mut raw)
        .map_err(|_| refused())?;
    let text = String::from_utf8_lossy(&raw);
    Ok(text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_string()))
}

fn push_capped(out: &mut String, s: &str) -> Result<(), DtdError> {
    if out.len() + s.len() > MAX_EXPANDED_BYTES {
        return Err(DtdError::TooLarge);
    }
    out.push_str(s);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_doctype_the_input_is_untouched() {
        let s = "<?xml version=\"1.0\"?><!-- c --><a>&amp;&x;</a>";
        assert!(matches!(expand_internal_entities(s), Ok(Cow::Borrowed(_))));
        // A DOCTYPE-like string after the root element is not a DOCTYPE.
        let s = "<a><![CDATA[<!DOCTYPE x [<!ENTITY e \"v\">]>]]>&e;</a>";
        assert!(matches!(expand_internal_entities(s), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn internal_entities_are_expanded_and_the_doctype_removed() {
        let s = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [\n <!-- c -->\n <!ELEMENT r ANY>\n <!ATTLIST r a CDATA \"x>y\">\n <!ENTITY who 'victim'>\n <!ENTITY mail \"&who;@example.com\">\n]>\n<r a=\"&who;\">&mail;&amp;&#65;&unknown;</r>";
        let out = expand_internal_entities(s).unwrap();
        assert_eq!(
            out,
            "<?xml version=\"1.0\"?>\n\n<r a=\"victim\">victim@example.com&amp;&#65;&unknown;</r>"
        );
    }

    #[test]
    fn external_and_parameter_entities_are_refused() {
        for s in [
            "<!DOCTYPE r SYSTEM \"http://evil.test/x.dtd\"><r/>",
            "<!DOCTYPE r PUBLIC \"-//x\" \"http://evil.test/x.dtd\"><r/>",
            "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
        ] {
            assert!(
                matches!(expand_internal_entities(s), Err(DtdError::External(_))),
                "{s}"
            );
        }
        for s in [
            "<!DOCTYPE r [<!ENTITY % p \"x\">]><r/>",
            "<!DOCTYPE r [%p;]><r/>",
            "<!DOCTYPE r [<!ENTITY e \"%p;\">]><r/>",
        ] {
            assert_eq!(
                expand_internal_entities(s),
                Err(DtdError::ParameterEntity),
                "{s}"
            );
        }
    }

    #[test]
    fn bombs_hit_the_caps() {
        let mut laughs = format!("<!DOCTYPE r [<!ENTITY l0 \"{}\">", "lol".repeat(40));
        for i in 1..8 {
            let p = format!("&l{};", i - 1).repeat(10);
            laughs.push_str(&format!("<!ENTITY l{i} \"{p}\">"));
        }
        laughs.push_str("]><r>&l7;</r>");
        assert_eq!(expand_internal_entities(&laughs), Err(DtdError::TooLarge));

        // Entities expanding to nothing: no output, but bounded work.
        let mut empty = String::from("<!DOCTYPE r [<!ENTITY e0 \"\">");
        for i in 1..8 {
            let p = format!("&e{};", i - 1).repeat(10);
            empty.push_str(&format!("<!ENTITY e{i} \"{p}\">"));
        }
        empty.push_str("]><r>&e7;</r>");
        assert_eq!(
            expand_internal_entities(&empty),
            Err(DtdError::TooManyExpansions)
        );

        let recursive = "<!DOCTYPE r [<!ENTITY a \"&b;\"><!ENTITY b \"&a;\">]><r>&a;</r>";
        assert_eq!(expand_internal_entities(recursive), Err(DtdError::TooDeep));

        let many: String = (0..=MAX_ENTITIES)
            .map(|i| format!("<!ENTITY e{i} \"x\">"))
            .collect();
        let many = format!("<!DOCTYPE r [{many}]><r/>");
        assert_eq!(
            expand_internal_entities(&many),
            Err(DtdError::TooManyEntities)
        );
    }

    #[test]
    fn malformed_doctypes_are_errors_not_panics() {
        for s in [
            "<!DOCTYPE",
            "<!DOCTYPE r [",
            "<!DOCTYPE r [<!ENTITY e \"x>",
            "<!DOCTYPE r [<!ENTITY e \"x\"",
            "<!DOCTYPE r [<!ELEMENT r",
            "<!DOCTYPE r [junk]><r/>",
            "<!DOCTYPE r [] junk><r/>",
            "<!DOCTYPE r [<!-- ]><r/>",
            "<!DOCTYPE é [<!ENTITY é 'ü'>]><r>&é;</r>",
        ] {
            let _ = expand_internal_entities(s);
        }
        assert_eq!(
            expand_internal_entities("<!DOCTYPE é [<!ENTITY é 'ü'>]><r>&é;</r>").unwrap(),
            "<r>ü</r>"
        );
    }
}
