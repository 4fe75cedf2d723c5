//! PATCH (RFC 7644 §3.5.2) applied to a stored document. The caller applies the
//! operations to a copy and checks the result with `conform`, so a request either
//! succeeds as a whole or changes nothing.
//!
//! Tolerated beyond the letter of the RFC, because Okta and Entra send it: capitalised
//! `op` values, path-less values whose keys are paths (`"name.givenName"`, extension
//! URNs), `null`/`""` meaning "remove", and `remove` of `members` with a value list.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::filter::{self, EvalCtx, Filter, PatchPath, Scope};
use super::jsonci;
use super::path::Resolved;
use super::schema::{AttrType, Kind, PATCH_URN};
use crate::demo::Breaks;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Reads a PatchOp message.
pub fn parse_request(body: &Value, breaks: &Breaks) -> ScimResult<Vec<Operation>> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "a PatchOp body must be a JSON object",
        ));
    };
    let declares_patch = jsonci::get(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_URN))
            })
        });
    if !declares_patch {
        return Err(ScimError::invalid_syntax(format!(
            "`schemas` must contain {PATCH_URN}"
        )));
    }
    let ops = match jsonci::get(body, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        _ => {
            return Err(ScimError::invalid_syntax(
                "`Operations` must be a non-empty array",
            ));
        }
    };
    ops.iter().map(|op| parse_operation(op, breaks)).collect()
}

fn parse_operation(op: &Value, breaks: &Breaks) -> ScimResult<Operation> {
    let Value::Object(op) = op else {
        return Err(ScimError::invalid_syntax(
            "each operation must be a JSON object",
        ));
    };
    let name = jsonci::get(op, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_value("an operation needs an `op`"))?;
    let kind = match name.to_ascii_lowercase().as_str() {
        // RFC 7644 spells them in lowercase, Entra capitalises them.
        _ if breaks.has("scim-capitalised-ops-rejected")
            && name.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            None
        }
        "add" => Some(Op::Add),
        "replace" => Some(Op::Replace),
        "remove" => Some(Op::Remove),
        _ => None,
    };
    let Some(kind) = kind else {
        return Err(ScimError::invalid_value(format!(
            "unknown op `{name}` (expected add, replace or remove)"
        )));
    };
    let path = match jsonci::get(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(
            filter::parse_patch_path(p)
                .map_err(|e| ScimError::invalid_path(format!("invalid path `{p}`: {e}")))?,
        ),
        Some(_) => return Err(ScimError::invalid_path("`path` must be a string")),
    };
    if path.is_none() {
        if kind == Op::Remove {
            return Err(ScimError::no_target("a remove operation needs a `path`"));
        }
        if breaks.has("scim-pathless-patch-rejected") {
            return Err(ScimError::invalid_path("`path` is required"));
        }
    }
    Ok(Operation {
        op: kind,
        path,
        value: jsonci::get(op, "value").cloned(),
    })
}

/// Applies `ops` in order to `doc`, the stored attributes of resource `id`.
pub fn apply(
    doc: &mut Map<String, Value>,
    ops: &[Operation],
    kind: Kind,
    id: &str,
    breaks: &Breaks,
) -> ScimResult<()> {
    let patcher = Patcher { kind, id, breaks };
    // RFC 7644 §3.5.2: all operations apply, in order (Entra and the SCIM Validator batch
    // several). The caller has parsed them all, so with the break a malformed later one
    // is still refused; only its effect is lost.
    let ops = if breaks.has("scim-patch-first-op-only") {
        &ops[..ops.len().min(1)]
    } else {
        ops
    };
    for op in ops {
        match &op.path {
            Some(path) if patcher.drops_path_op(path) => {
                // Applied to a throwaway copy, so an invalid operation is still refused
                // and only the change is lost.
                let mut scratch = doc.clone();
                patcher.apply_path(&mut scratch, op.op, path, op.value.clone())?;
            }
            Some(path) => patcher.apply_path(doc, op.op, path, op.value.clone())?,
            None => patcher.apply_pathless(doc, op.op, op.value.as_ref())?,
        }
    }
    Ok(())
}

