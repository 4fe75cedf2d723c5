//! Attribute paths (`[URN ":"] attr ["." sub]`, RFC 7644 §3.10) and where they point in
//! a stored document.

use super::schema::{self, AttrDef, Kind};

/// A parsed attribute path; names keep the client's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// Schema URN prefix, canonical spelling when the URN is known.
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

/// Where a path's attribute lives in a stored document.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `None`: a top-level key; `Some(urn)`: a key inside the extension object `urn`.
    pub container: Option<String>,
    /// The key, in canonical spelling when the attribute is known.
    pub attr: String,
    pub def: Option<&'static AttrDef>,
    pub sub: Option<String>,
    pub sub_def: Option<&'static AttrDef>,
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

impl AttrPath {
    /// Parses `s`; `None` when it is not a valid path.
    pub fn parse(s: &str) -> Option<Self> {
        let (urn, rest) = split_urn(s)?;
        let Some(rest) = rest else {
            // The path is a bare known URN: the extension object as a whole.
            return Some(Self {
                urn: None,
                attr: urn?,
                sub: None,
            });
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
            return None;
        }
        Some(Self {
            urn,
            attr: attr.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// Finds the attribute's place in a `kind` document. `None` when the path names a
    /// schema that `kind` does not have (a Group attribute on a User).
    pub fn resolve(&self, kind: Kind) -> Option<Resolved> {
        let (container, attr, def) = match &self.urn {
            None => match kind.extension(&self.attr) {
                Some(ext) => (None, ext.id.to_string(), Some(&ext.as_attribute)),
                // A bare schema URN that is not one of this kind's extensions.
                None if schema::schema_by_urn(&self.attr).is_some() => return None,
                None => {
                    let def = kind.core_attr(&self.attr);
                    (None, canonical(def, &self.attr), def)
                }
            },
            Some(urn) if urn.eq_ignore_ascii_case(kind.core().id) => {
                let def = kind.core_attr(&self.attr);
                (None, canonical(def, &self.attr), def)
            }
            Some(urn) => match kind.extension(urn) {
                Some(ext) => {
                    let def = ext
                        .attributes
                        .iter()
                        .find(|d| d.name.eq_ignore_ascii_case(&self.attr));
                    (Some(ext.id.to_string()), canonical(def, &self.attr), def)
                }
                // A schema of this server that this resource type does not use.
                None if schema::schema_by_urn(urn).is_some() => return None,
                // Unknown extensions round-trip as opaque objects.
                None => (Some(urn.clone()), self.attr.clone(), None),
            },
        };
        let sub_def = match (&self.sub, def) {
            (Some(s), Some(d)) => d.sub_attr(s),
            _ => None,
        };
        let sub = self
            .sub
            .as_ref()
            .map(|s| sub_def.map_or_else(|| s.clone(), |d| d.name.to_string()));
        Some(Resolved {
            container,
            attr,
            def,
            sub,
            sub_def,
        })
    }
}

fn canonical(def: Option<&AttrDef>, given: &str) -> String {
    def.map_or_else(|| given.to_string(), |d| d.name.to_string())
}

/// Splits a URN prefix off `s`. Returns `(urn, rest)`; `rest` is `None` when `s` is
/// exactly a known URN. `None` overall for a malformed URN path.
fn split_urn(s: &str) -> Option<(Option<String>, Option<&str>)> {
    if !s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return Some((None, Some(s)));
    }
    for known in schema::KNOWN_URNS {
        let Some(head) = s.get(..known.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(known) {
            continue;
        }
        let tail = &s[known.len()..];
        if tail.is_empty() {
            return Some((Some((*known).to_string()), None));
        }
        if let Some(rest) = tail.strip_prefix(':') {
            return Some((Some((*known).to_string()), Some(rest)));
        }
    }
    // Unknown URN: the attribute is whatever follows the last colon.
    let (urn, rest) = s.rsplit_once(':')?;
    (urn.len() > 4).then_some((Some(urn.to_string()), Some(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::scim::schema::{ENTERPRISE_URN, USER_URN};

    fn p(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn parses_plain_sub_and_urn_paths() {
        assert_eq!(p("userName").attr, "userName");
        let name = p("name.givenName");
        assert_eq!(
            (name.attr.as_str(), name.sub.as_deref()),
            ("name", Some("givenName"))
        );
        let dept = p(&format!("{}:department", ENTERPRISE_URN.to_lowercase()));
        assert_eq!(dept.urn.as_deref(), Some(ENTERPRISE_URN));
        assert_eq!(dept.attr, "department");
        let mgr = p(&format!("{ENTERPRISE_URN}:manager.value"));
        assert_eq!(mgr.sub.as_deref(), Some("value"));
        let core = p(&format!("{USER_URN}:name.familyName"));
        assert_eq!(core.urn.as_deref(), Some(USER_URN));
        assert_eq!(p(ENTERPRISE_URN).attr, ENTERPRISE_URN);
        assert_eq!(p("members.$ref").sub.as_deref(), Some("$ref"));
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in ["", "1abc", "a.b.c", "name.", "emails[", "a b", "urn:x"] {
            assert!(AttrPath::parse(bad).is_none(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn resolves_into_containers() {
        let r = p(&format!("{ENTERPRISE_URN}:Department"))
            .resolve(Kind::User)
            .expect("resolves");
        assert_eq!(r.container.as_deref(), Some(ENTERPRISE_URN));
        assert_eq!(r.attr, "department");
        let r = p("NAME.GIVENNAME").resolve(Kind::User).expect("resolves");
        assert_eq!(
            (r.attr.as_str(), r.sub.as_deref()),
            ("name", Some("givenName"))
        );
        assert!(r.sub_def.is_some());
        assert!(
            p(&format!("{USER_URN}:userName"))
                .resolve(Kind::Group)
                .is_none()
        );
        assert!(p(USER_URN).resolve(Kind::User).is_none());
        let unknown = p("urn:acme:ext:1.0:badge")
            .resolve(Kind::User)
            .expect("opaque");
        assert_eq!(unknown.container.as_deref(), Some("urn:acme:ext:1.0"));
    }
}
