//! The HTTP face of the server: routes, authentication and rate limiting, request body
//! and query parsing, and the one place where results become responses (so every error,
//! whatever its origin, is a SCIM Error message).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::ScimConfig;
use super::discovery;
use super::error::{ScimError, ScimResult};
use super::render::{Projection, RenderCtx};
use super::roles;
use super::schema::{ERROR_URN, Kind, SEARCH_URN};
use super::service::{self, ListQuery, Rendered};
use super::store::Store;
use crate::demo::Breaks;

/// Request bodies above this size get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long the `scim-slow-groups-list` break delays GET /Groups.
pub const SLOW_GROUPS_LIST_DELAY: Duration = Duration::from_millis(700);

/// State shared by all requests of one server.
pub struct App {
    pub cfg: ScimConfig,
    store: Mutex<Store>,
    /// Requests seen, for the every-Nth-request rate limit.
    requests: AtomicU64,
}

pub type Shared = Arc<App>;

impl App {
    pub fn new(cfg: ScimConfig) -> Self {
        Self {
            cfg,
            store: Mutex::new(Store::default()),
            requests: AtomicU64::new(0),
        }
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A poisoned lock still guards consistent data: every write is computed on a
        // copy and stored with one assignment, so a panic cannot leave half a change.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub fn router(app: Shared) -> Router {
    let mut r: Router<Shared> = Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{name}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route(
            &format!("/{}", roles::ENDPOINT),
            get(|c: Call| async move { c.finish(list_roles(&c)) }).fallback(roles_read_only),
        )
        .route(
            &format!("/{}/{{id}}", roles::ENDPOINT),
            get(|c: Call, id: IdParam| async move { c.finish(read_role(&c, id)) })
                .fallback(roles_read_only),
        );
    for kind in [Kind::User, Kind::Group] {
        let base = format!("/{}", kind.endpoint());
        r = r
            .route(
                &base,
                get(move |c: Call| list_endpoint(kind, c)).post(
                    move |c: Call, b: Result<Bytes, BytesRejection>| async move {
                        c.finish(create(kind, &c, b))
                    },
                ),
            )
            .route(
                &format!("{base}/.search"),
                post(
                    move |c: Call, b: Result<Bytes, BytesRejection>| async move {
                        c.finish(search(kind, &c, b))
                    },
                ),
            )
            .route(
                &format!("{base}/{{id}}"),
                get(move |c: Call, id: IdParam| async move { c.finish(read(kind, &c, id)) })
                    .put(
                        move |c: Call, id: IdParam, b: Result<Bytes, BytesRejection>| async move {
                            c.finish(replace(kind, &c, id, b))
                        },
                    )
                    .patch(
                        move |c: Call, id: IdParam, b: Result<Bytes, BytesRejection>| async move {
                            c.finish(patch(kind, &c, id, b))
                        },
                    )
                    .delete(
                        move |c: Call, id: IdParam| async move { c.finish(delete(kind, &c, id)) },
                    ),
            );
    }
    r.fallback(|c: Call| async move { c.finish(Err(ScimError::not_found("no such endpoint"))) })
        .method_not_allowed_fallback(|c: Call| async move {
            c.finish(Err(ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "method not allowed on this endpoint",
            )))
        })
        .layer(middleware::from_fn_with_state(app.clone(), gate))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

/// Runs before every route: the rate limit, then authentication.
async fn gate(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let breaks = &app.cfg.breaks;
    if let Some(limit) = app.cfg.rate_limit.filter(|l| l.every_nth_request > 0) {
        let n = app.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if n % limit.every_nth_request == 0 {
            let mut e = ScimError::new(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                "too many requests; retry later",
            );
            if !breaks.has("scim-429-no-retry-after") {
                e.retry_after = Some(limit.retry_after_secs);
            }
            return error_response(breaks, &e);
        }
    }
    if !authorized(&app.cfg, req.headers()) {
        let e = ScimError::unauthorized("missing or invalid bearer token");
        return error_response(breaks, &e);
    }
    next.run(req).await
}

/// `Authorization: Bearer <token>`, or the bare token as Okta's header-token mode sends.
fn authorized(cfg: &ScimConfig, headers: &HeaderMap) -> bool {
    if cfg.breaks.has("scim-no-auth") {
        return true;
    }
    // An empty configured token would let an empty header in.
    if cfg.bearer_token.is_empty() {
        return false;
    }
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    else {
        return false;
    };
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ if cfg.breaks.has("scim-raw-token-rejected") => return false,
        _ => value,
    };
    constant_time_eq(token.as_bytes(), cfg.bearer_token.as_bytes())
}