struct Patcher<'a> {
    kind: Kind,
    id: &'a str,
    breaks: &'a Breaks,
}

impl Patcher<'_> {
    /// Whether `path` names a Group's `members` (its value filters and sub-attributes
    /// included), the attribute whose PATCH semantics have switches of their own.
    fn is_members(&self, r: &Resolved) -> bool {
        self.kind == Kind::Group && r.container.is_none() && r.attr == "members"
    }

    /// The `scim-patch-path-ignored` break: whether an operation with this `path` is
    /// dropped. Membership operations are spared, so that the member switches stay
    /// the only way to break them.
    fn drops_path_op(&self, path: &PatchPath) -> bool {
        let members = path
            .attr
            .resolve(self.kind)
            .is_some_and(|r| self.is_members(&r));
        !members && self.breaks.has("scim-patch-path-ignored")
    }

    /// Path-less add/replace: each key of the value object is a target. Keys are read as
    /// paths, which covers plain names, Entra's `"name.givenName"` and extension URNs.
    fn apply_pathless(
        &self,
        doc: &mut Map<String, Value>,
        op: Op,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let Some(Value::Object(values)) = value else {
            return Err(ScimError::invalid_value(
                "an operation without `path` needs an object `value`",
            ));
        };
        for (key, v) in values {
            // The resource's schema list is not an attribute; conform rebuilds it.
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let path = filter::parse_patch_path(key)
                .map_err(|e| ScimError::invalid_path(format!("invalid attribute `{key}`: {e}")))?;
            self.apply_path(doc, op, &path, Some(v.clone()))?;
        }
        Ok(())
    }

    fn apply_path(
        &self,
        doc: &mut Map<String, Value>,
        op: Op,
        path: &PatchPath,
        value: Option<Value>,
    ) -> ScimResult<()> {
        let r = path.attr.resolve(self.kind).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "`{}` is not an attribute of a {}",
                path.attr.attr,
                self.kind.name()
            ))
        })?;
        let (op, value) = match (op, value) {
            (Op::Remove, v) => (Op::Remove, v),
            (_, None) => {
                return Err(ScimError::invalid_value("add and replace need a `value`"));
            }
            // Entra clears an attribute by setting it to "" (or null).
            (_, Some(Value::Null)) => (Op::Remove, None),
            (_, Some(Value::String(s))) if s.is_empty() => (Op::Remove, None),
            (op, Some(v)) => (op, Some(v)),
        };
        if self.is_read_only_target(&r, path, op, value.as_ref())? {
            return Ok(());
        }
        let whole_members = self.is_members(&r) && path.filter.is_none() && r.sub.is_none();
        let value = if op == Op::Remove
            && whole_members
            && value.is_some()
            && self.breaks.has("scim-member-value-remove-clears-all")
        {
            // Entra's `Remove` of `members` with a value list read as a bare remove of
            // the attribute: everyone leaves, not just the listed members.
            None
        } else {
            value
        };
        let op = if op == Op::Replace
            && whole_members
            && self.breaks.has("scim-replace-members-appends")
        {
            // keycloak#52752: replace merged into the old list, so [] removes nobody.
            Op::Add
        } else {
            op
        };
        if op == Op::Add && self.is_members(&r) && self.breaks.has("scim-member-add-ignored") {
            return Ok(());
        }
        let container = match &r.container {
            None => doc,
            Some(urn) => {
                if op == Op::Remove && !jsonci::get(doc, urn).is_some_and(Value::is_object) {
                    return Ok(());
                }
                jsonci::object_entry(doc, urn)
            }
        };
        match (&path.filter, &r.sub) {
            (None, None) => attr_op(container, &r, op, value),
            (None, Some(sub)) => {
                sub_op(container, &r.attr, sub, op, value);
                Ok(())
            }
            (Some(f), _) => self.filtered_op(container, &r, f, path, op, value),
        }
    }

    /// Errors on a readOnly target; `Ok(true)` when the operation restates the id and
    /// is therefore a no-op (Okta puts `id` in its path-less replace values).
    fn is_read_only_target(
        &self,
        r: &Resolved,
        path: &PatchPath,
        op: Op,
        value: Option<&Value>,
    ) -> ScimResult<bool> {
        let sub_name = path.sub_after_filter.as_deref().or(r.sub.as_deref());
        let target = match (r.def, sub_name) {
            (Some(def), _) if def.is_read_only() => Some(def),
            (Some(def), Some(sub)) => def.sub_attr(sub).filter(|d| d.is_read_only()),
            _ => None,
        };
        let Some(target) = target else {
            return Ok(false);
        };
        let restates_id = r.attr == "id"
            && r.container.is_none()
            && op != Op::Remove
            && value.and_then(Value::as_str) == Some(self.id);
        if restates_id {
            return Ok(true);
        }
        Err(ScimError::mutability(format!(
            "attribute `{}` is read-only",
            target.name
        )))
    }

    fn filtered_op(
        &self,
        container: &mut Map<String, Value>,
        r: &Resolved,
        f: &Filter,
        path: &PatchPath,
        op: Op,
        value: Option<Value>,
    ) -> ScimResult<()> {
        if r.def.is_some_and(|d| !d.multi) || r.sub.is_some() {
            return Err(ScimError::invalid_path(format!(
                "`{}` is not multi-valued; a value filter cannot select from it",
                r.attr
            )));
        }
        let ctx = EvalCtx {
            kind: self.kind,
            all_case_exact: false,
        };
        let sub = path.sub_after_filter.as_deref().map(|s| {
            r.def
                .and_then(|d| d.sub_attr(s))
                .map_or_else(|| s.to_string(), |d| d.name.to_string())
        });
        let matches = |item: &Value| match item {
            Value::Object(o) => f.eval(Scope::Element(o, r.def), &ctx),
            _ => false,
        };
        if op == Op::Remove {
            if r.attr == "members" && self.breaks.has("scim-member-filter-remove-ignored") {
                return Ok(());
            }
            let Some(Value::Array(items)) = jsonci::get_mut(container, &r.attr) else {
                // Nothing to remove is not an error: removals must be safe to repeat.
                return Ok(());
            };
            match &sub {
                None => items.retain(|item| !matches(item)),
                Some(sub) => {
                    for item in items.iter_mut().filter(|i| matches(i)) {
                        if let Value::Object(o) = item {
                            jsonci::remove(o, sub);
                        }
                    }
                }
            }
            return Ok(());
        }
        let Some(value) = value else {
            return Ok(());
        };
        if jsonci::get(container, &r.attr).is_none() {
            container.insert(r.attr.clone(), Value::Array(Vec::new()));
        }
        let Some(Value::Array(items)) = jsonci::get_mut(container, &r.attr) else {
            return Err(ScimError::invalid_path(format!(
                "`{}` is not multi-valued; a value filter cannot select from it",
                r.attr
            )));
        };
        let hits: Vec<usize> = (0..items.len()).filter(|&i| matches(&items[i])).collect();
        if hits.is_empty() {
            // RFC 7644 §3.5.2.3: replace with an unmatched filter is an error. An add
            // whose filter is plain equalities creates the value it describes (Entra
            // adds `emails[type eq "work"].value` to users without a work email).
            let pairs = match (op, f.equality_pairs()) {
                (Op::Add, Some(pairs)) => pairs,
                _ => {
                    return Err(ScimError::no_target(format!(
                        "no value of `{}` matches the filter",
                        r.attr
                    )));
                }
            };
            let mut item: Map<String, Value> = pairs.into_iter().collect();
            match (&sub, value) {
                (Some(sub), v) => jsonci::insert(&mut item, sub, v),
                (None, Value::Object(v)) => merge(&mut item, v),
                (None, _) => {
                    return Err(ScimError::invalid_value(format!(
                        "a value of `{}` must be an object",
                        r.attr
                    )));
                }
            }
            items.push(Value::Object(item));
            return Ok(());
        }
        for i in hits {
            match (&sub, &mut items[i]) {
                (Some(sub), Value::Object(item)) => jsonci::insert(item, sub, value.clone()),
                (None, slot) if op == Op::Replace => *slot = value.clone(),
                (None, Value::Object(item)) => match &value {
                    Value::Object(v) => merge(item, v.clone()),
                    _ => {
                        return Err(ScimError::invalid_value(format!(
                            "a value of `{}` must be an object",
                            r.attr
                        )));
                    }
                },
                _ => {}
            }
        }
        Ok(())
    }
}

