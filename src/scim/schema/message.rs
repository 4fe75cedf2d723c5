//! Protocol messages of RFC 7644: list responses (§3.4.2), errors (§3.12) and PATCH bodies
//! (§3.5.2).

use serde_json::Value;

use super::json::{Field, Object, Ty, field, flag_unknown, is_integer, lookup, open, optional};
use super::report::{Actual, Report, child, index};
use super::resource::{ERROR_URN, LIST_URN, PATCH_URN, check_schemas};
use super::rules::*;

const LIST_ATTRIBUTES: &[&str] = &[
    "schemas",
    "totalResults",
    "startIndex",
    "itemsPerPage",
    "Resources",
];
const ERROR_ATTRIBUTES: &[&str] = &["schemas", "status", "scimType", "detail"];
const PATCH_ATTRIBUTES: &[&str] = &["schemas", "Operations"];
const OPERATION_ATTRIBUTES: &[&str] = &["op", "path", "value"];

/// The SCIM detail error keywords of RFC 7644 §3.12 Table 9.
const SCIM_TYPES: &[&str] = &[
    "invalidFilter",
    "tooMany",
    "uniqueness",
    "mutability",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
    "sensitive",
];

/// The `Resources` of a list response, for per-item validation by the caller.
pub(super) struct Page<'a> {
    pub path: String,
    pub items: &'a [Value],
}

/// An integer attribute as read: absent, not an integer, or its value.
enum Count {
    Absent,
    Invalid,
    Is(i128),
}

/// Reads an optional integer attribute, flagging `rule` when it is not an integer.
fn read_count(report: &mut Report, rule: &Rule, obj: &Object, base: &str, name: &str) -> Count {
    let Some(Field { path, value }) = field(obj, base, name) else {
        return Count::Absent;
    };
    // `as_i64`/`as_u64` succeed only on integers: `1.0` is rejected (RFC 7643 §2.3.4).
    let number = value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from));
    match number {
        Some(number) => Count::Is(number),
        None => {
            report.flag(rule, &path, Ty::Integer.expected(), Actual::Json(value));
            Count::Invalid
        }
    }
}

/// Validates a ListResponse envelope; returns its `Resources` when that is an array.
pub(super) fn check_list<'a>(report: &mut Report, obj: &'a Object, base: &str) -> Option<Page<'a>> {
    check_schemas(report, obj, base, LIST_URN, &LIST_SCHEMAS);
    let total = read_count(report, &LIST_TOTAL_NOT_INTEGER, obj, base, "totalResults");
    if matches!(total, Count::Absent) {
        report.flag(
            &LIST_TOTAL_MISSING,
            &child(base, "totalResults"),
            Ty::Integer.expected(),
            Actual::Absent,
        );
    }
    let resources = field(obj, base, "Resources");
    let page = match &resources {
        Some(Field { path, value }) => match value.as_array() {
            Some(items) => Some(Page {
                path: path.clone(),
                items,
            }),
            None => {
                report.flag(
                    &LIST_RESOURCES_NOT_ARRAY,
                    path,
                    "an array",
                    Actual::Json(value),
                );
                None
            }
        },
        None => None,
    };
    // Counts are compared as i128 below: `usize as i128` is lossless, and JSON integers may be
    // negative or exceed i64.
    let count = page.as_ref().map_or(0, |page| page.items.len());
    let start = read_count(report, &LIST_PAGING_NOT_INTEGER, obj, base, "startIndex");
    let per_page = read_count(report, &LIST_PAGING_NOT_INTEGER, obj, base, "itemsPerPage");

    check_total(report, obj, base, &total, count);
    if resources.is_none() {
        check_resources_absent(report, base, &total, &per_page);
    }
    let partial = matches!(total, Count::Is(total) if total > count as i128);
    check_paging_present(report, base, &start, &per_page, partial);
    if let Count::Is(start) = start
        && start < 1
    {
        flag_at(
            report,
            &LIST_START_INDEX_BELOW_ONE,
            obj,
            base,
            "startIndex",
            "an integer ≥ 1".into(),
        );
    }
    if let (Count::Is(per_page), Some(_)) = (per_page, &page)
        && per_page != count as i128
    {
        let expected = format!("{count} (the number of Resources)");
        flag_at(
            report,
            &LIST_ITEMS_PER_PAGE_MISMATCH,
            obj,
            base,
            "itemsPerPage",
            expected,
        );
    }
    flag_unknown(report, obj, base, LIST_ATTRIBUTES, "a list response");
    page
}