/// Compares without an early exit, so response time does not reveal how much of a
/// guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What every handler gets: the shared state, headers, query parameters and the base
/// URL for absolute locations.
pub struct Call {
    app: Shared,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    base_url: String,
}

impl FromRequestParts<Shared> for Call {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Infallible> {
        let query = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .filter(|h| valid_host(h))
            .unwrap_or("localhost");
        let base_url = format!("http://{host}{}", app.cfg.base_path.trim_end_matches('/'));
        Ok(Self {
            app: app.clone(),
            headers: parts.headers.clone(),
            query,
            base_url,
        })
    }
}

/// Keeps a hostile `Host` header out of the URLs this server hands out.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
}

/// The `{id}` path segment.
type IdParam = Result<Path<String>, PathRejection>;

fn id_of(id: IdParam) -> ScimResult<String> {
    id.map(|Path(id)| id)
        .map_err(|_| ScimError::not_found("no such resource"))
}

/// A successful result.
pub enum Reply {
    Json {
        status: StatusCode,
        body: Value,
        location: Option<String>,
        etag: Option<String>,
    },
    Empty(StatusCode),
}

impl Reply {
    fn resource(status: StatusCode, r: Rendered, with_location: bool) -> Self {
        Self::Json {
            status,
            body: r.body,
            location: with_location.then_some(r.location),
            etag: r.etag,
        }
    }

    fn ok(body: Value) -> Self {
        Self::Json {
            status: StatusCode::OK,
            body,
            location: None,
            etag: None,
        }
    }
}

impl Call {
    fn breaks(&self) -> &Breaks {
        &self.app.cfg.breaks
    }

    fn ctx(&self) -> RenderCtx<'_> {
        RenderCtx {
            base_url: &self.base_url,
            breaks: self.breaks(),
        }
    }

    /// A query parameter; SCIM parameter names are matched case-insensitively.
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn projection(&self) -> ScimResult<Projection> {
        Projection::parse(
            self.param("attributes"),
            self.param("excludedAttributes"),
            self.breaks(),
        )
    }

    /// The JSON body, if its media type is acceptable and it parses.
    fn body(&self, body: Result<Bytes, BytesRejection>) -> ScimResult<Value> {
        if let Some(ct) = self.header(header::CONTENT_TYPE) {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            // RFC 7644 names application/scim+json; Okta sends application/json.
            let ok = mime == "application/scim+json"
                || (mime == "application/json"
                    && !self.breaks().has("scim-json-content-type-rejected"));
            if !ok {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    None,
                    format!("unsupported content type `{ct}`; send application/scim+json"),
                ));
            }
        }
        let bytes = body.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    None,
                    format!("request body exceeds {MAX_BODY_BYTES} bytes"),
                )
            } else {
                ScimError::invalid_syntax(format!("unreadable request body: {r}"))
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            if self.breaks().has("scim-malformed-json-500") {
                ScimError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "internal server error".to_string(),
                )
            } else {
                ScimError::invalid_syntax(format!("malformed JSON: {e}"))
            }
        })
    }

    fn finish(&self, result: ScimResult<Reply>) -> Response {
        let breaks = self.breaks();
        match result {
            Ok(Reply::Empty(status)) => status.into_response(),
            Ok(Reply::Json {
                status,
                body,
                location,
                etag,
            }) => {
                let mut resp = json_response(breaks, status, &body);
                let headers = resp.headers_mut();
                for (name, value) in [(header::LOCATION, location), (header::ETAG, etag)] {
                    if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                        headers.insert(name, v);
                    }
                }
                resp
            }
            Err(e) => error_response(breaks, &e),
        }
    }
}

