//! Behaviour beyond single rules: valid bodies stay silent, SCIM case-insensitivity, list item
//! paths, robustness against hostile JSON, rendering and the public API.

use serde_json::{Value, json};

use super::fixtures::*;
use super::{Check, Edit, RULES, listing, rule_of, run};
use crate::scim::schema::ResourceKind as K;
use crate::scim::schema::rules::{MULTI_SUB_WRONG_TYPE, TRUNCATED, USER_NAME_MISSING};
use crate::scim::schema::{ResourceKind, Violation, validate, validate_list};
use crate::severity::Severity;

fn assert_clean(check: Check, body: &Value) {
    let violations = run(check, body);
    assert!(
        violations.is_empty(),
        "{check:?} should be clean:{}",
        listing(&violations)
    );
}

#[test]
fn valid_examples_of_every_kind_are_clean() {
    assert_clean(Check::One(K::User), &user());
    assert_clean(Check::One(K::User), &user2());
    assert_clean(Check::One(K::User), &enterprise_user());
    assert_clean(Check::One(K::EnterpriseUser), &enterprise_user());
    assert_clean(Check::One(K::Group), &group());
    assert_clean(Check::One(K::ListResponse), &user_list());
    assert_clean(Check::One(K::Error), &error());
    assert_clean(Check::One(K::PatchOp), &patch());
    assert_clean(
        Check::One(K::ServiceProviderConfig),
        &service_provider_config(),
    );
    assert_clean(Check::One(K::ResourceType), &resource_type());
    assert_clean(Check::One(K::Schema), &schema());
}

#[test]
fn valid_lists_of_every_item_kind_are_clean() {
    assert_clean(Check::List(K::User), &user_list());
    assert_clean(
        Check::List(K::EnterpriseUser),
        &list(vec![enterprise_user()]),
    );
    assert_clean(Check::List(K::Group), &list(vec![group(), group()]));
    assert_clean(Check::List(K::ResourceType), &list(vec![resource_type()]));
    assert_clean(Check::List(K::Schema), &list(vec![schema()]));
    assert_clean(Check::List(K::User), &list(vec![]));
}

#[test]
fn minimal_user_only_lacks_the_advisory_display_name() {
    // RFC 7643 §8.1's minimal User: valid, with one advisory hint.
    let minimal = json!({
        "schemas": [USER_URN],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff590\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    });
    let violations = validate(K::User, &minimal);
    assert_eq!(violations.len(), 1, "{}", listing(&violations));
    assert_eq!(violations[0].path, "$.displayName");
    assert_eq!(violations[0].severity, Severity::Advisory);
}

#[test]
fn paged_and_count_zero_lists_are_clean() {
    let page = list(vec![user(), user2()])
        .set("/totalResults", json!(100))
        .set("/startIndex", json!(21));
    assert_clean(Check::List(K::User), &page);
    // count=0 (RFC 7644 §3.4.2.4): totalResults alone, no Resources.
    let count_only = list(vec![])
        .set("/totalResults", json!(5))
        .remove("/Resources");
    assert_clean(Check::List(K::User), &count_only);
    let empty = list(vec![]).remove("/Resources");
    assert_clean(Check::List(K::User), &empty);
}

#[test]
fn attribute_names_are_case_insensitive() {
    let body = enterprise_user()
        .rename("/userName", "UserName")
        .rename("/id", "ID")
        .rename("/schemas", "Schemas")
        .rename("/emails/0/primary", "Primary")
        .rename("/emails", "Emails")
        .rename("/meta/resourceType", "ResourceType")
        .rename("/meta", "META")
        .rename("/name/givenName", "GIVENNAME")
        .rename(&ent(""), &ENTERPRISE_URN.to_lowercase());
    assert_clean(Check::One(K::EnterpriseUser), &body);
    let list = list(vec![user()])
        .rename("/Resources", "resources")
        .rename("/totalResults", "TotalResults");
    assert_clean(Check::List(K::User), &list);
}

#[test]
fn paths_are_spelled_as_in_the_body() {
    let body = user()
        .rename("/emails/0/primary", "Primary")
        .rename("/emails", "Emails");
    let body = body.set("/Emails/0/Primary", json!("yes"));
    let violations = validate(K::User, &body);
    let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
    assert!(
        paths.contains(&"$.Emails[0].Primary"),
        "{}",
        listing(&violations)
    );

    let list = list(vec![user(), user().remove("/userName")]).rename("/Resources", "resources");
    let violations = validate_list(K::User, &list);
    assert_eq!(violations.len(), 1, "{}", listing(&violations));
    assert_eq!(violations[0].path, "$.resources[1].userName");
    assert_eq!(violations[0].rule, USER_NAME_MISSING.text);
}

#[test]
fn null_is_the_same_as_absent() {
    let body = user()
        .set("/active", Value::Null)
        .set("/nickName", Value::Null)
        .set("/emails/0/type", Value::Null);
    assert_clean(Check::One(K::User), &body);
}

