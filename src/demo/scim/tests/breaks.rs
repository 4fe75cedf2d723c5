//! One test per break switch: the same scenario against a correct server and against
//! one with the switch on, asserting what differs.

use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::demo::scim::http::SLOW_GROUPS_LIST_DELAY;
use crate::demo::scim::schema::{ERROR_URN, ROLE_URN};

const ON_OFF: [bool; 2] = [false, true];

#[tokio::test]
async fn create_200() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-create-200", on).await;
        let r = h.post("/Users", &user_body("a")).await;
        assert_eq!(r.status, if on { 200 } else { 201 });
    }
}

#[tokio::test]
async fn no_location() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-no-location", on).await;
        let r = h.post("/Users", &user_body("a")).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.header("location").is_none(), on);
        assert!(r.body["meta"]["location"].is_string());
    }
}

#[tokio::test]
async fn no_409() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-no-409", on).await;
        h.user("dup@x.com").await;
        let r = h.post("/Users", &user_body("DUP@x.com")).await;
        assert_eq!(r.status, if on { 201 } else { 409 });
        assert_eq!(h.server.user_count(), if on { 2 } else { 1 });
        // Group names have a switch of their own.
        h.group("G", &[]).await;
        let r = h
            .post(
                "/Groups",
                &json!({"schemas": [GROUP_URN], "displayName": "g"}),
            )
            .await;
        assert_eq!(r.status, 409);
    }
}

#[tokio::test]
async fn username_lowercased() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-username-lowercased", on).await;
        let r = h.post("/Users", &user_body("Mixed.Case@X.com")).await;
        let want = if on {
            "mixed.case@x.com"
        } else {
            "Mixed.Case@X.com"
        };
        assert_eq!(r.body["userName"], want);
    }
}

#[tokio::test]
async fn filter_case_sensitive() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-filter-case-sensitive", on).await;
        h.user("Alice@X.com").await;
        let r = h
            .get(&format!(
                "/Users?filter={}",
                q(r#"userName eq "alice@x.com""#)
            ))
            .await;
        assert_eq!(r.body["totalResults"], if on { 0 } else { 1 });
    }
}

#[tokio::test]
async fn active_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-active-ignored", on).await;
        let id = h.user("a").await;
        let r = h
            .patch(
                &format!("/Users/{id}"),
                &json!([{"op": "replace", "path": "active", "value": false}]),
            )
            .await;
        assert_eq!(r.status, 200);
        // Broken, the user stays active.
        assert_eq!(h.get(&format!("/Users/{id}")).await.body["active"], on);
    }
}

#[tokio::test]
async fn deactivated_hidden() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-deactivated-hidden", on).await;
        let id = h.user("a").await;
        h.patch(
            &format!("/Users/{id}"),
            &json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
        assert_eq!(
            h.get(&format!("/Users/{id}")).await.status,
            if on { 404 } else { 200 }
        );
    }
}

#[tokio::test]
async fn empty_filter_404() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-empty-filter-404", on).await;
        let r = h
            .get(&format!("/Users?filter={}", q(r#"userName eq "nobody""#)))
            .await;
        assert_eq!(r.status, if on { 404 } else { 200 });
    }
}

#[tokio::test]
async fn error_no_schema() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-error-no-schema", on).await;
        let r = h.get("/Users/missing").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body.get("schemas").is_none(), on);
        assert_eq!(r.body["status"], if on { json!(404) } else { json!("404") });
        if !on {
            assert_eq!(r.body["schemas"], json!([ERROR_URN]));
        }
    }
}

#[tokio::test]
async fn pathless_patch_rejected() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-pathless-patch-rejected", on).await;
        let id = h.user("a").await;
        let r = h
            .patch(
                &format!("/Users/{id}"),
                &json!([{"op": "replace", "value": {"active": false}}]),
            )
            .await;
        assert_eq!(r.status, if on { 400 } else { 200 });
    }
}

#[tokio::test]
async fn member_filter_remove_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-member-filter-remove-ignored", on).await;
        let u = h.user("a").await;
        let g = h.group("G", &[&u]).await;
        let r = h
            .patch(
                &format!("/Groups/{g}"),
                &json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body.get("members").is_some(), on);
    }
}

