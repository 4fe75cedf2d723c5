//! The User resource (RFC 7643 §4.1) and the enterprise User extension (RFC 7643 §4.3).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use super::json::{Field, Object, Ty, field, flag_unknown, lookup, open, optional};
use super::report::{Actual, Report, child, index};
use super::resource::{
    DISPLAY, ENTERPRISE_URN, MetaPolicy, MultiValued, PRIMARY, REF, SubAttr, TYPE, USER_URN, VALUE,
    check_extensions, check_external_id, check_id, check_meta, check_multi_valued, check_schemas,
};
use super::rules::*;

/// Every attribute of the core User schema (RFC 7643 §4.1).
const USER_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "meta",
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// Singular string attributes (RFC 7643 §4.1.1); userName has its own, stricter rules.
const STRING_ATTRIBUTES: &[&str] = &[
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
];

const NAME_PARTS: &[&str] = &[
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
];

/// The value/display/type/primary shape shared by most User multi-valued attributes.
const PLAIN_SUBS: &[SubAttr] = &[VALUE, DISPLAY, TYPE, PRIMARY];

const fn address_part(name: &'static str) -> SubAttr {
    SubAttr {
        name,
        ty: Ty::String,
        rule: &USER_ADDRESS_PART_NOT_STRING,
    }
}

const EMAILS: MultiValued = MultiValued {
    name: "emails",
    subs: PLAIN_SUBS,
};
const X509_CERTIFICATES: MultiValued = MultiValued {
    name: "x509Certificates",
    subs: PLAIN_SUBS,
};

/// Multi-valued attributes of a User (RFC 7643 §4.1.2).
const MULTI_VALUED: &[MultiValued] = &[
    EMAILS,
    MultiValued {
        name: "phoneNumbers",
        subs: PLAIN_SUBS,
    },
    MultiValued {
        name: "ims",
        subs: PLAIN_SUBS,
    },
    MultiValued {
        name: "photos",
        subs: PLAIN_SUBS,
    },
    MultiValued {
        name: "addresses",
        subs: &[
            address_part("formatted"),
            address_part("streetAddress"),
            address_part("locality"),
            address_part("region"),
            address_part("postalCode"),
            address_part("country"),
            DISPLAY,
            TYPE,
            PRIMARY,
        ],
    },
    MultiValued {
        name: "groups",
        subs: &[VALUE, REF, DISPLAY, TYPE],
    },
    MultiValued {
        name: "entitlements",
        subs: PLAIN_SUBS,
    },
    MultiValued {
        name: "roles",
        subs: PLAIN_SUBS,
    },
    X509_CERTIFICATES,
];

const ENTERPRISE_STRINGS: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
];
const ENTERPRISE_ATTRIBUTES: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];
const MANAGER_ATTRIBUTES: &[&str] = &["value", "$ref", "displayName"];

/// Validates a User; `enterprise` demands the enterprise extension (`ResourceKind::EnterpriseUser`).
pub(super) fn check_user(report: &mut Report, obj: &Object, base: &str, enterprise: bool) {
    let schemas = check_schemas(report, obj, base, USER_URN, &USER_SCHEMAS);
    check_id(report, obj, base);
    check_external_id(report, obj, base);
    let policy = MetaPolicy {
        resource_type: "User",
        required: true,
    };
    check_meta(report, obj, base, policy);
    check_user_name(report, obj, base);
    check_singular_attributes(report, obj, base);
    check_password(report, obj, base);
    check_name(report, obj, base);
    for spec in MULTI_VALUED {
        check_multi_valued(report, obj, base, spec);
    }
    check_emails_primary(report, obj, base);
    check_certificates(report, obj, base);
    check_enterprise_extension(report, obj, base, enterprise);
    let handled = enterprise.then_some(ENTERPRISE_URN);
    check_extensions(report, obj, base, schemas.as_ref(), USER_URN, handled);
    flag_unknown(report, obj, base, USER_ATTRIBUTES, "a User");
}

fn check_user_name(report: &mut Report, obj: &Object, base: &str) {
    let expected = "a non-empty string";
    let Some(Field { path, value }) = field(obj, base, "userName") else {
        report.flag(
            &USER_NAME_MISSING,
            &child(base, "userName"),
            expected,
            Actual::Absent,
        );
        return;
    };
    match value.as_str() {
        None => report.flag(&USER_NAME_NOT_STRING, &path, expected, Actual::Json(value)),
        Some(name) if name.trim().is_empty() => {
            report.flag(&USER_NAME_EMPTY, &path, expected, Actual::Json(value));
        }
        Some(_) => {}
    }
}

/// displayName (advisory when absent), the other singular strings, and `active`.
fn check_singular_attributes(report: &mut Report, obj: &Object, base: &str) {
    if lookup(obj, "displayName").is_none() {
        report.flag(
            &USER_DISPLAY_NAME_MISSING,
            &child(base, "displayName"),
            "a string such as \"Babs Jensen\"",
            Actual::Absent,
        );
    }
    for name in STRING_ATTRIBUTES {
        optional(
            report,
            &USER_ATTRIBUTE_WRONG_TYPE,
            obj,
            base,
            name,
            Ty::String,
        );
    }
    optional(
        report,
        &USER_ACTIVE_NOT_BOOLEAN,
        obj,
        base,
        "active",
        Ty::Boolean,
    );
}

