//! Discovery documents (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas.
//! What they advertise is what the server does.

use serde_json::{Value, json};

use super::schema::{self, Kind, RESOURCE_TYPE_URN, SPC_URN};
use super::service::MAX_RESULTS;

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

pub fn resource_type(kind: Kind, base_url: &str) -> Value {
    let extensions: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    json!({
        "schemas": [RESOURCE_TYPE_URN],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": match kind {
            Kind::User => "User Account",
            Kind::Group => "Group",
        },
        "schema": kind.core().id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base_url}/ResourceTypes/{}", kind.name()),
        },
    })
}

pub fn resource_types(base_url: &str) -> Vec<Value> {
    [Kind::User, Kind::Group]
        .into_iter()
        .map(|k| resource_type(k, base_url))
        .collect()
}

/// The resource type with this name (case-insensitive).
pub fn resource_type_by_name(name: &str) -> Option<Kind> {
    [Kind::User, Kind::Group]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
}

pub fn schemas(base_url: &str) -> Vec<Value> {
    schema::ALL_SCHEMAS
        .iter()
        .map(|s| schema::schema_json(s, base_url))
        .collect()
}

pub fn schema_by_id(id: &str, base_url: &str) -> Option<Value> {
    schema::schema_by_urn(id).map(|s| schema::schema_json(s, base_url))
}
