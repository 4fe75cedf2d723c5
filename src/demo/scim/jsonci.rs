//! Case-insensitive access to JSON object keys. SCIM attribute names are case-insensitive
//! (RFC 7643 §2.1), while JSON objects are not; stored documents keep known attributes
//! under their canonical spelling but unknown ones as the client sent them.

use serde_json::{Map, Value};

/// The key actually stored for `name`, if any.
pub fn key<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name))
}

pub fn get<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    key(map, name).and_then(|k| map.get(k))
}

pub fn get_mut<'m>(map: &'m mut Map<String, Value>, name: &str) -> Option<&'m mut Value> {
    let k = key(map, name)?.clone();
    map.get_mut(&k)
}

/// Removes every spelling of `name`, returning the value of one of them.
pub fn remove(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let keys: Vec<String> = map
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    let mut out = None;
    for k in keys {
        out = map.remove(&k).or(out);
    }
    out
}

/// Sets `name` to `value`, replacing any other spelling of it.
pub fn insert(map: &mut Map<String, Value>, name: &str, value: Value) {
    remove(map, name);
    map.insert(name.to_string(), value);
}

/// The object stored under `name`, created (replacing a non-object) if need be.
pub fn object_entry<'m>(map: &'m mut Map<String, Value>, name: &str) -> &'m mut Map<String, Value> {
    let k = key(map, name).cloned().unwrap_or_else(|| name.to_string());
    let slot = map.entry(k).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        // Made an object just above.
        _ => unreachable!("slot was just set to an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_any_case() {
        let Value::Object(mut m) = json!({"userName": "a", "Active": true}) else {
            panic!("object")
        };
        assert_eq!(get(&m, "USERNAME"), Some(&json!("a")));
        insert(&mut m, "active", json!(false));
        assert_eq!(m.get("active"), Some(&json!(false)));
        assert!(!m.contains_key("Active"));
        object_entry(&mut m, "name").insert("givenName".into(), json!("x"));
        assert_eq!(m["name"]["givenName"], "x");
        assert_eq!(remove(&mut m, "NAME"), Some(json!({"givenName": "x"})));
    }
}
