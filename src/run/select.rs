//! `--only` / `--skip`: glob patterns over test ids and plan ids.

use globset::{GlobSet, GlobSetBuilder};

use crate::plan::TestCase;

#[derive(Debug, Clone)]
pub struct Selection {
    only: Option<GlobSet>,
    skip: Option<GlobSet>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid pattern `{pattern}`: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl Selection {
    pub fn new(only: &[String], skip: &[String]) -> Result<Self, PatternError> {
        Ok(Self {
            only: build(only)?,
            skip: build(skip)?,
        })
    }

    pub fn all() -> Self {
        Self {
            only: None,
            skip: None,
        }
    }

    /// A test is selected when it matches an `--only` pattern (if any) and no `--skip`
    /// pattern. A pattern matches the test id or its plan id.
    pub fn selects(&self, test: &TestCase) -> bool {
        let hit = |set: &GlobSet| set.is_match(&test.id) || set.is_match(&test.plan_id);
        self.only.as_ref().is_none_or(hit) && !self.skip.as_ref().is_some_and(hit)
    }
}

fn build(patterns: &[String]) -> Result<Option<GlobSet>, PatternError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        // Ids are dotted, not paths: `*` should cross dots, as people expect from
        // `--only 'scim.users.*'` matching `scim.users.create.location`.
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(false)
            .build()
            .map_err(|e| PatternError {
                pattern: p.clone(),
                reason: e.kind().to_string(),
            })?;
        b.add(glob);
    }
    b.build().map(Some).map_err(|e| PatternError {
        pattern: patterns.join(" "),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(id: &str, plan: &str) -> TestCase {
        TestCase {
            id: id.into(),
            plan_id: plan.into(),
            title: String::new(),
            severity: crate::severity::Severity::Required,
            why: String::new(),
            spec: String::new(),
            fix: None,
            sequence: None,
            vars: Vec::new(),
            steps: Vec::new(),
            location: String::new(),
        }
    }

    #[test]
    fn only_and_skip_match_test_and_plan_ids() {
        let s = Selection::new(
            &["scim.users.*".into(), "saml-*".into()],
            &["*.delete".into()],
        )
        .unwrap();
        assert!(
            s.selects(&test("scim.users.create.location", "scim-rfc")),
            "* crosses dots"
        );
        assert!(
            !s.selects(&test("scim.users.delete", "scim-rfc")),
            "--skip wins"
        );
        assert!(
            s.selects(&test("saml.jit.new-user", "saml-idp-initiated")),
            "plan id matches"
        );
        assert!(!s.selects(&test("scim.groups.create", "scim-rfc")));
        assert!(Selection::all().selects(&test("anything", "p")));
        assert!(Selection::new(&["a[b".into()], &[]).is_err());
    }
}
