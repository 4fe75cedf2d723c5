//! Break switches: each one turns off exactly one correct behaviour of the reference app,
//! so that every built-in check can be shown to fail on a broken app.

use std::collections::BTreeSet;
use std::sync::Arc;

/// One switch, as listed by `oinspect demo --list-breaks`.
#[derive(Debug, Clone, Copy)]
pub struct BreakInfo {
    /// The name given to `--break`.
    pub name: &'static str,
    /// What the switch breaks, in one line.
    pub summary: &'static str,
}

/// The set of switches turned on for one reference-app instance. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Breaks(Arc<BTreeSet<String>>);

#[derive(Debug, thiserror::Error)]
#[error("unknown break switch `{name}` (see `oinspect demo --list-breaks`)")]
pub struct UnknownBreak {
    pub name: String,
}

impl Breaks {
    /// No switch on: the app behaves correctly.
    pub fn none() -> Self {
        Self::default()
    }

    /// Validates every name against [`super::catalogue`].
    pub fn from_names<I, S>(names: I) -> Result<Self, UnknownBreak>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let known = super::catalogue();
        let mut set = BTreeSet::new();
        for name in names {
            let name = name.as_ref();
            if !known.iter().any(|b| b.name == name) {
                return Err(UnknownBreak {
                    name: name.to_string(),
                });
            }
            set.insert(name.to_string());
        }
        Ok(Self(Arc::new(set)))
    }

    /// Whether the switch `name` is on. Names are checked at construction, so a typo in
    /// app code shows up in the unit test that compares the catalogue with its uses.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Test support: the switches of one part of the reference app (`prefix`: `scim-`, `saml-`)
/// are well formed, each is checked in exactly one place of `code` and has a test in
/// `tests`, every switch the code checks is catalogued, and the app-wide catalogue lists
/// them all. One switch, one behaviour: that is what makes the break matrix meaningful.
#[cfg(test)]
pub(crate) fn assert_catalogue(prefix: &str, breaks: &[BreakInfo], code: &str, tests: &str) {
    let mut seen = std::collections::HashSet::new();
    for b in breaks {
        assert!(seen.insert(b.name), "duplicate switch {}", b.name);
        assert!(
            b.name.starts_with(prefix)
                && b.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} is not kebab-case with the {prefix} prefix",
            b.name
        );
        assert!(!b.summary.is_empty(), "{} has no summary", b.name);
        let uses = code.matches(&format!("has(\"{}\")", b.name)).count();
        assert_eq!(uses, 1, "{} is checked in {uses} places", b.name);
        assert!(
            tests.contains(&format!("\"{}\"", b.name)),
            "{} has no test",
            b.name
        );
    }
    for (i, _) in code.match_indices(&format!("has(\"{prefix}")) {
        let name = code[i + 5..].split('"').next().unwrap_or_default();
        assert!(seen.contains(name), "{name} is used but not catalogued");
    }
    let all = super::catalogue();
    for b in breaks {
        assert!(
            all.iter().any(|c| c.name == b.name),
            "{} is not in demo::catalogue()",
            b.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &[BreakInfo] = &[BreakInfo {
        name: "scim-create-200",
        summary: "s",
    }];

    #[test]
    #[should_panic(expected = "checked in 2 places")]
    fn a_switch_checked_twice_is_refused() {
        let code = r#"b.has("scim-create-200"); b.has("scim-create-200");"#;
        assert_catalogue("scim-", ONE, code, r#""scim-create-200""#);
    }

    #[test]
    #[should_panic(expected = "used but not catalogued")]
    fn an_uncatalogued_switch_is_refused() {
        let code = r#"b.has("scim-create-200"); b.has("scim-made-up");"#;
        assert_catalogue("scim-", ONE, code, r#""scim-create-200""#);
    }

    #[test]
    fn unknown_names_are_refused_at_construction() {
        assert!(Breaks::from_names(["no-such-switch"]).is_err());
        assert!(
            Breaks::from_names(["scim-create-200"])
                .unwrap()
                .has("scim-create-200")
        );
    }
}
