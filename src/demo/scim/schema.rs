//! The schemas this server implements (RFC 7643 §4, §8.7), as data. One table drives
//! `/Schemas`, input validation, filter case rules and PATCH mutability checks, so they
//! cannot disagree with each other.

use serde_json::{Map, Value, json};

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// Okta's schema for the roles an app offers (Okta SCIM with entitlement management).
pub const ROLE_URN: &str = "urn:okta:scim:schemas:core:1.0:Role";

/// Every schema URN a path may start with. Needed to split `urn:…:2.0:User:department`,
/// whose URN part itself contains dots and colons.
pub const KNOWN_URNS: &[&str] = &[USER_URN, GROUP_URN, ENTERPRISE_URN, ROLE_URN];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

/// One attribute definition (RFC 7643 §7). The schemas served have no integer or
/// decimal attributes, so those types are not modelled.
#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: &'static str,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [AttrDef],
}

impl AttrDef {
    const fn of(name: &'static str, ty: AttrType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            description,
            canonical: &[],
            reference_types: &[],
            sub: &[],
        }
    }
    const fn string(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::String, description)
    }
    const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::Boolean, description)
    }
    const fn complex(
        name: &'static str,
        description: &'static str,
        sub: &'static [AttrDef],
    ) -> Self {
        let mut d = Self::of(name, AttrType::Complex, description);
        d.sub = sub;
        d
    }
    const fn reference(
        name: &'static str,
        description: &'static str,
        types: &'static [&'static str],
    ) -> Self {
        let mut d = Self::of(name, AttrType::Reference, description);
        d.reference_types = types;
        d
    }
    const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    const fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    const fn unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical = values;
        self
    }

    /// Sub-attribute by case-insensitive name.
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.sub.iter().find(|d| d.name.eq_ignore_ascii_case(name))
    }

    pub fn is_read_only(&self) -> bool {
        self.mutability == Mutability::ReadOnly
    }
}

/// One schema document.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
    /// The whole extension object seen as one complex attribute, for paths and values
    /// that name the extension URN itself (`{"urn:…:enterprise:2.0:User": {…}}`).
    pub as_attribute: AttrDef,
}

/// Sub-attributes shared by the plain multi-valued attributes (emails, roles, …).
macro_rules! multi_value_subs {
    ($value:expr, $types:expr) => {
        &[
            $value,
            AttrDef::string(
                "display",
                "A human-readable name, primarily used for display purposes.",
            ),
            AttrDef::string("type", "A label indicating the attribute's function.")
                .canonical($types),
            AttrDef::boolean("primary", "Whether this value is the preferred one."),
        ]
    };
}

/// Attributes every resource has (RFC 7643 §3.1); they belong to no schema document.
pub static COMMON_ATTRS: &[AttrDef] = &[
    AttrDef::string("id", "Unique identifier assigned by the service provider.")
        .case_exact()
        .mutability(Mutability::ReadOnly)
        .returned(Returned::Always)
        .unique(),
    AttrDef::string(
        "externalId",
        "Identifier assigned by the provisioning client.",
    )
    .case_exact(),
    AttrDef::complex(
        "meta",
        "Resource metadata.",
        &[
            AttrDef::string("resourceType", "The resource type name.")
                .case_exact()
                .mutability(Mutability::ReadOnly),
            AttrDef::of(
                "created",
                AttrType::DateTime,
                "When the resource was added.",
            )
            .mutability(Mutability::ReadOnly),
            AttrDef::of(
                "lastModified",
                AttrType::DateTime,
                "When the resource last changed.",
            )
            .mutability(Mutability::ReadOnly),
            AttrDef::reference("location", "The resource's URI.", &["uri"])
                .case_exact()
                .mutability(Mutability::ReadOnly),
            AttrDef::string("version", "The resource's entity tag.")
                .case_exact()
                .mutability(Mutability::ReadOnly),
        ],
    )
    .mutability(Mutability::ReadOnly),
];

