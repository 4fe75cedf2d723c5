//! HTTP-level tests: the router served on 127.0.0.1 with `axum::serve`, driven with
//! reqwest. Every request has a timeout, so a hang fails the test instead of the run.

mod breaks;
mod groups;
mod roles;
mod users;

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::schema::{ENTERPRISE_URN, GROUP_URN, PATCH_URN, USER_URN};
use super::{RateLimit, ScimConfig, ScimServer};
use crate::demo::Breaks;

pub const TOKEN: &str = "s3cret-token";
pub const BASE_PATH: &str = "/scim/v2";

pub struct Harness {
    pub server: ScimServer,
    /// `http://127.0.0.1:port/scim/v2`
    pub base: String,
    client: reqwest::Client,
    task: JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response, its body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }

    /// `id`s of the `Resources` of a ListResponse, in order.
    pub fn resource_ids(&self) -> Vec<String> {
        self.body["Resources"]
            .as_array()
            .unwrap_or_else(|| panic!("no Resources in {}", self.body))
            .iter()
            .map(|r| r["id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn scim_type(&self) -> Option<&str> {
        self.body["scimType"].as_str()
    }
}

impl Harness {
    pub async fn start(breaks: &[&str]) -> Self {
        Self::start_with(config(breaks, None)).await
    }

    /// A server with `name` on when `on`, for before/after comparisons.
    pub async fn for_break(name: &str, on: bool) -> Self {
        let names = [name];
        Self::start(if on { &names[..] } else { &[] }).await
    }

    pub async fn start_with(cfg: ScimConfig) -> Self {
        let server = ScimServer::new(cfg);
        let app = axum::Router::new().nest(BASE_PATH, server.router());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Self {
            server,
            base: format!("http://{addr}{BASE_PATH}"),
            client,
            task,
        }
    }

    /// A request with the right token; `path` is relative to the base URL.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req_with_auth(method, path, Some(&format!("Bearer {TOKEN}")))
    }

    /// A request with this `Authorization` header, or none.
    pub fn req_with_auth(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let rb = self.client.request(method, format!("{}{path}", self.base));
        match authorization {
            Some(a) => rb.header("Authorization", a),
            None => rb,
        }
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("non-JSON body {text:?}: {e}"))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn with_body(&self, method: Method, path: &str, body: &Value) -> Resp {
        let rb = self
            .req(method, path)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
        self.send(rb).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.with_body(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.with_body(Method::PUT, path, body).await
    }

    pub async fn patch(&self, path: &str, ops: &Value) -> Resp {
        let body = json!({"schemas": [PATCH_URN], "Operations": ops});
        self.with_body(Method::PATCH, path, &body).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.req(Method::DELETE, path)).await
    }

    /// Creates a user, asserting success; returns its id.
    pub async fn user(&self, user_name: &str) -> String {
        let r = self.post("/Users", &user_body(user_name)).await;
        assert!(
            r.status == 201 || r.status == 200,
            "create {user_name}: {r:?}"
        );
        r.id()
    }

    /// Creates a group with these member ids; returns its id.
    pub async fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let r = self
            .post(
                "/Groups",
                &json!({"schemas": [GROUP_URN], "displayName": name, "members": members}),
            )
            .await;
        assert!(
            r.status == 201 || r.status == 200,
            "create group {name}: {r:?}"
        );
        r.id()
    }
}

pub fn config(breaks: &[&str], rate_limit: Option<RateLimit>) -> ScimConfig {
    ScimConfig {
        bearer_token: TOKEN.to_string(),
        breaks: Breaks::from_names(breaks).expect("known break switches"),
        base_path: BASE_PATH.to_string(),
        rate_limit,
    }
}

/// A user as Okta creates one.
pub fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": format!("{}@example.com", user_name.to_lowercase()), "type": "work"}],
        "displayName": "Test User",
        "active": true,
        "password": "Sup3r-secret!",
        "groups": [],
    })
}

/// A user with the enterprise extension, as Entra creates one.
pub fn entra_user_body(user_name: &str) -> Value {
    json!({
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": "ext-0001",
        "userName": user_name,
        "active": true,
        "displayName": "Entra User",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"formatted": "Entra User", "familyName": "User", "givenName": "Entra"},
        ENTERPRISE_URN: {"employeeNumber": "701984", "department": "Tours", "manager": {"value": "m-1"}},
    })
}

/// Percent-encodes a query value.
pub fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn break_catalogue_is_well_formed_and_each_switch_is_used_once() {
    let sources = [
        include_str!("../conform.rs"),
        include_str!("../discovery.rs"),
        include_str!("../error.rs"),
        include_str!("../filter.rs"),
        include_str!("../http.rs"),
        include_str!("../jsonci.rs"),
        include_str!("../patch.rs"),
        include_str!("../path.rs"),
        include_str!("../render.rs"),
        include_str!("../roles.rs"),
        include_str!("../schema.rs"),
        include_str!("../service.rs"),
        include_str!("../store.rs"),
    ];
    let code: String = sources.concat();
    crate::demo::breaks::assert_catalogue("scim-", super::BREAKS, &code, include_str!("breaks.rs"));
}
