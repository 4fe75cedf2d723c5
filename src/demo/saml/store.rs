//! The SP's memory: outstanding AuthnRequests, the assertion replay cache, accounts and
//! sessions. Every map is bounded and its entries expire, so a flood of logins (anyone can
//! start one) costs a fixed amount of memory.

use std::collections::{HashMap, HashSet};

use rand::Rng;

/// How long an AuthnRequest stays answerable.
pub const OUTSTANDING_TTL_SECS: i64 = 10 * 60;
pub const MAX_OUTSTANDING: usize = 10_000;
/// Replay-cache entries outlive their assertion's validity; these clamp how long.
pub const REPLAY_MIN_TTL_SECS: i64 = 5 * 60;
pub const REPLAY_MAX_TTL_SECS: i64 = 24 * 60 * 60;
pub const MAX_REPLAY: usize = 100_000;
pub const SESSION_TTL_SECS: i64 = 8 * 60 * 60;
pub const MAX_SESSIONS: usize = 10_000;
pub const MAX_ACCOUNTS: usize = 100_000;

/// A JIT-provisioned account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub groups: Vec<String>,
    seq: u64,
}

/// Identity and attributes from an accepted assertion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub groups: Vec<String>,
}

#[derive(Debug)]
struct Outstanding {
    /// The `sp_login` cookie of the browser that started the login.
    login: String,
    expires: i64,
}

#[derive(Debug)]
struct Session {
    user: String,
    expires: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the replay cache is full; try again later")]
    ReplayCacheFull,
    #[error("the account limit is reached")]
    TooManyAccounts,
}

/// Outcome of looking up an InResponseTo value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solicited {
    /// Outstanding for the browser presenting it.
    ThisBrowser,
    /// Outstanding, but started by another browser.
    OtherBrowser,
    /// Never issued, already answered, or expired.
    Unknown,
}

#[derive(Debug, Default)]
pub struct Store {
    outstanding: HashMap<String, Outstanding>,
    replay: HashMap<String, i64>,
    accounts: HashMap<String, Account>,
    next_seq: u64,
    /// Keys of deactivated accounts. Unbounded on purpose: only the trusted integrator
    /// adds to it (never a request), and forgetting a deprovisioning would let a user in.
    deactivated: HashSet<String>,
    sessions: HashMap<String, Session>,
}

/// Accounts are keyed case-insensitively: IdPs and SCIM clients disagree on the case of
/// e-mail addresses, and a deprovisioning must not miss "Ada@x" because login said "ada@x".
fn account_key(name_id: &str) -> String {
    name_id.to_ascii_lowercase()
}

/// A fresh unguessable token (128 random bits, hex).
pub fn random_token() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// Makes room for one entry: expired ones go first, then the one closest to expiry.
fn make_room<V>(map: &mut HashMap<String, V>, cap: usize, now: i64, expires: impl Fn(&V) -> i64) {
    if map.len() < cap {
        return;
    }
    map.retain(|_, v| expires(v) > now);
    while map.len() >= cap {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| expires(v))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&oldest);
    }
}

impl Store {
    /// Remembers an AuthnRequest ID as answerable by the browser holding `login`.
    pub fn add_outstanding(&mut self, request_id: &str, login: &str, now: i64) {
        make_room(&mut self.outstanding, MAX_OUTSTANDING, now, |o| o.expires);
        self.outstanding.insert(
            request_id.to_string(),
            Outstanding {
                login: login.to_string(),
                expires: now + OUTSTANDING_TTL_SECS,
            },
        );
    }

    /// Where `request_id` was issued, without consuming it.
    pub fn solicited(&self, request_id: &str, login: Option<&str>, now: i64) -> Solicited {
        match self.outstanding.get(request_id) {
            Some(o) if o.expires > now => {
                // Constant-time comparison is moot for a value the browser already holds;
                // plain equality is fine.
                if login == Some(o.login.as_str()) {
                    Solicited::ThisBrowser
                } else {
                    Solicited::OtherBrowser
                }
            }
            _ => Solicited::Unknown,
        }
    }

    /// An answered request cannot be answered again.
    pub fn remove_outstanding(&mut self, request_id: &str) {
        self.outstanding.remove(request_id);
    }

    /// Whether `assertion_id` was already used and not yet expired from the cache.
    pub fn seen(&self, assertion_id: &str, now: i64) -> bool {
        self.replay
            .get(assertion_id)
            .is_some_and(|&expires| expires > now)
    }

    /// Records `assertion_id` as used until `valid_until` (clamped to the TTL bounds).
    /// When the cache is full of live entries the login is refused: evicting one would
    /// reopen its replay window.
    pub fn record_assertion(
        &mut self,
        assertion_id: &str,
        valid_until: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        if self.replay.len() >= MAX_REPLAY {
            self.replay.retain(|_, &mut e| e > now);
            if self.replay.len() >= MAX_REPLAY {
                return Err(StoreError::ReplayCacheFull);
            }
        }
        let expires = valid_until.clamp(now + REPLAY_MIN_TTL_SECS, now + REPLAY_MAX_TTL_SECS);
        self.replay.insert(assertion_id.to_string(), expires);
        Ok(())
    }

    pub fn account_exists(&self, name_id: &str) -> bool {
        self.accounts.contains_key(&account_key(name_id))
    }

