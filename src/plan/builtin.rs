//! Built-in plans, embedded so an installed binary works outside the repository.

use crate::diag::Source;

/// (file name, text) of every built-in plan, in the order they run.
const PLANS: &[(&str, &str)] = &[
    (
        "scim-okta.yaml",
        include_str!("../../test-plans/scim-okta.yaml"),
    ),
    (
        "scim-rfc.yaml",
        include_str!("../../test-plans/scim-rfc.yaml"),
    ),
    (
        "scim-entra.yaml",
        include_str!("../../test-plans/scim-entra.yaml"),
    ),
    (
        "saml-sp-initiated.yaml",
        include_str!("../../test-plans/saml-sp-initiated.yaml"),
    ),
    (
        "saml-idp-initiated.yaml",
        include_str!("../../test-plans/saml-idp-initiated.yaml"),
    ),
    (
        "saml-deprovisioning.yaml",
        include_str!("../../test-plans/saml-deprovisioning.yaml"),
    ),
    (
        "saml-security.yaml",
        include_str!("../../test-plans/saml-security.yaml"),
    ),
];

/// Every built-in plan as a [`Source`] named `builtin:FILE`.
pub fn all() -> Vec<Source> {
    PLANS
        .iter()
        .map(|(name, text)| Source::new(format!("builtin:{name}"), *text))
        .collect()
}

/// The file names, for help texts.
pub fn names() -> Vec<&'static str> {
    PLANS
        .iter()
        .map(|(n, _)| n.trim_end_matches(".yaml"))
        .collect()
}

/// A built-in plan by file name, with or without `.yaml`, or with a `builtin:` prefix.
pub fn find(name: &str) -> Option<Source> {
    let name = name.strip_prefix("builtin:").unwrap_or(name);
    let name = name.strip_suffix(".yaml").unwrap_or(name);
    PLANS
        .iter()
        .find(|(file, _)| file.trim_end_matches(".yaml") == name)
        .map(|(file, text)| Source::new(format!("builtin:{file}"), *text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_plan_loads() {
        let mut plans = Vec::new();
        for src in super::all() {
            match crate::plan::load_plan_source(&src) {
                Ok(p) => plans.push(p),
                Err(d) => panic!("{d}"),
            }
        }
        crate::plan::load::check_unique_ids(&plans).unwrap();
    }
}
