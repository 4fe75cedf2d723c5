//! Everything a run creates in the vendor's tenant is registered here when it is created
//! and deleted at the end of the run: after failures, errors and Ctrl-C too.

use std::sync::Mutex;

use serde::Serialize;

use crate::http::{HttpClient, HttpRequest};

#[derive(Debug, Clone)]
pub struct CleanupAction {
    /// What is removed, for reports: `SCIM User 2819c223 (oinspect-42-ada@example.test)`.
    pub description: String,
    /// The request that removes it (a DELETE with the target's credentials).
    pub request: HttpRequest,
    /// What to send when the app has no DELETE for it (405/501): deactivate a user.
    pub deactivate: Option<HttpRequest>,
}

/// A SCIM create whose answer was never seen: Ctrl-C (or the test timeout) dropped the
/// request in flight, or it timed out or broke after being sent. The vendor may have created
/// the resource anyway, so cleanup looks it up by the attribute the POST set.
#[derive(Debug, Clone)]
pub struct PendingCreate {
    /// The collection the POST went to (`https://host/scim/v2/Users`, no query).
    pub collection: url::Url,
    /// The attribute that identifies what the POST creates (`userName`, `displayName`,
    /// `externalId`) and the value it sent.
    pub attribute: String,
    pub value: String,
    /// Whether the value is this run's own test data (`oinspect-<seed>-...`). Only then is a
    /// resource found by it deleted: anything else may be a real account that was there
    /// before (the POST then answered 409), so it is reported, never touched.
    pub owned: bool,
    /// Headers of the lookup and of the DELETE (the target's credentials).
    pub headers: Vec<(String, String)>,
    /// What to send when the app has no DELETE for what is found (users: deactivate).
    pub deactivate_body: Option<Vec<u8>>,
}

impl PendingCreate {
    fn description(&self) -> String {
        let collection = self
            .collection
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or("resource");
        format!(
            "SCIM {collection} with {} {:?} (its POST got no answer; it may exist)",
            self.attribute, self.value
        )
    }
}

#[derive(Debug, Default)]
pub struct CleanupRegistry {
    pending: Mutex<Vec<CleanupAction>>,
    /// Creates sent whose answers have not been seen, by ticket.
    in_flight: Mutex<Vec<(u64, PendingCreate)>>,
    next_ticket: std::sync::atomic::AtomicU64,
    /// What `run` has settled so far, kept here so an abandoned cleanup still reports it.
    settled: Mutex<CleanupReport>,
}

/// A create registered with [`CleanupRegistry::begin_create`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateTicket(u64);

#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanupReport {
    /// Removed resources.
    pub removed: Vec<String>,
    /// Resources that could not be removed, with the reason: the vendor must delete them.
    pub left_behind: Vec<LeftBehind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeftBehind {
    pub resource: String,
    pub reason: String,
}

impl CleanupRegistry {
    pub fn register(&self, action: CleanupAction) {
        self.lock().push(action);
    }

    /// Registers a create before it is sent, so that a run aborted while it is in flight
    /// still looks for what it may have created.
    pub fn begin_create(&self, create: PendingCreate) -> CreateTicket {
        let ticket = self
            .next_ticket
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.in_flight().push((ticket, create));
        CreateTicket(ticket)
    }

    /// The create's answer arrived (and whatever it created is registered with
    /// [`CleanupRegistry::register`]): nothing is left to look up.
    pub fn end_create(&self, ticket: CreateTicket) {
        self.in_flight().retain(|(t, _)| *t != ticket.0);
    }

