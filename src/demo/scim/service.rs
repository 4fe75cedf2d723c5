//! The resource operations (RFC 7644 §3.3–3.6) on the store, independent of HTTP:
//! validation rules, uniqueness, versions and preconditions, paging.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::conform::conform;
use super::error::{ScimError, ScimResult, ScimType};
use super::filter::{self, EvalCtx};
use super::jsonci;
use super::patch;
use super::render::{self, Projection, RenderCtx};
use super::roles;
use super::schema::Kind;
use super::store::{Resource, Store};

/// The largest page served, as advertised in `filter.maxResults`.
pub const MAX_RESULTS: u64 = 200;

/// A rendered resource with what its response headers need.
#[derive(Debug)]
pub struct Rendered {
    pub body: Value,
    pub etag: Option<String>,
    pub location: String,
}

/// A list or search request.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub projection: Projection,
}

fn not_found(kind: Kind, id: &str) -> ScimError {
    ScimError::not_found(format!("{} {id} not found", kind.name()))
}

fn rendered(
    store: &Store,
    kind: Kind,
    res: &Resource,
    ctx: RenderCtx<'_>,
    projection: &Projection,
) -> Rendered {
    let doc = render::render(store, kind, res, ctx);
    Rendered {
        body: Value::Object(projection.apply(kind, doc)),
        etag: render::etag(res, ctx.breaks),
        location: render::location(ctx.base_url, kind, &res.id),
    }
}

fn as_object(body: Value) -> ScimResult<Map<String, Value>> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(ScimError::invalid_syntax("the body must be a JSON object")),
    }
}

/// Checks and normalises a body for storage as resource `own_id` (`None`: a new one).
fn prepare(
    store: &Store,
    kind: Kind,
    body: Map<String, Value>,
    own_id: Option<&str>,
    ctx: RenderCtx<'_>,
) -> ScimResult<Map<String, Value>> {
    let mut attrs = conform(kind, body, ctx.breaks)?;
    match kind {
        Kind::User => user_rules(&mut attrs, ctx)?,
        Kind::Group => group_rules(store, &mut attrs, own_id)?,
    }
    check_unique_name(store, kind, &attrs, own_id, ctx)?;
    Ok(attrs)
}

fn required_str<'a>(attrs: &'a Map<String, Value>, name: &str) -> ScimResult<&'a str> {
    match jsonci::get(attrs, name).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ScimError::invalid_value(format!("`{name}` is required"))),
    }
}

fn user_rules(attrs: &mut Map<String, Value>, ctx: RenderCtx<'_>) -> ScimResult<()> {
    roles::check_assignments(attrs)?;
    if ctx.breaks.has("scim-roles-not-stored") {
        // Checked, then forgotten: the request succeeds and only a later read shows
        // that the user has no roles.
        jsonci::remove(attrs, "roles");
    }
    let name = match required_str(attrs, "userName") {
        Ok(name) => name,
        Err(_) if ctx.breaks.has("scim-missing-username-accepted") => return Ok(()),
        Err(e) => return Err(e),
    };
    if ctx.breaks.has("scim-username-lowercased") {
        let lower = name.to_lowercase();
        attrs.insert("userName".into(), Value::String(lower));
    }
    Ok(())
}

/// The name a resource is looked up by is unique, compared case-insensitively: a
/// user's userName (caseExact=false, and RFC 7643 §4.1.1 makes it unique) and a group's
/// displayName (RFC 7643 does not require it, but Entra matches groups by displayName
/// and Microsoft requires it to be unique; its SCIM Validator expects 409).
fn check_unique_name(
    store: &Store,
    kind: Kind,
    attrs: &Map<String, Value>,
    own_id: Option<&str>,
    ctx: RenderCtx<'_>,
) -> ScimResult<()> {
    let (attr, tolerated) = match kind {
        Kind::User => ("userName", ctx.breaks.has("scim-no-409")),
        Kind::Group => (
            "displayName",
            ctx.breaks.has("scim-group-duplicate-accepted"),
        ),
    };
    if tolerated {
        return Ok(());
    }
    // Presence is the resource rules' business; a resource without the name has nothing to
    // collide with.
    let Some(name) = jsonci::get(attrs, attr).and_then(Value::as_str) else {
        return Ok(());
    };
    let wanted = name.to_lowercase();
    let taken = store.all(kind).iter().any(|r| {
        Some(r.id.as_str()) != own_id
            && r.str_attr(attr).is_some_and(|n| n.to_lowercase() == wanted)
    });
    if taken {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            Some(ScimType::Uniqueness),
            format!("{attr} `{name}` is already taken"),
        ));
    }
    Ok(())
}

