//! Reference SCIM 2.0 server (RFC 7643/7644), in memory: what a careful vendor's
//! provisioning endpoint does, tolerant of what Okta and Microsoft Entra really send.
//! Each break switch in [`BREAKS`] turns off exactly one correct behaviour.
//!
//! Mount it under its base path: `Router::new().nest(&cfg.base_path, server.router())`.

mod conform;
mod discovery;
mod error;
mod filter;
mod http;
mod jsonci;
mod patch;
mod path;
mod render;
mod roles;
mod schema;
mod service;
mod store;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use super::{BreakInfo, Breaks};

/// Break switches of the SCIM server.
pub const BREAKS: &[BreakInfo] = &[
    BreakInfo {
        name: "scim-create-200",
        summary: "POST answers 200 instead of 201 Created",
    },
    BreakInfo {
        name: "scim-no-location",
        summary: "201 responses to POST carry no Location header",
    },
    BreakInfo {
        name: "scim-no-409",
        summary: "a duplicate userName is accepted (201) instead of 409 uniqueness",
    },
    BreakInfo {
        name: "scim-username-lowercased",
        summary: "userName is stored lowercased instead of as sent",
    },
    BreakInfo {
        name: "scim-filter-case-sensitive",
        summary: "filters compare strings case-sensitively, even caseExact=false ones like userName",
    },
    BreakInfo {
        name: "scim-active-ignored",
        summary: "updates setting active=false are silently ignored",
    },
    BreakInfo {
        name: "scim-deactivated-hidden",
        summary: "GET of a deactivated user answers 404",
    },
    BreakInfo {
        name: "scim-empty-filter-404",
        summary: "a filter matching nothing answers 404 instead of an empty ListResponse",
    },
    BreakInfo {
        name: "scim-error-no-schema",
        summary: "Error bodies lack the Error schema URN and give status as a number",
    },
    BreakInfo {
        name: "scim-pathless-patch-rejected",
        summary: "PATCH add/replace operations without `path` are rejected with 400",
    },
    BreakInfo {
        name: "scim-member-filter-remove-ignored",
        summary: "PATCH remove of `members[value eq \"…\"]` is accepted but does nothing",
    },
    BreakInfo {
        name: "scim-capitalised-ops-rejected",
        summary: "PATCH ops spelled `Add`/`Replace`/`Remove` (as Entra does) are rejected with 400",
    },
    BreakInfo {
        name: "scim-string-booleans-rejected",
        summary: "boolean attributes given as \"True\"/\"False\" (as Entra does) are rejected with 400",
    },
    BreakInfo {
        name: "scim-unstable-paging",
        summary: "every other list request returns results in reverse order",
    },
    BreakInfo {
        name: "scim-429-no-retry-after",
        summary: "429 responses carry no Retry-After header (needs a rate limit)",
    },
    BreakInfo {
        name: "scim-no-etag",
        summary: "resources have no meta.version and responses no ETag header",
    },
    BreakInfo {
        name: "scim-if-match-ignored",
        summary: "a stale If-Match on PUT/PATCH/DELETE is ignored instead of 412",
    },
    BreakInfo {
        name: "scim-startindex-zero-based",
        summary: "startIndex is read as 0-based, so startIndex=1 skips the first result",
    },
    BreakInfo {
        name: "scim-count-ignored",
        summary: "`count` is ignored: every matching resource is returned at once",
    },
    BreakInfo {
        name: "scim-pagination-strings",
        summary: "totalResults, startIndex and itemsPerPage are JSON strings",
    },
    BreakInfo {
        name: "scim-delete-still-readable",
        summary: "DELETE answers 204 but the resource stays readable",
    },
    BreakInfo {
        name: "scim-no-auth",
        summary: "requests without a valid bearer token are served",
    },
    BreakInfo {
        name: "scim-raw-token-rejected",
        summary: "the bare token without `Bearer ` (Okta's header mode) is refused with 401",
    },
    BreakInfo {
        name: "scim-bad-filter-500",
        summary: "an invalid filter answers 500 instead of 400 invalidFilter",
    },
    BreakInfo {
        name: "scim-groups-attr-missing",
        summary: "a user's read-only `groups` attribute is not maintained",
    },
    BreakInfo {
        name: "scim-attributes-ignored",
        summary: "the `attributes` parameter is ignored",
    },
    BreakInfo {
        name: "scim-excluded-attributes-ignored",
        summary: "the `excludedAttributes` parameter is ignored",
    },
    BreakInfo {
        name: "scim-json-content-type-rejected",
        summary: "request bodies sent as application/json (as Okta does) get 415",
    },
    BreakInfo {
        name: "scim-plain-json-responses",
        summary: "responses are labelled application/json instead of application/scim+json",
    },
    BreakInfo {
        name: "scim-password-returned",
        summary: "a password sent by the client is stored and returned",
    },
    BreakInfo {
        name: "scim-enterprise-dropped",
        summary: "the EnterpriseUser extension is silently dropped on write",
    },
    BreakInfo {
        name: "scim-id-mutable",
        summary: "a PUT whose body has a different `id` renames the resource",
    },
    BreakInfo {
        name: "scim-no-service-provider-config",
        summary: "GET /ServiceProviderConfig answers 404",
    },
    BreakInfo {
        name: "scim-get-drops-attributes",
        summary: "GET /Users/{id} omits `name` and `emails` (a minimal representation; lists are full)",
    },
    BreakInfo {
        name: "scim-put-ignored",
        summary: "PUT answers 200 with the new resource but stores nothing",
    },
    BreakInfo {
        name: "scim-patch-path-ignored",
        summary: "PATCH operations with a `path` (other than `members`) answer 200 but change nothing",
    },
    BreakInfo {
        name: "scim-member-add-ignored",
        summary: "PATCH add on `members` answers 200 but adds nobody",
    },
    BreakInfo {
        name: "scim-replace-members-appends",
        summary: "PATCH replace of `members` adds the given members and keeps the old ones",
    },
    BreakInfo {
        name: "scim-groups-endpoint-missing",
        summary: "GET /Groups (the list) answers 404; single groups stay reachable",
    },
    BreakInfo {
        name: "scim-slow-groups-list",
        summary: "GET /Groups (the list) answers correctly but only after 700 ms",
    },
    BreakInfo {
        name: "scim-group-duplicate-accepted",
        summary: "a duplicate group displayName is accepted (201) instead of 409 uniqueness",
    },
    BreakInfo {
        name: "scim-delete-unknown-204",
        summary: "DELETE of an unknown or already deleted id answers 204 instead of 404",
    },
    BreakInfo {
        name: "scim-unknown-schema-urn-rejected",
        summary: "an unknown URN in a body's `schemas` (Entra's ADSCIM ones) is rejected with 400",
    },
    BreakInfo {
        name: "scim-member-value-remove-clears-all",
        summary: "PATCH remove of `members` with a value list (as Entra sends) removes every member",
    },
    BreakInfo {
        name: "scim-patch-first-op-only",
        summary: "a PATCH with several Operations applies only the first (and answers 200)",
    },
    BreakInfo {
        name: "scim-malformed-json-500",
        summary: "a request body that is not JSON answers 500 instead of 400 invalidSyntax",
    },
    BreakInfo {
        name: "scim-missing-username-accepted",
        summary: "a user without userName is created (201) instead of 400 invalidValue",
    },
    BreakInfo {
        name: "scim-roles-not-stored",
        summary: "a user's `roles` are accepted (200/201) but not stored, so GET shows none",
    },
    BreakInfo {
        name: "scim-roles-endpoint-missing",
        summary: "/Roles (list and single roles) answers 404 and discovery lists no Role type or schema",
    },
    BreakInfo {
        name: "scim-roles-count-ignored",
        summary: "GET /Roles ignores `count`: every role is returned (itemsPerPage 3 for count=1)",
    },
];

