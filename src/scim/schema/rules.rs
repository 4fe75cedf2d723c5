//! The rule catalogue: every finding the validator can emit, with its severity and the exact
//! section of RFC 7643/7644 that motivates it.
//!
//! Severities follow one policy (see `crate::severity`): `Required` only for what Okta or
//! Microsoft Entra reject or break on, `Recommended` for RFC MUST/SHOULD that they tolerate,
//! `Advisory` for style and compatibility hints. A wrong `Required` is a false alarm that fails a
//! vendor's CI, so when in doubt a rule is demoted.

use crate::severity::Severity;

/// One validation rule: what is checked, how much it matters and where the RFC says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// Stable identifier, e.g. `user.userName.missing`.
    pub id: &'static str,
    pub severity: Severity,
    /// The RFC section (or vendor document) the rule comes from.
    pub reference: &'static str,
    /// One sentence, no trailing period; becomes `Violation::rule`.
    pub text: &'static str,
}

/// Declares each rule as a `pub const` and collects them all into [`RULES`].
macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident, $reference:literal, $text:literal;)+) => {
        $(
            #[doc = $text]
            pub const $name: Rule = Rule {
                id: $id,
                severity: Severity::$sev,
                reference: $reference,
                text: $text,
            };
        )+
        /// Every rule the validator can emit, in declaration order.
        pub const RULES: &[Rule] = &[$($name),+];
    };
}