#[tokio::test]
async fn capitalised_ops_rejected() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-capitalised-ops-rejected", on).await;
        let id = h.user("a").await;
        let r = h
            .patch(
                &format!("/Users/{id}"),
                &json!([{"op": "Replace", "path": "title", "value": "x"}]),
            )
            .await;
        assert_eq!(r.status, if on { 400 } else { 200 });
        let lower = h
            .patch(
                &format!("/Users/{id}"),
                &json!([{"op": "replace", "path": "title", "value": "y"}]),
            )
            .await;
        assert_eq!(lower.status, 200);
    }
}

#[tokio::test]
async fn string_booleans_rejected() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-string-booleans-rejected", on).await;
        let id = h.user("a").await;
        let r = h
            .patch(
                &format!("/Users/{id}"),
                &json!([{"op": "Replace", "path": "active", "value": "False"}]),
            )
            .await;
        assert_eq!(r.status, if on { 400 } else { 200 });
    }
}

#[tokio::test]
async fn unstable_paging() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-unstable-paging", on).await;
        for i in 0..3 {
            h.user(&format!("u{i}")).await;
        }
        let first = h.get("/Users?count=2").await.resource_ids();
        let second = h.get("/Users?count=2").await.resource_ids();
        assert_eq!(first != second, on);
    }
}

#[tokio::test]
async fn retry_after_missing() {
    for on in ON_OFF {
        let breaks: &[&str] = if on {
            &["scim-429-no-retry-after"]
        } else {
            &[]
        };
        let limit = RateLimit {
            every_nth_request: 1,
            retry_after_secs: 3,
        };
        let h = Harness::start_with(config(breaks, Some(limit))).await;
        let r = h.get("/Users").await;
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after").is_none(), on);
    }
}

#[tokio::test]
async fn no_etag() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-no-etag", on).await;
        let r = h.post("/Users", &user_body("a")).await;
        assert_eq!(r.header("etag").is_none(), on);
        assert_eq!(r.body["meta"].get("version").is_none(), on);
    }
}

#[tokio::test]
async fn if_match_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-if-match-ignored", on).await;
        let id = h.user("a").await;
        let body = json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "title", "value": "x"}]});
        let rb = h
            .req(Method::PATCH, &format!("/Users/{id}"))
            .header("Content-Type", "application/scim+json")
            .header("If-Match", "W/\"41\"")
            .body(body.to_string());
        assert_eq!(h.send(rb).await.status, if on { 200 } else { 412 });
    }
}

#[tokio::test]
async fn startindex_zero_based() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-startindex-zero-based", on).await;
        let a = h.user("a").await;
        let b = h.user("b").await;
        let r = h.get("/Users?startIndex=1&count=1").await;
        assert_eq!(r.resource_ids(), [if on { b } else { a }]);
    }
}

#[tokio::test]
async fn count_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-count-ignored", on).await;
        for i in 0..3 {
            h.user(&format!("u{i}")).await;
        }
        let r = h.get("/Users?count=1").await;
        assert_eq!(r.resource_ids().len(), if on { 3 } else { 1 });
    }
}

#[tokio::test]
async fn pagination_strings() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-pagination-strings", on).await;
        h.user("a").await;
        let r = h.get("/Users").await;
        for field in ["totalResults", "startIndex", "itemsPerPage"] {
            assert_eq!(
                r.body[field],
                if on { json!("1") } else { json!(1) },
                "{field}"
            );
        }
    }
}

#[tokio::test]
async fn delete_still_readable() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-delete-still-readable", on).await;
        let id = h.user("a").await;
        assert_eq!(h.delete(&format!("/Users/{id}")).await.status, 204);
        assert_eq!(
            h.get(&format!("/Users/{id}")).await.status,
            if on { 200 } else { 404 }
        );
    }
}

#[tokio::test]
async fn no_auth() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-no-auth", on).await;
        let r = h.send(h.req_with_auth(Method::GET, "/Users", None)).await;
        assert_eq!(r.status, if on { 200 } else { 401 });
    }
}

#[tokio::test]
async fn raw_token_rejected() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-raw-token-rejected", on).await;
        let rb = h.req_with_auth(Method::GET, "/Users", Some(TOKEN));
        assert_eq!(h.send(rb).await.status, if on { 401 } else { 200 });
        assert_eq!(h.get("/Users").await.status, 200);
    }
}