/// Members are stored as `{value, type}` and must name existing resources; `display`
/// and `$ref` are derived when rendering.
fn group_rules(
    store: &Store,
    attrs: &mut Map<String, Value>,
    own_id: Option<&str>,
) -> ScimResult<()> {
    required_str(attrs, "displayName")?;
    let Some(Value::Array(members)) = jsonci::get(attrs, "members") else {
        return Ok(());
    };
    let mut clean: Vec<Value> = Vec::with_capacity(members.len());
    for m in members {
        let id = m
            .as_object()
            .and_then(|o| jsonci::get(o, "value"))
            .and_then(Value::as_str)
            .ok_or_else(|| ScimError::invalid_value("each member needs a string `value`"))?;
        if Some(id) == own_id {
            return Err(ScimError::invalid_value("a group cannot be its own member"));
        }
        let kind = store
            .kind_of(id)
            .ok_or_else(|| ScimError::invalid_value(format!("member `{id}` does not exist")))?;
        if clean.iter().any(|c| c["value"] == id) {
            continue;
        }
        clean.push(serde_json::json!({"value": id, "type": kind.name()}));
    }
    attrs.insert("members".into(), Value::Array(clean));
    Ok(())
}

/// `If-Match` (RFC 7644 §3.14): a mismatch means the client's copy is stale.
fn check_if_match(if_match: Option<&str>, res: &Resource, ctx: RenderCtx<'_>) -> ScimResult<()> {
    if ctx.breaks.has("scim-if-match-ignored") {
        return Ok(());
    }
    let Some(header) = if_match else {
        return Ok(());
    };
    let current = format!("\"{}\"", res.version);
    // SCIM's entity tags are weak, yet RFC 7644 uses them in If-Match: compare opaquely.
    let ok = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == current);
    if ok {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            format!("version mismatch: the resource is at W/{current}"),
        ))
    }
}

pub fn create(
    store: &mut Store,
    kind: Kind,
    body: Value,
    ctx: RenderCtx<'_>,
) -> ScimResult<Rendered> {
    let attrs = prepare(store, kind, as_object(body)?, None, ctx)?;
    let id = store.insert(kind, attrs).id.clone();
    get(store, kind, &id, &Projection::default(), ctx)
}

pub fn get(
    store: &Store,
    kind: Kind,
    id: &str,
    projection: &Projection,
    ctx: RenderCtx<'_>,
) -> ScimResult<Rendered> {
    let res = store.get(kind, id).ok_or_else(|| not_found(kind, id))?;
    Ok(rendered(store, kind, res, ctx, projection))
}

/// GET of one resource as a client sees it (deactivated users stay readable).
pub fn read(
    store: &Store,
    kind: Kind,
    id: &str,
    projection: &Projection,
    ctx: RenderCtx<'_>,
) -> ScimResult<Rendered> {
    let res = store.get(kind, id).ok_or_else(|| not_found(kind, id))?;
    let inactive = jsonci::get(&res.attrs, "active") == Some(&Value::Bool(false));
    if kind == Kind::User && inactive && ctx.breaks.has("scim-deactivated-hidden") {
        return Err(not_found(kind, id));
    }
    let mut r = get(store, kind, id, projection, ctx)?;
    if kind == Kind::User && ctx.breaks.has("scim-get-drops-attributes") {
        // A "minimal representation" server: only this single-resource read is cut, so
        // the request's own responses and list entries still look complete.
        if let Value::Object(doc) = &mut r.body {
            for attr in ["name", "emails"] {
                jsonci::remove(doc, attr);
            }
        }
    }
    Ok(r)
}

pub fn replace(
    store: &mut Store,
    kind: Kind,
    id: &str,
    body: Value,
    if_match: Option<&str>,
    ctx: RenderCtx<'_>,
) -> ScimResult<Rendered> {
    let res = store.get(kind, id).ok_or_else(|| not_found(kind, id))?;
    check_if_match(if_match, res, ctx)?;
    let mut body = as_object(body)?;
    let mut id = id.to_string();
    if let Some(sent) = jsonci::remove(&mut body, "id") {
        // Restating the id is fine (clients PUT back what they read); changing it is not.
        if sent.as_str() != Some(id.as_str()) {
            let Some(new_id) = sent.as_str().filter(|_| ctx.breaks.has("scim-id-mutable")) else {
                return Err(ScimError::mutability("`id` cannot be changed"));
            };
            store.rename(kind, &id, new_id);
            id = new_id.to_string();
        }
    }
    let attrs = prepare(store, kind, body, Some(&id), ctx)?;
    if ctx.breaks.has("scim-put-ignored") {
        // The response shows what would have been stored, so only a later read can
        // tell that nothing was; the version stays, as the stored resource's does.
        let mut shown = store
            .get(kind, &id)
            .ok_or_else(|| not_found(kind, &id))?
            .clone();
        shown.attrs = attrs;
        return Ok(rendered(store, kind, &shown, ctx, &Projection::default()));
    }
    commit(store, kind, &id, attrs, ctx)?;
    get(store, kind, &id, &Projection::default(), ctx)
}

