//! Default (correct) behaviour: authentication, discovery, Users.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::demo::scim::schema::{ERROR_URN, LIST_URN, ROLE_URN, SEARCH_URN, SPC_URN};

#[tokio::test]
async fn authentication() {
    let h = Harness::start(&[]).await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("wrong"),
        Some("Basic czNjcmV0"),
        Some("Bearer "),
    ] {
        let r = h.send(h.req_with_auth(Method::GET, "/Users", auth)).await;
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.body["schemas"], json!([ERROR_URN]));
        assert_eq!(r.body["status"], "401");
        assert!(r.body["detail"].is_string());
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("application/scim+json"))
        );
        assert!(
            r.header("www-authenticate")
                .is_some_and(|c| c.starts_with("Bearer"))
        );
    }
    for auth in [
        format!("Bearer {TOKEN}"),
        format!("bearer {TOKEN}"),
        TOKEN.to_string(),
    ] {
        let r = h
            .send(h.req_with_auth(Method::GET, "/Users", Some(&auth)))
            .await;
        assert_eq!(r.status, 200, "{auth}");
    }
}

#[tokio::test]
async fn discovery_documents() {
    let h = Harness::start(&[]).await;
    let spc = h.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, 200);
    assert_eq!(spc.body["schemas"], json!([SPC_URN]));
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(
        spc.body["filter"],
        json!({"supported": true, "maxResults": 200})
    );
    assert_eq!(spc.body["etag"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    assert_eq!(spc.body["sort"]["supported"], false);
    assert_eq!(spc.body["changePassword"]["supported"], false);
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let rts = h.get("/ResourceTypes").await;
    assert_eq!(rts.body["schemas"], json!([LIST_URN]));
    assert_eq!(rts.body["totalResults"], 3);
    let user = &rts.body["Resources"][0];
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schemaExtensions"][0]["schema"], ENTERPRISE_URN);
    let group = h.get("/ResourceTypes/Group").await;
    assert_eq!(group.body["schema"], GROUP_URN);
    assert_eq!(h.get("/ResourceTypes/Nope").await.status, 404);

    let schemas = h.get("/Schemas").await;
    assert_eq!(schemas.body["totalResults"], 4);
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, [USER_URN, GROUP_URN, ENTERPRISE_URN, ROLE_URN]);
    let ent = h.get(&format!("/Schemas/{ENTERPRISE_URN}")).await;
    assert_eq!(ent.status, 200);
    assert!(
        ent.body["attributes"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["name"] == "manager"))
    );
    assert_eq!(h.get("/Schemas/urn:nope").await.status, 404);
}

#[tokio::test]
async fn create_returns_201_with_location_meta_and_etag() {
    let h = Harness::start(&[]).await;
    let r = h
        .post("/Users", &user_body("Alice.Smith@Example.COM"))
        .await;
    assert_eq!(r.status, 201);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c == "application/scim+json; charset=utf-8")
    );
    let id = r.id();
    let location = format!("{}/Users/{id}", h.base);
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.body["meta"]["location"], location);
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert!(r.body["meta"]["created"].is_string());
    assert_eq!(r.body["meta"]["created"], r.body["meta"]["lastModified"]);
    assert_eq!(r.body["userName"], "Alice.Smith@Example.COM");
    assert!(r.body.get("password").is_none());
    assert!(r.body.get("groups").is_none());
    assert_eq!(r.body["schemas"], json!([USER_URN]));

    let got = h.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, r.body);
    assert_eq!(h.server.user_count(), 1);
    assert_eq!(h.server.user_names(), ["Alice.Smith@Example.COM"]);
}

#[tokio::test]
async fn okta_json_content_type_and_enterprise_round_trip() {
    let h = Harness::start(&[]).await;
    let rb = h
        .req(Method::POST, "/Users")
        .header("Content-Type", "application/json; charset=utf-8")
        .body(entra_user_body("entra@contoso.com").to_string());
    let r = h.send(rb).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["schemas"], json!([USER_URN, ENTERPRISE_URN]));
    assert_eq!(
        r.body[ENTERPRISE_URN],
        json!({"employeeNumber": "701984", "department": "Tours", "manager": {"value": "m-1"}})
    );
    assert_eq!(r.body["externalId"], "ext-0001");
    let got = h.get(&format!("/Users/{}", r.id())).await;
    assert_eq!(got.body[ENTERPRISE_URN]["manager"]["value"], "m-1");
}