#[tokio::test]
async fn bad_filter_500() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-bad-filter-500", on).await;
        let r = h.get(&format!("/Users?filter={}", q("userName eq"))).await;
        assert_eq!(r.status, if on { 500 } else { 400 });
        assert_eq!(r.scim_type().is_some(), !on);
    }
}

#[tokio::test]
async fn groups_attr_missing() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-groups-attr-missing", on).await;
        let u = h.user("a").await;
        h.group("G", &[&u]).await;
        let r = h.get(&format!("/Users/{u}")).await;
        assert_eq!(r.body.get("groups").is_none(), on);
    }
}

#[tokio::test]
async fn attributes_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-attributes-ignored", on).await;
        let id = h.user("a").await;
        let r = h.get(&format!("/Users/{id}?attributes=userName")).await;
        assert_eq!(r.body.get("emails").is_some(), on);
    }
}

#[tokio::test]
async fn excluded_attributes_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-excluded-attributes-ignored", on).await;
        let id = h.user("a").await;
        let r = h
            .get(&format!("/Users/{id}?excludedAttributes=emails"))
            .await;
        assert_eq!(r.body.get("emails").is_some(), on);
    }
}

#[tokio::test]
async fn json_content_type_rejected() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-json-content-type-rejected", on).await;
        let rb = h
            .req(Method::POST, "/Users")
            .header("Content-Type", "application/json")
            .body(user_body("a").to_string());
        assert_eq!(h.send(rb).await.status, if on { 415 } else { 201 });
    }
}

#[tokio::test]
async fn plain_json_responses() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-plain-json-responses", on).await;
        let r = h.get("/Users").await;
        let want = if on {
            "application/json"
        } else {
            "application/scim+json; charset=utf-8"
        };
        assert_eq!(r.header("content-type"), Some(want));
    }
}

#[tokio::test]
async fn password_returned() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-password-returned", on).await;
        let r = h.post("/Users", &user_body("a")).await;
        assert_eq!(r.body.get("password").is_some(), on);
    }
}

#[tokio::test]
async fn enterprise_dropped() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-enterprise-dropped", on).await;
        let id = h.post("/Users", &entra_user_body("e@x.com")).await.id();
        let r = h.get(&format!("/Users/{id}")).await;
        assert_eq!(r.body.get(ENTERPRISE_URN).is_none(), on);
    }
}

#[tokio::test]
async fn id_mutable() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-id-mutable", on).await;
        let id = h.user("a").await;
        let body = json!({"schemas": [USER_URN], "id": "renamed", "userName": "a"});
        let r = h.put(&format!("/Users/{id}"), &body).await;
        assert_eq!(r.status, if on { 200 } else { 400 });
        assert_eq!(
            h.get("/Users/renamed").await.status,
            if on { 200 } else { 404 }
        );
    }
}

#[tokio::test]
async fn no_service_provider_config() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-no-service-provider-config", on).await;
        let r = h.get("/ServiceProviderConfig").await;
        assert_eq!(r.status, if on { 404 } else { 200 });
    }
}

#[tokio::test]
async fn get_drops_attributes() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-get-drops-attributes", on).await;
        let id = h.user("a").await;
        let r = h.get(&format!("/Users/{id}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["userName"], "a");
        for attr in ["name", "emails"] {
            assert_eq!(r.body.get(attr).is_none(), on, "{attr}");
        }
        // Lists keep the full representation.
        let list = h.get("/Users").await;
        assert!(list.body["Resources"][0]["emails"].is_array());
    }
}

#[tokio::test]
async fn put_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-put-ignored", on).await;
        let id = h.user("a").await;
        let body = json!({"schemas": [USER_URN], "id": id, "userName": "a",
                          "name": {"givenName": "New", "familyName": "Name"}, "title": "Boss"});
        let r = h.put(&format!("/Users/{id}"), &body).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["title"], "Boss");
        let after = h.get(&format!("/Users/{id}")).await;
        assert_eq!(after.body.get("title").is_none(), on);
        assert_eq!(
            after.body["name"]["givenName"],
            if on { "Test" } else { "New" }
        );
    }
}