#[test]
fn entra_capitalised_ops_are_accepted() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "members", "value": [{"value": "2819c223"}]},
            {"op": "Remove", "path": "members[value eq \"2819c223\"]"}
        ]
    });
    assert_clean(Check::One(K::PatchOp), &body);
}

#[test]
fn member_type_is_case_insensitive() {
    assert_clean(
        Check::One(K::Group),
        &group().set("/members/0/type", json!("user")),
    );
}

#[test]
fn returned_password_is_not_echoed() {
    let violations = validate(K::User, &user().set("/password", json!("t1meMa$heen")));
    assert_eq!(violations.len(), 1);
    assert!(!violations[0].actual.contains("t1meMa$heen"));
    assert!(!violations[0].to_string().contains("t1meMa$heen"));
    assert_eq!(violations[0].severity, Severity::Required);
}

#[test]
fn display_is_one_line() {
    let violations = validate(K::User, &user().set("/active", json!("true")));
    assert_eq!(
        violations[0].to_string(),
        "$.active: expected a boolean (true or false), got \"true\" (\"active\" is a boolean; \
         identity providers deactivate users through it; RFC 7643 §4.1.1) [required]"
    );
}

#[test]
fn absent_values_render_as_absent() {
    let violations = validate(K::User, &user().remove("/userName"));
    assert_eq!(violations[0].actual, "(absent)");
    assert_eq!(violations[0].expected, "a non-empty string");
}

#[test]
fn actual_values_are_truncated_on_a_character_boundary() {
    let long = "é".repeat(500);
    let violations = validate(K::User, &user().set("/title", json!([long])));
    let actual = &violations[0].actual;
    assert!(actual.ends_with('…'), "{actual}");
    assert!(
        actual.len() <= 80 + '…'.len_utf8(),
        "{} bytes",
        actual.len()
    );
    assert!(actual.starts_with("[\"éé"));

    let big = Value::Array((0..100_000).map(|i| json!({ "n": i })).collect());
    let violations = validate(K::Group, &group().set("/displayName", big));
    assert!(violations[0].actual.chars().count() <= 81);
}

#[test]
fn odd_member_names_use_bracket_notation() {
    let body = user()
        .set("/it's", json!(1))
        .set("/a\\b", json!(2))
        .set("/", json!(3));
    let violations = validate(K::User, &body);
    let mut paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["$['']", "$['a\\\\b']", "$['it\\'s']"]);
}

#[test]
fn findings_are_capped_and_keep_the_worst_severity() {
    // 1000 advisory findings first, then Required ones that fall past the cap.
    let mut resources: Vec<Value> = (0..1000).map(|_| user().remove("/displayName")).collect();
    resources.extend((0..5).map(|_| user().remove("/userName")));
    let violations = validate_list(K::User, &list(resources));
    assert_eq!(violations.len(), 1001);
    let last = &violations[1000];
    assert_eq!(last.rule, TRUNCATED.text);
    assert_eq!(last.reference, TRUNCATED.reference);
    assert_eq!(last.severity, Severity::Required);
    assert_eq!(last.actual, "5 more findings not listed");
    assert!(
        violations[..1000]
            .iter()
            .all(|v| v.severity == Severity::Advisory)
    );
}

/// Values of every JSON type, including awkward ones.
fn weird_values() -> Vec<Value> {
    let deep = (0..300).fold(json!({}), |inner, _| json!({ "a": [inner] }));
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(1.5),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(""),
        json!("x".repeat(5000)),
        json!([]),
        json!([null, 1, "a", {}, []]),
        json!({}),
        json!({"value": {"value": [1]}, "primary": "yes"}),
        deep,
    ]
}

