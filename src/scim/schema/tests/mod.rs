//! Tests of the validator: valid fixtures (RFC 7643 §8-style examples), one case per rule, and
//! behaviour (case-insensitivity, list paths, robustness, rendering, API).

mod behaviour;
mod cases;
mod fixtures;

use serde_json::Value;

use super::{RULES, ResourceKind, Rule, Violation, validate, validate_list};

/// How a case body is validated.
#[derive(Debug, Clone, Copy)]
enum Check {
    One(ResourceKind),
    List(ResourceKind),
}

fn run(check: Check, body: &Value) -> Vec<Violation> {
    match check {
        Check::One(kind) => validate(kind, body),
        Check::List(kind) => validate_list(kind, body),
    }
}

/// The catalogue rule a violation came from (rule texts are unique, see `rules_are_unique`).
fn rule_of(violation: &Violation) -> &'static Rule {
    RULES
        .iter()
        .find(|rule| rule.text == violation.rule)
        .unwrap_or_else(|| panic!("violation with an uncatalogued rule: {violation}"))
}

/// Renders violations one per line for assertion messages.
fn listing(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("\n  {} {v}", rule_of(v).id))
        .collect()
}

/// JSON Pointer edits of fixtures, for building one-fault variants of valid bodies.
trait Edit: Sized {
    /// Sets the value at `pointer`; an array index equal to the length appends.
    fn set(self, pointer: &str, value: Value) -> Self;
    /// Removes the member or element at `pointer`.
    fn remove(self, pointer: &str) -> Self;
    /// Renames the member at `pointer` to `new_name`, keeping its value.
    fn rename(self, pointer: &str, new_name: &str) -> Self;
}

/// Splits a JSON Pointer into its parent pointer and unescaped last token.
fn split_pointer(pointer: &str) -> (&str, String) {
    let (parent, last) = pointer.rsplit_once('/').expect("pointer starts with /");
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

impl Edit for Value {
    fn set(mut self, pointer: &str, value: Value) -> Self {
        let (parent, last) = split_pointer(pointer);
        match self
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("no {parent}"))
        {
            Value::Object(members) => {
                members.insert(last, value);
            }
            Value::Array(items) => {
                let i: usize = last.parse().expect("array index");
                if i == items.len() {
                    items.push(value);
                } else {
                    items[i] = value;
                }
            }
            other => panic!("cannot set inside {other}"),
        }
        self
    }

    fn remove(mut self, pointer: &str) -> Self {
        let (parent, last) = split_pointer(pointer);
        match self
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("no {parent}"))
        {
            Value::Object(members) => {
                members
                    .remove(&last)
                    .unwrap_or_else(|| panic!("no {pointer}"));
            }
            Value::Array(items) => {
                items.remove(last.parse().expect("array index"));
            }
            other => panic!("cannot remove inside {other}"),
        }
        self
    }

    fn rename(self, pointer: &str, new_name: &str) -> Self {
        let value = self
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {pointer}"))
            .clone();
        let (parent, _) = split_pointer(pointer);
        self.remove(pointer)
            .set(&format!("{parent}/{new_name}"), value)
    }
}