/// Every Nth request is refused with 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// 0 disables the limit.
    pub every_nth_request: u64,
    pub retry_after_secs: u64,
}

#[derive(Clone)]
pub struct ScimConfig {
    /// The token clients must present.
    pub bearer_token: String,
    pub breaks: Breaks,
    /// Where the router is mounted, e.g. `/scim/v2`; used for absolute URLs.
    pub base_path: String,
    pub rate_limit: Option<RateLimit>,
}

impl fmt::Debug for ScimConfig {
    // The token stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimConfig")
            .field("bearer_token", &"<redacted>")
            .field("breaks", &self.breaks)
            .field("base_path", &self.base_path)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// One server instance; clones share its data.
#[derive(Clone)]
pub struct ScimServer {
    app: Arc<http::App>,
}

impl fmt::Debug for ScimServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimServer")
            .field("cfg", &self.app.cfg)
            .finish_non_exhaustive()
    }
}

impl ScimServer {
    pub fn new(cfg: ScimConfig) -> Self {
        Self {
            app: Arc::new(http::App::new(cfg)),
        }
    }

    /// Routes relative to `base_path`; every router made here serves the same data.
    pub fn router(&self) -> axum::Router {
        http::router(self.app.clone())
    }

    /// Whether the user with this userName (compared case-insensitively, as SCIM does) is
    /// active; `None` when SCIM has no such user. The SAML SP asks this at login, so a user
    /// deprovisioned over SCIM cannot sign in.
    pub fn user_active(&self, user_name: &str) -> Option<bool> {
        let store = self.app.store();
        let user = store.all(schema::Kind::User).iter().find(|r| {
            r.str_attr("userName")
                .is_some_and(|n| n.eq_ignore_ascii_case(user_name))
        })?;
        Some(jsonci::get(&user.attrs, "active") != Some(&serde_json::Value::Bool(false)))
    }

    pub fn user_count(&self) -> usize {
        self.app.store().all(schema::Kind::User).len()
    }

    pub fn group_count(&self) -> usize {
        self.app.store().all(schema::Kind::Group).len()
    }

    /// userNames in creation order.
    pub fn user_names(&self) -> Vec<String> {
        self.names(schema::Kind::User, "userName")
    }

    /// Group displayNames in creation order.
    pub fn group_names(&self) -> Vec<String> {
        self.names(schema::Kind::Group, "displayName")
    }

    fn names(&self, kind: schema::Kind, attr: &str) -> Vec<String> {
        self.app
            .store()
            .all(kind)
            .iter()
            .filter_map(|r| r.str_attr(attr).map(str::to_string))
            .collect()
    }
}