/// An operation on a whole attribute (no sub-attribute, no filter).
fn attr_op(
    container: &mut Map<String, Value>,
    r: &Resolved,
    op: Op,
    value: Option<Value>,
) -> ScimResult<()> {
    let existing = jsonci::get(container, &r.attr);
    let multi = r.def.map_or_else(
        || existing.is_some_and(Value::is_array) || value.as_ref().is_some_and(Value::is_array),
        |d| d.multi,
    );
    let complex = r.def.is_some_and(|d| d.ty == AttrType::Complex && !d.multi)
        || (r.def.is_none() && existing.is_some_and(Value::is_object));
    match (op, value) {
        (Op::Remove, Some(targets)) if existing.is_some_and(Value::is_array) => {
            // Entra removes members by listing them: `"value": [{"value": "id"}]`.
            let targets = into_items(targets);
            if let Some(Value::Array(items)) = jsonci::get_mut(container, &r.attr) {
                items.retain(|item| !targets.iter().any(|t| same_value(item, t)));
            }
        }
        (Op::Remove, _) => {
            jsonci::remove(container, &r.attr);
        }
        (_, None) => {}
        (Op::Add, Some(v)) if multi => {
            let mut items = match jsonci::remove(container, &r.attr) {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other],
            };
            for item in into_items(v) {
                // Adding a value that is already there changes nothing (§3.5.2.1).
                if !items.iter().any(|i| same_value(i, &item)) {
                    items.push(item);
                }
            }
            container.insert(r.attr.clone(), Value::Array(items));
        }
        (Op::Replace, Some(v)) if multi => {
            jsonci::insert(container, &r.attr, Value::Array(into_items(v)));
        }
        // On a complex attribute both add and replace set the given sub-attributes and
        // leave the others alone (§3.5.2.1, §3.5.2.3).
        (_, Some(Value::Object(v))) if complex => {
            let target = jsonci::object_entry(container, &r.attr);
            merge(target, v);
        }
        (_, Some(v)) => jsonci::insert(container, &r.attr, v),
    }
    Ok(())
}

