//! Default (correct) behaviour: Groups, membership and the users' `groups` attribute.

use serde_json::json;

use super::*;

#[tokio::test]
async fn group_lifecycle_and_members() {
    let h = Harness::start(&[]).await;
    let ann = h.user("ann").await;
    let ben = h.user("ben").await;
    let r = h
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_URN], "displayName": "Engineering",
                    "members": [{"value": ann, "display": "stale name"}, {"value": ann}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let gid = r.id();
    assert_eq!(
        r.header("location"),
        Some(format!("{}/Groups/{gid}", h.base).as_str())
    );
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert_eq!(
        r.body["members"],
        json!([{"value": ann, "display": "Test User", "type": "User",
                "$ref": format!("{}/Users/{ann}", h.base)}])
    );

    // The member's read-only `groups` attribute follows.
    let u = h.get(&format!("/Users/{ann}")).await;
    assert_eq!(
        u.body["groups"],
        json!([{"value": gid, "display": "Engineering", "type": "direct",
                "$ref": format!("{}/Groups/{gid}", h.base)}])
    );
    let r = h
        .get(&format!(
            "/Users?filter={}",
            q(&format!(r#"groups.value eq "{gid}""#))
        ))
        .await;
    assert_eq!(r.resource_ids(), [ann.as_str()]);

    let path = format!("/Groups/{gid}");
    // Okta: add, remove by filter, rename with the id restated.
    let r = h
        .patch(
            &path,
            &json!([{"op": "add", "path": "members", "value": [{"value": ben, "display": "ben"}]}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(2));
    let r = h
        .patch(
            &path,
            &json!([{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]),
        )
        .await;
    assert_eq!(r.body["members"][0]["value"], ben);
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(1));
    assert!(
        h.get(&format!("/Users/{ann}"))
            .await
            .body
            .get("groups")
            .is_none()
    );
    let r = h
        .patch(
            &path,
            &json!([{"op": "replace", "value": {"id": gid, "displayName": "Eng"}}]),
        )
        .await;
    assert_eq!(r.body["displayName"], "Eng");
    assert_eq!(
        h.get(&format!("/Users/{ben}")).await.body["groups"][0]["display"],
        "Eng"
    );

    // Okta push-now: replace with the full list, then with an empty one.
    let r = h.patch(&path, &json!([{"op": "replace", "path": "members", "value": [{"value": ann}, {"value": ben}]}])).await;
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(2));
    let r = h
        .patch(
            &path,
            &json!([{"op": "replace", "path": "members", "value": []}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("members").is_none());

    // Entra: Add with a list, Remove with a value list.
    let r = h
        .patch(
            &path,
            &json!([{"op": "Add", "path": "members", "value": [{"value": ann}, {"value": ben}]}]),
        )
        .await;
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(2));
    let r = h.patch(&path, &json!([{"op": "Remove", "path": "members", "value": [{"value": ann}, {"value": ben}]}])).await;
    assert!(r.body.get("members").is_none());

    let bad = h
        .patch(
            &path,
            &json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}]}]),
        )
        .await;
    assert_eq!((bad.status, bad.scim_type()), (400, Some("invalidValue")));
    let bad = h
        .post("/Groups", &json!({"schemas": [GROUP_URN], "members": []}))
        .await;
    assert_eq!((bad.status, bad.scim_type()), (400, Some("invalidValue")));

    assert_eq!(h.server.group_names(), ["Eng"]);
    assert_eq!(h.delete(&path).await.status, 204);
    assert_eq!(h.get(&path).await.status, 404);
    assert_eq!(h.server.group_count(), 0);
}

