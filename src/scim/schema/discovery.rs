//! Discovery resources: ServiceProviderConfig (RFC 7643 §5), ResourceType (§6) and Schema (§7).
//!
//! Okta and Entra do not consume these, so nothing here is `Required`.

use serde_json::Value;

use super::json::{Field, Object, Ty, field, flag_unknown, is_urn, open, optional, required};
use super::report::{Actual, Report, child, index};
use super::resource::{
    MetaPolicy, RESOURCE_TYPE_URN, SCHEMA_URN, SPC_URN, check_meta, check_schemas,
};
use super::rules::*;

const SPC_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "meta",
    "documentationUri",
    "patch",
    "bulk",
    "filter",
    "changePassword",
    "sort",
    "etag",
    "authenticationSchemes",
];
const AUTH_SCHEME_ATTRIBUTES: &[&str] = &[
    "type",
    "name",
    "description",
    "specUri",
    "documentationUri",
    "primary",
];
/// Canonical authentication scheme types (RFC 7643 §5).
const AUTH_SCHEME_TYPES: &[&str] = &[
    "oauth",
    "oauth2",
    "oauthbearertoken",
    "httpbasic",
    "httpdigest",
];

/// Each feature of the ServiceProviderConfig and its REQUIRED integer limits.
const FEATURES: &[(&str, &[&str])] = &[
    ("patch", &[]),
    ("bulk", &["maxOperations", "maxPayloadSize"]),
    ("filter", &["maxResults"]),
    ("changePassword", &[]),
    ("sort", &[]),
    ("etag", &[]),
];

pub(super) fn check_service_provider_config(report: &mut Report, obj: &Object, base: &str) {
    check_schemas(report, obj, base, SPC_URN, &SPC_SCHEMAS);
    let policy = MetaPolicy {
        resource_type: "ServiceProviderConfig",
        required: false,
    };
    check_meta(report, obj, base, policy);
    optional(
        report,
        &SPC_DOCUMENTATION_URI_NOT_STRING,
        obj,
        base,
        "documentationUri",
        Ty::String,
    );
    for (name, limits) in FEATURES {
        check_feature(report, obj, base, name, limits);
    }
    check_authentication_schemes(report, obj, base);
    flag_unknown(report, obj, base, SPC_ATTRIBUTES, "a ServiceProviderConfig");
}

fn check_feature(report: &mut Report, obj: &Object, base: &str, name: &str, limits: &[&str]) {
    let expected = "an object such as {\"supported\": true}";
    let Some(Field { path, value }) = field(obj, base, name) else {
        report.flag(
            &SPC_FEATURE_INVALID,
            &child(base, name),
            expected,
            Actual::Absent,
        );
        return;
    };
    let Some(feature) = open(report, value, &path) else {
        report.flag(&SPC_FEATURE_INVALID, &path, expected, Actual::Json(value));
        return;
    };
    let supported = required(
        report,
        &SPC_SUPPORTED_INVALID,
        feature,
        &path,
        "supported",
        Ty::Boolean,
    )
    .and_then(|supported| supported.value.as_bool());
    for limit in limits {
        check_limit(report, feature, &path, limit, supported);
    }
    let mut known = vec!["supported"];
    known.extend_from_slice(limits);
    flag_unknown(report, feature, &path, &known, name);
}

/// A limit must be a non-negative integer; its absence is only advisory when the feature is
/// explicitly unsupported, since no client reads it then.
fn check_limit(
    report: &mut Report,
    feature: &Object,
    base: &str,
    name: &str,
    supported: Option<bool>,
) {
    let expected = "a non-negative integer";
    let Some(Field { path, value }) = field(feature, base, name) else {
        let rule = if supported == Some(false) {
            &SPC_LIMIT_MISSING_UNSUPPORTED
        } else {
            &SPC_LIMIT_INVALID
        };
        report.flag(rule, &child(base, name), expected, Actual::Absent);
        return;
    };
    if value.as_u64().is_none() {
        report.flag(&SPC_LIMIT_INVALID, &path, expected, Actual::Json(value));
    }
}

fn check_authentication_schemes(report: &mut Report, obj: &Object, base: &str) {
    let rule = &SPC_AUTH_SCHEMES_INVALID;
    let Some(Field { path, value }) =
        required(report, rule, obj, base, "authenticationSchemes", Ty::Array)
    else {
        return;
    };
    for (i, scheme) in value.as_array().into_iter().flatten().enumerate() {
        let scheme_path = index(&path, i);
        match open(report, scheme, &scheme_path) {
            Some(scheme) => check_authentication_scheme(report, scheme, &scheme_path),
            None => report.flag(
                &SPC_AUTH_SCHEME_INVALID,
                &scheme_path,
                "a JSON object",
                Actual::Json(scheme),
            ),
        }
    }
}

