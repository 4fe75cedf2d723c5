//! Roles, as Okta's entitlement management reads them: a fixed, read-only catalogue
//! served at `/Roles` (resource type `Role`, schema `urn:okta:scim:schemas:core:1.0:Role`),
//! and a user's `roles` (RFC 7643 §4.1.2), whose values must name catalogue roles.

use serde_json::{Map, Value, json};

use super::error::{ScimError, ScimResult, ScimType};
use super::jsonci;
use super::render::{Projection, RenderCtx};
use super::schema::ROLE_URN;
use super::service::{ListQuery, page_window};
use crate::demo::Breaks;

/// The resource type name, as in `meta.resourceType`.
pub const RESOURCE_TYPE: &str = "Role";
/// The path segment under the base URL.
pub const ENDPOINT: &str = "Roles";

#[derive(Debug)]
pub struct Role {
    pub id: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
}

/// The roles this server offers, in the order lists serve them.
pub const CATALOGUE: &[Role] = &[
    Role {
        id: "admin",
        display_name: "Administrator",
        description: "Manages the whole tenant, its users and their roles.",
    },
    Role {
        id: "editor",
        display_name: "Editor",
        description: "Creates and changes content.",
    },
    Role {
        id: "viewer",
        display_name: "Viewer",
        description: "Reads content.",
    },
];

/// Whether `/Roles` and its discovery entries exist. Every place that serves or
/// advertises roles asks here, so the endpoint and its discovery cannot disagree.
pub fn served(breaks: &Breaks) -> bool {
    !breaks.has("scim-roles-endpoint-missing")
}

/// The catalogue role a user's `roles[].value` names. RFC 7643 §8.7.1 makes that value
/// caseExact=false, so `Admin` (as Entra's app roles are often spelled) names `admin`.
pub fn by_value(value: &str) -> Option<&'static Role> {
    CATALOGUE.iter().find(|r| r.id.eq_ignore_ascii_case(value))
}

pub fn location(base_url: &str, id: &str) -> String {
    format!("{base_url}/{ENDPOINT}/{id}")
}

fn render(role: &Role, base_url: &str) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([ROLE_URN]));
    doc.insert("id".into(), json!(role.id));
    doc.insert("displayName".into(), json!(role.display_name));
    doc.insert("description".into(), json!(role.description));
    doc.insert(
        "meta".into(),
        json!({"resourceType": RESOURCE_TYPE, "location": location(base_url, role.id)}),
    );
    doc
}

fn endpoint_missing() -> ScimError {
    ScimError::not_found("no such endpoint")
}

/// `GET /Roles`: the catalogue, paged like every list. Filtering is refused rather than
/// ignored, so a client never takes the whole catalogue for the roles it asked for.
pub fn list(q: &ListQuery, ctx: RenderCtx<'_>) -> ScimResult<Value> {
    if !served(ctx.breaks) {
        return Err(endpoint_missing());
    }
    if q.filter.as_deref().is_some_and(|f| !f.trim().is_empty()) {
        return Err(ScimError::bad_request(
            ScimType::InvalidFilter,
            "/Roles does not support filtering; page through it with startIndex and count",
        ));
    }
    let (start_index, count) = page_window(q);
    let total = CATALOGUE.len();
    // Okta's entitlement import asks for count=1 and checks itemsPerPage == 1.
    let take = if ctx.breaks.has("scim-roles-count-ignored") {
        total
    } else {
        usize::try_from(count).unwrap_or(usize::MAX)
    };
    let page: Vec<Value> = CATALOGUE
        .iter()
        .skip(usize::try_from(start_index - 1).unwrap_or(usize::MAX))
        .take(take)
        .map(|r| Value::Object(q.projection.apply_flat(ROLE_URN, render(r, ctx.base_url))))
        .collect();
    Ok(super::render::list_response(
        page,
        total,
        start_index,
        ctx.breaks,
    ))
}

/// `GET /Roles/{id}`; ids are caseExact, like every `id`.
pub fn get(id: &str, projection: &Projection, ctx: RenderCtx<'_>) -> ScimResult<Value> {
    if !served(ctx.breaks) {
        return Err(endpoint_missing());
    }
    let role = CATALOGUE
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ScimError::not_found(format!("Role {id} not found")))?;
    Ok(Value::Object(
        projection.apply_flat(ROLE_URN, render(role, ctx.base_url)),
    ))
}

/// Every value of a user's (conformed) `roles` names a catalogue role: an app that
/// stored any string would grant nothing, and the client would never learn why.
pub fn check_assignments(attrs: &Map<String, Value>) -> ScimResult<()> {
    let Some(Value::Array(roles)) = jsonci::get(attrs, "roles") else {
        return Ok(());
    };
    for role in roles {
        let value = role
            .as_object()
            .and_then(|o| jsonci::get(o, "value"))
            .and_then(Value::as_str)
            .ok_or_else(|| ScimError::invalid_value("each role needs a string `value`"))?;
        if by_value(value).is_none() {
            let known: Vec<&str> = CATALOGUE.iter().map(|r| r.id).collect();
            return Err(ScimError::invalid_value(format!(
                "unknown role `{value}`; GET /{ENDPOINT} lists the roles ({})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn assignments_must_name_catalogue_roles() {
        let ok = attrs(json!({"roles": [{"value": "admin"}, {"value": "Viewer"}]}));
        assert!(check_assignments(&ok).is_ok());
        assert!(check_assignments(&attrs(json!({}))).is_ok());
        for bad in [
            json!({"roles": [{"value": "root"}]}),
            json!({"roles": [{"display": "Administrator"}]}),
            json!({"roles": [{"value": 1}]}),
        ] {
            let e = check_assignments(&attrs(bad.clone())).expect_err(&bad.to_string());
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        }
    }

    #[test]
    fn catalogue_ids_are_unique_and_lowercase() {
        for (i, r) in CATALOGUE.iter().enumerate() {
            assert_eq!(r.id, r.id.to_lowercase());
            assert!(CATALOGUE[..i].iter().all(|o| o.id != r.id));
        }
    }
}