#[tokio::test]
async fn group_filter_exclusion_and_paging() {
    let h = Harness::start(&[]).await;
    let u = h.user("ula").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(h.group(&format!("Team {i}"), &[&u]).await);
    }
    let r = h
        .get(&format!(
            "/Groups?filter={}&excludedAttributes=members",
            q(r#"displayName eq "team 3""#)
        ))
        .await;
    assert_eq!(r.resource_ids(), [ids[3].as_str()]);
    assert!(r.body["Resources"][0].get("members").is_none());
    assert_eq!(r.body["Resources"][0]["displayName"], "Team 3");
    let r = h
        .get(&format!("/Groups/{}?excludedAttributes=members", ids[0]))
        .await;
    assert!(r.body.get("members").is_none());
    // Entra's membership probe.
    let probe = format!(r#"id eq "{}" and members[value eq "{u}"]"#, ids[1]);
    let r = h
        .get(&format!("/Groups?filter={}&attributes=id", q(&probe)))
        .await;
    assert_eq!(r.resource_ids(), [ids[1].as_str()]);

    let mut seen = Vec::new();
    for start in [1, 6] {
        seen.extend(
            h.get(&format!("/Groups?startIndex={start}&count=5"))
                .await
                .resource_ids(),
        );
    }
    assert_eq!(seen, ids);
    assert_eq!(
        h.get(&format!("/Users/{u}")).await.body["groups"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );
}

#[tokio::test]
async fn deleting_a_user_removes_its_memberships() {
    let h = Harness::start(&[]).await;
    let a = h.user("a").await;
    let b = h.user("b").await;
    let g = h.group("G", &[&a, &b]).await;
    assert_eq!(h.delete(&format!("/Users/{a}")).await.status, 204);
    let r = h.get(&format!("/Groups/{g}")).await;
    assert_eq!(
        r.body["members"],
        json!([{"value": b, "display": "Test User", "type": "User", "$ref": format!("{}/Users/{b}", h.base)}])
    );
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
}

#[tokio::test]
async fn put_group_replaces_members() {
    let h = Harness::start(&[]).await;
    let a = h.user("a").await;
    let b = h.user("b").await;
    let g = h.group("G", &[&a]).await;
    let r = h
        .put(&format!("/Groups/{g}"), &json!({"schemas": [GROUP_URN], "id": g, "displayName": "G2", "members": [{"value": b}]}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["displayName"], "G2");
    assert_eq!(r.body["members"][0]["value"], b);
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(1));
    let r = h
        .put(
            &format!("/Groups/{g}"),
            &json!({"displayName": "G3", "members": [{"value": g}]}),
        )
        .await;
    assert_eq!((r.status, r.scim_type()), (400, Some("invalidValue")));
}

#[tokio::test]
async fn group_display_name_is_unique_case_insensitively() {
    let h = Harness::start(&[]).await;
    let admins = h.group("Admins", &[]).await;
    let dup = h
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_URN], "displayName": "ADMINS"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.scim_type(), dup.body["status"].as_str()),
        (409, Some("uniqueness"), Some("409"))
    );
    assert_eq!(h.server.group_names(), ["Admins"]);

    // Renaming onto another group's name, by PUT or by either PATCH shape, is refused too.
    let ops = h.group("Ops", &[]).await;
    let path = format!("/Groups/{ops}");
    let r = h
        .put(
            &path,
            &json!({"schemas": [GROUP_URN], "id": ops, "displayName": "admins"}),
        )
        .await;
    assert_eq!((r.status, r.scim_type()), (409, Some("uniqueness")));
    for op in [
        json!({"op": "Replace", "path": "displayName", "value": "Admins"}),
        json!({"op": "replace", "value": {"displayName": "aDmInS"}}),
    ] {
        let r = h.patch(&path, &json!([op])).await;
        assert_eq!((r.status, r.scim_type()), (409, Some("uniqueness")), "{op}");
    }
    assert_eq!(h.server.group_names(), ["Admins", "Ops"]);

    // A group may keep its own name, or change only its case.
    let own = format!("/Groups/{admins}");
    let r = h
        .put(
            &own,
            &json!({"schemas": [GROUP_URN], "id": admins, "displayName": "Admins"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .patch(
            &own,
            &json!([{"op": "replace", "path": "displayName", "value": "ADMINS"}]),
        )
        .await;
    assert_eq!(
        (r.status, r.body["displayName"].as_str()),
        (200, Some("ADMINS"))
    );

    // Users and groups are separate namespaces; a deleted group frees its name.
    h.user("Ops").await;
    assert_eq!(h.delete(&path).await.status, 204);
    h.group("ops", &[]).await;
}

#[tokio::test]
async fn entra_unknown_schema_urns_are_tolerated() {
    let h = Harness::start(&[]).await;
    let ad = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0";
    let r = h
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_URN, format!("{ad}/Group")], "externalId": "e-1",
                    "displayName": "Entra Group", "meta": {"resourceType": "Group"}, "members": []}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["displayName"], "Entra Group");
    let mut user = entra_user_body("entra@x.com");
    user["schemas"] = json!([USER_URN, ENTERPRISE_URN, format!("{ad}/User")]);
    let r = h.post("/Users", &user).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["userName"], "entra@x.com");
}