/// A returned password is a credential leak whatever its value, and is never echoed.
fn check_password(report: &mut Report, obj: &Object, base: &str) {
    if let Some(Field { path, .. }) = field(obj, base, "password") {
        report.flag(
            &USER_PASSWORD_RETURNED,
            &path,
            "no \"password\" attribute",
            Actual::Redacted,
        );
    }
}

fn check_name(report: &mut Report, obj: &Object, base: &str) {
    let Some(Field { path, value }) = field(obj, base, "name") else {
        return;
    };
    let Some(name) = open(report, value, &path) else {
        report.flag(
            &USER_NAME_NOT_OBJECT,
            &path,
            "an object such as {\"givenName\": \"Barbara\", \"familyName\": \"Jensen\"}",
            Actual::Json(value),
        );
        return;
    };
    for part in NAME_PARTS {
        optional(
            report,
            &USER_NAME_PART_NOT_STRING,
            name,
            &path,
            part,
            Ty::String,
        );
    }
    flag_unknown(report, name, &path, NAME_PARTS, "name");
}

/// Advisory: a non-empty `emails` with no primary leaves the IdP guessing the user's email.
fn check_emails_primary(report: &mut Report, obj: &Object, base: &str) {
    let Some(Field { path, value }) = field(obj, base, "emails") else {
        return;
    };
    let Some(emails) = value.as_array() else {
        return; // already reported as not an array
    };
    let objects: Vec<&Object> = emails
        .iter()
        .filter_map(|email| email.as_object())
        .collect();
    let has_primary = objects
        .iter()
        .any(|email| lookup(email, "primary").is_some_and(|(_, p)| p == &Value::Bool(true)));
    if !objects.is_empty() && !has_primary {
        report.flag(
            &USER_EMAILS_NO_PRIMARY,
            &path,
            "one email with \"primary\": true",
            Actual::Text(format!("{} emails, none primary", objects.len())),
        );
    }
}

/// x509Certificates values are binary attributes: base64 (RFC 7643 §2.3.6).
fn check_certificates(report: &mut Report, obj: &Object, base: &str) {
    let Some(Field { path, value }) = field(obj, base, X509_CERTIFICATES.name) else {
        return;
    };
    let Some(certificates) = value.as_array() else {
        return; // already reported as not an array
    };
    for (i, certificate) in certificates.iter().enumerate() {
        let item_path = index(&path, i);
        let Some(item) = certificate.as_object() else {
            continue;
        };
        if let Some(Field { path, value }) = field(item, &item_path, "value")
            && let Some(text) = value.as_str()
            && !is_base64(text)
        {
            report.flag(
                &USER_CERTIFICATE_NOT_BASE64,
                &path,
                "base64 of a DER certificate, such as \"MIIDQzCCAqygAwIBAgICEAAw...\"",
                Actual::Json(value),
            );
        }
    }
}

/// Lenient base64: standard alphabet, padding optional, line breaks allowed (PEM bodies).
fn is_base64(text: &str) -> bool {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).is_ok()
}

/// The enterprise extension: demanded for `EnterpriseUser`, validated whenever present.
fn check_enterprise_extension(report: &mut Report, obj: &Object, base: &str, required: bool) {
    let expected = "an object of enterprise attributes, such as {\"employeeNumber\": \"701984\"}";
    let Some(Field { path, value }) = field(obj, base, ENTERPRISE_URN) else {
        if required {
            report.flag(
                &ENTERPRISE_ABSENT,
                &child(base, ENTERPRISE_URN),
                expected,
                Actual::Absent,
            );
        }
        return;
    };
    match open(report, value, &path) {
        Some(extension) => check_enterprise(report, extension, &path),
        // Without `required`, the generic extension check reports the non-object.
        None if required => report.flag(&ENTERPRISE_ABSENT, &path, expected, Actual::Json(value)),
        None => {}
    }
}

fn check_enterprise(report: &mut Report, extension: &Object, base: &str) {
    for name in ENTERPRISE_STRINGS {
        optional(
            report,
            &ENTERPRISE_ATTRIBUTE_NOT_STRING,
            extension,
            base,
            name,
            Ty::String,
        );
    }
    check_manager(report, extension, base);
    flag_unknown(
        report,
        extension,
        base,
        ENTERPRISE_ATTRIBUTES,
        "the enterprise extension",
    );
}

fn check_manager(report: &mut Report, extension: &Object, base: &str) {
    let Some(Field { path, value }) = field(extension, base, "manager") else {
        return;
    };
    let Some(manager) = open(report, value, &path) else {
        report.flag(
            &ENTERPRISE_MANAGER_NOT_OBJECT,
            &path,
            "an object such as {\"value\": \"26118915-6090-4610-87e4-49d8ca9f808d\"}",
            Actual::Json(value),
        );
        return;
    };
    if lookup(manager, "value").is_none() {
        report.flag(
            &ENTERPRISE_MANAGER_VALUE_MISSING,
            &child(&path, "value"),
            "the manager's User id",
            Actual::Absent,
        );
    }
    for name in MANAGER_ATTRIBUTES {
        optional(
            report,
            &ENTERPRISE_MANAGER_SUB_NOT_STRING,
            manager,
            &path,
            name,
            Ty::String,
        );
    }
    flag_unknown(report, manager, &path, MANAGER_ATTRIBUTES, "manager");
}
