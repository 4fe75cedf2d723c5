//! Stored resource → response JSON: derived attributes (`id`, `meta`, `$ref`s, member
//! names, a user's `groups`), `attributes`/`excludedAttributes` projection, and the
//! ListResponse envelope.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use super::error::{ScimError, ScimResult};
use super::jsonci;
use super::path::AttrPath;
use super::schema::{Kind, LIST_URN};
use super::store::{Resource, Store};
use crate::demo::Breaks;

/// What a rendering needs from the request.
#[derive(Clone, Copy)]
pub struct RenderCtx<'a> {
    /// `http://host:port/scim/v2`, no trailing slash.
    pub base_url: &'a str,
    pub breaks: &'a Breaks,
}

pub fn location(base_url: &str, kind: Kind, id: &str) -> String {
    format!("{base_url}/{}/{id}", kind.endpoint())
}

/// The entity tag of a resource version; `None` when versions are not exposed.
pub fn etag(res: &Resource, breaks: &Breaks) -> Option<String> {
    (!breaks.has("scim-no-etag")).then(|| format!("W/\"{}\"", res.version))
}

fn timestamp(t: time::OffsetDateTime) -> Value {
    // Formatting a UTC time as RFC 3339 cannot fail for years 0..=9999.
    t.format(&Rfc3339).map_or(Value::Null, Value::String)
}

/// The full representation of `res`.
pub fn render(store: &Store, kind: Kind, res: &Resource, ctx: RenderCtx<'_>) -> Map<String, Value> {
    let mut doc = res.attrs.clone();
    doc.insert("id".into(), Value::String(res.id.clone()));
    match kind {
        Kind::User => {
            if !ctx.breaks.has("scim-groups-attr-missing") {
                let groups = user_groups(store, &res.id, ctx.base_url);
                if !groups.is_empty() {
                    doc.insert("groups".into(), Value::Array(groups));
                }
            }
        }
        Kind::Group => {
            if let Some(Value::Array(members)) = jsonci::get_mut(&mut doc, "members") {
                for m in members.iter_mut() {
                    if let Value::Object(m) = m {
                        describe_member(store, m, ctx.base_url);
                    }
                }
            }
        }
    }
    let mut meta = Map::new();
    meta.insert("resourceType".into(), json!(kind.name()));
    meta.insert("created".into(), timestamp(res.created));
    meta.insert("lastModified".into(), timestamp(res.last_modified));
    meta.insert(
        "location".into(),
        json!(location(ctx.base_url, kind, &res.id)),
    );
    if let Some(tag) = etag(res, ctx.breaks) {
        meta.insert("version".into(), json!(tag));
    }
    doc.insert("meta".into(), Value::Object(meta));
    doc
}

/// The groups a user is a direct member of (RFC 7643 §4.1.2, read-only).
fn user_groups(store: &Store, user_id: &str, base_url: &str) -> Vec<Value> {
    store
        .all(Kind::Group)
        .iter()
        .filter(|g| {
            matches!(jsonci::get(&g.attrs, "members"), Some(Value::Array(ms))
                if ms.iter().any(|m| m.get("value").and_then(Value::as_str) == Some(user_id)))
        })
        .map(|g| {
            json!({
                "value": g.id,
                "display": g.str_attr("displayName").unwrap_or_default(),
                "$ref": location(base_url, Kind::Group, &g.id),
                "type": "direct",
            })
        })
        .collect()
}

/// Adds `$ref` and `display` to a stored member `{value, type}`, from the member's
/// current state so renames show up.
fn describe_member(store: &Store, member: &mut Map<String, Value>, base_url: &str) {
    let Some(id) = member
        .get("value")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    let Some(kind) = store.kind_of(&id) else {
        return;
    };
    let display = store.get(kind, &id).and_then(|r| match kind {
        Kind::User => r.str_attr("displayName").or_else(|| r.str_attr("userName")),
        Kind::Group => r.str_attr("displayName"),
    });
    if let Some(d) = display {
        member.insert("display".into(), json!(d));
    }
    member.insert("$ref".into(), json!(location(base_url, kind, &id)));
    member.insert("type".into(), json!(kind.name()));
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5).
#[derive(Debug, Default, Clone)]
pub struct Projection {
    only: Option<Vec<AttrPath>>,
    excluded: Vec<AttrPath>,
}

