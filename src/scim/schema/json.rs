//! JSON access with SCIM semantics: attribute names are case-insensitive (RFC 7643 §2.1) and a
//! `null` value is the same as an absent attribute (RFC 7643 §2.5).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde_json::{Map, Value};

use super::report::{Actual, Report, child};
use super::rules::{CASE_DUPLICATE, Rule, UNKNOWN_ATTRIBUTE};

pub(super) type Object = Map<String, Value>;

/// An attribute found in an object: its JSONPath (spelled as in the body) and its value.
pub(super) struct Field<'a> {
    pub path: String,
    pub value: &'a Value,
}

/// Looks `name` up case-insensitively, skipping `null` values. An exact match wins, so the
/// common case is a single hash lookup.
pub(super) fn lookup<'a>(obj: &'a Object, name: &str) -> Option<(&'a str, &'a Value)> {
    if let Some((key, value)) = obj.get_key_value(name)
        && !value.is_null()
    {
        return Some((key.as_str(), value));
    }
    obj.iter()
        .find(|(key, value)| !value.is_null() && key.eq_ignore_ascii_case(name))
        .map(|(key, value)| (key.as_str(), value))
}

/// Like [`lookup`], with the path of the attribute under `base`.
pub(super) fn field<'a>(obj: &'a Object, base: &str, name: &str) -> Option<Field<'a>> {
    lookup(obj, name).map(|(key, value)| Field {
        path: child(base, key),
        value,
    })
}

/// The object inside `value`, after flagging attributes that repeat under different case.
/// Every object the validator inspects goes through here, so the duplicate check covers them.
pub(super) fn open<'a>(report: &mut Report, value: &'a Value, path: &str) -> Option<&'a Object> {
    let obj = value.as_object()?;
    flag_case_duplicates(report, obj, path);
    Some(obj)
}

fn flag_case_duplicates(report: &mut Report, obj: &Object, path: &str) {
    if obj.len() < 2 {
        return;
    }
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(obj.len());
    for key in obj.keys() {
        // serde_json keeps exact duplicates only once, so any repeat differs in case.
        match seen.entry(key.to_ascii_lowercase()) {
            Entry::Vacant(slot) => {
                slot.insert(key);
            }
            Entry::Occupied(first) => report.flag(
                &CASE_DUPLICATE,
                &child(path, key),
                format!("only one of \"{}\" and \"{key}\"", first.get()),
                Actual::Text(format!("both \"{}\" and \"{key}\" present", first.get())),
            ),
        }
    }
}

/// Flags attributes of `obj` whose names are not in `known` (case-insensitive); `owner` says
/// what `obj` is ("a User", "an emails value"). Keys that start with `urn:` are extension
/// containers (RFC 7643 §3.3) and are left to the extension checks.
pub(super) fn flag_unknown(
    report: &mut Report,
    obj: &Object,
    base: &str,
    known: &[&str],
    owner: &str,
) {
    // Short lists are spelled out; a User's 25 attributes would drown the finding.
    let expected = if known.len() <= 8 {
        format!("an attribute of {owner}: {}", known.join(", "))
    } else {
        format!("an attribute of {owner} defined by its core schema")
    };
    for (key, value) in obj {
        let is_known = known.iter().any(|name| name.eq_ignore_ascii_case(key));
        if is_known || is_urn(key) || value.is_null() {
            continue;
        }
        report.flag(
            &UNKNOWN_ATTRIBUTE,
            &child(base, key),
            expected.as_str(),
            Actual::Text(format!("\"{key}\"")),
        );
    }
}

/// Whether `key` names a schema URN (an extension container or a `schemas` entry).
pub(super) fn is_urn(key: &str) -> bool {
    key.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"))
}

/// JSON types the validator expects of attribute values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    String,
    Boolean,
    /// A JSON number without fraction or exponent (RFC 7643 §2.3.4: `1.0` is not an integer).
    Integer,
    Array,
}

impl Ty {
    pub(super) fn matches(self, value: &Value) -> bool {
        match self {
            Ty::String => value.is_string(),
            Ty::Boolean => value.is_boolean(),
            Ty::Integer => is_integer(value),
            Ty::Array => value.is_array(),
        }
    }

    /// How the expected type reads in a finding.
    pub(super) fn expected(self) -> &'static str {
        match self {
            Ty::String => "a string",
            Ty::Boolean => "a boolean (true or false)",
            Ty::Integer => "an integer",
            Ty::Array => "an array",
        }
    }
}

pub(super) fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64()
}

/// Checks an optional attribute's type; returns it if it is present and well-typed.
pub(super) fn optional<'a>(
    report: &mut Report,
    rule: &Rule,
    obj: &'a Object,
    base: &str,
    name: &str,
    ty: Ty,
) -> Option<Field<'a>> {
    let found = field(obj, base, name)?;
    if ty.matches(found.value) {
        return Some(found);
    }
    report.flag(rule, &found.path, ty.expected(), Actual::Json(found.value));
    None
}

/// Checks a required attribute: `rule` covers both absence and a wrong type.
pub(super) fn required<'a>(
    report: &mut Report,
    rule: &Rule,
    obj: &'a Object,
    base: &str,
    name: &str,
    ty: Ty,
) -> Option<Field<'a>> {
    if lookup(obj, name).is_none() {
        report.flag(rule, &child(base, name), ty.expected(), Actual::Absent);
        return None;
    }
    optional(report, rule, obj, base, name, ty)
}