/// An operation on `attr.sub` without a filter: on a multi-valued attribute it applies
/// to every value.
fn sub_op(container: &mut Map<String, Value>, attr: &str, sub: &str, op: Op, value: Option<Value>) {
    let set = |o: &mut Map<String, Value>| match (&op, &value) {
        (Op::Remove, _) | (_, None) => {
            jsonci::remove(o, sub);
        }
        (_, Some(v)) => jsonci::insert(o, sub, v.clone()),
    };
    match jsonci::get_mut(container, attr) {
        Some(Value::Array(items)) if !items.is_empty() => {
            for item in items.iter_mut() {
                if let Value::Object(o) = item {
                    set(o);
                }
            }
        }
        Some(Value::Object(o)) => set(o),
        _ if op == Op::Remove => {}
        _ => set(jsonci::object_entry(container, attr)),
    }
}

fn into_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// Whether two values of a multi-valued attribute are the same: by their `value`
/// sub-attribute when both are complex and have one, otherwise by equality.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            match (jsonci::get(x, "value"), jsonci::get(y, "value")) {
                (Some(p), Some(q)) => p == q,
                _ => x == y,
            }
        }
        _ => a == b,
    }
}

/// Sets each key of `from` in `into`; a null removes the key.
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match v {
            Value::Null => {
                jsonci::remove(into, &k);
            }
            v => jsonci::insert(into, &k, v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::scim::error::ScimType;
    use crate::demo::scim::schema::ENTERPRISE_URN;
    use serde_json::json;

    const ID: &str = "u-1";

    fn user() -> Map<String, Value> {
        match json!({
            "userName": "bjensen",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "bj@work.example", "type": "work", "primary": true},
                {"value": "bj@home.example", "type": "home"}
            ],
            ENTERPRISE_URN: {"department": "Tours"}
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn group() -> Map<String, Value> {
        match json!({
            "displayName": "Admins",
            "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn patch_with(
        doc: Map<String, Value>,
        kind: Kind,
        ops: Value,
        breaks: &Breaks,
    ) -> ScimResult<Value> {
        let body = json!({"schemas": [PATCH_URN], "Operations": ops});
        let ops = parse_request(&body, breaks)?;
        let mut doc = doc;
        apply(&mut doc, &ops, kind, ID, breaks)?;
        Ok(Value::Object(doc))
    }

    fn patch(doc: Map<String, Value>, kind: Kind, ops: Value) -> ScimResult<Value> {
        patch_with(doc, kind, ops, &Breaks::none())
    }

    fn member_ids(doc: &Value) -> Vec<&str> {
        doc["members"]
            .as_array()
            .map(|m| m.iter().filter_map(|v| v["value"].as_str()).collect())
            .unwrap_or_default()
    }

    fn err_type(r: ScimResult<Value>) -> Option<ScimType> {
        r.expect_err("should fail").scim_type
    }

    #[test]
    fn okta_deactivate_pathless_replace() {
        let out = patch(
            user(),
            Kind::User,
            json!([{"op": "replace", "value": {"id": ID, "active": false}}]),
        )
        .expect("ok");
        assert_eq!(out["active"], false);
        assert!(out.get("id").is_none(), "restating the id is a no-op");
    }

    #[test]
    fn entra_capitalised_ops_and_string_booleans_pass_through() {
        let out = patch(
            user(),
            Kind::User,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .expect("ok");
        // Coercion to a boolean is conform's job; the patch stores what was sent.
        assert_eq!(out["active"], "False");
    }

    #[test]
    fn entra_pathless_dotted_and_urn_keys() {
        let out = patch(
            user(),
            Kind::User,
            json!([{"op": "Add", "value": {
                "name.givenName": "Babs",
                "nickName": "B",
                "emails[type eq \"work\"].value": "new@work.example",
                (format!("{ENTERPRISE_URN}:employeeNumber")): "42",
                ENTERPRISE_URN: {"costCenter": "CC1"}
            }}]),
        )
        .expect("ok");
        assert_eq!(
            out["name"],
            json!({"givenName": "Babs", "familyName": "Jensen"})
        );
        assert_eq!(out["nickName"], "B");
        assert_eq!(out["emails"][0]["value"], "new@work.example");
        assert_eq!(
            out[ENTERPRISE_URN],
            json!({"department": "Tours", "employeeNumber": "42", "costCenter": "CC1"})
        );
    }

    #[test]
    fn replace_complex_merges_and_multi_replaces() {
        let out = patch(
            user(),
            Kind::User,
            json!([
                {"op": "replace", "path": "name", "value": {"givenName": "B"}},
                {"op": "replace", "path": "emails", "value": [{"value": "only@x"}]}
            ]),
        )
        .expect("ok");
        assert_eq!(
            out["name"],
            json!({"givenName": "B", "familyName": "Jensen"})
        );
        assert_eq!(out["emails"], json!([{"value": "only@x"}]));
    }

    #[test]
    fn sub_attribute_and_urn_paths() {
        let out = patch(
            user(),
            Kind::User,
            json!([
                {"op": "replace", "path": "name.familyName", "value": "J"},
                {"op": "add", "path": format!("{ENTERPRISE_URN}:manager"), "value": "m-9"},
                {"op": "replace", "path": format!("{}:department", ENTERPRISE_URN.to_uppercase()), "value": "Ops"},
                {"op": "remove", "path": "name.givenName"}
            ]),
        )
        .expect("ok");
        assert_eq!(out["name"], json!({"familyName": "J"}));
        assert_eq!(out[ENTERPRISE_URN]["department"], "Ops");
        assert_eq!(out[ENTERPRISE_URN]["manager"], "m-9");
    }

    #[test]
    fn value_filter_paths() {
        let out = patch(
            user(),
            Kind::User,
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w2@x"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}
            ]),
        )
        .expect("ok");
        assert_eq!(
            out["emails"],
            json!([{"value": "w2@x", "type": "work", "primary": true}])
        );
        assert_eq!(
            out["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1 555"}])
        );
        let r = patch(
            user(),
            Kind::User,
            json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x"}]),
        );
        assert_eq!(err_type(r), Some(ScimType::NoTarget));
    }

    #[test]
    fn empty_or_null_value_removes() {
        let out = patch(
            user(),
            Kind::User,
            json!([
                {"op": "Replace", "path": "name.givenName", "value": ""},
                {"op": "Replace", "path": "active", "value": null},
                {"op": "replace", "value": {"emails": null}}
            ]),
        )
        .expect("ok");
        assert_eq!(out["name"], json!({"familyName": "Jensen"}));
        assert!(out.get("active").is_none());
        assert!(out.get("emails").is_none());
    }

    #[test]
    fn members_add_dedupes_and_remove_by_filter() {
        let out = patch(
            group(),
            Kind::Group,
            json!([
                {"op": "add", "path": "members", "value": [{"value": "b"}, {"value": "d", "display": "D"}]},
                {"op": "remove", "path": "members[value eq \"a\"]"}
            ]),
        )
        .expect("ok");
        assert_eq!(member_ids(&out), ["b", "c", "d"]);
    }

    #[test]
    fn entra_members_remove_with_value_list() {
        let out = patch(
            group(),
            Kind::Group,
            json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}, {"value": "c"}]}]),
        )
        .expect("ok");
        assert_eq!(member_ids(&out), ["b"]);
    }

    #[test]
    fn okta_members_replace_including_empty() {
        let out = patch(
            group(),
            Kind::Group,
            json!([{"op": "replace", "path": "members", "value": [{"value": "z"}]}]),
        )
        .expect("ok");
        assert_eq!(member_ids(&out), ["z"]);
        let out = patch(
            group(),
            Kind::Group,
            json!([{"op": "replace", "path": "members", "value": []}]),
        )
        .expect("ok");
        assert!(member_ids(&out).is_empty());
        let out = patch(
            group(),
            Kind::Group,
            json!([{"op": "replace", "value": {"id": ID, "displayName": "Renamed"}}]),
        )
        .expect("ok");
        assert_eq!(out["displayName"], "Renamed");
    }

    #[test]
    fn remove_whole_members() {
        let out = patch(
            group(),
            Kind::Group,
            json!([{"op": "remove", "path": "members"}]),
        )
        .expect("ok");
        assert!(out.get("members").is_none());
    }

    #[test]
    fn errors() {
        let bad = |ops: Value| err_type(patch(user(), Kind::User, ops));
        assert_eq!(
            bad(json!([{"op": "move", "path": "active", "value": true}])),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            bad(json!([{"path": "active", "value": true}])),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(bad(json!([{"op": "remove"}])), Some(ScimType::NoTarget));
        assert_eq!(
            bad(json!([{"op": "replace", "path": "emails[type eq", "value": 1}])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            bad(json!([{"op": "replace", "path": "a b", "value": 1}])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            bad(json!([{"op": "replace", "path": "displayName[x eq 1]", "value": 1}])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            bad(json!([{"op": "replace", "path": "id", "value": "other"}])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            bad(json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            bad(json!([{"op": "replace", "path": "meta.version", "value": "x"}])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            bad(json!([{"op": "replace", "value": "x"}])),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            bad(json!([{"op": "add", "path": "title"}])),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            bad(
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "x"}])
            ),
            Some(ScimType::InvalidPath)
        );
        let no_schema = json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]});
        assert_eq!(
            parse_request(&no_schema, &Breaks::none())
                .expect_err("needs schema")
                .scim_type,
            Some(ScimType::InvalidSyntax)
        );
        let empty = json!({"schemas": [PATCH_URN], "Operations": []});
        assert!(parse_request(&empty, &Breaks::none()).is_err());
    }

    #[test]
    fn removing_what_is_absent_is_a_no_op() {
        let out = patch(
            group(),
            Kind::Group,
            json!([
                {"op": "remove", "path": "members[value eq \"nobody\"]"},
                {"op": "remove", "path": "nickName"}
            ]),
        )
        .expect("ok");
        assert_eq!(Value::Object(group()), out);
    }

    #[test]
    fn break_switches_in_the_engine() {
        let b = |name: &str| Breaks::from_names([name]).expect("known switch");
        let r = patch_with(
            user(),
            Kind::User,
            json!([{"op": "Replace", "path": "active", "value": false}]),
            &b("scim-capitalised-ops-rejected"),
        );
        assert_eq!(err_type(r), Some(ScimType::InvalidValue));
        let r = patch_with(
            user(),
            Kind::User,
            json!([{"op": "replace", "value": {"active": false}}]),
            &b("scim-pathless-patch-rejected"),
        );
        assert_eq!(err_type(r), Some(ScimType::InvalidPath));
        let out = patch_with(
            group(),
            Kind::Group,
            json!([{"op": "remove", "path": "members[value eq \"a\"]"}]),
            &b("scim-member-filter-remove-ignored"),
        )
        .expect("ok");
        assert_eq!(member_ids(&out), ["a", "b", "c"]);

        let path_ignored = b("scim-patch-path-ignored");
        let out = patch_with(
            user(),
            Kind::User,
            json!([
                {"op": "replace", "path": "name.givenName", "value": "B"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "replace", "value": {"nickName": "N"}}
            ]),
            &path_ignored,
        )
        .expect("ok");
        let mut want = user();
        want.insert("nickName".into(), json!("N"));
        assert_eq!(out, Value::Object(want), "only the path-less op applies");
        let r = patch_with(
            user(),
            Kind::User,
            json!([{"op": "replace", "path": "id", "value": "other"}]),
            &path_ignored,
        );
        assert_eq!(err_type(r), Some(ScimType::Mutability));
        let out = patch_with(
            group(),
            Kind::Group,
            json!([{"op": "replace", "path": "members", "value": [{"value": "z"}]}]),
            &path_ignored,
        )
        .expect("ok");
        assert_eq!(member_ids(&out), ["z"]);

        let add = json!([{"op": "add", "path": "members", "value": [{"value": "d"}]}]);
        let out = patch_with(group(), Kind::Group, add, &b("scim-member-add-ignored")).expect("ok");
        assert_eq!(member_ids(&out), ["a", "b", "c"]);

        let appends = b("scim-replace-members-appends");
        let out = patch_with(
            group(),
            Kind::Group,
            json!([{"op": "replace", "path": "members", "value": [{"value": "z"}]}]),
            &appends,
        )
        .expect("ok");
        assert_eq!(member_ids(&out), ["a", "b", "c", "z"]);
        let out = patch_with(
            group(),
            Kind::Group,
            json!([{"op": "replace", "path": "members", "value": []}]),
            &appends,
        )
        .expect("ok");
        assert_eq!(member_ids(&out), ["a", "b", "c"]);
    }
}
