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

#[derive(Debug, Default)]
pub struct CleanupRegistry {
    pending: Mutex<Vec<CleanupAction>>,
    /// What `run` has settled so far, kept here so an abandoned cleanup still reports it.
    settled: Mutex<CleanupReport>,
}

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

    /// Forgets the action for `url` (the test deleted the resource itself).
    pub fn forget(&self, url: &url::Url) {
        self.lock().retain(|a| &a.request.url != url);
    }

    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// What is still registered, for a report when cleanup itself is aborted.
    pub fn descriptions(&self) -> Vec<String> {
        self.lock().iter().map(|a| a.description.clone()).collect()
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
    /// count as removed: something else already deleted it.
    pub async fn run(&self, client: &HttpClient) -> CleanupReport {
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
