//! Default (correct) behaviour: a user's `roles` and the read-only `/Roles` catalogue.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::demo::scim::schema::{ERROR_URN, LIST_URN, RESOURCE_TYPE_URN, ROLE_URN};

fn roles_of(r: &Resp) -> Value {
    r.body.get("roles").cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn user_roles_round_trip_through_post_put_and_patch() {
    let h = Harness::start(&[]).await;
    let mut body = user_body("a");
    // As Okta sends an assignment, and with Entra's string boolean.
    body["roles"] = json!([{"value": "admin", "display": "Administrator", "primary": "True"}]);
    let r = h.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{r:?}");
    let want = json!([{"value": "admin", "display": "Administrator", "primary": true}]);
    assert_eq!(roles_of(&r), want);
    let id = r.id();
    let path = format!("/Users/{id}");
    assert_eq!(roles_of(&h.get(&path).await), want);

    // PUT replaces the list.
    let mut body = user_body("a");
    body["roles"] = json!([{"value": "viewer", "type": "app"}]);
    let r = h.put(&path, &body).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        roles_of(&h.get(&path).await),
        json!([{"value": "viewer", "type": "app"}])
    );

    // PATCH add appends (an already present value changes nothing), a filtered
    // sub-attribute replace takes a string boolean, a filtered remove drops one value.
    let r = h
        .patch(
            &path,
            &json!([
                {"op": "add", "path": "roles", "value": [{"value": "editor", "display": "Editor"}, {"value": "viewer", "type": "app"}]},
                {"op": "replace", "path": "roles[value eq \"editor\"].primary", "value": "False"},
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        roles_of(&h.get(&path).await),
        json!([{"value": "viewer", "type": "app"}, {"value": "editor", "display": "Editor", "primary": false}])
    );
    let r = h
        .get(&format!(
            "/Users?filter={}",
            q(r#"roles.value eq "EDITOR""#)
        ))
        .await;
    assert_eq!(r.resource_ids(), std::slice::from_ref(&id));
    let r = h
        .patch(
            &path,
            &json!([{"op": "remove", "path": "roles[value eq \"viewer\"]"}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        roles_of(&h.get(&path).await),
        json!([{"value": "editor", "display": "Editor", "primary": false}])
    );

    // replace sets the whole list, path-less too; remove clears it.
    let r = h
        .patch(
            &path,
            &json!([{"op": "replace", "path": "roles", "value": [{"value": "admin"}]}]),
        )
        .await;
    assert_eq!(roles_of(&r), json!([{"value": "admin"}]));
    let r = h
        .patch(
            &path,
            &json!([{"op": "replace", "value": {"roles": [{"value": "viewer", "primary": true}]}}]),
        )
        .await;
    assert_eq!(roles_of(&r), json!([{"value": "viewer", "primary": true}]));
    let r = h
        .patch(&path, &json!([{"op": "remove", "path": "roles"}]))
        .await;
    assert_eq!(r.status, 200);
    assert!(h.get(&path).await.body.get("roles").is_none());
}

#[tokio::test]
async fn user_roles_must_name_catalogue_roles() {
    let h = Harness::start(&[]).await;
    let mut body = user_body("a");
    body["roles"] = json!([{"value": "root"}]);
    let r = h.post("/Users", &body).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.scim_type(), Some("invalidValue"));
    assert_eq!(r.body["schemas"], json!([ERROR_URN]));
    assert_eq!(h.server.user_count(), 0);

    // roles[].value is caseExact=false (RFC 7643 §8.7.1): Entra's `Admin` names `admin`,
    // and is stored as sent.
    body["roles"] = json!([{"value": "Admin", "type": "WindowsAzureActiveDirectoryRole"}]);
    let r = h.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["roles"][0]["value"], "Admin");
    let path = format!("/Users/{}", r.id());

    let r = h
        .patch(
            &path,
            &json!([{"op": "add", "path": "roles", "value": [{"value": "owner"}]}]),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.scim_type(), Some("invalidValue"));
    let r = h
        .patch(
            &path,
            &json!([{"op": "add", "path": "roles", "value": [{"display": "No value"}]}]),
        )
        .await;
    assert_eq!(r.status, 400);
    let mut put = user_body("a");
    put["roles"] = json!([{"value": "superuser"}]);
    assert_eq!(h.put(&path, &put).await.status, 400);
    // Nothing of the refused requests was stored.
    assert_eq!(
        roles_of(&h.get(&path).await),
        json!([{"value": "Admin", "type": "WindowsAzureActiveDirectoryRole"}])
    );
}

#[tokio::test]
async fn roles_are_discoverable() {
    let h = Harness::start(&[]).await;
    let rts = h.get("/ResourceTypes").await;
    let role = rts.body["Resources"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == "Role"))
        .unwrap_or_else(|| panic!("no Role type in {}", rts.body))
        .clone();
    assert_eq!(role["schemas"], json!([RESOURCE_TYPE_URN]));
    assert_eq!(role["endpoint"], "/Roles");
    assert_eq!(role["schema"], ROLE_URN);
    assert_eq!(
        role["meta"]["location"],
        format!("{}/ResourceTypes/Role", h.base)
    );
    assert_eq!(h.get("/ResourceTypes/role").await.body, role);

    let schemas = h.get("/Schemas").await;
    let listed = schemas.body["Resources"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == ROLE_URN))
        .unwrap_or_else(|| panic!("no Role schema in {}", schemas.body))
        .clone();
    let single = h.get(&format!("/Schemas/{ROLE_URN}")).await;
    assert_eq!(single.status, 200);
    assert_eq!(single.body, listed);
    let names: Vec<&str> = listed["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["id", "displayName", "description"]);
}

#[tokio::test]
async fn roles_list_pages_like_users() {
    let h = Harness::start(&[]).await;
    let all = h.get("/Roles").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["schemas"], json!([LIST_URN]));
    assert_eq!(all.body["totalResults"], 3);
    assert_eq!(all.body["itemsPerPage"], 3);
    assert_eq!(all.resource_ids(), ["admin", "editor", "viewer"]);
    assert_eq!(
        all.body["Resources"][0],
        json!({
            "schemas": [ROLE_URN],
            "id": "admin",
            "displayName": "Administrator",
            "description": "Manages the whole tenant, its users and their roles.",
            "meta": {"resourceType": "Role", "location": format!("{}/Roles/admin", h.base)},
        })
    );

    // Okta's entitlement import: one role per page, itemsPerPage == what was returned.
    let mut seen = Vec::new();
    for start in 1..=3 {
        let r = h.get(&format!("/Roles?startIndex={start}&count=1")).await;
        assert_eq!(r.body["startIndex"], start);
        assert_eq!(r.body["itemsPerPage"], 1);
        assert_eq!(r.body["totalResults"], 3);
        seen.extend(r.resource_ids());
    }
    assert_eq!(seen, all.resource_ids());
    let past = h.get("/Roles?startIndex=4&count=1").await;
    assert_eq!(past.body["itemsPerPage"], 0);
    assert_eq!(past.body["Resources"], json!([]));
    let r = h.get("/Roles?startIndex=0&count=2").await;
    assert_eq!(r.resource_ids(), ["admin", "editor"]);
    assert_eq!(h.get("/Roles?count=x").await.status, 400);

    // Projection, and filters refused rather than ignored.
    let r = h.get("/Roles?attributes=displayName").await;
    assert_eq!(r.body["Resources"][1]["displayName"], "Editor");
    assert!(r.body["Resources"][1].get("description").is_none());
    assert_eq!(r.body["Resources"][1]["id"], "editor");
    let r = h
        .get(&format!(
            "/Roles/viewer?excludedAttributes={}",
            q(&format!("{ROLE_URN}:description"))
        ))
        .await;
    assert!(r.body.get("description").is_none());
    assert_eq!(r.body["displayName"], "Viewer");
    let r = h
        .get(&format!(
            "/Roles?filter={}",
            q(r#"displayName eq "Viewer""#)
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.scim_type(), Some("invalidFilter"));
}

#[tokio::test]
async fn single_roles_and_read_only_errors() {
    let h = Harness::start(&[]).await;
    let r = h.get("/Roles/editor").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["schemas"], json!([ROLE_URN]));
    assert_eq!(r.body["displayName"], "Editor");
    assert_eq!(r.body["meta"]["resourceType"], "Role");
    for missing in ["/Roles/nope", "/Roles/ADMIN"] {
        let r = h.get(missing).await;
        assert_eq!(r.status, 404, "{missing}");
        assert_eq!(r.body["schemas"], json!([ERROR_URN]));
    }

    let body = json!({"schemas": [ROLE_URN], "id": "x", "displayName": "X"});
    for (method, path) in [
        (Method::POST, "/Roles"),
        (Method::PUT, "/Roles/admin"),
        (Method::PATCH, "/Roles/admin"),
        (Method::DELETE, "/Roles/admin"),
        (Method::DELETE, "/Roles"),
    ] {
        let rb = h
            .req(method.clone(), path)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
        let r = h.send(rb).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.body["schemas"], json!([ERROR_URN]));
        assert_eq!(r.body["status"], "405");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    assert_eq!(h.get("/Roles").await.body["totalResults"], 3);
}