#[tokio::test]
async fn patch_path_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-patch-path-ignored", on).await;
        let id = h.user("a").await;
        let path = format!("/Users/{id}");
        let r = h
            .patch(
                &path,
                &json!([
                    {"op": "replace", "path": "name.givenName", "value": "Babs"},
                    {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.com"},
                    {"op": "add", "path": "title", "value": "Boss"},
                    {"op": "replace", "path": "active", "value": false}
                ]),
            )
            .await;
        assert_eq!(r.status, 200);
        let u = h.get(&path).await.body;
        assert_eq!(u["name"]["givenName"], if on { "Test" } else { "Babs" });
        assert_eq!(
            u["emails"][0]["value"],
            if on { "a@example.com" } else { "new@x.com" }
        );
        assert_eq!(u.get("title").is_none(), on);
        assert_eq!(u["active"], on);
        // Invalid operations are still refused.
        let bad = h
            .patch(
                &path,
                &json!([{"op": "replace", "path": "id", "value": "x"}]),
            )
            .await;
        assert_eq!(bad.status, 400);
        // Path-less operations still apply, active=false included (unlike with
        // scim-active-ignored), and so do membership paths.
        let r = h
            .patch(
                &path,
                &json!([{"op": "replace", "value": {"active": false}}]),
            )
            .await;
        assert_eq!(r.body["active"], false);
        let g = h.group("G", &[]).await;
        let r = h
            .patch(
                &format!("/Groups/{g}"),
                &json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            )
            .await;
        assert_eq!(r.body["members"][0]["value"], id);
    }
}

#[tokio::test]
async fn member_add_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-member-add-ignored", on).await;
        let a = h.user("a").await;
        let b = h.user("b").await;
        let g = h.group("G", &[&a]).await;
        let r = h
            .patch(
                &format!("/Groups/{g}"),
                &json!([{"op": "add", "path": "members", "value": [{"value": b}]}]),
            )
            .await;
        assert_eq!(r.status, 200);
        let members = &h.get(&format!("/Groups/{g}")).await.body["members"];
        assert_eq!(
            members.as_array().map(Vec::len),
            Some(if on { 1 } else { 2 })
        );
    }
}

#[tokio::test]
async fn replace_members_appends() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-replace-members-appends", on).await;
        let a = h.user("a").await;
        let b = h.user("b").await;
        let g = h.group("G", &[&a]).await;
        let path = format!("/Groups/{g}");
        let ids = |r: &Resp| -> Vec<String> {
            r.body["members"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|v| v["value"].as_str())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let r = h
            .patch(
                &path,
                &json!([{"op": "replace", "path": "members", "value": [{"value": b}]}]),
            )
            .await;
        assert_eq!(r.status, 200);
        let want = if on {
            vec![a.clone(), b.clone()]
        } else {
            vec![b.clone()]
        };
        assert_eq!(ids(&h.get(&path).await), want);
        let r = h
            .patch(
                &path,
                &json!([{"op": "replace", "path": "members", "value": []}]),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(ids(&h.get(&path).await).len(), if on { 2 } else { 0 });
    }
}

#[tokio::test]
async fn groups_endpoint_missing() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-groups-endpoint-missing", on).await;
        let g = h.group("G", &[]).await;
        assert_eq!(h.get("/Groups").await.status, if on { 404 } else { 200 });
        assert_eq!(h.get(&format!("/Groups/{g}")).await.status, 200);
        assert_eq!(h.get("/Users").await.status, 200);
    }
}

#[tokio::test]
async fn slow_groups_list() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-slow-groups-list", on).await;
        let g = h.group("G", &[]).await;
        let started = Instant::now();
        let (list, user_took) = tokio::join!(h.get("/Groups"), async {
            let t = Instant::now();
            assert_eq!(h.get("/Users").await.status, 200);
            t.elapsed()
        });
        let took = started.elapsed();
        assert_eq!(list.status, 200);
        assert_eq!(list.resource_ids(), [g]);
        assert_eq!(took >= SLOW_GROUPS_LIST_DELAY, on, "{took:?}");
        // The wait holds no lock and no thread: a concurrent request is served meanwhile.
        assert!(user_took < SLOW_GROUPS_LIST_DELAY, "{user_took:?}");
    }
}

