//! Discovery documents (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas.
//! What they advertise is what the server does.

use serde_json::{Value, json};

use super::roles;
use super::schema::{self, Kind, RESOURCE_TYPE_URN, SPC_URN, SchemaDef};
use super::service::MAX_RESULTS;
use crate::demo::Breaks;

pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": [SPC_URN],
        "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a static bearer token (RFC 6750)",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        },
    })
}

/// A resource type as `/ResourceTypes` describes it.
struct TypeInfo {
    name: &'static str,
    endpoint: &'static str,
    description: &'static str,
    schema: &'static SchemaDef,
    extensions: &'static [&'static SchemaDef],
}

impl TypeInfo {
    fn stored(kind: Kind) -> Self {
        Self {
            name: kind.name(),
            endpoint: kind.endpoint(),
            description: match kind {
                Kind::User => "User Account",
                Kind::Group => "Group",
            },
            schema: kind.core(),
            extensions: kind.extensions(),
        }
    }

    fn json(&self, base_url: &str) -> Value {
        let extensions: Vec<Value> = self
            .extensions
            .iter()
            .map(|e| json!({"schema": e.id, "required": false}))
            .collect();
        json!({
            "schemas": [RESOURCE_TYPE_URN],
            "id": self.name,
            "name": self.name,
            "endpoint": format!("/{}", self.endpoint),
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": extensions,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name),
            },
        })
    }
}

/// The resource types served, Role only while `/Roles` is.
fn served_types(breaks: &Breaks) -> Vec<TypeInfo> {
    let mut types = vec![TypeInfo::stored(Kind::User), TypeInfo::stored(Kind::Group)];
    if roles::served(breaks) {
        types.push(TypeInfo {
            name: roles::RESOURCE_TYPE,
            endpoint: roles::ENDPOINT,
            description: "A role a user can be given, from the app's fixed catalogue",
            schema: &schema::ROLE_SCHEMA,
            extensions: &[],
        });
    }
    types
}

pub fn resource_types(base_url: &str, breaks: &Breaks) -> Vec<Value> {
    served_types(breaks)
        .iter()
        .map(|t| t.json(base_url))
        .collect()
}

/// The resource type with this name (case-insensitive).
pub fn resource_type_by_name(name: &str, base_url: &str, breaks: &Breaks) -> Option<Value> {
    served_types(breaks)
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .map(|t| t.json(base_url))
}

/// Whether `/Schemas` publishes this schema: the Role schema goes with `/Roles`.
fn schema_served(s: &SchemaDef, breaks: &Breaks) -> bool {
    s.id != schema::ROLE_URN || roles::served(breaks)
}

pub fn schemas(base_url: &str, breaks: &Breaks) -> Vec<Value> {
    schema::ALL_SCHEMAS
        .iter()
        .filter(|s| schema_served(s, breaks))
        .map(|s| schema::schema_json(s, base_url))
        .collect()
}

pub fn schema_by_id(id: &str, base_url: &str, breaks: &Breaks) -> Option<Value> {
    schema::schema_by_urn(id)
        .filter(|s| schema_served(s, breaks))
        .map(|s| schema::schema_json(s, base_url))
}