/// Flags `rule` at attribute `name`, rendering its current value.
fn flag_at(
    report: &mut Report,
    rule: &Rule,
    obj: &Object,
    base: &str,
    name: &str,
    expected: String,
) {
    if let Some(Field { path, value }) = field(obj, base, name) {
        report.flag(rule, &path, expected, Actual::Json(value));
    }
}

fn check_total(report: &mut Report, obj: &Object, base: &str, total: &Count, count: usize) {
    if let Count::Is(total) = *total
        && (total < 0 || total < count as i128)
    {
        let expected = format!("an integer ≥ {count} (the number of Resources returned)");
        flag_at(
            report,
            &LIST_TOTAL_TOO_SMALL,
            obj,
            base,
            "totalResults",
            expected,
        );
    }
}

/// `Resources` may only be absent when there is nothing to return, or when the client asked
/// for a page of 0 (RFC 7644 §3.4.2.4: count=0 returns totalResults alone).
fn check_resources_absent(report: &mut Report, base: &str, total: &Count, per_page: &Count) {
    let Count::Is(total) = *total else { return };
    if total > 0 && !matches!(per_page, Count::Is(0)) {
        report.flag(
            &LIST_RESOURCES_MISSING,
            &child(base, "Resources"),
            format!("an array with up to {total} resources"),
            Actual::Absent,
        );
    }
}

fn check_paging_present(
    report: &mut Report,
    base: &str,
    start: &Count,
    per_page: &Count,
    partial: bool,
) {
    let rule = if partial {
        &LIST_PAGING_MISSING
    } else {
        &LIST_PAGING_MISSING_UNPAGED
    };
    for (name, count) in [("startIndex", start), ("itemsPerPage", per_page)] {
        if matches!(count, Count::Absent) {
            report.flag(
                rule,
                &child(base, name),
                Ty::Integer.expected(),
                Actual::Absent,
            );
        }
    }
}

/// Validates an Error message.
pub(super) fn check_error(report: &mut Report, obj: &Object, base: &str) {
    check_schemas(report, obj, base, ERROR_URN, &ERROR_SCHEMAS);
    check_status(report, obj, base);
    check_scim_type(report, obj, base);
    optional(
        report,
        &ERROR_DETAIL_NOT_STRING,
        obj,
        base,
        "detail",
        Ty::String,
    );
    flag_unknown(report, obj, base, ERROR_ATTRIBUTES, "an error response");
}

fn check_status(report: &mut Report, obj: &Object, base: &str) {
    let expected = "an HTTP status code as a string, such as \"409\"";
    let Some(Field { path, value }) = field(obj, base, "status") else {
        report.flag(
            &ERROR_STATUS_MISSING,
            &child(base, "status"),
            expected,
            Actual::Absent,
        );
        return;
    };
    let code = match value {
        Value::String(text) => parse_status(text),
        Value::Number(number) if is_integer(value) => {
            report.flag(&ERROR_STATUS_NUMBER, &path, expected, Actual::Json(value));
            number.as_u64()
        }
        _ => {
            report.flag(
                &ERROR_STATUS_WRONG_TYPE,
                &path,
                expected,
                Actual::Json(value),
            );
            return;
        }
    };
    if !code.is_some_and(|code| (400..=599).contains(&code)) {
        report.flag(
            &ERROR_STATUS_NOT_ERROR_CODE,
            &path,
            "an HTTP error status between \"400\" and \"599\"",
            Actual::Json(value),
        );
    }
}

