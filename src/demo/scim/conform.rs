//! Schema-driven checking of resource bodies (POST, PUT, and the document a PATCH
//! produces): types are checked, known attribute names take their canonical spelling,
//! readOnly and never-returned values are dropped (RFC 7643 §7), and the lenient shapes
//! Entra sends (`"False"`, a manager given as a bare id) are normalised. Unknown
//! attributes are kept as sent, so vendor-specific data round-trips.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{ScimError, ScimResult};
use super::schema::{self, AttrDef, AttrType, Kind, Mutability, Returned};
use crate::demo::Breaks;

/// Returns the normalised body, with a `schemas` list that names exactly the core
/// schema, the extensions present, and any unknown extension URNs the client declared.
pub fn conform(
    kind: Kind,
    body: Map<String, Value>,
    breaks: &Breaks,
) -> ScimResult<Map<String, Value>> {
    let mut out = Map::new();
    let mut declared = Vec::new();
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            declared = declared_schemas(kind, &value, breaks)?;
            continue;
        }
        if let Some(ext) = kind.extension(&key) {
            if breaks.has("scim-enterprise-dropped") {
                continue;
            }
            match value {
                Value::Null => {}
                Value::Object(obj) => {
                    let obj = conform_object(ext.attributes, obj, breaks)?;
                    if !obj.is_empty() {
                        out.insert(ext.id.to_string(), Value::Object(obj));
                    }
                }
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "`{}` must be an object",
                        ext.id
                    )));
                }
            }
            continue;
        }
        match kind.core_attr(&key) {
            Some(def) => {
                if let Some(v) = conform_attr(def, value, breaks)? {
                    out.insert(def.name.to_string(), v);
                }
            }
            None if value.is_null() => {}
            // Another resource type's schema (EnterpriseUser data on a Group).
            None if schema::schema_by_urn(&key).is_some() => {
                return Err(ScimError::invalid_value(format!(
                    "schema `{key}` does not apply to a {}",
                    kind.name()
                )));
            }
            None => {
                out.insert(key, value);
            }
        }
    }
    let mut schemas = vec![Value::from(kind.core().id)];
    for ext in kind.extensions() {
        if out.contains_key(ext.id) {
            schemas.push(Value::from(ext.id));
        }
    }
    for urn in declared {
        if schema::schema_by_urn(&urn).is_none() && !schemas.iter().any(|s| s == &urn) {
            schemas.push(Value::from(urn));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    Ok(out)
}

fn declared_schemas(kind: Kind, value: &Value, breaks: &Breaks) -> ScimResult<Vec<String>> {
    let bad = || ScimError::invalid_value("`schemas` must be an array of URI strings");
    let Value::Array(items) = value else {
        return Err(bad());
    };
    let mut out = Vec::new();
    for item in items {
        let urn = item.as_str().ok_or_else(bad)?;
        let foreign = schema::schema_by_urn(urn).is_some_and(|s| {
            !s.id.eq_ignore_ascii_case(kind.core().id) && kind.extension(s.id).is_none()
        });
        if foreign {
            return Err(ScimError::invalid_value(format!(
                "schema `{urn}` does not apply to a {}",
                kind.name()
            )));
        }
        // Unknown URNs are tolerated: Entra declares its own (`.../ADSCIM/2.0/Group`) in
        // every create, so refusing them refuses everything Entra provisions.
        let unknown = schema::schema_by_urn(urn).is_none();
        if unknown && breaks.has("scim-unknown-schema-urn-rejected") {
            return Err(ScimError::invalid_value(format!("unknown schema `{urn}`")));
        }
        out.push(urn.to_string());
    }
    Ok(out)
}

/// `None`: the attribute ends up unassigned.
fn conform_attr(def: &AttrDef, value: Value, breaks: &Breaks) -> ScimResult<Option<Value>> {
    if value.is_null() || def.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    if def.returned == Returned::Never && !breaks.has("scim-password-returned") {
        // Write-only secrets are not kept at all: nothing here could check them, and
        // what is not stored cannot leak.
        return Ok(None);
    }
    if !def.multi {
        return conform_single(def, value, breaks);
    }
    // A lone value where a list is expected is taken as a one-element list.
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = conform_single(def, item, breaks)? {
            out.push(v);
        }
    }
    // An empty list is the same state as no value (RFC 7643 §2.5).
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn conform_single(def: &AttrDef, value: Value, breaks: &Breaks) -> ScimResult<Option<Value>> {
    let wrong =
        |want: &str| ScimError::invalid_value(format!("attribute `{}` must be {want}", def.name));
    let v = match (def.ty, value) {
        (_, Value::Null) => return Ok(None),
        (AttrType::Complex, Value::Object(obj)) => {
            let obj = conform_object(def.sub, obj, breaks)?;
            if obj.is_empty() {
                return Ok(None);
            }
            Value::Object(obj)
        }
        // Entra sends `manager` as the bare id: read it as `{"value": id}`.
        (AttrType::Complex, Value::String(s)) if def.sub_attr("value").is_some() => {
            let mut obj = Map::new();
            obj.insert("value".into(), Value::String(s));
            Value::Object(obj)
        }
        (AttrType::Complex, _) => return Err(wrong("an object")),
        (AttrType::Boolean, Value::Bool(b)) => Value::Bool(b),
        (AttrType::Boolean, Value::String(s))
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
        {
            // Entra sends booleans as "True"/"False".
            if breaks.has("scim-string-booleans-rejected") {
                return Err(wrong("a boolean"));
            }
            Value::Bool(s.eq_ignore_ascii_case("true"))
        }
        (AttrType::Boolean, _) => return Err(wrong("a boolean")),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(s)) => {
            Value::String(s)
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => {
            return Err(wrong("a string"));
        }
        (AttrType::DateTime, Value::String(s)) if OffsetDateTime::parse(&s, &Rfc3339).is_ok() => {
            Value::String(s)
        }
        (AttrType::DateTime, _) => return Err(wrong("an xsd:dateTime string")),
    };
    Ok(Some(v))
}

fn conform_object(
    defs: &'static [AttrDef],
    obj: Map<String, Value>,
    breaks: &Breaks,
) -> ScimResult<Map<String, Value>> {
    let mut out = Map::new();
    for (key, value) in obj {
        match defs.iter().find(|d| d.name.eq_ignore_ascii_case(&key)) {
            Some(def) => {
                if let Some(v) = conform_attr(def, value, breaks)? {
                    out.insert(def.name.to_string(), v);
                }
            }
            None if value.is_null() => {}
            None => {
                out.insert(key, value);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::scim::schema::{ENTERPRISE_URN, USER_URN};
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn run(v: Value) -> ScimResult<Value> {
        conform(Kind::User, obj(v), &Breaks::none()).map(Value::Object)
    }

    #[test]
    fn canonicalises_drops_read_only_and_keeps_unknown() {
        let out = run(json!({
            "USERNAME": "Bob",
            "id": "x", "meta": {"version": "1"}, "groups": [{"value": "g"}],
            "password": "hunter2",
            "Name": {"GivenName": "Bob", "nickname": "bobby"},
            "customThing": {"a": 1},
            "active": "False",
            "emails": {"value": "b@x", "PRIMARY": "true"},
            ENTERPRISE_URN: {"manager": "m-1", "department": "R&D"},
        }))
        .expect("valid");
        assert_eq!(
            out,
            json!({
                "schemas": [USER_URN, ENTERPRISE_URN],
                "userName": "Bob",
                "name": {"givenName": "Bob", "nickname": "bobby"},
                "customThing": {"a": 1},
                "active": false,
                "emails": [{"value": "b@x", "primary": true}],
                ENTERPRISE_URN: {"manager": {"value": "m-1"}, "department": "R&D"},
            })
        );
    }

    #[test]
    fn rejects_wrong_types() {
        for bad in [
            json!({"userName": 5}),
            json!({"active": "maybe"}),
            json!({"active": 1}),
            json!({"name": "Bob"}),
            json!({"emails": [{"primary": "yes"}]}),
            json!({"schemas": "x"}),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}),
            json!({ENTERPRISE_URN: "x"}),
        ] {
            let e = run(bad.clone()).expect_err(&bad.to_string());
            assert_eq!(
                e.scim_type,
                Some(super::super::error::ScimType::InvalidValue)
            );
        }
    }

    #[test]
    fn foreign_schema_data_is_rejected() {
        let body = obj(json!({"displayName": "G", ENTERPRISE_URN: {"department": "x"}}));
        assert!(conform(Kind::Group, body, &Breaks::none()).is_err());
    }

    #[test]
    fn unknown_extension_urns_are_kept() {
        let out = run(json!({"schemas": [USER_URN, "urn:acme:1.0"], "urn:acme:1.0": {"x": 1}}))
            .expect("valid");
        assert_eq!(out["schemas"], json!([USER_URN, "urn:acme:1.0"]));
        assert_eq!(out["urn:acme:1.0"], json!({"x": 1}));
    }
}