#[tokio::test]
async fn group_duplicate_accepted() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-group-duplicate-accepted", on).await;
        h.group("Admins", &[]).await;
        let r = h
            .post(
                "/Groups",
                &json!({"schemas": [GROUP_URN], "displayName": "admins"}),
            )
            .await;
        assert_eq!(r.status, if on { 201 } else { 409 });
        assert_eq!(h.server.group_count(), if on { 2 } else { 1 });
        let other = h.group("Other", &[]).await;
        let r = h
            .patch(
                &format!("/Groups/{other}"),
                &json!([{"op": "replace", "path": "displayName", "value": "ADMINS"}]),
            )
            .await;
        assert_eq!(r.status, if on { 200 } else { 409 });
        // userName uniqueness is scim-no-409's.
        h.user("u").await;
        assert_eq!(h.post("/Users", &user_body("U")).await.status, 409);
    }
}

#[tokio::test]
async fn delete_unknown_204() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-delete-unknown-204", on).await;
        let want = if on { 204 } else { 404 };
        assert_eq!(h.delete("/Users/never-existed").await.status, want);
        assert_eq!(h.delete("/Groups/never-existed").await.status, want);
        // The first DELETE still works and the resource is gone (unlike with
        // scim-delete-still-readable); only the repeat answers differently.
        let g = h.group("G", &[]).await;
        let path = format!("/Groups/{g}");
        assert_eq!(h.delete(&path).await.status, 204);
        assert_eq!(h.get(&path).await.status, 404);
        assert_eq!(h.delete(&path).await.status, want);
    }
}

#[tokio::test]
async fn unknown_schema_urn_rejected() {
    let ad = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0";
    for on in ON_OFF {
        let h = Harness::for_break("scim-unknown-schema-urn-rejected", on).await;
        let r = h
            .post(
                "/Groups",
                &json!({"schemas": [GROUP_URN, format!("{ad}/Group")], "displayName": "G"}),
            )
            .await;
        assert_eq!(r.status, if on { 400 } else { 201 });
        assert_eq!(r.scim_type(), on.then_some("invalidValue"));
        let mut user = user_body("a");
        user["schemas"] = json!([USER_URN, format!("{ad}/User")]);
        assert_eq!(
            h.post("/Users", &user).await.status,
            if on { 400 } else { 201 }
        );
        // Known URNs, the enterprise extension included, are still accepted.
        assert_eq!(
            h.post("/Users", &entra_user_body("e@x.com")).await.status,
            201
        );
    }
}

#[tokio::test]
async fn member_value_remove_clears_all() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-member-value-remove-clears-all", on).await;
        let a = h.user("a").await;
        let b = h.user("b").await;
        let g = h.group("G", &[&a, &b]).await;
        let path = format!("/Groups/{g}");
        let r = h
            .patch(
                &path,
                &json!([{"op": "Remove", "path": "members", "value": [{"value": a}]}]),
            )
            .await;
        assert_eq!(r.status, 200);
        let members = &h.get(&path).await.body["members"];
        if on {
            assert!(members.is_null(), "{members}");
        } else {
            assert_eq!(members.as_array().map(Vec::len), Some(1));
            assert_eq!(members[0]["value"], b);
        }
        // A filtered remove (scim-member-filter-remove-ignored's shape) is unaffected.
        h.patch(
            &path,
            &json!([{"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]}]),
        )
        .await;
        let r = h
            .patch(
                &path,
                &json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
            )
            .await;
        assert_eq!(r.body["members"].as_array().map(Vec::len), Some(1));
    }
}

#[tokio::test]
async fn patch_first_op_only() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-patch-first-op-only", on).await;
        let id = h.user("a").await;
        let path = format!("/Users/{id}");
        let r = h
            .patch(
                &path,
                &json!([
                    {"op": "replace", "path": "title", "value": "Boss"},
                    {"op": "add", "path": "nickName", "value": "Babs"},
                    {"op": "replace", "value": {"displayName": "New Name"}}
                ]),
            )
            .await;
        assert_eq!(r.status, 200);
        let u = h.get(&path).await.body;
        assert_eq!(u["title"], "Boss");
        assert_eq!(u.get("nickName").is_none(), on);
        assert_eq!(u["displayName"], if on { "Test User" } else { "New Name" });
        // A malformed later operation is still refused.
        let bad = h
            .patch(
                &path,
                &json!([
                    {"op": "replace", "path": "title", "value": "x"},
                    {"op": "move", "path": "title", "value": "y"}
                ]),
            )
            .await;
        assert_eq!(bad.status, 400);
    }
}