static USER_ATTRS: &[AttrDef] = &[
    AttrDef::string(
        "userName",
        "Unique identifier for the User, used to sign in.",
    )
    .required()
    .unique(),
    AttrDef::complex(
        "name",
        "The components of the user's real name.",
        &[
            AttrDef::string("formatted", "The full name, formatted for display."),
            AttrDef::string("familyName", "The family name."),
            AttrDef::string("givenName", "The given name."),
            AttrDef::string("middleName", "The middle name(s)."),
            AttrDef::string("honorificPrefix", "The honorific prefix(es)."),
            AttrDef::string("honorificSuffix", "The honorific suffix(es)."),
        ],
    ),
    AttrDef::string("displayName", "The name of the User, suitable for display."),
    AttrDef::string("nickName", "The casual way to address the user."),
    AttrDef::reference(
        "profileUrl",
        "A URI to the user's online profile.",
        &["external"],
    ),
    AttrDef::string("title", "The user's title, such as \"Vice President\"."),
    AttrDef::string(
        "userType",
        "The relationship between the organization and the user.",
    ),
    AttrDef::string(
        "preferredLanguage",
        "The user's preferred written or spoken language.",
    ),
    AttrDef::string("locale", "The user's default location, for localizing."),
    AttrDef::string("timezone", "The user's time zone, in IANA format."),
    AttrDef::boolean("active", "The user's administrative status."),
    AttrDef::string("password", "The user's cleartext password; never returned.")
        .mutability(Mutability::WriteOnly)
        .returned(Returned::Never),
    AttrDef::complex(
        "emails",
        "Email addresses for the user.",
        multi_value_subs!(
            AttrDef::string("value", "An email address."),
            &["work", "home", "other"]
        ),
    )
    .multi(),
    AttrDef::complex(
        "phoneNumbers",
        "Phone numbers for the user.",
        multi_value_subs!(
            AttrDef::string("value", "A phone number."),
            &["work", "home", "mobile", "fax", "pager", "other"]
        ),
    )
    .multi(),
    AttrDef::complex(
        "ims",
        "Instant messaging addresses for the user.",
        multi_value_subs!(
            AttrDef::string("value", "An instant messaging address."),
            &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]
        ),
    )
    .multi(),
    AttrDef::complex(
        "photos",
        "URLs of images of the user.",
        multi_value_subs!(
            AttrDef::reference("value", "URL of a photo of the user.", &["external"]),
            &["photo", "thumbnail"]
        ),
    )
    .multi(),
    AttrDef::complex(
        "addresses",
        "Physical mailing addresses for the user.",
        &[
            AttrDef::string(
                "formatted",
                "The full mailing address, formatted for display.",
            ),
            AttrDef::string("streetAddress", "The full street address component."),
            AttrDef::string("locality", "The city or locality component."),
            AttrDef::string("region", "The state or region component."),
            AttrDef::string("postalCode", "The zip code or postal code component."),
            AttrDef::string("country", "The country name component."),
            AttrDef::string("type", "A label indicating the address' function.")
                .canonical(&["work", "home", "other"]),
            AttrDef::boolean("primary", "Whether this is the preferred address."),
        ],
    )
    .multi(),
    AttrDef::complex(
        "groups",
        "The groups the user belongs to, maintained by the service provider.",
        &[
            AttrDef::string("value", "The id of the Group.").mutability(Mutability::ReadOnly),
            AttrDef::reference("$ref", "The URI of the Group.", &["User", "Group"])
                .mutability(Mutability::ReadOnly),
            AttrDef::string("display", "The Group's display name.")
                .mutability(Mutability::ReadOnly),
            AttrDef::string("type", "How the membership was derived.")
                .canonical(&["direct", "indirect"])
                .mutability(Mutability::ReadOnly),
        ],
    )
    .multi()
    .mutability(Mutability::ReadOnly),
    AttrDef::complex(
        "entitlements",
        "Entitlements for the user.",
        multi_value_subs!(
            AttrDef::string("value", "The value of an entitlement."),
            &[]
        ),
    )
    .multi(),
    AttrDef::complex(
        "roles",
        "Roles for the user.",
        multi_value_subs!(AttrDef::string("value", "The value of a role."), &[]),
    )
    .multi(),
    AttrDef::complex(
        "x509Certificates",
        "X.509 certificates issued to the user.",
        multi_value_subs!(
            AttrDef::of(
                "value",
                AttrType::Binary,
                "The value of an X.509 certificate."
            ),
            &[]
        ),
    )
    .multi(),
];