/// Three ASCII digits, as HTTP status codes are written.
fn parse_status(text: &str) -> Option<u64> {
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

fn check_scim_type(report: &mut Report, obj: &Object, base: &str) {
    let Some(Field { path, value }) = field(obj, base, "scimType") else {
        return;
    };
    let given = value.as_str();
    if given.is_some_and(|given| SCIM_TYPES.contains(&given)) {
        return;
    }
    // A keyword in the wrong case gets a pointed hint; anything else gets the full list.
    let hint = given.and_then(|given| SCIM_TYPES.iter().find(|t| t.eq_ignore_ascii_case(given)));
    let expected = match hint {
        Some(keyword) => format!("\"{keyword}\" (keywords are spelled exactly as in Table 9)"),
        None => format!("one of {}", SCIM_TYPES.join(", ")),
    };
    report.flag(
        &ERROR_SCIM_TYPE_UNKNOWN,
        &path,
        expected,
        Actual::Json(value),
    );
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// Validates a PatchOp body.
pub(super) fn check_patch(report: &mut Report, obj: &Object, base: &str) {
    check_schemas(report, obj, base, PATCH_URN, &PATCH_SCHEMAS);
    check_operations(report, obj, base);
    flag_unknown(report, obj, base, PATCH_ATTRIBUTES, "a PATCH request");
}

fn check_operations(report: &mut Report, obj: &Object, base: &str) {
    let expected = "an array of operations such as {\"op\": \"replace\", \"path\": \"active\", \"value\": false}";
    let Some(Field { path, value }) = field(obj, base, "Operations") else {
        report.flag(
            &PATCH_OPERATIONS_MISSING,
            &child(base, "Operations"),
            expected,
            Actual::Absent,
        );
        return;
    };
    let Some(operations) = value.as_array() else {
        report.flag(
            &PATCH_OPERATIONS_MISSING,
            &path,
            expected,
            Actual::Json(value),
        );
        return;
    };
    if operations.is_empty() {
        report.flag(
            &PATCH_OPERATIONS_EMPTY,
            &path,
            "at least one operation",
            Actual::Json(value),
        );
    }
    for (i, operation) in operations.iter().enumerate() {
        let op_path = index(&path, i);
        match open(report, operation, &op_path) {
            Some(operation) => check_operation(report, operation, &op_path),
            None => report.flag(
                &PATCH_OPERATION_NOT_OBJECT,
                &op_path,
                "a JSON object",
                Actual::Json(operation),
            ),
        }
    }
}

fn check_operation(report: &mut Report, operation: &Object, base: &str) {
    let op = check_op(report, operation, base);
    let has_path = lookup(operation, "path").is_some();
    optional(
        report,
        &PATCH_PATH_NOT_STRING,
        operation,
        base,
        "path",
        Ty::String,
    );
    if op == Some(Op::Remove) && !has_path {
        report.flag(
            &PATCH_REMOVE_WITHOUT_PATH,
            &child(base, "path"),
            "the path of the attribute or value to remove",
            Actual::Absent,
        );
    }
    if matches!(op, Some(Op::Add | Op::Replace)) {
        check_op_value(report, operation, base, has_path);
    }
    flag_unknown(
        report,
        operation,
        base,
        OPERATION_ATTRIBUTES,
        "a PATCH operation",
    );
}

/// Reads `op`; Entra sends "Replace", and RFC 7644 §3.5.2 compares it case-insensitively.
fn check_op(report: &mut Report, operation: &Object, base: &str) -> Option<Op> {
    let expected = "\"add\", \"remove\" or \"replace\"";
    let Some(Field { path, value }) = field(operation, base, "op") else {
        report.flag(
            &PATCH_OP_INVALID,
            &child(base, "op"),
            expected,
            Actual::Absent,
        );
        return None;
    };
    let op = value.as_str().and_then(|op| {
        [
            ("add", Op::Add),
            ("remove", Op::Remove),
            ("replace", Op::Replace),
        ]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(op))
        .map(|(_, op)| op)
    });
    if op.is_none() {
        report.flag(&PATCH_OP_INVALID, &path, expected, Actual::Json(value));
    }
    op
}

fn check_op_value(report: &mut Report, operation: &Object, base: &str, has_path: bool) {
    let Some(Field { path, value }) = field(operation, base, "value") else {
        report.flag(
            &PATCH_VALUE_MISSING,
            &child(base, "value"),
            "the value to set",
            Actual::Absent,
        );
        return;
    };
    if !has_path && !value.is_object() {
        report.flag(
            &PATCH_VALUE_NOT_OBJECT,
            &path,
            "an object of attributes, such as {\"active\": false}",
            Actual::Json(value),
        );
    }
}