#[tokio::test]
async fn malformed_json_500() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-malformed-json-500", on).await;
        let rb = h
            .req(Method::POST, "/Users")
            .header("Content-Type", "application/scim+json")
            .body("{\"userName\": ");
        let r = h.send(rb).await;
        assert_eq!(r.status, if on { 500 } else { 400 });
    }
}

#[tokio::test]
async fn missing_username_accepted() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-missing-username-accepted", on).await;
        let r = h
            .post(
                "/Users",
                &json!({"schemas": [USER_URN], "name": {"givenName": "No", "familyName": "Name"}}),
            )
            .await;
        assert_eq!(r.status, if on { 201 } else { 400 });
        assert_eq!(h.server.user_count(), usize::from(on));
    }
}

#[tokio::test]
async fn roles_not_stored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-roles-not-stored", on).await;
        let mut body = user_body("a");
        body["roles"] = json!([{"value": "admin", "display": "Administrator"}]);
        let r = h.post("/Users", &body).await;
        assert_eq!(r.status, 201);
        let path = format!("/Users/{}", r.id());
        assert_eq!(h.get(&path).await.body.get("roles").is_none(), on);
        let r = h
            .patch(
                &path,
                &json!([{"op": "add", "path": "roles", "value": [{"value": "viewer"}]}]),
            )
            .await;
        assert_eq!(r.status, 200);
        let roles = &h.get(&path).await.body["roles"];
        assert_eq!(roles.as_array().map(Vec::len), (!on).then_some(2));
        // Unknown roles are still refused, and other attributes still stored.
        body["roles"] = json!([{"value": "root"}]);
        body["userName"] = json!("b");
        assert_eq!(h.post("/Users", &body).await.status, 400);
        assert_eq!(
            h.get(&path).await.body["emails"][0]["value"],
            "a@example.com"
        );
    }
}

#[tokio::test]
async fn roles_endpoint_missing() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-roles-endpoint-missing", on).await;
        let want = if on { 404 } else { 200 };
        assert_eq!(h.get("/Roles").await.status, want);
        assert_eq!(h.get("/Roles/admin").await.status, want);
        assert_eq!(h.get("/ResourceTypes/Role").await.status, want);
        let schema = h.get(&format!("/Schemas/{ROLE_URN}")).await;
        assert_eq!(schema.status, want);
        let types = h.get("/ResourceTypes").await.body;
        assert_eq!(types["totalResults"], if on { 2 } else { 3 });
        let schemas = h.get("/Schemas").await.body;
        let ids: Vec<&str> = schemas["Resources"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(ids.contains(&ROLE_URN), !on);
        let post = h.post("/Roles", &json!({"displayName": "X"})).await;
        assert_eq!(post.status, if on { 404 } else { 405 });
        // Users keep their roles either way.
        let mut body = user_body("a");
        body["roles"] = json!([{"value": "editor"}]);
        let r = h.post("/Users", &body).await;
        assert_eq!(r.body["roles"][0]["value"], "editor");
    }
}

#[tokio::test]
async fn roles_count_ignored() {
    for on in ON_OFF {
        let h = Harness::for_break("scim-roles-count-ignored", on).await;
        let r = h.get("/Roles?startIndex=1&count=1").await;
        assert_eq!(r.status, 200);
        let n = if on { 3 } else { 1 };
        assert_eq!(r.body["itemsPerPage"], n);
        assert_eq!(r.resource_ids().len(), n);
        assert_eq!(r.body["totalResults"], 3);
        // Users are scim-count-ignored's.
        for i in 0..2 {
            h.user(&format!("u{i}")).await;
        }
        assert_eq!(h.get("/Users?count=1").await.resource_ids().len(), 1);
    }
}
