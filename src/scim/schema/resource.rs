//! Checks shared by resources: `schemas` (RFC 7643 §3), the common attributes `id`,
//! `externalId` and `meta` (RFC 7643 §3.1), extension containers (RFC 7643 §3.3) and complex
//! multi-valued attributes (RFC 7643 §2.4).

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PlainDateTime};

use super::json::{Field, Object, Ty, field, flag_unknown, is_urn, lookup, open, optional};
use super::report::{Actual, Report, child, index};
use super::rules::*;

pub(super) const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(super) const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(super) const ENTERPRISE_URN: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub(super) const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub(super) const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub(super) const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub(super) const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub(super) const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub(super) const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The `schemas` attribute once it is known to be an array.
pub(super) struct Schemas<'a> {
    pub value: &'a Value,
    /// The string entries with their paths, e.g. `("$.schemas[1]", "urn:...")`.
    pub urns: Vec<(String, &'a str)>,
}

impl Schemas<'_> {
    /// URNs compare case-insensitively: lenient on purpose, identity providers are too.
    pub(super) fn lists(&self, urn: &str) -> bool {
        self.urns
            .iter()
            .any(|(_, listed)| listed.eq_ignore_ascii_case(urn))
    }
}

/// Checks that `schemas` is an array of unique strings containing `core_urn`; `rule` reports a
/// missing, non-array or core-less `schemas` with the kind's own severity and reference.
pub(super) fn check_schemas<'a>(
    report: &mut Report,
    obj: &'a Object,
    base: &str,
    core_urn: &str,
    rule: &Rule,
) -> Option<Schemas<'a>> {
    let expected = format!("an array containing \"{core_urn}\"");
    let Some(Field { path, value }) = field(obj, base, "schemas") else {
        report.flag(rule, &child(base, "schemas"), expected, Actual::Absent);
        return None;
    };
    let Some(items) = value.as_array() else {
        report.flag(rule, &path, expected, Actual::Json(value));
        return None;
    };
    let mut schemas = Schemas {
        value,
        urns: Vec::with_capacity(items.len()),
    };
    for (i, item) in items.iter().enumerate() {
        let item_path = index(&path, i);
        let Some(urn) = item.as_str() else {
            report.flag(
                &SCHEMAS_ITEM_NOT_STRING,
                &item_path,
                "a URI string",
                Actual::Json(item),
            );
            continue;
        };
        if schemas.lists(urn) {
            report.flag(
                &SCHEMAS_DUPLICATE,
                &item_path,
                "a URI not listed before",
                Actual::Json(item),
            );
        }
        schemas.urns.push((item_path, urn));
    }
    if !schemas.lists(core_urn) {
        report.flag(rule, &path, expected, Actual::Json(value));
    }
    Some(schemas)
}

/// Checks extension containers against `schemas` in both directions. `handled` is an extension
/// URN whose absence or shape the caller reports itself (the enterprise extension of an
/// `EnterpriseUser`), so it is not reported twice here.
pub(super) fn check_extensions(
    report: &mut Report,
    obj: &Object,
    base: &str,
    schemas: Option<&Schemas<'_>>,
    core_urn: &str,
    handled: Option<&str>,
) {
    let is_handled = |urn: &str| handled.is_some_and(|h| h.eq_ignore_ascii_case(urn));
    for (key, value) in obj {
        if !is_urn(key) || value.is_null() {
            continue;
        }
        let path = child(base, key);
        if !value.is_object() && !is_handled(key) {
            report.flag(
                &EXTENSION_NOT_OBJECT,
                &path,
                "a JSON object of extension attributes",
                Actual::Json(value),
            );
        }
        if let Some(schemas) = schemas
            && !schemas.lists(key)
        {
            report.flag(
                &EXTENSION_NOT_LISTED,
                &path,
                format!("\"schemas\" to list \"{key}\""),
                Actual::Json(schemas.value),
            );
        }
    }
    let Some(schemas) = schemas else { return };
    for (path, urn) in &schemas.urns {
        let accounted = urn.eq_ignore_ascii_case(core_urn) || is_handled(urn);
        if !accounted && lookup(obj, urn).is_none() {
            report.flag(
                &SCHEMAS_URN_UNUSED,
                path,
                format!("a \"{urn}\" extension object, or the URN dropped from \"schemas\""),
                Actual::Text(format!("\"{urn}\" listed, but no such object")),
            );
        }
    }
}

