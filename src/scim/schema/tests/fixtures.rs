//! Valid bodies of every kind, modelled on the examples of RFC 7643 §8 and RFC 7644 (written
//! for oinspect, not copied). Each must validate with zero violations.

use serde_json::{Value, json};

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// JSON Pointer to the enterprise extension object ("/" in a token would need escaping; a URN
/// has none).
pub fn ent(rest: &str) -> String {
    format!("/{ENTERPRISE_URN}{rest}")
}

/// A full User in the manner of RFC 7643 §8.2.
pub fn user() -> Value {
    json!({
        "schemas": [USER_URN],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III"
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
                "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                "primary": true
            },
            {
                "type": "home",
                "streetAddress": "456 Hollywood Blvd",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA"
            }
        ],
        "phoneNumbers": [
            {"value": "555-555-5555", "type": "work"},
            {"value": "555-555-4444", "type": "mobile"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [
            {"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}
        ],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "groups": [
            {
                "value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                "$ref": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                "display": "Tour Guides"
            },
            {
                "value": "fc348aa8-3835-40eb-a20b-c726e15c55b5",
                "$ref": "https://example.com/v2/Groups/fc348aa8-3835-40eb-a20b-c726e15c55b5",
                "display": "Employees",
                "type": "direct"
            }
        ],
        "entitlements": [{"value": "gold-pass", "display": "Gold pass", "primary": true}],
        "roles": [{"value": "guide", "type": "work"}],
        "x509Certificates": [
            {"value": "qbSGMWEMS6nTe1n1f6q61KCBx1nIDXHsauC2kLyVXIXuwfmxGgLa0Cvbt3FF7SrLhilzEC0goaKnDn96dEW1Jg=="}
        ],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"a330bc54f0671c9\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    })
}

/// A second, smaller User for lists.
pub fn user2() -> Value {
    json!({
        "schemas": [USER_URN],
        "id": "c75ad752-64ae-4823-840d-ffa80929976c",
        "userName": "jsmith",
        "displayName": "Jim Smith",
        "emails": [{"value": "jsmith@example.com", "primary": true}],
        "active": false,
        "meta": {
            "resourceType": "User",
            "created": "2011-08-01T18:29:49.793Z",
            "lastModified": "2011-08-01T18:29:49.793+00:00",
            "location": "https://example.com/v2/Users/c75ad752-64ae-4823-840d-ffa80929976c",
            "version": "W/\"f250dd84f0671c3\""
        }
    })
}

/// An enterprise User in the manner of RFC 7643 §8.3.
pub fn enterprise_user() -> Value {
    user().set_schema(1, ENTERPRISE_URN).with(
        ENTERPRISE_URN,
        json!({
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {
                "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                "displayName": "John Smith"
            }
        }),
    )
}

/// A Group in the manner of RFC 7643 §8.4, with a nested group member.
pub fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {
                "value": "2819c223-7f76-453a-919d-413861904646",
                "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                "display": "Babs Jensen",
                "type": "User"
            },
            {
                "value": "902c246b-6245-4190-8e05-00816be7344a",
                "$ref": "https://example.com/v2/Groups/902c246b-6245-4190-8e05-00816be7344a",
                "display": "Night Guides",
                "type": "Group"
            }
        ],
        "meta": {
            "resourceType": "Group",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff592\"",
            "location": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a"
        }
    })
}

/// A complete (unpaged) list of two Users, as RFC 7644 §3.4.2 shows.
pub fn user_list() -> Value {
    list(vec![user(), user2()])
}

pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources
    })
}

/// A uniqueness error as RFC 7644 §3.12 shows.
pub fn error() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "scimType": "uniqueness",
        "detail": "userName bjensen@example.com is already taken",
        "status": "409"
    })
}

/// A PATCH with add, remove and a path-less replace, as in RFC 7644 §3.5.2.
pub fn patch() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [{"display": "Babs Jensen", "value": "2819c223-7f76-453a-919d-413861904646"}]
            },
            {"op": "remove", "path": "members[value eq \"902c246b-6245-4190-8e05-00816be7344a\"]"},
            {"op": "replace", "value": {"displayName": "Tour Guides (day)"}}
        ]
    })
}

/// A service provider configuration in the manner of RFC 7643 §8.5.
pub fn service_provider_config() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://example.com/help/scim.html",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576},
        "filter": {"supported": true, "maxResults": 200},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [
            {
                "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the OAuth Bearer Token Standard",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "documentationUri": "https://example.com/help/oauth.html",
                "type": "oauthbearertoken",
                "primary": true
            },
            {
                "name": "HTTP Basic",
                "description": "Authentication scheme using the HTTP Basic Standard",
                "specUri": "https://www.rfc-editor.org/info/rfc2617",
                "type": "httpbasic"
            }
        ],
        "meta": {
            "location": "https://example.com/v2/ServiceProviderConfig",
            "resourceType": "ServiceProviderConfig",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff594\""
        }
    })
}

/// The User resource type with the enterprise extension, as in RFC 7643 §8.6.
pub fn resource_type() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_URN,
        "schemaExtensions": [{"schema": ENTERPRISE_URN, "required": true}],
        "meta": {
            "location": "https://example.com/v2/ResourceTypes/User",
            "resourceType": "ResourceType"
        }
    })
}

/// The Group schema, abridged from RFC 7643 §8.7.1 (with "schemas" and "meta" added).
pub fn schema() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": "urn:ietf:params:scim:schemas:core:2.0:Group",
        "name": "Group",
        "description": "Group",
        "attributes": [
            {
                "name": "displayName",
                "type": "string",
                "multiValued": false,
                "description": "A human-readable name for the Group. REQUIRED.",
                "required": false,
                "caseExact": false,
                "mutability": "readWrite",
                "returned": "default",
                "uniqueness": "none"
            },
            {
                "name": "members",
                "type": "complex",
                "multiValued": true,
                "description": "A list of members of the Group.",
                "required": false,
                "subAttributes": [
                    {
                        "name": "value",
                        "type": "string",
                        "multiValued": false,
                        "description": "Identifier of the member of this Group.",
                        "required": false,
                        "caseExact": false,
                        "mutability": "immutable",
                        "returned": "default",
                        "uniqueness": "none"
                    },
                    {
                        "name": "$ref",
                        "type": "reference",
                        "referenceTypes": ["User", "Group"],
                        "multiValued": false,
                        "description": "The URI of the corresponding resource.",
                        "required": false,
                        "caseExact": false,
                        "mutability": "immutable",
                        "returned": "default",
                        "uniqueness": "none"
                    },
                    {
                        "name": "type",
                        "type": "string",
                        "multiValued": false,
                        "description": "A label indicating the type of resource.",
                        "required": false,
                        "caseExact": false,
                        "canonicalValues": ["User", "Group"],
                        "mutability": "immutable",
                        "returned": "default",
                        "uniqueness": "none"
                    }
                ],
                "mutability": "readWrite",
                "returned": "default"
            }
        ],
        "meta": {
            "resourceType": "Schema",
            "location": "https://example.com/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group"
        }
    })
}

/// Small builders used by the fixtures above.
trait Build {
    fn set_schema(self, index: usize, urn: &str) -> Self;
    fn with(self, key: &str, value: Value) -> Self;
}

impl Build for Value {
    fn set_schema(mut self, index: usize, urn: &str) -> Self {
        let schemas = self["schemas"].as_array_mut().expect("fixture has schemas");
        schemas.truncate(index);
        schemas.push(json!(urn));
        self
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.as_object_mut()
            .expect("fixture is an object")
            .insert(key.to_owned(), value);
        self
    }
}