fn json_response(breaks: &Breaks, status: StatusCode, body: &Value) -> Response {
    let content_type = if breaks.has("scim-plain-json-responses") {
        "application/json"
    } else {
        "application/scim+json; charset=utf-8"
    };
    // Serialising a `Value` cannot fail: its keys are strings.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// An Error message (RFC 7644 §3.12): `status` is a string there.
fn error_response(breaks: &Breaks, e: &ScimError) -> Response {
    let mut body = if breaks.has("scim-error-no-schema") {
        json!({"status": e.status.as_u16(), "detail": e.detail})
    } else {
        json!({
            "schemas": [ERROR_URN],
            "status": e.status.as_u16().to_string(),
            "detail": e.detail,
        })
    };
    if let (Some(t), Value::Object(m)) = (e.scim_type, &mut body) {
        m.insert("scimType".into(), json!(t.as_str()));
    }
    let mut resp = json_response(breaks, e.status, &body);
    if let Some(secs) = e.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if e.status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    resp
}

fn parse_int(name: &str, raw: &str) -> ScimResult<i64> {
    raw.trim()
        .parse()
        .map_err(|_| ScimError::invalid_value(format!("`{name}` must be an integer, got `{raw}`")))
}

/// `GET /{Users,Groups}`.
async fn list_endpoint(kind: Kind, c: Call) -> Response {
    if kind == Kind::Group && c.breaks().has("scim-slow-groups-list") {
        // Before `list` takes the store lock, so other requests are served meanwhile;
        // an async sleep keeps the runtime's threads free too.
        tokio::time::sleep(SLOW_GROUPS_LIST_DELAY).await;
    }
    c.finish(list(kind, &c))
}

fn list(kind: Kind, c: &Call) -> ScimResult<Reply> {
    if kind == Kind::Group && c.breaks().has("scim-groups-endpoint-missing") {
        // Only the list: POST /Groups, /Groups/.search and /Groups/{id} still work.
        return Err(ScimError::not_found("no such endpoint"));
    }
    let body = service::list(&mut c.app.store(), kind, &list_query(c)?, c.ctx())?;
    Ok(Reply::ok(body))
}

/// The query parameters of a `GET` list request.
fn list_query(c: &Call) -> ScimResult<ListQuery> {
    Ok(ListQuery {
        filter: c.param("filter").map(str::to_string),
        start_index: c
            .param("startIndex")
            .map(|v| parse_int("startIndex", v))
            .transpose()?,
        count: c
            .param("count")
            .map(|v| parse_int("count", v))
            .transpose()?,
        projection: c.projection()?,
    })
}

/// `GET /Roles`.
fn list_roles(c: &Call) -> ScimResult<Reply> {
    roles::list(&list_query(c)?, c.ctx()).map(Reply::ok)
}

/// `GET /Roles/{id}`.
fn read_role(c: &Call, id: IdParam) -> ScimResult<Reply> {
    let id = id_of(id)?;
    roles::get(&id, &c.projection()?, c.ctx()).map(Reply::ok)
}

/// Any other method on `/Roles` or `/Roles/{id}`: the catalogue is fixed, so writes get
/// 405 with the methods that do work (RFC 9110 §15.5.6) rather than a silent success.
async fn roles_read_only(c: Call) -> Response {
    if !roles::served(c.breaks()) {
        return c.finish(Err(ScimError::not_found("no such endpoint")));
    }
    let mut resp = c.finish(Err(ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "roles are read-only; give a user a role through its `roles` attribute",
    )));
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    resp
}

/// `POST /{Users,Groups}/.search` (RFC 7644 §3.4.3).
fn search(kind: Kind, c: &Call, body: Result<Bytes, BytesRejection>) -> ScimResult<Reply> {
    let Value::Object(req) = c.body(body)? else {
        return Err(ScimError::invalid_syntax(
            "a SearchRequest must be a JSON object",
        ));
    };
    let declared = super::jsonci::get(&req, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(SEARCH_URN))
            })
        });
    if !declared {
        return Err(ScimError::invalid_syntax(format!(
            "`schemas` must contain {SEARCH_URN}"
        )));
    }
    let int = |name: &str| -> ScimResult<Option<i64>> {
        match super::jsonci::get(&req, name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("`{name}` must be an integer"))),
        }
    };
    let names = |name: &str| -> ScimResult<Option<String>> {
        match super::jsonci::get(&req, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(|v| Some(v.join(",")))
                .ok_or_else(|| ScimError::invalid_value(format!("`{name}` must list strings"))),
            Some(_) => Err(ScimError::invalid_value(format!(
                "`{name}` must list strings"
            ))),
        }
    };
    let filter = match super::jsonci::get(&req, "filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ScimError::invalid_value("`filter` must be a string")),
    };
    let q = ListQuery {
        filter,
        start_index: int("startIndex")?,
        count: int("count")?,
        projection: Projection::parse(
            names("attributes")?.as_deref(),
            names("excludedAttributes")?.as_deref(),
            c.breaks(),
        )?,
    };
    let body = service::list(&mut c.app.store(), kind, &q, c.ctx())?;
    Ok(Reply::ok(body))
}