/// Always returned, whatever the projection asks.
const ALWAYS: &[&str] = &["id", "schemas", "meta"];

fn parse_list(param: &str, raw: &str) -> ScimResult<Vec<AttrPath>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            AttrPath::parse(s).ok_or_else(|| {
                ScimError::invalid_value(format!("`{param}`: invalid attribute name `{s}`"))
            })
        })
        .collect()
}

impl Projection {
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
        breaks: &Breaks,
    ) -> ScimResult<Self> {
        let only = match attributes {
            Some(raw) if !breaks.has("scim-attributes-ignored") => {
                Some(parse_list("attributes", raw)?).filter(|l| !l.is_empty())
            }
            _ => None,
        };
        let excluded = match excluded {
            Some(raw) if !breaks.has("scim-excluded-attributes-ignored") => {
                parse_list("excludedAttributes", raw)?
            }
            _ => Vec::new(),
        };
        Ok(Self { only, excluded })
    }

    pub fn apply(&self, kind: Kind, mut doc: Map<String, Value>) -> Map<String, Value> {
        if let Some(only) = &self.only {
            let sel = Selection::new(kind, only);
            doc = doc
                .into_iter()
                .filter_map(|(k, v)| {
                    if ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&k)) {
                        return Some((k, v));
                    }
                    sel.keep(None, &k, v).map(|v| (k, v))
                })
                .collect();
        }
        if !self.excluded.is_empty() {
            let sel = Selection::new(kind, &self.excluded);
            doc = doc
                .into_iter()
                .filter_map(|(k, v)| {
                    if ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&k)) {
                        return Some((k, v));
                    }
                    sel.drop(None, &k, v).map(|v| (k, v))
                })
                .collect();
        }
        doc
    }
}

impl Projection {
    /// The projection of a document whose attributes are all top-level and simple (a
    /// role): a path selects the key it names when its URN, if given, is `urn`.
    pub fn apply_flat(&self, urn: &str, doc: Map<String, Value>) -> Map<String, Value> {
        let named = |paths: &[AttrPath], key: &str| {
            paths.iter().any(|p| {
                p.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(urn))
                    && p.sub.is_none()
                    && p.attr.eq_ignore_ascii_case(key)
            })
        };
        doc.into_iter()
            .filter(|(k, _)| {
                ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(k))
                    || (self.only.as_deref().is_none_or(|o| named(o, k))
                        && !named(&self.excluded, k))
            })
            .collect()
    }
}

/// Named attributes, grouped by container (`None`: top level) and lowercase name. A
/// `None` sub-attribute set means the whole attribute.
struct Selection(HashMap<Option<String>, HashMap<String, Option<HashSet<String>>>>);

impl Selection {
    fn new(kind: Kind, paths: &[AttrPath]) -> Self {
        let mut map: HashMap<Option<String>, HashMap<String, Option<HashSet<String>>>> =
            HashMap::new();
        for p in paths {
            // Paths into schemas this resource type does not have select nothing.
            let Some(r) = p.resolve(kind) else { continue };
            let entry = map
                .entry(r.container.map(|c| c.to_lowercase()))
                .or_default()
                .entry(r.attr.to_lowercase())
                .or_insert_with(|| Some(HashSet::new()));
            match (r.sub, entry.as_mut()) {
                (Some(sub), Some(subs)) => {
                    subs.insert(sub.to_lowercase());
                }
                (None, _) => *entry = None,
                (Some(_), None) => {}
            }
        }
        Self(map)
    }

    /// How `key` in `container` is selected: not at all, wholly, or some sub-attributes.
    fn lookup(&self, container: Option<&str>, key: &str) -> Option<&Option<HashSet<String>>> {
        self.0
            .get(&container.map(str::to_lowercase))
            .and_then(|m| m.get(&key.to_lowercase()))
    }

    fn has_container(&self, key: &str) -> bool {
        self.0.contains_key(&Some(key.to_lowercase()))
    }

    /// The part of `value` the selection keeps.
    fn keep(&self, container: Option<&str>, key: &str, value: Value) -> Option<Value> {
        match self.lookup(container, key) {
            Some(None) => Some(value),
            Some(Some(subs)) => retain_subs(value, |s| subs.contains(&s.to_lowercase())),
            None if container.is_none() && self.has_container(key) => match value {
                Value::Object(obj) => {
                    let kept: Map<String, Value> = obj
                        .into_iter()
                        .filter_map(|(k, v)| self.keep(Some(key), &k, v).map(|v| (k, v)))
                        .collect();
                    (!kept.is_empty()).then_some(Value::Object(kept))
                }
                _ => None,
            },
            None => None,
        }
    }