fn check_authentication_scheme(report: &mut Report, scheme: &Object, base: &str) {
    let rule = &SPC_AUTH_SCHEME_INVALID;
    let kind = required(report, rule, scheme, base, "type", Ty::String);
    required(report, rule, scheme, base, "name", Ty::String);
    required(report, rule, scheme, base, "description", Ty::String);
    optional(report, rule, scheme, base, "specUri", Ty::String);
    optional(report, rule, scheme, base, "documentationUri", Ty::String);
    optional(report, rule, scheme, base, "primary", Ty::Boolean);
    if let Some(Field { path, value }) = kind
        && let Some(kind) = value.as_str()
        && !AUTH_SCHEME_TYPES
            .iter()
            .any(|t| t.eq_ignore_ascii_case(kind))
    {
        report.flag(
            &SPC_AUTH_SCHEME_TYPE_UNKNOWN,
            &path,
            format!("one of {}", AUTH_SCHEME_TYPES.join(", ")),
            Actual::Json(value),
        );
    }
    flag_unknown(
        report,
        scheme,
        base,
        AUTH_SCHEME_ATTRIBUTES,
        "an authentication scheme",
    );
}

const RESOURCE_TYPE_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "name",
    "description",
    "endpoint",
    "schema",
    "schemaExtensions",
    "meta",
];

pub(super) fn check_resource_type(report: &mut Report, obj: &Object, base: &str) {
    check_schemas(report, obj, base, RESOURCE_TYPE_URN, &RESOURCE_TYPE_SCHEMAS);
    let policy = MetaPolicy {
        resource_type: "ResourceType",
        required: false,
    };
    check_meta(report, obj, base, policy);
    for name in ["name", "endpoint", "schema"] {
        required(
            report,
            &RESOURCE_TYPE_REQUIRED_INVALID,
            obj,
            base,
            name,
            Ty::String,
        );
    }
    let rule = &RESOURCE_TYPE_ATTRIBUTE_WRONG_TYPE;
    optional(report, rule, obj, base, "id", Ty::String);
    optional(report, rule, obj, base, "description", Ty::String);
    if let Some(Field { path, value }) =
        optional(report, rule, obj, base, "schemaExtensions", Ty::Array)
    {
        check_schema_extensions(report, value, &path);
    }
    flag_unknown(
        report,
        obj,
        base,
        RESOURCE_TYPE_ATTRIBUTES,
        "a ResourceType",
    );
}

fn check_schema_extensions(report: &mut Report, extensions: &Value, base: &str) {
    let rule = &RESOURCE_TYPE_EXTENSION_INVALID;
    for (i, extension) in extensions.as_array().into_iter().flatten().enumerate() {
        let path = index(base, i);
        let Some(extension) = open(report, extension, &path) else {
            report.flag(
                rule,
                &path,
                "an object such as {\"schema\": \"urn:...\", \"required\": true}",
                Actual::Json(extension),
            );
            continue;
        };
        required(report, rule, extension, &path, "schema", Ty::String);
        required(report, rule, extension, &path, "required", Ty::Boolean);
        flag_unknown(
            report,
            extension,
            &path,
            &["schema", "required"],
            "a schema extension",
        );
    }
}

const SCHEMA_ATTRIBUTES: &[&str] = &["schemas", "id", "name", "description", "attributes", "meta"];
const DEFINITION_ATTRIBUTES: &[&str] = &[
    "name",
    "type",
    "subAttributes",
    "multiValued",
    "description",
    "required",
    "canonicalValues",
    "caseExact",
    "mutability",
    "returned",
    "uniqueness",
    "referenceTypes",
];
const ATTRIBUTE_TYPES: &[&str] = &[
    "string",
    "boolean",
    "decimal",
    "integer",
    "dateTime",
    "reference",
    "complex",
    "binary",
];
/// The keyword-valued characteristics of an attribute and their keywords (RFC 7643 §7).
const KEYWORDS: &[(&str, &[&str])] = &[
    (
        "mutability",
        &["readOnly", "readWrite", "immutable", "writeOnly"],
    ),
    ("returned", &["always", "never", "default", "request"]),
    ("uniqueness", &["none", "server", "global"]),
];

pub(super) fn check_schema(report: &mut Report, obj: &Object, base: &str) {
    check_schemas(report, obj, base, SCHEMA_URN, &SCHEMA_SCHEMAS);
    let policy = MetaPolicy {
        resource_type: "Schema",
        required: false,
    };
    check_meta(report, obj, base, policy);
    check_schema_id(report, obj, base);
    optional(
        report,
        &SCHEMA_FIELD_WRONG_TYPE,
        obj,
        base,
        "name",
        Ty::String,
    );
    optional(
        report,
        &SCHEMA_FIELD_WRONG_TYPE,
        obj,
        base,
        "description",
        Ty::String,
    );
    if let Some(Field { path, value }) = required(
        report,
        &SCHEMA_ATTRIBUTES_INVALID,
        obj,
        base,
        "attributes",
        Ty::Array,
    ) {
        for (i, definition) in value.as_array().into_iter().flatten().enumerate() {
            check_definition(report, definition, &index(&path, i), false);
        }
    }
    flag_unknown(report, obj, base, SCHEMA_ATTRIBUTES, "a Schema");
}

