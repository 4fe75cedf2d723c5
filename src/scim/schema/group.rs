//! The Group resource (RFC 7643 §4.2).

use super::json::{Field, Object, field, flag_unknown, lookup};
use super::report::{Actual, Report, child};
use super::resource::{
    DISPLAY, GROUP_URN, MetaPolicy, MultiValued, REF, TYPE, VALUE, check_extensions,
    check_external_id, check_id, check_meta, check_multi_valued, check_schemas,
};
use super::rules::*;

const GROUP_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "meta",
    "displayName",
    "members",
];

const MEMBERS: MultiValued = MultiValued {
    name: "members",
    subs: &[VALUE, REF, DISPLAY, TYPE],
};

pub(super) fn check_group(report: &mut Report, obj: &Object, base: &str) {
    let schemas = check_schemas(report, obj, base, GROUP_URN, &GROUP_SCHEMAS);
    check_id(report, obj, base);
    check_external_id(report, obj, base);
    let policy = MetaPolicy {
        resource_type: "Group",
        required: true,
    };
    check_meta(report, obj, base, policy);
    check_display_name(report, obj, base);
    check_members(report, obj, base);
    check_extensions(report, obj, base, schemas.as_ref(), GROUP_URN, None);
    flag_unknown(report, obj, base, GROUP_ATTRIBUTES, "a Group");
}

fn check_display_name(report: &mut Report, obj: &Object, base: &str) {
    let Some(Field { path, value }) = field(obj, base, "displayName") else {
        report.flag(
            &GROUP_DISPLAY_NAME_MISSING,
            &child(base, "displayName"),
            "a string such as \"Tour Guides\"",
            Actual::Absent,
        );
        return;
    };
    if !value.is_string() {
        report.flag(
            &GROUP_DISPLAY_NAME_NOT_STRING,
            &path,
            "a string",
            Actual::Json(value),
        );
    }
}

/// Members need a `value` to be identified, and a `type` of "User" or "Group" when typed.
fn check_members(report: &mut Report, obj: &Object, base: &str) {
    for member in check_multi_valued(report, obj, base, &MEMBERS) {
        if lookup(member.obj, "value").is_none() {
            report.flag(
                &GROUP_MEMBER_VALUE_MISSING,
                &child(&member.path, "value"),
                "the member's id",
                Actual::Absent,
            );
        }
        if let Some(Field { path, value }) = field(member.obj, &member.path, "type")
            && let Some(kind) = value.as_str()
            // The RFC's schema makes "type" caseExact false, so "user" is acceptable.
            && !(kind.eq_ignore_ascii_case("User") || kind.eq_ignore_ascii_case("Group"))
        {
            report.flag(
                &GROUP_MEMBER_TYPE_UNKNOWN,
                &path,
                "\"User\" or \"Group\"",
                Actual::Json(value),
            );
        }
    }
}
