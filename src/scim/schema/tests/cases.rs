//! One case (at least) per rule: a valid fixture with one fault, and the exact set of
//! `(rule, path)` findings it must produce. Exact sets catch false alarms and duplicates, not
//! only misses; severities and references are checked against the catalogue.

use serde_json::{Value, json};

use super::fixtures::*;
use super::{Check, Edit, RULES, Rule, listing, rule_of, run};
use crate::scim::schema::ResourceKind as K;
use crate::scim::schema::rules::*;

const USER: Check = Check::One(K::User);
const ENTERPRISE: Check = Check::One(K::EnterpriseUser);
const GROUP: Check = Check::One(K::Group);
const LIST: Check = Check::One(K::ListResponse);
const USERS: Check = Check::List(K::User);
const ERROR: Check = Check::One(K::Error);
const PATCH: Check = Check::One(K::PatchOp);
const SPC: Check = Check::One(K::ServiceProviderConfig);
const RESOURCE_TYPE: Check = Check::One(K::ResourceType);
const SCHEMA: Check = Check::One(K::Schema);

/// JSONPath of the enterprise extension object.
fn ent_path(rest: &str) -> String {
    format!("$['{ENTERPRISE_URN}']{rest}")
}

/// `levels` arrays nested in one another around an empty array.
fn nested_arrays(levels: usize) -> Value {
    (0..levels).fold(json!([]), |inner, _| Value::Array(vec![inner]))
}