fn check_schema_id(report: &mut Report, obj: &Object, base: &str) {
    let expected = "a schema URN such as \"urn:ietf:params:scim:schemas:core:2.0:User\"";
    match field(obj, base, "id") {
        None => report.flag(
            &SCHEMA_ID_INVALID,
            &child(base, "id"),
            expected,
            Actual::Absent,
        ),
        Some(Field { path, value }) => {
            if !value.as_str().is_some_and(is_urn) {
                report.flag(&SCHEMA_ID_INVALID, &path, expected, Actual::Json(value));
            }
        }
    }
}

/// One attribute definition. Sub-attributes are checked one level down and no further: RFC
/// 7643 §2.3.8 forbids deeper nesting, so recursion is bounded by construction.
fn check_definition(report: &mut Report, definition: &Value, path: &str, is_sub: bool) {
    let Some(definition) = open(report, definition, path) else {
        report.flag(
            &SCHEMA_ATTR_NOT_OBJECT,
            path,
            "a JSON object",
            Actual::Json(definition),
        );
        return;
    };
    required(
        report,
        &SCHEMA_ATTR_NAME_INVALID,
        definition,
        path,
        "name",
        Ty::String,
    );
    let kind = check_definition_type(report, definition, path);
    required(
        report,
        &SCHEMA_ATTR_MULTI_VALUED_INVALID,
        definition,
        path,
        "multiValued",
        Ty::Boolean,
    );
    let rule = &SCHEMA_ATTR_WRONG_TYPE;
    optional(report, rule, definition, path, "description", Ty::String);
    optional(report, rule, definition, path, "required", Ty::Boolean);
    optional(report, rule, definition, path, "caseExact", Ty::Boolean);
    optional(report, rule, definition, path, "canonicalValues", Ty::Array);
    optional(report, rule, definition, path, "referenceTypes", Ty::Array);
    for (name, keywords) in KEYWORDS {
        check_keyword(report, definition, path, name, keywords);
    }
    if is_sub {
        check_not_nested(report, definition, path, kind);
    } else {
        check_sub_attributes(report, definition, path, kind);
    }
    flag_unknown(
        report,
        definition,
        path,
        DEFINITION_ATTRIBUTES,
        "an attribute definition",
    );
}

/// Checks `type`; returns it when it is one of the RFC 7643 §2.3 data types.
fn check_definition_type<'a>(
    report: &mut Report,
    definition: &'a Object,
    base: &str,
) -> Option<&'a str> {
    let expected = format!("one of {}", ATTRIBUTE_TYPES.join(", "));
    let Some(Field { path, value }) = field(definition, base, "type") else {
        report.flag(
            &SCHEMA_ATTR_TYPE_INVALID,
            &child(base, "type"),
            expected,
            Actual::Absent,
        );
        return None;
    };
    let kind = value.as_str().filter(|kind| ATTRIBUTE_TYPES.contains(kind));
    if kind.is_none() {
        report.flag(
            &SCHEMA_ATTR_TYPE_INVALID,
            &path,
            expected,
            Actual::Json(value),
        );
    }
    kind
}

fn check_keyword(
    report: &mut Report,
    definition: &Object,
    base: &str,
    name: &str,
    keywords: &[&str],
) {
    let Some(Field { path, value }) = field(definition, base, name) else {
        return;
    };
    if !value
        .as_str()
        .is_some_and(|given| keywords.contains(&given))
    {
        report.flag(
            &SCHEMA_ATTR_KEYWORD_INVALID,
            &path,
            format!("one of {}", keywords.join(", ")),
            Actual::Json(value),
        );
    }
}

fn check_sub_attributes(report: &mut Report, definition: &Object, base: &str, kind: Option<&str>) {
    let expected = "an array of attribute definitions";
    let Some(Field { path, value }) = field(definition, base, "subAttributes") else {
        if kind == Some("complex") {
            report.flag(
                &SCHEMA_ATTR_SUB_ATTRIBUTES_INVALID,
                &child(base, "subAttributes"),
                expected,
                Actual::Absent,
            );
        }
        return;
    };
    let Some(subs) = value.as_array() else {
        report.flag(
            &SCHEMA_ATTR_SUB_ATTRIBUTES_INVALID,
            &path,
            expected,
            Actual::Json(value),
        );
        return;
    };
    for (i, sub) in subs.iter().enumerate() {
        check_definition(report, sub, &index(&path, i), true);
    }
}

/// A sub-attribute that is complex, or has sub-attributes of its own, breaks RFC 7643 §2.3.8.
/// Reported once, and not descended into.
fn check_not_nested(report: &mut Report, definition: &Object, base: &str, kind: Option<&str>) {
    let expected = "a simple sub-attribute (complex attributes do not nest)";
    if kind == Some("complex") {
        if let Some(Field { path, value }) = field(definition, base, "type") {
            report.flag(
                &SCHEMA_ATTR_NESTED_COMPLEX,
                &path,
                expected,
                Actual::Json(value),
            );
        }
    } else if let Some(Field { path, value }) = field(definition, base, "subAttributes") {
        report.flag(
            &SCHEMA_ATTR_NESTED_COMPLEX,
            &path,
            expected,
            Actual::Json(value),
        );
    }
}