static ENTERPRISE_ATTRS: &[AttrDef] = &[
    AttrDef::string(
        "employeeNumber",
        "Numeric or alphanumeric identifier of the employee.",
    ),
    AttrDef::string("costCenter", "Identifies the name of a cost center."),
    AttrDef::string("organization", "Identifies the name of an organization."),
    AttrDef::string("division", "Identifies the name of a division."),
    AttrDef::string("department", "Identifies the name of a department."),
    AttrDef::complex(
        "manager",
        "The user's manager.",
        &[
            AttrDef::string("value", "The id of the manager's User resource."),
            AttrDef::reference("$ref", "The URI of the manager's User resource.", &["User"]),
            AttrDef::string("displayName", "The manager's display name.")
                .mutability(Mutability::ReadOnly),
        ],
    ),
];

static GROUP_ATTRS: &[AttrDef] = &[
    // RFC 7643 lists displayName as optional; both Okta and Entra always send it and a
    // nameless group cannot be shown to anyone, so this server requires it.
    AttrDef::string("displayName", "A human-readable name for the Group.").required(),
    AttrDef::complex(
        "members",
        "A list of members of the Group.",
        &[
            AttrDef::string("value", "Identifier of the member.").mutability(Mutability::Immutable),
            AttrDef::reference("$ref", "The URI of the member.", &["User", "Group"])
                .mutability(Mutability::Immutable),
            AttrDef::string("type", "The kind of member.")
                .canonical(&["User", "Group"])
                .mutability(Mutability::Immutable),
            AttrDef::string("display", "The member's display name.")
                .mutability(Mutability::ReadOnly),
        ],
    )
    .multi(),
];

/// A role of the server's fixed catalogue. Okta's Role schema lists `id` among its
/// attributes, so it is here too; everything is read-only because clients only read roles.
static ROLE_ATTRS: &[AttrDef] = &[
    AttrDef::string(
        "id",
        "Unique identifier of the role; a user's roles[].value.",
    )
    .required()
    .case_exact()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Always)
    .unique(),
    AttrDef::string("displayName", "A human-readable name for the role.")
        .required()
        .mutability(Mutability::ReadOnly),
    AttrDef::string("description", "What the role allows.").mutability(Mutability::ReadOnly),
];

pub static USER_SCHEMA: SchemaDef = SchemaDef {
    id: USER_URN,
    name: "User",
    description: "User Account",
    attributes: USER_ATTRS,
    as_attribute: AttrDef::complex(USER_URN, "User Account", USER_ATTRS),
};

pub static ENTERPRISE_SCHEMA: SchemaDef = SchemaDef {
    id: ENTERPRISE_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRS,
    as_attribute: AttrDef::complex(ENTERPRISE_URN, "Enterprise User", ENTERPRISE_ATTRS),
};

pub static GROUP_SCHEMA: SchemaDef = SchemaDef {
    id: GROUP_URN,
    name: "Group",
    description: "Group",
    attributes: GROUP_ATTRS,
    as_attribute: AttrDef::complex(GROUP_URN, "Group", GROUP_ATTRS),
};

pub static ROLE_SCHEMA: SchemaDef = SchemaDef {
    id: ROLE_URN,
    name: "Role",
    description: "Role",
    attributes: ROLE_ATTRS,
    as_attribute: AttrDef::complex(ROLE_URN, "Role", ROLE_ATTRS),
};

pub static ALL_SCHEMAS: &[&SchemaDef] = &[
    &USER_SCHEMA,
    &GROUP_SCHEMA,
    &ENTERPRISE_SCHEMA,
    &ROLE_SCHEMA,
];