fn check_case(name: &str, check: Check, body: Value, expected: &[(&Rule, String)]) {
    let violations = run(check, &body);
    for violation in &violations {
        let rule = rule_of(violation);
        assert_eq!(
            violation.severity, rule.severity,
            "{name}: severity of {violation}"
        );
        assert_eq!(
            violation.reference, rule.reference,
            "{name}: reference of {violation}"
        );
    }
    let mut got: Vec<(&str, String)> = violations
        .iter()
        .map(|v| (rule_of(v).id, v.path.clone()))
        .collect();
    let mut want: Vec<(&str, String)> = expected
        .iter()
        .map(|(rule, path)| (rule.id, path.clone()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{name}: got{}", listing(&violations));
}

macro_rules! cases {
    ($($name:ident: $check:expr, $body:expr => [$($rule:ident @ $path:expr),+ $(,)?];)+) => {
        $(
            #[test]
            fn $name() {
                check_case(stringify!($name), $check, $body, &[$((&$rule, String::from($path))),+]);
            }
        )+
        /// Ids of the rules the cases above exercise.
        const COVERED: &[&str] = &[$($($rule.id),+),+];
    };
}

cases! {
    // ---- Whole body
    body_array: USER, json!([user()]) => [BODY_NOT_OBJECT @ "$"];
    body_string_error: ERROR, json!("Internal Server Error") => [BODY_NOT_OBJECT @ "$"];
    body_item_in_list: USERS, user_list().set("/Resources/1", json!("jsmith"))
        => [BODY_NOT_OBJECT @ "$.Resources[1]"];
    body_item_in_envelope: LIST, user_list().set("/Resources/0", json!(42))
        => [BODY_NOT_OBJECT @ "$.Resources[0]"];
    body_too_deep: GROUP, group().set("/members/0/value", nested_arrays(70))
        => [TOO_DEEP @ format!("$.members[0].value{}", "[0]".repeat(62)),
            MULTI_SUB_WRONG_TYPE @ "$.members[0].value"];
    case_duplicate: USER, user().set("/UserName", json!("babs"))
        => [CASE_DUPLICATE @ "$.userName"];
    case_duplicate_in_item: USER, user().set("/emails/1/Value", json!("b@example.com"))
        => [CASE_DUPLICATE @ "$.emails[1].value"];
    unknown_attribute: USER, user().set("/favoriteColor", json!("blue"))
        => [UNKNOWN_ATTRIBUTE @ "$.favoriteColor"];
    unknown_sub_attribute: USER, user().set("/emails/0/verified", json!(true))
        => [UNKNOWN_ATTRIBUTE @ "$.emails[0].verified"];
    unknown_meta_attribute: GROUP, group().set("/meta/etag", json!("x"))
        => [UNKNOWN_ATTRIBUTE @ "$.meta.etag"];

    // ---- schemas
    user_schemas_missing: USER, user().remove("/schemas") => [USER_SCHEMAS @ "$.schemas"];
    user_schemas_not_array: USER, user().set("/schemas", json!(USER_URN)) => [USER_SCHEMAS @ "$.schemas"];
    user_schemas_wrong_core: USER, user().set("/schemas/0", json!("urn:ietf:params:scim:schemas:core:2.0:Group"))
        => [USER_SCHEMAS @ "$.schemas", SCHEMAS_URN_UNUSED @ "$.schemas[0]"];
    group_schemas_missing: GROUP, group().remove("/schemas") => [GROUP_SCHEMAS @ "$.schemas"];
    list_schemas_missing: USERS, user_list().remove("/schemas") => [LIST_SCHEMAS @ "$.schemas"];
    error_schemas_missing: ERROR, error().remove("/schemas") => [ERROR_SCHEMAS @ "$.schemas"];
    patch_schemas_missing: PATCH, patch().set("/schemas", json!([])) => [PATCH_SCHEMAS @ "$.schemas"];
    spc_schemas_missing: SPC, service_provider_config().remove("/schemas") => [SPC_SCHEMAS @ "$.schemas"];
    resource_type_schemas_missing: RESOURCE_TYPE, resource_type().remove("/schemas")
        => [RESOURCE_TYPE_SCHEMAS @ "$.schemas"];
    schema_schemas_missing: SCHEMA, schema().remove("/schemas") => [SCHEMA_SCHEMAS @ "$.schemas"];
    schemas_item_not_string: USER, user().set("/schemas/1", json!(42)) => [SCHEMAS_ITEM_NOT_STRING @ "$.schemas[1]"];
    schemas_duplicate: USER, user().set("/schemas/1", json!(USER_URN)) => [SCHEMAS_DUPLICATE @ "$.schemas[1]"];
    schemas_urn_unused: USER, user().set("/schemas/1", json!(ENTERPRISE_URN))
        => [SCHEMAS_URN_UNUSED @ "$.schemas[1]"];
    extension_not_listed: USER, enterprise_user().remove("/schemas/1")
        => [EXTENSION_NOT_LISTED @ ent_path("")];
    extension_not_object: GROUP, group()
        .set("/schemas/1", json!("urn:example:params:scim:schemas:extension:2.0:Tour"))
        .set("/urn:example:params:scim:schemas:extension:2.0:Tour", json!("night"))
        => [EXTENSION_NOT_OBJECT @ "$['urn:example:params:scim:schemas:extension:2.0:Tour']"];

    // ---- id, externalId, meta
    id_missing: USER, user().remove("/id") => [ID_MISSING @ "$.id"];
    id_null_is_missing: GROUP, group().set("/id", Value::Null) => [ID_MISSING @ "$.id"];
    id_not_string: USER, user().set("/id", json!(2819)) => [ID_NOT_STRING @ "$.id"];
    id_empty: GROUP, group().set("/id", json!("")) => [ID_EMPTY @ "$.id"];
    id_bulk_id: GROUP, group().set("/id", json!("bulkId:qwerty")) => [ID_BULK_ID @ "$.id"];
    external_id_not_string: USER, user().set("/externalId", json!(701984))
        => [EXTERNAL_ID_NOT_STRING @ "$.externalId"];
    meta_missing: GROUP, group().remove("/meta") => [META_MISSING @ "$.meta"];
    meta_not_object: USER, user().set("/meta", json!("User")) => [META_NOT_OBJECT @ "$.meta"];
    meta_resource_type_missing: USER, user().remove("/meta/resourceType")
        => [META_RESOURCE_TYPE_MISSING @ "$.meta.resourceType"];
    meta_resource_type_not_string: USER, user().set("/meta/resourceType", json!(["User"]))
        => [META_RESOURCE_TYPE_NOT_STRING @ "$.meta.resourceType"];
    meta_resource_type_mismatch: USER, user().set("/meta/resourceType", json!("Group"))
        => [META_RESOURCE_TYPE_MISMATCH @ "$.meta.resourceType"];
    meta_location_missing: GROUP, group().remove("/meta/location")
        => [META_LOCATION_MISSING @ "$.meta.location"];
    meta_location_not_string: GROUP, group().set("/meta/location", json!({"href": "x"}))
        => [META_LOCATION_NOT_STRING @ "$.meta.location"];
    meta_location_relative: USER, user().set("/meta/location", json!("/v2/Users/2819c223"))
        => [META_LOCATION_NOT_ABSOLUTE @ "$.meta.location"];
    meta_created_invalid: USER, user().set("/meta/created", json!("23/01/2010 04:56"))
        => [META_DATETIME_INVALID @ "$.meta.created"];
    meta_created_epoch: GROUP, group().set("/meta/created", json!(1264222582))
        => [META_DATETIME_INVALID @ "$.meta.created"];
    meta_last_modified_no_offset: USER, user().set("/meta/lastModified", json!("2011-05-13T04:42:34"))
        => [META_DATETIME_NO_OFFSET @ "$.meta.lastModified"];
    meta_modified_before_created: USER, user().set("/meta/lastModified", json!("2009-12-31T23:59:59-08:00"))
        => [META_MODIFIED_BEFORE_CREATED @ "$.meta.lastModified"];
    meta_version_not_string: GROUP, group().set("/meta/version", json!(3))
        => [META_VERSION_NOT_STRING @ "$.meta.version"];
    meta_of_discovery_checked_when_present: SPC, service_provider_config().set("/meta/created", json!("now"))
        => [META_DATETIME_INVALID @ "$.meta.created"];

    // ---- Multi-valued attributes
    multi_not_array: USER, user().set("/emails", json!({"value": "bjensen@example.com", "primary": true}))
        => [MULTI_NOT_ARRAY @ "$.emails"];
    members_not_array: GROUP, group().set("/members", json!("2819c223-7f76-453a-919d-413861904646"))
        => [MULTI_NOT_ARRAY @ "$.members"];
    multi_item_not_object: USER, user().set("/phoneNumbers/1", json!("555-555-4444"))
        => [MULTI_ITEM_NOT_OBJECT @ "$.phoneNumbers[1]"];
    multi_primary_not_boolean: USER, user().set("/emails/0/primary", json!("true"))
        => [MULTI_SUB_WRONG_TYPE @ "$.emails[0].primary", USER_EMAILS_NO_PRIMARY @ "$.emails"];
    multi_value_not_string: USER, user().set("/phoneNumbers/0/value", json!(5555555555_u64))
        => [MULTI_SUB_WRONG_TYPE @ "$.phoneNumbers[0].value"];
    multi_type_not_string: USER, user().set("/ims/0/type", json!(1)) => [MULTI_SUB_WRONG_TYPE @ "$.ims[0].type"];
    multi_display_not_string: USER, user().set("/entitlements/0/display", json!(false))
        => [MULTI_SUB_WRONG_TYPE @ "$.entitlements[0].display"];
    groups_ref_not_string: USER, user().set("/groups/0/$ref", json!({"id": 1}))
        => [MULTI_SUB_WRONG_TYPE @ "$.groups[0]['$ref']"];
    member_value_not_string: GROUP, group().set("/members/0/value", json!(2819))
        => [MULTI_SUB_WRONG_TYPE @ "$.members[0].value"];
    multi_primary_duplicate: USER, user().set("/emails/1/primary", json!(true))
        => [MULTI_PRIMARY_DUPLICATE @ "$.emails[1].primary"];
    address_primary_duplicate: USER, user().set("/addresses/1/primary", json!(true))
        => [MULTI_PRIMARY_DUPLICATE @ "$.addresses[1].primary"];

    // ---- User
    user_name_missing: USER, user().remove("/userName") => [USER_NAME_MISSING @ "$.userName"];
    user_name_not_string: USER, user().set("/userName", json!(42)) => [USER_NAME_NOT_STRING @ "$.userName"];
    user_name_empty: USER, user().set("/userName", json!(" ")) => [USER_NAME_EMPTY @ "$.userName"];
    user_display_name_missing: USER, user().remove("/displayName")
        => [USER_DISPLAY_NAME_MISSING @ "$.displayName"];
    user_display_name_null: USER, user().set("/displayName", Value::Null)
        => [USER_DISPLAY_NAME_MISSING @ "$.displayName"];
    user_display_name_not_string: USER, user().set("/displayName", json!({"en": "Babs"}))
        => [USER_ATTRIBUTE_WRONG_TYPE @ "$.displayName"];
    user_title_not_string: USER, user().set("/title", json!(["Tour Guide"]))
        => [USER_ATTRIBUTE_WRONG_TYPE @ "$.title"];
    user_active_string: USER, user().set("/active", json!("true")) => [USER_ACTIVE_NOT_BOOLEAN @ "$.active"];
    user_active_number: USER, user().set("/active", json!(1)) => [USER_ACTIVE_NOT_BOOLEAN @ "$.active"];
    user_password_returned: USER, user().set("/password", json!("t1meMa$heen"))
        => [USER_PASSWORD_RETURNED @ "$.password"];
    user_name_not_object: USER, user().set("/name", json!("Barbara Jensen")) => [USER_NAME_NOT_OBJECT @ "$.name"];
    user_name_part_not_string: USER, user().set("/name/givenName", json!(["Barbara"]))
        => [USER_NAME_PART_NOT_STRING @ "$.name.givenName"];
    user_emails_no_primary: USER, user().remove("/emails/0/primary") => [USER_EMAILS_NO_PRIMARY @ "$.emails"];
    user_address_part_not_string: USER, user().set("/addresses/0/postalCode", json!(91608))
        => [USER_ADDRESS_PART_NOT_STRING @ "$.addresses[0].postalCode"];
    user_certificate_not_base64: USER, user().set("/x509Certificates/0/value", json!("-----BEGIN CERTIFICATE-----"))
        => [USER_CERTIFICATE_NOT_BASE64 @ "$.x509Certificates[0].value"];

    // ---- Enterprise extension
    enterprise_absent: ENTERPRISE, user() => [ENTERPRISE_ABSENT @ ent_path("")];
    enterprise_absent_but_listed: ENTERPRISE, enterprise_user().remove(&ent(""))
        => [ENTERPRISE_ABSENT @ ent_path("")];
    enterprise_not_object: ENTERPRISE, enterprise_user().set(&ent(""), json!("701984"))
        => [ENTERPRISE_ABSENT @ ent_path("")];
    enterprise_attribute_not_string: ENTERPRISE, enterprise_user().set(&ent("/employeeNumber"), json!(701984))
        => [ENTERPRISE_ATTRIBUTE_NOT_STRING @ ent_path(".employeeNumber")];
    enterprise_checked_on_plain_user: USER, enterprise_user().set(&ent("/department"), json!(7))
        => [ENTERPRISE_ATTRIBUTE_NOT_STRING @ ent_path(".department")];
    enterprise_not_object_on_plain_user: USER, enterprise_user().set(&ent(""), json!(["x"]))
        => [EXTENSION_NOT_OBJECT @ ent_path("")];
    enterprise_manager_not_object: ENTERPRISE,
        enterprise_user().set(&ent("/manager"), json!("26118915-6090-4610-87e4-49d8ca9f808d"))
        => [ENTERPRISE_MANAGER_NOT_OBJECT @ ent_path(".manager")];
    enterprise_manager_value_missing: ENTERPRISE, enterprise_user().remove(&ent("/manager/value"))
        => [ENTERPRISE_MANAGER_VALUE_MISSING @ ent_path(".manager.value")];
    enterprise_manager_sub_not_string: ENTERPRISE, enterprise_user().set(&ent("/manager/displayName"), json!(5))
        => [ENTERPRISE_MANAGER_SUB_NOT_STRING @ ent_path(".manager.displayName")];
    enterprise_unknown_attribute: ENTERPRISE, enterprise_user().set(&ent("/badge"), json!("A1"))
        => [UNKNOWN_ATTRIBUTE @ ent_path(".badge")];

    // ---- Group
    group_display_name_missing: GROUP, group().remove("/displayName")
        => [GROUP_DISPLAY_NAME_MISSING @ "$.displayName"];
    group_display_name_not_string: GROUP, group().set("/displayName", json!(["Tour Guides"]))
        => [GROUP_DISPLAY_NAME_NOT_STRING @ "$.displayName"];
    group_member_value_missing: GROUP, group().remove("/members/1/value")
        => [GROUP_MEMBER_VALUE_MISSING @ "$.members[1].value"];
    group_member_type_unknown: GROUP, group().set("/members/0/type", json!("Device"))
        => [GROUP_MEMBER_TYPE_UNKNOWN @ "$.members[0].type"];

    // ---- ListResponse
    list_total_missing: USERS, user_list().remove("/totalResults") => [LIST_TOTAL_MISSING @ "$.totalResults"];
    list_total_string: USERS, user_list().set("/totalResults", json!("2"))
        => [LIST_TOTAL_NOT_INTEGER @ "$.totalResults"];
    list_total_fraction: LIST, user_list().set("/totalResults", json!(2.0))
        => [LIST_TOTAL_NOT_INTEGER @ "$.totalResults"];
    list_total_too_small: USERS, user_list().set("/totalResults", json!(1))
        => [LIST_TOTAL_TOO_SMALL @ "$.totalResults"];
    list_total_negative: LIST, list(vec![]).set("/totalResults", json!(-1))
        => [LIST_TOTAL_TOO_SMALL @ "$.totalResults"];
    list_resources_missing: USERS, user_list().remove("/Resources")
        => [LIST_RESOURCES_MISSING @ "$.Resources"];
    list_resources_not_array: USERS, user_list().set("/Resources", json!({"0": user()}))
        => [LIST_RESOURCES_NOT_ARRAY @ "$.Resources"];
    list_paging_missing_partial: USERS, user_list().set("/totalResults", json!(10)).remove("/startIndex")
        => [LIST_PAGING_MISSING @ "$.startIndex"];
    list_paging_missing_unpaged: USERS, user_list().remove("/itemsPerPage").remove("/startIndex")
        => [LIST_PAGING_MISSING_UNPAGED @ "$.itemsPerPage", LIST_PAGING_MISSING_UNPAGED @ "$.startIndex"];
    list_start_index_string: USERS, user_list().set("/startIndex", json!("1"))
        => [LIST_PAGING_NOT_INTEGER @ "$.startIndex"];
    list_start_index_zero: USERS, user_list().set("/startIndex", json!(0))
        => [LIST_START_INDEX_BELOW_ONE @ "$.startIndex"];
    list_items_per_page_mismatch: USERS, user_list().set("/totalResults", json!(40)).set("/itemsPerPage", json!(20))
        => [LIST_ITEMS_PER_PAGE_MISMATCH @ "$.itemsPerPage"];
    list_item_paths: USERS, list(vec![user(), user2(), user2().remove("/userName")])
        => [USER_NAME_MISSING @ "$.Resources[2].userName"];
    list_item_kind_group: Check::List(K::Group), list(vec![group(), user2()])
        => [GROUP_SCHEMAS @ "$.Resources[1].schemas", SCHEMAS_URN_UNUSED @ "$.Resources[1].schemas[0]",
            META_RESOURCE_TYPE_MISMATCH @ "$.Resources[1].meta.resourceType",
            UNKNOWN_ATTRIBUTE @ "$.Resources[1].active", UNKNOWN_ATTRIBUTE @ "$.Resources[1].emails",
            UNKNOWN_ATTRIBUTE @ "$.Resources[1].userName"];

    // ---- Error
    error_status_missing: ERROR, error().remove("/status") => [ERROR_STATUS_MISSING @ "$.status"];
    error_status_wrong_type: ERROR, error().set("/status", json!({"code": 409}))
        => [ERROR_STATUS_WRONG_TYPE @ "$.status"];
    error_status_number: ERROR, error().set("/status", json!(409)) => [ERROR_STATUS_NUMBER @ "$.status"];
    error_status_not_error_code: ERROR, error().set("/status", json!("Conflict"))
        => [ERROR_STATUS_NOT_ERROR_CODE @ "$.status"];
    error_status_success_code: ERROR, error().set("/status", json!(200))
        => [ERROR_STATUS_NUMBER @ "$.status", ERROR_STATUS_NOT_ERROR_CODE @ "$.status"];
    error_scim_type_unknown: ERROR, error().set("/scimType", json!("conflict"))
        => [ERROR_SCIM_TYPE_UNKNOWN @ "$.scimType"];
    error_scim_type_case: ERROR, error().set("/scimType", json!("Uniqueness"))
        => [ERROR_SCIM_TYPE_UNKNOWN @ "$.scimType"];
    error_detail_not_string: ERROR, error().set("/detail", json!({"message": "taken"}))
        => [ERROR_DETAIL_NOT_STRING @ "$.detail"];

    // ---- PatchOp
    patch_operations_missing: PATCH, patch().remove("/Operations")
        => [PATCH_OPERATIONS_MISSING @ "$.Operations"];
    patch_operations_not_array: PATCH, patch().set("/Operations", json!({"op": "add"}))
        => [PATCH_OPERATIONS_MISSING @ "$.Operations"];
    patch_operations_empty: PATCH, patch().set("/Operations", json!([]))
        => [PATCH_OPERATIONS_EMPTY @ "$.Operations"];
    patch_operation_not_object: PATCH, patch().set("/Operations/1", json!("remove"))
        => [PATCH_OPERATION_NOT_OBJECT @ "$.Operations[1]"];
    patch_op_invalid: PATCH, patch().set("/Operations/1/op", json!("delete"))
        => [PATCH_OP_INVALID @ "$.Operations[1].op"];
    patch_op_missing: PATCH, patch().remove("/Operations/0/op") => [PATCH_OP_INVALID @ "$.Operations[0].op"];
    patch_path_not_string: PATCH, patch().set("/Operations/0/path", json!(["members"]))
        => [PATCH_PATH_NOT_STRING @ "$.Operations[0].path"];
    patch_remove_without_path: PATCH, patch().remove("/Operations/1/path")
        => [PATCH_REMOVE_WITHOUT_PATH @ "$.Operations[1].path"];
    patch_value_missing: PATCH, patch().remove("/Operations/0/value")
        => [PATCH_VALUE_MISSING @ "$.Operations[0].value"];
    patch_value_not_object: PATCH, patch().set("/Operations/2/value", json!(false))
        => [PATCH_VALUE_NOT_OBJECT @ "$.Operations[2].value"];

    // ---- ServiceProviderConfig
    spc_feature_missing: SPC, service_provider_config().remove("/etag") => [SPC_FEATURE_INVALID @ "$.etag"];
    spc_feature_not_object: SPC, service_provider_config().set("/sort", json!(true))
        => [SPC_FEATURE_INVALID @ "$.sort"];
    spc_supported_invalid: SPC, service_provider_config().set("/patch/supported", json!("true"))
        => [SPC_SUPPORTED_INVALID @ "$.patch.supported"];
    spc_supported_missing: SPC, service_provider_config().set("/changePassword", json!({}))
        => [SPC_SUPPORTED_INVALID @ "$.changePassword.supported"];
    spc_limit_invalid: SPC, service_provider_config().set("/bulk/maxOperations", json!("1000"))
        => [SPC_LIMIT_INVALID @ "$.bulk.maxOperations"];
    spc_limit_missing: SPC, service_provider_config().remove("/filter/maxResults")
        => [SPC_LIMIT_INVALID @ "$.filter.maxResults"];
    spc_limit_missing_unsupported: SPC, service_provider_config().set("/bulk", json!({"supported": false}))
        => [SPC_LIMIT_MISSING_UNSUPPORTED @ "$.bulk.maxOperations",
            SPC_LIMIT_MISSING_UNSUPPORTED @ "$.bulk.maxPayloadSize"];
    spc_auth_schemes_invalid: SPC, service_provider_config().remove("/authenticationSchemes")
        => [SPC_AUTH_SCHEMES_INVALID @ "$.authenticationSchemes"];
    spc_auth_scheme_invalid: SPC, service_provider_config().remove("/authenticationSchemes/1/description")
        => [SPC_AUTH_SCHEME_INVALID @ "$.authenticationSchemes[1].description"];
    spc_auth_scheme_type_unknown: SPC, service_provider_config().set("/authenticationSchemes/0/type", json!("apikey"))
        => [SPC_AUTH_SCHEME_TYPE_UNKNOWN @ "$.authenticationSchemes[0].type"];
    spc_documentation_uri_not_string: SPC, service_provider_config().set("/documentationUri", json!(1))
        => [SPC_DOCUMENTATION_URI_NOT_STRING @ "$.documentationUri"];

    // ---- ResourceType
    resource_type_endpoint_missing: RESOURCE_TYPE, resource_type().remove("/endpoint")
        => [RESOURCE_TYPE_REQUIRED_INVALID @ "$.endpoint"];
    resource_type_attribute_wrong_type: RESOURCE_TYPE, resource_type().set("/schemaExtensions", json!({}))
        => [RESOURCE_TYPE_ATTRIBUTE_WRONG_TYPE @ "$.schemaExtensions"];
    resource_type_extension_invalid: RESOURCE_TYPE, resource_type().set("/schemaExtensions/0/required", json!("true"))
        => [RESOURCE_TYPE_EXTENSION_INVALID @ "$.schemaExtensions[0].required"];

    // ---- Schema
    schema_id_invalid: SCHEMA, schema().set("/id", json!("Group")) => [SCHEMA_ID_INVALID @ "$.id"];
    schema_field_wrong_type: SCHEMA, schema().set("/name", json!(5)) => [SCHEMA_FIELD_WRONG_TYPE @ "$.name"];
    schema_attributes_invalid: SCHEMA, schema().remove("/attributes")
        => [SCHEMA_ATTRIBUTES_INVALID @ "$.attributes"];
    schema_attr_not_object: SCHEMA, schema().set("/attributes/0", json!("displayName"))
        => [SCHEMA_ATTR_NOT_OBJECT @ "$.attributes[0]"];
    schema_attr_name_invalid: SCHEMA, schema().remove("/attributes/0/name")
        => [SCHEMA_ATTR_NAME_INVALID @ "$.attributes[0].name"];
    schema_attr_type_invalid: SCHEMA, schema().set("/attributes/0/type", json!("text"))
        => [SCHEMA_ATTR_TYPE_INVALID @ "$.attributes[0].type"];
    schema_attr_multi_valued_invalid: SCHEMA, schema().remove("/attributes/1/subAttributes/2/multiValued")
        => [SCHEMA_ATTR_MULTI_VALUED_INVALID @ "$.attributes[1].subAttributes[2].multiValued"];
    schema_attr_wrong_type: SCHEMA, schema().set("/attributes/0/required", json!("false"))
        => [SCHEMA_ATTR_WRONG_TYPE @ "$.attributes[0].required"];
    schema_attr_keyword_invalid: SCHEMA, schema().set("/attributes/0/mutability", json!("writable"))
        => [SCHEMA_ATTR_KEYWORD_INVALID @ "$.attributes[0].mutability"];
    schema_attr_sub_attributes_missing: SCHEMA, schema().remove("/attributes/1/subAttributes")
        => [SCHEMA_ATTR_SUB_ATTRIBUTES_INVALID @ "$.attributes[1].subAttributes"];
    schema_attr_nested_complex: SCHEMA, schema().set("/attributes/1/subAttributes/0/subAttributes", json!([]))
        => [SCHEMA_ATTR_NESTED_COMPLEX @ "$.attributes[1].subAttributes[0].subAttributes"];
}

#[test]
fn every_rule_has_a_case() {
    // `report.truncated` needs a thousand findings; `behaviour::findings_are_capped` covers it.
    let untested: Vec<&str> = RULES
        .iter()
        .map(|rule| rule.id)
        .filter(|id| *id != TRUNCATED.id && !COVERED.contains(id))
        .collect();
    assert!(untested.is_empty(), "rules without a case: {untested:?}");
}