    pub fn is_deactivated(&self, name_id: &str) -> bool {
        self.deactivated.contains(&account_key(name_id))
    }

    /// Creates the account, or refreshes its attributes from the latest assertion.
    pub fn upsert_account(&mut self, p: &Profile) -> Result<(), StoreError> {
        let key = account_key(&p.name_id);
        if let Some(a) = self.accounts.get_mut(&key) {
            a.email = p.email.clone();
            a.first_name = p.first_name.clone();
            a.last_name = p.last_name.clone();
            a.groups = p.groups.clone();
            return Ok(());
        }
        if self.accounts.len() >= MAX_ACCOUNTS {
            return Err(StoreError::TooManyAccounts);
        }
        self.next_seq += 1;
        self.accounts.insert(
            key,
            Account {
                name_id: p.name_id.clone(),
                email: p.email.clone(),
                first_name: p.first_name.clone(),
                last_name: p.last_name.clone(),
                groups: p.groups.clone(),
                seq: self.next_seq,
            },
        );
        Ok(())
    }

    pub fn user_names(&self) -> Vec<String> {
        let mut all: Vec<&Account> = self.accounts.values().collect();
        all.sort_by_key(|a| a.seq);
        all.into_iter().map(|a| a.name_id.clone()).collect()
    }

    pub fn deactivate(&mut self, name_id: &str) {
        let key = account_key(name_id);
        self.sessions.retain(|_, s| s.user != key);
        self.deactivated.insert(key);
    }

    /// Starts a session for the account of `name_id`; returns its cookie value.
    pub fn new_session(&mut self, name_id: &str, now: i64) -> String {
        make_room(&mut self.sessions, MAX_SESSIONS, now, |s| s.expires);
        let token = random_token();
        self.sessions.insert(
            token.clone(),
            Session {
                user: account_key(name_id),
                expires: now + SESSION_TTL_SECS,
            },
        );
        token
    }

    /// The account behind a live session cookie.
    pub fn session_account(&self, token: &str, now: i64) -> Option<&Account> {
        let s = self.sessions.get(token).filter(|s| s.expires > now)?;
        self.accounts.get(&s.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outstanding_requests_are_bound_to_a_browser_and_expire() {
        let mut s = Store::default();
        s.add_outstanding("_r1", "cookie-a", 1000);
        assert_eq!(
            s.solicited("_r1", Some("cookie-a"), 1001),
            Solicited::ThisBrowser
        );
        assert_eq!(
            s.solicited("_r1", Some("cookie-b"), 1001),
            Solicited::OtherBrowser
        );
        assert_eq!(s.solicited("_r1", None, 1001), Solicited::OtherBrowser);
        assert_eq!(
            s.solicited("_r1", Some("cookie-a"), 1000 + OUTSTANDING_TTL_SECS),
            Solicited::Unknown
        );
        s.remove_outstanding("_r1");
        assert_eq!(
            s.solicited("_r1", Some("cookie-a"), 1001),
            Solicited::Unknown
        );
    }

    #[test]
    fn maps_stay_bounded() {
        let mut s = Store::default();
        // All entries stay live (the clock moves less than a TTL), so eviction must pick.
        let clock = |i: usize| (i / 100) as i64;
        for i in 0..MAX_OUTSTANDING + 10 {
            s.add_outstanding(&format!("_r{i}"), "c", clock(i));
        }
        assert_eq!(s.outstanding.len(), MAX_OUTSTANDING);
        // The newest survive, the oldest went first.
        let now = clock(MAX_OUTSTANDING + 10);
        assert_eq!(
            s.solicited(&format!("_r{}", MAX_OUTSTANDING + 9), Some("c"), now),
            Solicited::ThisBrowser
        );
        let evicted = (0..100)
            .filter(|i| s.solicited(&format!("_r{i}"), Some("c"), now) == Solicited::Unknown)
            .count();
        assert_eq!(evicted, 10);
        for i in 0..MAX_SESSIONS + 10 {
            s.new_session(&format!("u{i}"), clock(i));
        }
        assert_eq!(s.sessions.len(), MAX_SESSIONS);
    }

    #[test]
    fn replay_cache_refuses_rather_than_forgets() {
        let mut s = Store::default();
        for i in 0..MAX_REPLAY {
            s.record_assertion(&format!("_a{i}"), 10_000, 0).unwrap();
        }
        assert_eq!(
            s.record_assertion("_new", 10_000, 0),
            Err(StoreError::ReplayCacheFull)
        );
        assert!(s.seen("_a0", 1));
        // Once entries expire there is room again.
        let later = REPLAY_MAX_TTL_SECS + 1;
        assert!(!s.seen("_a0", later));
        s.record_assertion("_new", later + 60, later).unwrap();
        assert!(s.seen("_new", later));
    }

    #[test]
    fn deactivation_is_case_insensitive_and_ends_sessions() {
        let mut s = Store::default();
        let p = Profile {
            name_id: "Ada@Example.test".into(),
            ..Profile::default()
        };
        s.upsert_account(&p).unwrap();
        let token = s.new_session(&p.name_id, 0);
        assert!(s.session_account(&token, 1).is_some());
        s.deactivate("ada@example.test");
        assert!(s.is_deactivated("ADA@example.test"));
        assert!(s.session_account(&token, 1).is_none());
        assert_eq!(s.user_names(), vec!["Ada@Example.test".to_string()]);
    }
}