/// `id` of a User or Group: a non-empty server-assigned string (RFC 7643 §3.1).
pub(super) fn check_id(report: &mut Report, obj: &Object, base: &str) {
    let Some(Field { path, value }) = field(obj, base, "id") else {
        report.flag(
            &ID_MISSING,
            &child(base, "id"),
            "a non-empty string",
            Actual::Absent,
        );
        return;
    };
    match value.as_str() {
        None => report.flag(
            &ID_NOT_STRING,
            &path,
            "a non-empty string",
            Actual::Json(value),
        ),
        Some(id) if id.trim().is_empty() => {
            report.flag(&ID_EMPTY, &path, "a non-empty string", Actual::Json(value));
        }
        Some(id) if id.contains("bulkId") => {
            report.flag(
                &ID_BULK_ID,
                &path,
                "an id without \"bulkId\"",
                Actual::Json(value),
            );
        }
        Some(_) => {}
    }
}

pub(super) fn check_external_id(report: &mut Report, obj: &Object, base: &str) {
    optional(
        report,
        &EXTERNAL_ID_NOT_STRING,
        obj,
        base,
        "externalId",
        Ty::String,
    );
}

/// What `meta` must say for one kind of resource.
#[derive(Clone, Copy)]
pub(super) struct MetaPolicy {
    /// The expected `meta.resourceType`, e.g. "User".
    pub resource_type: &'static str,
    /// Users and Groups must return `meta`; discovery resources may omit it.
    pub required: bool,
}

const META_ATTRIBUTES: &[&str] = &[
    "resourceType",
    "created",
    "lastModified",
    "location",
    "version",
];

/// `meta` (RFC 7643 §3.1).
pub(super) fn check_meta(report: &mut Report, obj: &Object, base: &str, policy: MetaPolicy) {
    let Some(Field { path, value }) = field(obj, base, "meta") else {
        if policy.required {
            report.flag(
                &META_MISSING,
                &child(base, "meta"),
                "an object with resourceType, created, lastModified, location and version",
                Actual::Absent,
            );
        }
        return;
    };
    let Some(meta) = open(report, value, &path) else {
        report.flag(
            &META_NOT_OBJECT,
            &path,
            "a JSON object",
            Actual::Json(value),
        );
        return;
    };
    check_meta_resource_type(report, meta, &path, policy);
    check_meta_location(report, meta, &path, policy.required);
    check_meta_timestamps(report, meta, &path);
    optional(
        report,
        &META_VERSION_NOT_STRING,
        meta,
        &path,
        "version",
        Ty::String,
    );
    flag_unknown(report, meta, &path, META_ATTRIBUTES, "meta");
}

fn check_meta_resource_type(report: &mut Report, meta: &Object, base: &str, policy: MetaPolicy) {
    let expected = format!("\"{}\"", policy.resource_type);
    let Some(Field { path, value }) = field(meta, base, "resourceType") else {
        if policy.required {
            report.flag(
                &META_RESOURCE_TYPE_MISSING,
                &child(base, "resourceType"),
                expected,
                Actual::Absent,
            );
        }
        return;
    };
    match value.as_str() {
        None => report.flag(
            &META_RESOURCE_TYPE_NOT_STRING,
            &path,
            expected,
            Actual::Json(value),
        ),
        // Compared case-insensitively: a "user" resource type is odd but not worth an alarm.
        Some(name) if !name.eq_ignore_ascii_case(policy.resource_type) => {
            report.flag(
                &META_RESOURCE_TYPE_MISMATCH,
                &path,
                expected,
                Actual::Json(value),
            );
        }
        Some(_) => {}
    }
}

fn check_meta_location(report: &mut Report, meta: &Object, base: &str, required: bool) {
    let Some(Field { path, value }) = field(meta, base, "location") else {
        if required {
            report.flag(
                &META_LOCATION_MISSING,
                &child(base, "location"),
                "the resource's absolute URL",
                Actual::Absent,
            );
        }
        return;
    };
    match value.as_str() {
        None => report.flag(
            &META_LOCATION_NOT_STRING,
            &path,
            "a URL string",
            Actual::Json(value),
        ),
        // `Url::parse` succeeds only on absolute URLs: "/Users/1" fails without a base.
        Some(location) if url::Url::parse(location).is_err() => report.flag(
            &META_LOCATION_NOT_ABSOLUTE,
            &path,
            "an absolute URL such as https://example.com/scim/v2/Users/2819c223",
            Actual::Json(value),
        ),
        Some(_) => {}
    }
}

fn check_meta_timestamps(report: &mut Report, meta: &Object, base: &str) {
    let created = check_timestamp(report, meta, base, "created");
    let modified = check_timestamp(report, meta, base, "lastModified");
    if let (Some((created, created_text)), Some((modified, _))) = (created, modified)
        && modified < created
        && let Some(Field { path, value }) = field(meta, base, "lastModified")
    {
        report.flag(
            &META_MODIFIED_BEFORE_CREATED,
            &path,
            format!("a time at or after meta.created ({created_text})"),
            Actual::Json(value),
        );
    }
}