#[tokio::test]
async fn create_errors() {
    let h = Harness::start(&[]).await;
    h.user("bob@example.com").await;
    let dup = h.post("/Users", &user_body("BOB@EXAMPLE.COM")).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.scim_type(), Some("uniqueness"));
    assert_eq!(dup.body["status"], "409");

    let missing = h
        .post(
            "/Users",
            &json!({"schemas": [USER_URN], "displayName": "x"}),
        )
        .await;
    assert_eq!(
        (missing.status, missing.scim_type()),
        (400, Some("invalidValue"))
    );
    let blank = h.post("/Users", &json!({"userName": "  "})).await;
    assert_eq!(blank.scim_type(), Some("invalidValue"));
    let wrong_type = h
        .post("/Users", &json!({"userName": "x", "active": "perhaps"}))
        .await;
    assert_eq!(wrong_type.scim_type(), Some("invalidValue"));

    for raw in ["{not json", "[1,2]", "", "\"str\""] {
        let rb = h
            .req(Method::POST, "/Users")
            .header("Content-Type", "application/scim+json")
            .body(raw);
        let r = h.send(rb).await;
        assert_eq!(
            (r.status, r.scim_type()),
            (400, Some("invalidSyntax")),
            "{raw:?}"
        );
    }
    let rb = h
        .req(Method::POST, "/Users")
        .header("Content-Type", "text/plain")
        .body(user_body("c").to_string());
    let r = h.send(rb).await;
    assert_eq!(r.status, 415);
    assert_eq!(r.body["schemas"], json!([ERROR_URN]));

    let huge = json!({"userName": "big", "title": "x".repeat(2 * 1024 * 1024)});
    let r = h.post("/Users", &huge).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["status"], "413");
    assert_eq!(h.server.user_count(), 1);
}

#[tokio::test]
async fn get_unknown_and_routing_errors() {
    let h = Harness::start(&[]).await;
    let r = h.get("/Users/does-not-exist").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["schemas"], json!([ERROR_URN]));
    assert_eq!(r.body["status"], "404");
    let r = h.get("/Nope").await;
    assert_eq!((r.status, r.body["status"].as_str()), (404, Some("404")));
    let r = h.send(h.req(Method::DELETE, "/Users")).await;
    assert_eq!((r.status, r.body["status"].as_str()), (405, Some("405")));
}