fn create(kind: Kind, c: &Call, body: Result<Bytes, BytesRejection>) -> ScimResult<Reply> {
    let body = c.body(body)?;
    let r = service::create(&mut c.app.store(), kind, body, c.ctx())?;
    let status = if c.breaks().has("scim-create-200") {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(Reply::resource(
        status,
        r,
        !c.breaks().has("scim-no-location"),
    ))
}

fn read(kind: Kind, c: &Call, id: IdParam) -> ScimResult<Reply> {
    let id = id_of(id)?;
    let r = service::read(&c.app.store(), kind, &id, &c.projection()?, c.ctx())?;
    let unchanged = match (c.header(header::IF_NONE_MATCH), &r.etag) {
        (Some(h), Some(tag)) => h.split(',').any(|t| t.trim() == tag || t.trim() == "*"),
        _ => false,
    };
    if unchanged {
        return Ok(Reply::Empty(StatusCode::NOT_MODIFIED));
    }
    Ok(Reply::resource(StatusCode::OK, r, true))
}

fn replace(
    kind: Kind,
    c: &Call,
    id: IdParam,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult<Reply> {
    let id = id_of(id)?;
    let body = c.body(body)?;
    let if_match = c.header(header::IF_MATCH);
    let r = service::replace(&mut c.app.store(), kind, &id, body, if_match, c.ctx())?;
    Ok(Reply::resource(StatusCode::OK, r, true))
}

fn patch(
    kind: Kind,
    c: &Call,
    id: IdParam,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult<Reply> {
    let id = id_of(id)?;
    let body = c.body(body)?;
    let projection = c.projection()?;
    let if_match = c.header(header::IF_MATCH);
    let r = service::patch(
        &mut c.app.store(),
        kind,
        &id,
        body,
        if_match,
        c.ctx(),
        &projection,
    )?;
    Ok(Reply::resource(StatusCode::OK, r, true))
}

fn delete(kind: Kind, c: &Call, id: IdParam) -> ScimResult<Reply> {
    let id = id_of(id)?;
    service::delete(
        &mut c.app.store(),
        kind,
        &id,
        c.header(header::IF_MATCH),
        c.ctx(),
    )?;
    Ok(Reply::Empty(StatusCode::NO_CONTENT))
}

async fn service_provider_config(c: Call) -> Response {
    let result = if c.breaks().has("scim-no-service-provider-config") {
        Err(ScimError::not_found("no such endpoint"))
    } else {
        Ok(Reply::ok(discovery::service_provider_config(&c.base_url)))
    };
    c.finish(result)
}

fn list_of(items: Vec<Value>, breaks: &Breaks) -> Value {
    let total = items.len();
    super::render::list_response(items, total, 1, breaks)
}

async fn resource_types(c: Call) -> Response {
    c.finish(Ok(Reply::ok(list_of(
        discovery::resource_types(&c.base_url, c.breaks()),
        c.breaks(),
    ))))
}

async fn resource_type(c: Call, name: IdParam) -> Response {
    let result = id_of(name).and_then(|name| {
        discovery::resource_type_by_name(&name, &c.base_url, c.breaks())
            .map(Reply::ok)
            .ok_or_else(|| ScimError::not_found(format!("no resource type `{name}`")))
    });
    c.finish(result)
}

async fn schemas(c: Call) -> Response {
    c.finish(Ok(Reply::ok(list_of(
        discovery::schemas(&c.base_url, c.breaks()),
        c.breaks(),
    ))))
}

async fn schema(c: Call, id: IdParam) -> Response {
    let result = id_of(id).and_then(|id| {
        discovery::schema_by_id(&id, &c.base_url, c.breaks())
            .map(Reply::ok)
            .ok_or_else(|| ScimError::not_found(format!("no schema `{id}`")))
    });
    c.finish(result)
}