/// The two resource types stored; the read-only Role type is served by `roles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    /// The resource type name, as in `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// The path segment under the base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }

    pub fn core(self) -> &'static SchemaDef {
        match self {
            Self::User => &USER_SCHEMA,
            Self::Group => &GROUP_SCHEMA,
        }
    }

    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        static USER_EXTENSIONS: &[&SchemaDef] = &[&ENTERPRISE_SCHEMA];
        match self {
            Self::User => USER_EXTENSIONS,
            Self::Group => &[],
        }
    }

    /// The extension schema of this kind with that URN (case-insensitive).
    pub fn extension(self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Definition of a top-level core or common attribute.
    pub fn core_attr(self, name: &str) -> Option<&'static AttrDef> {
        COMMON_ATTRS
            .iter()
            .chain(self.core().attributes)
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }
}

/// The schema whose URN is `urn`, ignoring case.
pub fn schema_by_urn(urn: &str) -> Option<&'static SchemaDef> {
    ALL_SCHEMAS
        .iter()
        .copied()
        .find(|s| s.id.eq_ignore_ascii_case(urn))
}

fn attr_json(def: &AttrDef) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(def.name));
    let ty = match def.ty {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    };
    out.insert("type".into(), json!(ty));
    out.insert("multiValued".into(), json!(def.multi));
    out.insert("description".into(), json!(def.description));
    out.insert("required".into(), json!(def.required));
    if def.ty != AttrType::Complex {
        out.insert("caseExact".into(), json!(def.case_exact));
    }
    let mutability = match def.mutability {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    };
    out.insert("mutability".into(), json!(mutability));
    let returned = match def.returned {
        Returned::Always => "always",
        Returned::Never => "never",
        Returned::Default => "default",
    };
    out.insert("returned".into(), json!(returned));
    let uniqueness = match def.uniqueness {
        Uniqueness::None => "none",
        Uniqueness::Server => "server",
    };
    out.insert("uniqueness".into(), json!(uniqueness));
    if !def.canonical.is_empty() {
        out.insert("canonicalValues".into(), json!(def.canonical));
    }
    if !def.reference_types.is_empty() {
        out.insert("referenceTypes".into(), json!(def.reference_types));
    }
    if !def.sub.is_empty() {
        let subs: Vec<Value> = def.sub.iter().map(attr_json).collect();
        out.insert("subAttributes".into(), Value::Array(subs));
    }
    Value::Object(out)
}

/// The `/Schemas/{id}` representation (RFC 7643 §7).
pub fn schema_json(schema: &SchemaDef, base_url: &str) -> Value {
    let attributes: Vec<Value> = schema.attributes.iter().map(attr_json).collect();
    json!({
        "schemas": [SCHEMA_URN],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base_url}/Schemas/{}", schema.id),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case() {
        assert_eq!(
            Kind::User.core_attr("USERNAME").map(|d| d.name),
            Some("userName")
        );
        assert_eq!(Kind::User.core_attr("id").map(|d| d.case_exact), Some(true));
        assert!(Kind::Group.core_attr("userName").is_none());
        assert!(
            Kind::User
                .extension(&ENTERPRISE_URN.to_uppercase())
                .is_some()
        );
        assert!(Kind::Group.extension(ENTERPRISE_URN).is_none());
    }

    #[test]
    fn schema_document_lists_sub_attributes() {
        let doc = schema_json(&USER_SCHEMA, "http://h/scim/v2");
        let attrs = doc["attributes"].as_array().expect("attributes array");
        let emails = attrs
            .iter()
            .find(|a| a["name"] == "emails")
            .expect("emails attribute");
        assert_eq!(emails["multiValued"], true);
        assert!(
            emails["subAttributes"]
                .as_array()
                .is_some_and(|s| s.iter().any(|a| a["name"] == "primary"))
        );
        let password = attrs.iter().find(|a| a["name"] == "password").expect("pw");
        assert_eq!(password["returned"], "never");
    }
}