rules! {
    // ---- Whole body -------------------------------------------------------------------------
    BODY_NOT_OBJECT = "body.not_object", Required, "RFC 7643 §2.1",
        "A SCIM resource or message is a JSON object of attributes";
    TOO_DEEP = "body.too_deep", Recommended, "RFC 7643 §2.3.8",
        "No SCIM body nests anywhere near 64 levels (complex attributes cannot contain complex attributes), so oinspect stops descending here";
    // Its severity is replaced by the worst severity among the findings it stands for.
    TRUNCATED = "report.truncated", Advisory, "oinspect limit",
        "oinspect lists at most 1000 findings per body and counts the rest; fix these and run again";
    CASE_DUPLICATE = "attribute.case_duplicate", Recommended, "RFC 7643 §2.1",
        "Attribute names are case-insensitive, so one object must not carry the same attribute twice in different case";
    UNKNOWN_ATTRIBUTE = "attribute.unknown", Advisory, "RFC 7643 §3.3",
        "Attribute not defined by the core schema; extension attributes belong inside their schema URN object";

    // ---- schemas ----------------------------------------------------------------------------
    USER_SCHEMAS = "user.schemas.core_missing", Required, "RFC 7643 §4.1",
        "A User's \"schemas\" array must contain urn:ietf:params:scim:schemas:core:2.0:User";
    GROUP_SCHEMAS = "group.schemas.core_missing", Required, "RFC 7643 §4.2",
        "A Group's \"schemas\" array must contain urn:ietf:params:scim:schemas:core:2.0:Group";
    LIST_SCHEMAS = "list.schemas.core_missing", Required, "RFC 7644 §3.4.2",
        "A list response's \"schemas\" array must contain urn:ietf:params:scim:api:messages:2.0:ListResponse";
    ERROR_SCHEMAS = "error.schemas.core_missing", Required, "RFC 7644 §3.12",
        "An error response's \"schemas\" array must contain urn:ietf:params:scim:api:messages:2.0:Error";
    PATCH_SCHEMAS = "patch.schemas.core_missing", Required, "RFC 7644 §3.5.2",
        "A PATCH body's \"schemas\" array must contain urn:ietf:params:scim:api:messages:2.0:PatchOp";
    SPC_SCHEMAS = "spc.schemas.core_missing", Recommended, "RFC 7643 §5",
        "The service provider configuration's \"schemas\" array must contain urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
    RESOURCE_TYPE_SCHEMAS = "resourceType.schemas.core_missing", Recommended, "RFC 7643 §6",
        "A ResourceType's \"schemas\" array must contain urn:ietf:params:scim:schemas:core:2.0:ResourceType";
    SCHEMA_SCHEMAS = "schema.schemas.core_missing", Advisory, "RFC 7643 §7",
        "A Schema resource should list urn:ietf:params:scim:schemas:core:2.0:Schema in \"schemas\" (the RFC's own §8.7.1 examples omit it, so clients tolerate that)";
    SCHEMAS_ITEM_NOT_STRING = "schemas.item_not_string", Recommended, "RFC 7643 §3",
        "\"schemas\" is an array of URI strings";
    SCHEMAS_DUPLICATE = "schemas.duplicate", Advisory, "RFC 7643 §3",
        "Each URI in \"schemas\" must be unique";
    SCHEMAS_URN_UNUSED = "schemas.urn_without_attributes", Advisory, "RFC 7643 §3",
        "\"schemas\" names a URN that is neither the core schema nor an extension object present in the resource";
    EXTENSION_NOT_LISTED = "extension.urn_not_in_schemas", Recommended, "RFC 7643 §3",
        "Extension attributes are present but their schema URN is missing from \"schemas\"";
    EXTENSION_NOT_OBJECT = "extension.not_object", Recommended, "RFC 7643 §3.3",
        "A schema URN key holds a JSON object of that extension's attributes";

    // ---- Common attributes (id, externalId, meta) -------------------------------------------
    ID_MISSING = "resource.id.missing", Required, "RFC 7643 §3.1",
        "Every User and Group has a server-assigned \"id\"; identity providers store it to address the resource";
    ID_NOT_STRING = "resource.id.not_string", Required, "RFC 7643 §3.1",
        "\"id\" is a string; identity providers build /Users/{id} URLs from it";
    ID_EMPTY = "resource.id.empty", Required, "RFC 7643 §3.1",
        "\"id\" must not be empty";
    ID_BULK_ID = "resource.id.bulkId", Recommended, "RFC 7643 §3.1",
        "The string \"bulkId\" is a reserved keyword and must not be used within an \"id\"";
    EXTERNAL_ID_NOT_STRING = "resource.externalId.not_string", Recommended, "RFC 7643 §3.1",
        "\"externalId\" is a string";
    META_MISSING = "meta.missing", Recommended, "RFC 7643 §3.1",
        "A resource returns \"meta\" with its resourceType, location and timestamps";
    META_NOT_OBJECT = "meta.not_object", Recommended, "RFC 7643 §3.1",
        "\"meta\" is a complex attribute (a JSON object)";
    META_RESOURCE_TYPE_MISSING = "meta.resourceType.missing", Recommended, "RFC 7643 §3.1",
        "\"meta.resourceType\" names the type of the resource";
    META_RESOURCE_TYPE_NOT_STRING = "meta.resourceType.not_string", Recommended, "RFC 7643 §3.1",
        "\"meta.resourceType\" is a string";
    META_RESOURCE_TYPE_MISMATCH = "meta.resourceType.mismatch", Recommended, "RFC 7643 §3.1",
        "\"meta.resourceType\" must name the kind of resource actually returned";
    META_LOCATION_MISSING = "meta.location.missing", Recommended, "RFC 7643 §3.1",
        "\"meta.location\" gives the URI of the resource";
    META_LOCATION_NOT_STRING = "meta.location.not_string", Recommended, "RFC 7643 §3.1",
        "\"meta.location\" is a URI string";
    META_LOCATION_NOT_ABSOLUTE = "meta.location.not_absolute", Advisory, "RFC 7643 §3.1",
        "\"meta.location\" should be an absolute URL, the same as the Location header of the resource";
    META_DATETIME_INVALID = "meta.datetime.invalid", Recommended, "RFC 7643 §2.3.5",
        "meta.created and meta.lastModified are xsd:dateTime strings such as 2011-05-13T04:42:34Z";
    META_DATETIME_NO_OFFSET = "meta.datetime.no_offset", Advisory, "RFC 7643 §2.3.5",
        "A timestamp without a time-zone offset is valid xsd:dateTime but ambiguous; add Z or an offset as RFC 3339 does";
    META_MODIFIED_BEFORE_CREATED = "meta.lastModified.before_created", Advisory, "RFC 7643 §3.1",
        "\"meta.lastModified\" cannot be earlier than \"meta.created\"";
    META_VERSION_NOT_STRING = "meta.version.not_string", Recommended, "RFC 7643 §3.1",
        "\"meta.version\" is a string (an entity tag such as W/\"3694e05e9dff590\")";

    // ---- Multi-valued attributes ------------------------------------------------------------
    MULTI_NOT_ARRAY = "multi.not_array", Recommended, "RFC 7643 §2.4",
        "A multi-valued attribute is a JSON array, even when it holds a single value";
    MULTI_ITEM_NOT_OBJECT = "multi.item.not_object", Recommended, "RFC 7643 §2.4",
        "Each value of a complex multi-valued attribute is a JSON object";
    MULTI_SUB_WRONG_TYPE = "multi.sub.wrong_type", Recommended, "RFC 7643 §2.4",
        "Sub-attributes of multi-valued attributes have fixed types: value, display, type and $ref are strings, primary is a boolean";
    MULTI_PRIMARY_DUPLICATE = "multi.primary.duplicate", Recommended, "RFC 7643 §2.4",
        "\"primary\": true may appear at most once within one multi-valued attribute";

    // ---- User -------------------------------------------------------------------------------
    USER_NAME_MISSING = "user.userName.missing", Required, "RFC 7643 §4.1.1",
        "A User has a \"userName\"; Okta and Entra match accounts on it";
    USER_NAME_NOT_STRING = "user.userName.not_string", Required, "RFC 7643 §4.1.1",
        "\"userName\" is a string";
    USER_NAME_EMPTY = "user.userName.empty", Required, "RFC 7643 §4.1.1",
        "\"userName\" must not be empty";
    USER_DISPLAY_NAME_MISSING = "user.displayName.missing", Advisory, "RFC 7643 §4.1.1",
        "A User should carry \"displayName\"; identity provider consoles show it and Entra maps it by default";
    USER_ACTIVE_NOT_BOOLEAN = "user.active.not_boolean", Required, "RFC 7643 §4.1.1",
        "\"active\" is a boolean; identity providers deactivate users through it";
    USER_PASSWORD_RETURNED = "user.password.returned", Required, "RFC 7643 §4.1.1",
        "\"password\" has returned \"never\"; a response that carries it leaks a credential";
    USER_ATTRIBUTE_WRONG_TYPE = "user.attribute.not_string", Recommended, "RFC 7643 §4.1.1",
        "displayName, nickName, profileUrl, title, userType, preferredLanguage, locale and timezone are strings";
    USER_NAME_NOT_OBJECT = "user.name.not_object", Recommended, "RFC 7643 §4.1.1",
        "\"name\" is a complex attribute (a JSON object), not a string";
    USER_NAME_PART_NOT_STRING = "user.name.part.not_string", Recommended, "RFC 7643 §4.1.1",
        "The parts of \"name\" (formatted, familyName, givenName, middleName, honorificPrefix, honorificSuffix) are strings";
    USER_EMAILS_NO_PRIMARY = "user.emails.no_primary", Advisory, "RFC 7643 §4.1.2",
        "Mark one email \"primary\": true; identity providers take the primary email as the user's email";
    USER_ADDRESS_PART_NOT_STRING = "user.addresses.part.not_string", Recommended, "RFC 7643 §4.1.2",
        "Address parts (formatted, streetAddress, locality, region, postalCode, country) are strings";
    USER_CERTIFICATE_NOT_BASE64 = "user.x509Certificates.not_base64", Recommended, "RFC 7643 §2.3.6",
        "An x509Certificates value is binary: a base64-encoded DER certificate";

    // ---- Enterprise User extension ----------------------------------------------------------
    ENTERPRISE_ABSENT = "enterprise.extension.absent", Required, "RFC 7643 §4.3",
        "An enterprise User carries the urn:ietf:params:scim:schemas:extension:enterprise:2.0:User object";
    ENTERPRISE_ATTRIBUTE_NOT_STRING = "enterprise.attribute.not_string", Recommended, "RFC 7643 §4.3",
        "employeeNumber, costCenter, organization, division and department are strings";
    ENTERPRISE_MANAGER_NOT_OBJECT = "enterprise.manager.not_object", Recommended, "RFC 7643 §4.3",
        "\"manager\" is a complex attribute: an object whose \"value\" is the manager's id, not a bare string";
    ENTERPRISE_MANAGER_VALUE_MISSING = "enterprise.manager.value.missing", Recommended, "RFC 7643 §4.3",
        "\"manager\" carries \"value\", the id of the manager's User";
    ENTERPRISE_MANAGER_SUB_NOT_STRING = "enterprise.manager.sub.not_string", Recommended, "RFC 7643 §4.3",
        "The manager's value, $ref and displayName are strings";

    // ---- Group ------------------------------------------------------------------------------
    GROUP_DISPLAY_NAME_MISSING = "group.displayName.missing", Required, "RFC 7643 §4.2",
        "A Group has a \"displayName\"; Okta and Entra match groups on it";
    GROUP_DISPLAY_NAME_NOT_STRING = "group.displayName.not_string", Required, "RFC 7643 §4.2",
        "A Group's \"displayName\" is a string";
    GROUP_MEMBER_VALUE_MISSING = "group.member.value.missing", Recommended, "RFC 7643 §4.2",
        "Each member carries \"value\", the id of the member resource";
    GROUP_MEMBER_TYPE_UNKNOWN = "group.member.type.unknown", Recommended, "RFC 7643 §4.2",
        "A member's \"type\" is \"User\" or \"Group\"";

    // ---- ListResponse -----------------------------------------------------------------------
    LIST_TOTAL_MISSING = "list.totalResults.missing", Required, "RFC 7644 §3.4.2",
        "A list response carries \"totalResults\"";
    LIST_TOTAL_NOT_INTEGER = "list.totalResults.not_integer", Required, "RFC 7644 §3.4.2",
        "\"totalResults\" is an integer";
    LIST_TOTAL_TOO_SMALL = "list.totalResults.too_small", Recommended, "RFC 7644 §3.4.2",
        "\"totalResults\" cannot be negative or smaller than the number of Resources returned";
    LIST_RESOURCES_MISSING = "list.Resources.missing", Required, "RFC 7644 §3.4.2",
        "\"Resources\" is REQUIRED when totalResults is non-zero (unless the page size asked for was 0)";
    LIST_RESOURCES_NOT_ARRAY = "list.Resources.not_array", Required, "RFC 7644 §3.4.2",
        "\"Resources\" is a JSON array";
    LIST_PAGING_MISSING = "list.paging.missing", Recommended, "RFC 7644 §3.4.2",
        "startIndex and itemsPerPage are REQUIRED when a page holds fewer than totalResults";
    LIST_PAGING_MISSING_UNPAGED = "list.paging.missing_unpaged", Advisory, "RFC 7644 §3.4.2",
        "startIndex and itemsPerPage are only REQUIRED on partial pages, but clients page by them; send them always";
    LIST_PAGING_NOT_INTEGER = "list.paging.not_integer", Recommended, "RFC 7644 §3.4.2",
        "startIndex and itemsPerPage are integers";
    LIST_START_INDEX_BELOW_ONE = "list.startIndex.below_one", Recommended, "RFC 7644 §3.4.2",
        "\"startIndex\" is 1-based";
    LIST_ITEMS_PER_PAGE_MISMATCH = "list.itemsPerPage.mismatch", Recommended, "RFC 7644 §3.4.2",
        "\"itemsPerPage\" is the number of Resources in this page";

    // ---- Error ------------------------------------------------------------------------------
    ERROR_STATUS_MISSING = "error.status.missing", Required, "RFC 7644 §3.12",
        "An error response carries \"status\", its HTTP status code";
    ERROR_STATUS_WRONG_TYPE = "error.status.wrong_type", Required, "RFC 7644 §3.12",
        "\"status\" is the HTTP status code as a JSON string";
    ERROR_STATUS_NUMBER = "error.status.number", Recommended, "RFC 7644 §3.12",
        "\"status\" is the HTTP status code as a JSON string, not a number (Okta tolerates numbers)";
    ERROR_STATUS_NOT_ERROR_CODE = "error.status.not_error_code", Recommended, "RFC 7644 §3.12",
        "\"status\" is an HTTP error status code between 400 and 599";
    ERROR_SCIM_TYPE_UNKNOWN = "error.scimType.unknown", Recommended, "RFC 7644 §3.12 Table 9",
        "\"scimType\" is one of the SCIM detail error keywords of Table 9";
    ERROR_DETAIL_NOT_STRING = "error.detail.not_string", Recommended, "RFC 7644 §3.12",
        "\"detail\" is a human-readable string";

    // ---- PatchOp ----------------------------------------------------------------------------
    PATCH_OPERATIONS_MISSING = "patch.Operations.missing", Required, "RFC 7644 §3.5.2",
        "A PATCH body carries an \"Operations\" array";
    PATCH_OPERATIONS_EMPTY = "patch.Operations.empty", Recommended, "RFC 7644 §3.5.2",
        "\"Operations\" holds one or more operations";
    PATCH_OPERATION_NOT_OBJECT = "patch.operation.not_object", Required, "RFC 7644 §3.5.2",
        "Each PATCH operation is a JSON object";
    PATCH_OP_INVALID = "patch.op.invalid", Required, "RFC 7644 §3.5.2",
        "Each operation's \"op\" is add, remove or replace (compared case-insensitively)";
    PATCH_PATH_NOT_STRING = "patch.path.not_string", Required, "RFC 7644 §3.5.2",
        "An operation's \"path\" is an attribute path string";
    PATCH_REMOVE_WITHOUT_PATH = "patch.remove.no_path", Required, "RFC 7644 §3.5.2.2",
        "A remove operation needs a \"path\"; servers answer 400 noTarget without one";
    PATCH_VALUE_MISSING = "patch.value.missing", Required, "RFC 7644 §3.5.2",
        "add and replace operations carry a \"value\"";
    PATCH_VALUE_NOT_OBJECT = "patch.value.not_object", Required, "RFC 7644 §3.5.2",
        "Without a \"path\", an operation's \"value\" is a JSON object of the attributes to set on the resource";

    // ---- ServiceProviderConfig --------------------------------------------------------------
    SPC_FEATURE_INVALID = "spc.feature.invalid", Recommended, "RFC 7643 §5",
        "Each feature (patch, bulk, filter, changePassword, sort, etag) is a REQUIRED JSON object";
    SPC_SUPPORTED_INVALID = "spc.supported.invalid", Recommended, "RFC 7643 §5",
        "Each feature's \"supported\" is a REQUIRED boolean";
    SPC_LIMIT_INVALID = "spc.limit.invalid", Recommended, "RFC 7643 §5",
        "bulk.maxOperations, bulk.maxPayloadSize and filter.maxResults are REQUIRED non-negative integers";
    SPC_LIMIT_MISSING_UNSUPPORTED = "spc.limit.missing_unsupported", Advisory, "RFC 7643 §5",
        "A limit stays REQUIRED even when its feature is unsupported, though clients ignore it then";
    SPC_AUTH_SCHEMES_INVALID = "spc.authenticationSchemes.invalid", Recommended, "RFC 7643 §5",
        "\"authenticationSchemes\" is a REQUIRED array";
    SPC_AUTH_SCHEME_INVALID = "spc.authenticationScheme.invalid", Recommended, "RFC 7643 §5",
        "Each authentication scheme is an object with string type, name and description (specUri and documentationUri strings, primary a boolean)";
    SPC_AUTH_SCHEME_TYPE_UNKNOWN = "spc.authenticationScheme.type.unknown", Advisory, "RFC 7643 §5",
        "An authentication scheme's type is one of oauth, oauth2, oauthbearertoken, httpbasic, httpdigest";
    SPC_DOCUMENTATION_URI_NOT_STRING = "spc.documentationUri.not_string", Recommended, "RFC 7643 §5",
        "\"documentationUri\" is a URI string";

    // ---- ResourceType -----------------------------------------------------------------------
    RESOURCE_TYPE_REQUIRED_INVALID = "resourceType.required.invalid", Recommended, "RFC 7643 §6",
        "A ResourceType's name, endpoint and schema are REQUIRED strings";
    RESOURCE_TYPE_ATTRIBUTE_WRONG_TYPE = "resourceType.attribute.wrong_type", Recommended, "RFC 7643 §6",
        "A ResourceType's id and description are strings and schemaExtensions is an array";
    RESOURCE_TYPE_EXTENSION_INVALID = "resourceType.schemaExtension.invalid", Recommended, "RFC 7643 §6",
        "Each schemaExtensions entry is an object with a string \"schema\" and a boolean \"required\"";

    // ---- Schema -----------------------------------------------------------------------------
    SCHEMA_ID_INVALID = "schema.id.invalid", Recommended, "RFC 7643 §7",
        "A schema's \"id\" is its URN, such as urn:ietf:params:scim:schemas:core:2.0:User";
    SCHEMA_FIELD_WRONG_TYPE = "schema.field.wrong_type", Recommended, "RFC 7643 §7",
        "A schema's name and description are strings";
    SCHEMA_ATTRIBUTES_INVALID = "schema.attributes.invalid", Recommended, "RFC 7643 §7",
        "\"attributes\" is a REQUIRED array of attribute definitions";
    SCHEMA_ATTR_NOT_OBJECT = "schema.attribute.not_object", Recommended, "RFC 7643 §7",
        "Each attribute definition is a JSON object";
    SCHEMA_ATTR_NAME_INVALID = "schema.attribute.name.invalid", Recommended, "RFC 7643 §7",
        "Each attribute definition has a string \"name\"";
    SCHEMA_ATTR_TYPE_INVALID = "schema.attribute.type.invalid", Recommended, "RFC 7643 §7",
        "An attribute's \"type\" is one of string, boolean, decimal, integer, dateTime, reference, complex, binary";
    SCHEMA_ATTR_MULTI_VALUED_INVALID = "schema.attribute.multiValued.invalid", Recommended, "RFC 7643 §7",
        "An attribute's \"multiValued\" is a REQUIRED boolean";
    SCHEMA_ATTR_WRONG_TYPE = "schema.attribute.wrong_type", Recommended, "RFC 7643 §7",
        "An attribute's description is a string, required and caseExact are booleans, canonicalValues and referenceTypes are arrays";
    SCHEMA_ATTR_KEYWORD_INVALID = "schema.attribute.keyword.invalid", Recommended, "RFC 7643 §7",
        "mutability, returned and uniqueness take only the keywords the RFC defines";
    SCHEMA_ATTR_SUB_ATTRIBUTES_INVALID = "schema.attribute.subAttributes.invalid", Recommended, "RFC 7643 §7",
        "A complex attribute defines its sub-attributes in a \"subAttributes\" array";
    SCHEMA_ATTR_NESTED_COMPLEX = "schema.attribute.nested_complex", Recommended, "RFC 7643 §2.3.8",
        "A sub-attribute cannot itself be complex or have subAttributes";
}