#[tokio::test]
async fn filters_and_empty_results() {
    let h = Harness::start(&[]).await;
    let alice = h.user("Alice@Example.com").await;
    h.user("bob@example.com").await;
    let r = h
        .get(&format!(
            "/Users?filter={}",
            q(r#"userName eq "alice@example.com""#)
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["schemas"], json!([LIST_URN]));
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.resource_ids(), [alice.as_str()]);
    assert_eq!(r.body["Resources"][0]["userName"], "Alice@Example.com");

    let r = h
        .get(&format!(
            "/Users?filter={}",
            q(r#"emails[type eq "work" and value co "@EXAMPLE"] and not (userName sw "bob")"#)
        ))
        .await;
    assert_eq!(r.resource_ids(), [alice.as_str()]);

    let r = h
        .get(&format!("/Users?filter={}", q(r#"userName eq "nobody""#)))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["itemsPerPage"], 0);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["Resources"], json!([]));

    // `+` for spaces, as form encoders write it.
    let r = h
        .get("/Users?filter=userName+eq+%22bob@example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 1);

    for bad in [
        r#"userName eq"#,
        r#"userName xx "a""#,
        "(",
        "userName eq bob",
    ] {
        let r = h.get(&format!("/Users?filter={}", q(bad))).await;
        assert_eq!(
            (r.status, r.scim_type()),
            (400, Some("invalidFilter")),
            "{bad}"
        );
    }
    let r = h.get("/Users?count=abc").await;
    assert_eq!((r.status, r.scim_type()), (400, Some("invalidValue")));
}

#[tokio::test]
async fn pagination_is_stable_and_one_based() {
    let h = Harness::start(&[]).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(h.user(&format!("user{i:02}")).await);
    }
    // Entra pages with count=5.
    let mut seen = Vec::new();
    for (start, n) in [(1, 5), (6, 5), (11, 2)] {
        let r = h.get(&format!("/Users?startIndex={start}&count=5")).await;
        assert_eq!(r.body["totalResults"], 12);
        assert_eq!(r.body["startIndex"], start);
        assert_eq!(r.body["itemsPerPage"], n);
        seen.extend(r.resource_ids());
    }
    assert_eq!(seen, ids);
    // Same request, same answer.
    let a = h.get("/Users?startIndex=3&count=4").await.resource_ids();
    let b = h.get("/Users?startIndex=3&count=4").await.resource_ids();
    assert_eq!(a, b);
    assert_eq!(a, ids[2..6]);
    // Okta pages with count=100.
    let r = h.get("/Users?startIndex=1&count=100").await;
    assert_eq!(r.resource_ids(), ids);
    let r = h.get("/Users?count=0").await;
    assert_eq!(r.body["totalResults"], 12);
    assert_eq!(r.body["Resources"], json!([]));
    let r = h.get("/Users?startIndex=0&count=1").await;
    assert_eq!(
        (r.body["startIndex"].clone(), r.resource_ids()),
        (json!(1), vec![ids[0].clone()])
    );
    let r = h.get("/Users?startIndex=-4&count=-1").await;
    assert_eq!(r.body["itemsPerPage"], 0);
    let r = h.get("/Users?startIndex=50").await;
    assert_eq!(
        (
            r.body["totalResults"].clone(),
            r.body["itemsPerPage"].clone()
        ),
        (json!(12), json!(0))
    );
    let r = h.get("/Users?count=1000").await;
    assert_eq!(r.body["itemsPerPage"], 12);
}

#[tokio::test]
async fn attribute_projection() {
    let h = Harness::start(&[]).await;
    let id = h.post("/Users", &entra_user_body("p@x.com")).await.id();
    let r = h
        .get(&format!("/Users/{id}?attributes=USERNAME,name.givenName"))
        .await;
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "meta", "name", "schemas", "userName"]);
    assert_eq!(r.body["name"], json!({"givenName": "Entra"}));

    let r = h
        .get(&format!(
            "/Users?excludedAttributes=emails,{ENTERPRISE_URN}:manager,id"
        ))
        .await;
    let u = &r.body["Resources"][0];
    assert!(u.get("emails").is_none());
    assert_eq!(u["id"], id);
    assert_eq!(
        u[ENTERPRISE_URN],
        json!({"employeeNumber": "701984", "department": "Tours"})
    );
    assert_eq!(u["userName"], "p@x.com");
}

#[tokio::test]
async fn put_replaces_and_honours_if_match() {
    let h = Harness::start(&[]).await;
    let created = h.post("/Users", &user_body("carol")).await;
    let id = created.id();
    let path = format!("/Users/{id}");
    let mut body = created.body.clone();
    body["displayName"] = json!("Carol C");
    body.as_object_mut().expect("object").remove("name");
    let r = h.put(&path, &body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.id(), id);
    assert_eq!(r.body["displayName"], "Carol C");
    assert!(
        r.body.get("name").is_none(),
        "PUT replaces, it does not merge"
    );
    assert_eq!(r.body["meta"]["created"], created.body["meta"]["created"]);
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
    assert_eq!(r.header("etag"), Some("W/\"2\""));

    let stale = h
        .send(
            h.req(Method::PUT, &path)
                .header("Content-Type", "application/scim+json")
                .header("If-Match", "W/\"1\"")
                .body(body.to_string()),
        )
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.body["schemas"], json!([ERROR_URN]));
    let fresh = h
        .send(
            h.req(Method::PUT, &path)
                .header("Content-Type", "application/scim+json")
                .header("If-Match", "W/\"2\"")
                .body(body.to_string()),
        )
        .await;
    assert_eq!(fresh.status, 200);
    assert_eq!(
        fresh.body["meta"]["version"], "W/\"2\"",
        "an unchanged PUT keeps the version"
    );

    let not_modified = h
        .send(h.req(Method::GET, &path).header("If-None-Match", "W/\"2\""))
        .await;
    assert_eq!(not_modified.status, 304);

    body["id"] = json!("another-id");
    let r = h.put(&path, &body).await;
    assert_eq!((r.status, r.scim_type()), (400, Some("mutability")));
    let r = h
        .patch(
            &path,
            &json!([{"op": "replace", "path": "id", "value": "x"}]),
        )
        .await;
    assert_eq!((r.status, r.scim_type()), (400, Some("mutability")));
    assert_eq!(h.get(&path).await.id(), id);

    h.user("dave").await;
    let r = h
        .put(&path, &json!({"schemas": [USER_URN], "userName": "DAVE"}))
        .await;
    assert_eq!((r.status, r.scim_type()), (409, Some("uniqueness")));
    let r = h.put("/Users/nope", &body).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn patch_okta_and_entra_shapes() {
    let h = Harness::start(&[]).await;
    let id = h
        .post("/Users", &entra_user_body("erin@contoso.com"))
        .await
        .id();
    let path = format!("/Users/{id}");

    // Okta deactivation.
    let r = h
        .patch(
            &path,
            &json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let got = h.get(&path).await;
    assert_eq!(
        (got.status, got.body["active"].clone()),
        (200, json!(false)),
        "deactivated users stay readable"
    );

    // Entra: capitalised ops, string booleans, dotted and URN keys, "" removes.
    let r = h
        .patch(
            &path,
            &json!([
                {"op": "Replace", "path": "active", "value": "True"},
                {"op": "Add", "value": {"name.givenName": "Erin", "nickName": "E"}},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "erin2@contoso.com"},
                {"op": "Replace", "path": format!("{ENTERPRISE_URN}:department"), "value": "Sales"},
                {"op": "Add", "path": format!("{ENTERPRISE_URN}:manager"), "value": "m-2"},
                {"op": "Replace", "path": "displayName", "value": ""}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["name"]["givenName"], "Erin");
    assert_eq!(r.body["name"]["familyName"], "User");
    assert_eq!(r.body["nickName"], "E");
    assert_eq!(r.body["emails"][0]["value"], "erin2@contoso.com");
    assert_eq!(r.body[ENTERPRISE_URN]["department"], "Sales");
    assert_eq!(r.body[ENTERPRISE_URN]["manager"], json!({"value": "m-2"}));
    assert!(r.body.get("displayName").is_none());

    let bad = h
        .patch(
            &path,
            &json!([{"op": "frobnicate", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!((bad.status, bad.scim_type()), (400, Some("invalidValue")));
    let bad = h.patch(&path, &json!([{"op": "remove"}])).await;
    assert_eq!((bad.status, bad.scim_type()), (400, Some("noTarget")));
    let bad = h
        .patch(
            &path,
            &json!([{"op": "add", "path": "emails[type", "value": "x"}]),
        )
        .await;
    assert_eq!((bad.status, bad.scim_type()), (400, Some("invalidPath")));
    // A failed PATCH changes nothing, not even its valid first operation.
    let bad = h
        .patch(
            &path,
            &json!([
                {"op": "replace", "path": "title", "value": "Boss"},
                {"op": "replace", "path": "active", "value": "nope"}
            ]),
        )
        .await;
    assert_eq!((bad.status, bad.scim_type()), (400, Some("invalidValue")));
    assert!(h.get(&path).await.body.get("title").is_none());
    let r = h
        .patch(
            "/Users/nope",
            &json!([{"op": "replace", "path": "title", "value": "x"}]),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn delete_then_gone() {
    let h = Harness::start(&[]).await;
    let id = h.user("frank").await;
    let path = format!("/Users/{id}");
    let r = h
        .send(h.req(Method::DELETE, &path).header("If-Match", "W/\"9\""))
        .await;
    assert_eq!(r.status, 412);
    let r = h.delete(&path).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null);
    assert_eq!(h.get(&path).await.status, 404);
    assert_eq!(h.delete(&path).await.status, 404);
    assert_eq!(h.server.user_count(), 0);
    // The name is free again.
    h.user("frank").await;
}

#[tokio::test]
async fn search_endpoint() {
    let h = Harness::start(&[]).await;
    let id = h.user("gina").await;
    h.user("hank").await;
    let r = h
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH_URN], "filter": "userName sw \"G\"", "attributes": ["userName"], "count": 10}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.resource_ids(), [id]);
    assert!(r.body["Resources"][0].get("emails").is_none());
    let r = h
        .post("/Users/.search", &json!({"filter": "userName pr"}))
        .await;
    assert_eq!((r.status, r.scim_type()), (400, Some("invalidSyntax")));
}

#[tokio::test]
async fn rate_limit_every_nth_request() {
    let cfg = config(
        &[],
        Some(RateLimit {
            every_nth_request: 3,
            retry_after_secs: 7,
        }),
    );
    let h = Harness::start_with(cfg).await;
    let statuses = [
        h.get("/Users").await,
        h.get("/Users").await,
        h.get("/Users").await,
    ];
    assert_eq!(
        statuses.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200, 429]
    );
    let limited = &statuses[2];
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(limited.body["schemas"], json!([ERROR_URN]));
    assert_eq!(limited.body["status"], "429");
    assert_eq!(h.get("/Users").await.status, 200);
}
