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