    /// What is left of `value` once the selection is removed.
    fn drop(&self, container: Option<&str>, key: &str, value: Value) -> Option<Value> {
        match self.lookup(container, key) {
            Some(None) => None,
            Some(Some(subs)) => retain_subs(value, |s| !subs.contains(&s.to_lowercase())),
            None if container.is_none() && self.has_container(key) => match value {
                Value::Object(obj) => {
                    let kept: Map<String, Value> = obj
                        .into_iter()
                        .filter_map(|(k, v)| self.drop(Some(key), &k, v).map(|v| (k, v)))
                        .collect();
                    (!kept.is_empty()).then_some(Value::Object(kept))
                }
                _ => None,
            },
            None => Some(value),
        }
    }
}

/// Keeps the sub-attributes for which `keep` holds, in an object or in each object of
/// a list; empty results disappear.
fn retain_subs(value: Value, keep: impl Fn(&str) -> bool + Copy) -> Option<Value> {
    let filter_obj = |o: Map<String, Value>| -> Option<Value> {
        let kept: Map<String, Value> = o.into_iter().filter(|(k, _)| keep(k)).collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match value {
        Value::Object(o) => filter_obj(o),
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .into_iter()
                .filter_map(|v| match v {
                    Value::Object(o) => filter_obj(o),
                    other => Some(other),
                })
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => Some(other),
    }
}

/// A ListResponse (RFC 7644 §3.4.2). `Resources` is always present, even when empty,
/// because several clients index into it unconditionally.
pub fn list_response(
    resources: Vec<Value>,
    total: usize,
    start_index: u64,
    breaks: &Breaks,
) -> Value {
    let items = resources.len();
    let number = |n: u64| {
        if breaks.has("scim-pagination-strings") {
            json!(n.to_string())
        } else {
            json!(n)
        }
    };
    json!({
        "schemas": [LIST_URN],
        "totalResults": number(total as u64),
        "startIndex": number(start_index),
        "itemsPerPage": number(items as u64),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::scim::schema::ENTERPRISE_URN;

    fn doc() -> Map<String, Value> {
        match json!({
            "schemas": ["s"],
            "id": "1",
            "meta": {"version": "W/\"1\""},
            "userName": "bob",
            "name": {"givenName": "Bob", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}],
            ENTERPRISE_URN: {"department": "D", "employeeNumber": "7"},
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn project(attrs: Option<&str>, excluded: Option<&str>) -> Value {
        let p = Projection::parse(attrs, excluded, &Breaks::none()).expect("valid");
        Value::Object(p.apply(Kind::User, doc()))
    }

    #[test]
    fn attributes_keep_only_named_plus_always_returned() {
        let out = project(Some("USERNAME, name.givenName,emails.value"), None);
        assert_eq!(
            out,
            json!({
                "schemas": ["s"], "id": "1", "meta": {"version": "W/\"1\""},
                "userName": "bob",
                "name": {"givenName": "Bob"},
                "emails": [{"value": "a@x"}, {"value": "b@x"}],
            })
        );
        let out = project(Some(&format!("{ENTERPRISE_URN}:department")), None);
        assert_eq!(out[ENTERPRISE_URN], json!({"department": "D"}));
        assert!(out.get("userName").is_none());
        let out = project(Some(ENTERPRISE_URN), None);
        assert_eq!(
            out[ENTERPRISE_URN],
            json!({"department": "D", "employeeNumber": "7"})
        );
    }

    #[test]
    fn excluded_attributes_drop_named_but_not_always_returned() {
        let out = project(None, Some("emails,Name.FamilyName,id,meta"));
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"givenName": "Bob"}));
        assert_eq!(out["id"], "1");
        assert!(out.get("meta").is_some());
        let out = project(None, Some(&format!("{ENTERPRISE_URN}:department")));
        assert_eq!(out[ENTERPRISE_URN], json!({"employeeNumber": "7"}));
    }

    #[test]
    fn bad_attribute_names_are_rejected() {
        assert!(Projection::parse(Some("a b"), None, &Breaks::none()).is_err());
        assert!(Projection::parse(None, Some("x..y"), &Breaks::none()).is_err());
    }
}