pub fn patch(
    store: &mut Store,
    kind: Kind,
    id: &str,
    body: Value,
    if_match: Option<&str>,
    ctx: RenderCtx<'_>,
    projection: &Projection,
) -> ScimResult<Rendered> {
    let res = store.get(kind, id).ok_or_else(|| not_found(kind, id))?;
    check_if_match(if_match, res, ctx)?;
    let ops = patch::parse_request(&body, ctx.breaks)?;
    let mut doc = res.attrs.clone();
    patch::apply(&mut doc, &ops, kind, id, ctx.breaks)?;
    let attrs = prepare(store, kind, doc, Some(id), ctx)?;
    commit(store, kind, id, attrs, ctx)?;
    get(store, kind, id, projection, ctx)
}

/// Stores validated attributes. An update that changes nothing keeps the version, so
/// entity tags only move when the resource does.
fn commit(
    store: &mut Store,
    kind: Kind,
    id: &str,
    mut attrs: Map<String, Value>,
    ctx: RenderCtx<'_>,
) -> ScimResult<()> {
    let res = store.get_mut(kind, id).ok_or_else(|| not_found(kind, id))?;
    if kind == Kind::User && ctx.breaks.has("scim-active-ignored") {
        let deactivating = jsonci::get(&attrs, "active") == Some(&Value::Bool(false));
        if deactivating {
            match jsonci::get(&res.attrs, "active").cloned() {
                Some(old) => jsonci::insert(&mut attrs, "active", old),
                None => {
                    jsonci::remove(&mut attrs, "active");
                }
            }
        }
    }
    if attrs != res.attrs {
        res.update(attrs);
    }
    Ok(())
}

pub fn delete(
    store: &mut Store,
    kind: Kind,
    id: &str,
    if_match: Option<&str>,
    ctx: RenderCtx<'_>,
) -> ScimResult<()> {
    let Some(res) = store.get(kind, id) else {
        // A repeated DELETE must tell the client the resource was already gone (RFC 7644
        // §3.6); a 204 would hide that an earlier DELETE never took effect.
        if ctx.breaks.has("scim-delete-unknown-204") {
            return Ok(());
        }
        return Err(not_found(kind, id));
    };
    check_if_match(if_match, res, ctx)?;
    if !ctx.breaks.has("scim-delete-still-readable") {
        store.remove(kind, id);
    }
    Ok(())
}

/// Parses the `filter` of a list or search request.
fn list_filter(raw: Option<&str>, ctx: RenderCtx<'_>) -> ScimResult<Option<filter::Filter>> {
    let Some(raw) = raw.filter(|f| !f.trim().is_empty()) else {
        return Ok(None);
    };
    filter::parse(raw).map(Some).map_err(|e| {
        if ctx.breaks.has("scim-bad-filter-500") {
            ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
        } else {
            ScimError::bad_request(ScimType::InvalidFilter, format!("invalid filter: {e}"))
        }
    })
}

/// The 1-based `startIndex` and the page size a list request asks for (RFC 7644
/// §3.4.2.4: startIndex < 1 means 1, a negative count means 0), at most [`MAX_RESULTS`].
pub fn page_window(q: &ListQuery) -> (u64, u64) {
    let start_index = q.start_index.unwrap_or(1).max(1) as u64;
    let count = q
        .count
        .map_or(MAX_RESULTS, |c| c.max(0) as u64)
        .min(MAX_RESULTS);
    (start_index, count)
}

pub fn list(store: &mut Store, kind: Kind, q: &ListQuery, ctx: RenderCtx<'_>) -> ScimResult<Value> {
    let filter = list_filter(q.filter.as_deref(), ctx)?;
    let eval = EvalCtx {
        kind,
        all_case_exact: ctx.breaks.has("scim-filter-case-sensitive"),
    };
    let served = {
        let key = format!("{kind:?}:{}", q.filter.as_deref().unwrap_or(""));
        let n = store.lists_served.entry(key).or_insert(0);
        *n += 1;
        *n
    };
    let store = &*store;
    let mut hits: Vec<Map<String, Value>> = store
        .all(kind)
        .iter()
        .map(|r| render::render(store, kind, r, ctx))
        .filter(|doc| filter.as_ref().is_none_or(|f| f.matches(doc, &eval)))
        .collect();
    if ctx.breaks.has("scim-unstable-paging") && served.is_multiple_of(2) {
        hits.reverse();
    }
    let total = hits.len();
    if total == 0 && filter.is_some() && ctx.breaks.has("scim-empty-filter-404") {
        return Err(ScimError::not_found("no resource matches the filter"));
    }
    let (start_index, count) = page_window(q);
    let skip = if ctx.breaks.has("scim-startindex-zero-based") {
        start_index
    } else {
        start_index - 1
    };
    let take = if ctx.breaks.has("scim-count-ignored") {
        total as u64
    } else {
        count
    };
    let page: Vec<Value> = hits
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(take).unwrap_or(usize::MAX))
        .map(|doc| Value::Object(q.projection.apply(kind, doc)))
        .collect();
    Ok(render::list_response(page, total, start_index, ctx.breaks))
}