    /// Creates still unanswered.
    pub fn unanswered_creates(&self) -> usize {
        self.in_flight().len()
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, Vec<(u64, PendingCreate)>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the action for `url` (the test deleted the resource itself).
    pub fn forget(&self, url: &url::Url) {
        self.lock().retain(|a| &a.request.url != url);
    }

    /// Registered resources and unanswered creates: what cleanup has to deal with.
    pub fn pending(&self) -> usize {
        self.lock().len() + self.unanswered_creates()
    }

    /// What is still registered, for a report when cleanup itself is aborted.
    pub fn descriptions(&self) -> Vec<String> {
        let mut out: Vec<String> = self.lock().iter().map(|a| a.description.clone()).collect();
        out.extend(self.in_flight().iter().map(|(_, c)| c.description()));
        out
    }

    /// The report of a cleanup abandoned part-way: what `run` settled before, and everything
    /// still registered (the request in flight included) as left behind for `reason`.
    pub fn abandoned(&self, reason: &str) -> CleanupReport {
        let mut report = std::mem::take(&mut *self.settled());
        report
            .left_behind
            .extend(self.descriptions().into_iter().map(|resource| LeftBehind {
                resource,
                reason: reason.to_string(),
            }));
        report
    }

    fn settled(&self) -> std::sync::MutexGuard<'_, CleanupReport> {
        self.settled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Unregisters the newest action for `url` once cleanup has an answer for it.
    fn done(&self, url: &url::Url) {
        let mut pending = self.lock();
        if let Some(i) = pending.iter().rposition(|a| &a.request.url == url) {
            pending.remove(i);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<CleanupAction>> {
        // A panic while holding this lock is a bug elsewhere; the list itself stays
        // consistent (push/retain), so keep cleaning up rather than propagate the poison.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs every action, newest first (groups before the users in them). 404 and 410
    /// count as removed: something else already deleted it. Unanswered creates are looked
    /// up first and what they made joins the actions.
    pub async fn run(&self, client: &HttpClient) -> CleanupReport {
        self.resolve_unanswered_creates(client).await;
        loop {
            // The action stays registered until its request is answered: if a second
            // Ctrl-C abandons cleanup mid-request, `descriptions` still lists it.
            let Some(action) = self.lock().last().cloned() else {
                break;
            };
            let (_, result) = client.send(action.request.clone()).await;
            let settled = match result {
                Ok(r) if (200..300).contains(&r.status) || r.status == 404 || r.status == 410 => {
                    Ok(action.description)
                }
                Ok(r) if matches!(r.status, 405 | 501) => {
                    Err(deactivate_instead(client, &action, r.status).await)
                }
                Ok(r) => Err(LeftBehind {
                    resource: action.description,
                    reason: format!("DELETE answered HTTP {}", r.status),
                }),
                Err(e) => Err(LeftBehind {
                    resource: action.description,
                    reason: e.to_string(),
                }),
            };
            // Settled and unregistered together (no await between): never both or neither.
            match settled {
                Ok(removed) => self.settled().removed.push(removed),
                Err(left) => self.settled().left_behind.push(left),
            }
            self.done(&action.request.url);
        }
        std::mem::take(&mut *self.settled())
    }
}

impl CleanupRegistry {
    /// Looks up what each unanswered create may have made (`GET collection?filter=attr eq
    /// "value"`) and registers each exact match this run owns for deletion. A create stays
    /// listed (so an abandoned cleanup reports it) until its lookup is settled.
    async fn resolve_unanswered_creates(&self, client: &HttpClient) {
        loop {
            let Some((ticket, create)) = self.in_flight().last().cloned() else {
                break;
            };
            match lookup(client, &create).await {
                Ok(found) => {
                    for (id, url) in found {
                        let resource = format!(
                            "SCIM {} {id} ({})",
                            create
                                .collection
                                .path_segments()
                                .and_then(|mut s| s.next_back())
                                .unwrap_or("resource"),
                            create.value
                        );
                        if self.lock().iter().any(|a| a.request.url == url) {
                            // Already registered (the create this one duplicated).
                            continue;
                        }
                        if !create.owned {
                            self.settled().left_behind.push(LeftBehind {
                                resource,
                                reason: format!(
                                    "created by a POST whose answer never arrived; not deleted because {} {:?} is not this run's test data",
                                    create.attribute, create.value
                                ),
                            });
                            continue;
                        }
                        let deactivate = create.deactivate_body.clone().map(|body| {
                            let mut headers = create.headers.clone();
                            headers.push((
                                "Content-Type".into(),
                                crate::scim::client::SCIM_MEDIA_TYPE.into(),
                            ));
                            HttpRequest {
                                method: "PATCH".into(),
                                url: url.clone(),
                                headers,
                                body: Some(body),
                            }
                        });
                        self.register(CleanupAction {
                            description: resource,
                            request: HttpRequest {
                                method: "DELETE".into(),
                                url,
                                headers: create.headers.clone(),
                                body: None,
                            },
                            deactivate,
                        });
                    }
                }
                Err(reason) => self.settled().left_behind.push(LeftBehind {
                    resource: create.description(),
                    reason,
                }),
            }
            self.end_create(CreateTicket(ticket));
        }
    }
}

/// Most resources a lookup acts on: a filter on a unique attribute matches one; a server
/// that ignores filters answers with everything, and only exact matches count anyway.
const MAX_LOOKUP_MATCHES: usize = 10;

/// The id and URL of each resource in `create.collection` whose `create.attribute` equals
/// the value sent (case-insensitively, as RFC 7643 defines userName and displayName).
async fn lookup(
    client: &HttpClient,
    create: &PendingCreate,
) -> Result<Vec<(String, url::Url)>, String> {
    let mut url = create.collection.clone();
    let filter = format!(
        "{} eq {}",
        create.attribute,
        serde_json::Value::String(create.value.clone())
    );
    url.query_pairs_mut().clear().append_pair("filter", &filter);
    let mut headers = create.headers.clone();
    headers.push(("Accept".into(), crate::scim::client::SCIM_MEDIA_TYPE.into()));
    let request = HttpRequest {
        method: "GET".into(),
        url,
        headers,
        body: None,
    };
    let response = client
        .send(request)
        .await
        .1
        .map_err(|e| format!("looking it up failed: {e}"))?;
    if response.status != 200 {
        return Err(format!(
            "looking it up (filter {filter}) answered HTTP {}",
            response.status
        ));
    }
    let body = response
        .json()
        .map_err(|e| format!("looking it up (filter {filter}): {e}"))?;
    let resources = body
        .get("Resources")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut found = Vec::new();
    for r in resources {
        let matches = r
            .get(&create.attribute)
            .and_then(serde_json::Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(&create.value));
        let id = r
            .get("id")
            .and_then(serde_json::Value::as_str)
            .filter(|id| !id.is_empty());
        if let (true, Some(id)) = (matches, id) {
            let mut url = create.collection.clone();
            url.set_query(None);
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.push(id);
            } else {
                continue;
            }
            found.push((id.to_string(), url));
            if found.len() == MAX_LOOKUP_MATCHES {
                break;
            }
        }
    }
    Ok(found)
}

/// The app has no DELETE for this resource: deactivate it where that exists (users), and
/// say so either way, since a deactivated test user is still in the vendor's tenant.
async fn deactivate_instead(
    client: &HttpClient,
    action: &CleanupAction,
    status: u16,
) -> LeftBehind {
    let resource = action.description.clone();
    let Some(request) = action.deactivate.clone() else {
        return LeftBehind {
            resource,
            reason: format!("DELETE answered HTTP {status} (not supported)"),
        };
    };
    let reason = match client.send(request).await.1 {
        Ok(r) if (200..300).contains(&r.status) => {
            format!("deactivated (active=false) instead: DELETE answered HTTP {status}")
        }
        Ok(r) => format!(
            "DELETE answered HTTP {status} and deactivating answered HTTP {}",
            r.status
        ),
        Err(e) => format!("DELETE answered HTTP {status}; deactivating failed: {e}"),
    };
    LeftBehind { resource, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(value: &str) -> PendingCreate {
        PendingCreate {
            collection: url::Url::parse("http://h/scim/v2/Users").unwrap(),
            attribute: "userName".into(),
            value: value.into(),
            owned: true,
            headers: Vec::new(),
            deactivate_body: None,
        }
    }

    #[test]
    fn unanswered_creates_count_until_answered_and_are_reported_when_abandoned() {
        let r = CleanupRegistry::default();
        let a = r.begin_create(create("oinspect-1-a@example.test"));
        let b = r.begin_create(create("oinspect-1-b@example.test"));
        assert_eq!(r.pending(), 2);
        r.end_create(a);
        assert_eq!(r.pending(), 1);
        let report = r.abandoned("cleanup aborted by a second Ctrl-C");
        assert_eq!(report.left_behind.len(), 1);
        assert_eq!(
            report.left_behind[0].resource,
            "SCIM Users with userName \"oinspect-1-b@example.test\" (its POST got no answer; it may exist)"
        );
        r.end_create(b);
        assert_eq!(r.pending(), 0);
    }
}