/// Every JSON Pointer into `value`, the root included.
fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    out.push(prefix.clone());
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{prefix}/{i}"), out);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                let token = key.replace('~', "~0").replace('/', "~1");
                pointers(member, format!("{prefix}/{token}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn never_panics_on_any_shape() {
    let fixtures = [
        (K::User, user()),
        (K::EnterpriseUser, enterprise_user()),
        (K::Group, group()),
        (K::ListResponse, user_list()),
        (K::Error, error()),
        (K::PatchOp, patch()),
        (K::ServiceProviderConfig, service_provider_config()),
        (K::ResourceType, resource_type()),
        (K::Schema, schema()),
    ];
    let weird = weird_values();
    for (kind, fixture) in &fixtures {
        let mut all = Vec::new();
        pointers(fixture, String::new(), &mut all);
        for pointer in all.iter().filter(|p| !p.is_empty()) {
            for value in &weird {
                let body = fixture.clone().set(pointer, value.clone());
                for violation in validate(*kind, &body) {
                    rule_of(&violation); // every finding comes from the catalogue
                }
                if *kind == K::ListResponse {
                    validate_list(K::User, &body);
                }
            }
        }
    }
    for kind in ResourceKind::ALL {
        for value in &weird {
            validate(kind, value);
            validate_list(kind, value);
            validate_list(kind, &list(vec![value.clone(), value.clone()]));
        }
    }
}

#[test]
fn deep_nesting_is_reported_once_and_bounded() {
    let deep = (0..2000).fold(json!(1), |inner, _| Value::Array(vec![inner]));
    let violations = validate(K::User, &user().set("/roles/0/value", deep));
    let too_deep: Vec<&Violation> = violations
        .iter()
        .filter(|v| rule_of(v).id == "body.too_deep")
        .collect();
    assert_eq!(too_deep.len(), 1);
    assert!(too_deep[0].actual.ends_with('…'));
    assert!(
        violations
            .iter()
            .any(|v| v.rule == MULTI_SUB_WRONG_TYPE.text)
    );
}

#[test]
fn resource_kind_names_round_trip() {
    for kind in ResourceKind::ALL {
        assert_eq!(kind.as_str().parse::<ResourceKind>(), Ok(kind));
        assert_eq!(kind.to_string(), kind.as_str());
        let json = serde_json::to_value(kind).unwrap();
        assert_eq!(json, json!(kind.as_str()));
        assert_eq!(serde_json::from_value::<ResourceKind>(json).unwrap(), kind);
    }
}

#[test]
fn unknown_resource_kind_lists_valid_names() {
    let err = "user".parse::<ResourceKind>().unwrap_err();
    assert_eq!(err.suggestion, Some(K::User));
    let message = err.to_string();
    assert!(message.contains("did you mean User?"), "{message}");
    assert!(message.contains("User, Group, EnterpriseUser, ListResponse, Error, PatchOp, ServiceProviderConfig, ResourceType, Schema"));
    let err = "Widget".parse::<ResourceKind>().unwrap_err();
    assert_eq!(err.suggestion, None);
    assert!(
        err.to_string()
            .starts_with("unknown resource kind \"Widget\"; valid kinds: User")
    );
}

#[test]
fn violations_serialize_with_lowercase_severity() {
    let violations = validate(K::Error, &error().set("/status", json!(409)));
    let json = serde_json::to_value(&violations[0]).unwrap();
    assert_eq!(json["severity"], "recommended");
    assert_eq!(json["path"], "$.status");
    assert_eq!(json["reference"], "RFC 7644 §3.12");
    assert_eq!(json["actual"], "409");
}

#[test]
fn rules_are_unique_and_well_formed() {
    for (i, rule) in RULES.iter().enumerate() {
        assert!(
            !rule.text.ends_with('.'),
            "{}: one sentence without a final period",
            rule.id
        );
        assert!(
            rule.reference.starts_with("RFC 7643 §")
                || rule.reference.starts_with("RFC 7644 §")
                || rule.reference == "oinspect limit",
            "{}: {}",
            rule.id,
            rule.reference
        );
        for other in &RULES[i + 1..] {
            assert_ne!(rule.id, other.id);
            assert_ne!(
                rule.text, other.text,
                "{} and {} share a text",
                rule.id, other.id
            );
        }
    }
}

/// The severity policy, written out independently of the catalogue: `Required` only for what
/// Okta or Entra reject or break on, `Advisory` for hints, `Recommended` for everything else.
#[test]
fn severities_follow_the_policy() {
    const REQUIRED: &[&str] = &[
        "body.not_object",
        "user.schemas.core_missing",
        "group.schemas.core_missing",
        "list.schemas.core_missing",
        "error.schemas.core_missing",
        "patch.schemas.core_missing",
        "resource.id.missing",
        "resource.id.not_string",
        "resource.id.empty",
        "user.userName.missing",
        "user.userName.not_string",
        "user.userName.empty",
        "user.active.not_boolean",
        "user.password.returned",
        "enterprise.extension.absent",
        "group.displayName.missing",
        "group.displayName.not_string",
        "list.totalResults.missing",
        "list.totalResults.not_integer",
        "list.Resources.missing",
        "list.Resources.not_array",
        "error.status.missing",
        "error.status.wrong_type",
        "patch.Operations.missing",
        "patch.operation.not_object",
        "patch.op.invalid",
        "patch.path.not_string",
        "patch.remove.no_path",
        "patch.value.missing",
        "patch.value.not_object",
    ];
    const ADVISORY: &[&str] = &[
        "report.truncated",
        "attribute.unknown",
        "schema.schemas.core_missing",
        "schemas.duplicate",
        "schemas.urn_without_attributes",
        "meta.location.not_absolute",
        "meta.datetime.no_offset",
        "meta.lastModified.before_created",
        "user.displayName.missing",
        "user.emails.no_primary",
        "list.paging.missing_unpaged",
        "spc.limit.missing_unsupported",
        "spc.authenticationScheme.type.unknown",
    ];
    for id in REQUIRED.iter().chain(ADVISORY) {
        assert!(RULES.iter().any(|rule| rule.id == *id), "no rule {id}");
    }
    for rule in RULES {
        let expected = if REQUIRED.contains(&rule.id) {
            Severity::Required
        } else if ADVISORY.contains(&rule.id) {
            Severity::Advisory
        } else {
            Severity::Recommended
        };
        assert_eq!(rule.severity, expected, "{}", rule.id);
    }
}