/// Checks one timestamp; returns it (and its text) when it carries an offset, so that created
/// and lastModified can be compared.
fn check_timestamp<'a>(
    report: &mut Report,
    meta: &'a Object,
    base: &str,
    name: &str,
) -> Option<(OffsetDateTime, &'a str)> {
    let Field { path, value } = field(meta, base, name)?;
    let expected = "an xsd:dateTime string such as 2011-05-13T04:42:34Z";
    let Some(text) = value.as_str() else {
        report.flag(&META_DATETIME_INVALID, &path, expected, Actual::Json(value));
        return None;
    };
    match parse_timestamp(text) {
        Timestamp::Zoned(at) => return Some((at, text)),
        Timestamp::Local => report.flag(
            &META_DATETIME_NO_OFFSET,
            &path,
            "a date-time ending in Z or an offset such as +01:00",
            Actual::Json(value),
        ),
        Timestamp::Invalid => {
            report.flag(&META_DATETIME_INVALID, &path, expected, Actual::Json(value))
        }
    }
    None
}

enum Timestamp {
    /// RFC 3339: an xsd:dateTime with a time-zone offset.
    Zoned(OffsetDateTime),
    /// Valid xsd:dateTime, but without an offset.
    Local,
    Invalid,
}

fn parse_timestamp(text: &str) -> Timestamp {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Timestamp::Zoned(at);
    }
    let local = format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    if PlainDateTime::parse(text, local).is_ok() {
        Timestamp::Local
    } else {
        Timestamp::Invalid
    }
}

/// One sub-attribute of a complex multi-valued attribute and the rule its type falls under.
pub(super) struct SubAttr {
    pub name: &'static str,
    pub ty: Ty,
    pub rule: &'static Rule,
}

/// The sub-attributes RFC 7643 §2.4 defines for every multi-valued attribute.
pub(super) const VALUE: SubAttr = sub("value", Ty::String);
pub(super) const DISPLAY: SubAttr = sub("display", Ty::String);
pub(super) const TYPE: SubAttr = sub("type", Ty::String);
pub(super) const PRIMARY: SubAttr = sub("primary", Ty::Boolean);
pub(super) const REF: SubAttr = sub("$ref", Ty::String);

const fn sub(name: &'static str, ty: Ty) -> SubAttr {
    SubAttr {
        name,
        ty,
        rule: &MULTI_SUB_WRONG_TYPE,
    }
}

/// A complex multi-valued attribute and its sub-attributes.
pub(super) struct MultiValued {
    pub name: &'static str,
    pub subs: &'static [SubAttr],
}

/// One well-formed value of a multi-valued attribute, for attribute-specific checks.
pub(super) struct Item<'a> {
    pub path: String,
    pub obj: &'a Object,
}

/// Checks a complex multi-valued attribute (RFC 7643 §2.4): an array of objects whose
/// sub-attributes have their types and at most one of which is primary. Returns the objects.
pub(super) fn check_multi_valued<'a>(
    report: &mut Report,
    obj: &'a Object,
    base: &str,
    spec: &MultiValued,
) -> Vec<Item<'a>> {
    let Some(Field { path, value }) = field(obj, base, spec.name) else {
        return Vec::new();
    };
    let Some(values) = value.as_array() else {
        report.flag(
            &MULTI_NOT_ARRAY,
            &path,
            "an array of objects",
            Actual::Json(value),
        );
        return Vec::new();
    };
    let known: Vec<&str> = spec.subs.iter().map(|sub| sub.name).collect();
    let owner = format!("a {} value", spec.name);
    let mut items = Vec::with_capacity(values.len());
    let mut first_primary: Option<String> = None;
    for (i, item) in values.iter().enumerate() {
        let item_path = index(&path, i);
        let Some(item_obj) = open(report, item, &item_path) else {
            report.flag(
                &MULTI_ITEM_NOT_OBJECT,
                &item_path,
                "a JSON object",
                Actual::Json(item),
            );
            continue;
        };
        for sub in spec.subs {
            optional(report, sub.rule, item_obj, &item_path, sub.name, sub.ty);
        }
        flag_unknown(report, item_obj, &item_path, &known, &owner);
        check_primary(report, item_obj, &item_path, &mut first_primary);
        items.push(Item {
            path: item_path,
            obj: item_obj,
        });
    }
    items
}

/// Flags a second (third, ...) `primary: true`, pointing at the first one.
fn check_primary(report: &mut Report, item: &Object, base: &str, first: &mut Option<String>) {
    let Some(Field { path, value }) = field(item, base, "primary") else {
        return;
    };
    if value != &Value::Bool(true) {
        return;
    }
    match first {
        None => *first = Some(path),
        Some(first_path) => report.flag(
            &MULTI_PRIMARY_DUPLICATE,
            &path,
            format!("false or absent: {first_path} is already true"),
            Actual::Json(value),
        ),
    }
}
