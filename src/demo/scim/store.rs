//! In-memory storage of Users and Groups, in creation order (which is the order lists
//! are served in, so paging is stable).

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::jsonci;
use super::schema::Kind;

/// One stored resource. `attrs` holds the client-writable attributes only; `id`,
/// `meta`, the `$ref`s and a user's `groups` are derived when rendering.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// Starts at 1, bumped by every change; the entity tag is `W/"<version>"`.
    pub version: u64,
    pub attrs: Map<String, Value>,
}

impl Resource {
    /// Stores new attributes as a new version.
    pub fn update(&mut self, attrs: Map<String, Value>) {
        self.attrs = attrs;
        self.version += 1;
        self.last_modified = OffsetDateTime::now_utc().max(self.last_modified);
    }

    pub fn str_attr(&self, name: &str) -> Option<&str> {
        jsonci::get(&self.attrs, name).and_then(Value::as_str)
    }
}

#[derive(Debug, Default)]
pub struct Store {
    users: Vec<Resource>,
    groups: Vec<Resource>,
    /// List requests served so far (the `scim-unstable-paging` break alternates on it),
    /// keyed by resource kind and filter, so that repeating one query alternates its order
    /// whatever other clients list in between.
    pub lists_served: std::collections::HashMap<String, u64>,
}

impl Store {
    pub fn all(&self, kind: Kind) -> &[Resource] {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        }
    }

    fn all_mut(&mut self, kind: Kind) -> &mut Vec<Resource> {
        match kind {
            Kind::User => &mut self.users,
            Kind::Group => &mut self.groups,
        }
    }

    pub fn get(&self, kind: Kind, id: &str) -> Option<&Resource> {
        self.all(kind).iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, kind: Kind, id: &str) -> Option<&mut Resource> {
        self.all_mut(kind).iter_mut().find(|r| r.id == id)
    }

    /// The kind of the resource with this id, if any.
    pub fn kind_of(&self, id: &str) -> Option<Kind> {
        [Kind::User, Kind::Group]
            .into_iter()
            .find(|&k| self.get(k, id).is_some())
    }

    pub fn insert(&mut self, kind: Kind, attrs: Map<String, Value>) -> &Resource {
        let now = OffsetDateTime::now_utc();
        let list = self.all_mut(kind);
        list.push(Resource {
            id: new_id(),
            created: now,
            last_modified: now,
            version: 1,
            attrs,
        });
        &list[list.len() - 1]
    }

    /// Deletes a resource and every group membership that points at it, so no group
    /// is left naming a member that no longer exists.
    pub fn remove(&mut self, kind: Kind, id: &str) -> bool {
        let list = self.all_mut(kind);
        let before = list.len();
        list.retain(|r| r.id != id);
        if list.len() == before {
            return false;
        }
        for group in &mut self.groups {
            let Some(Value::Array(members)) = jsonci::get(&group.attrs, "members") else {
                continue;
            };
            let kept: Vec<Value> = members
                .iter()
                .filter(|m| m.get("value").and_then(Value::as_str) != Some(id))
                .cloned()
                .collect();
            if kept.len() != members.len() {
                let mut attrs = group.attrs.clone();
                if kept.is_empty() {
                    jsonci::remove(&mut attrs, "members");
                } else {
                    jsonci::insert(&mut attrs, "members", Value::Array(kept));
                }
                group.update(attrs);
            }
        }
        true
    }

    /// Renames a resource (only the `scim-id-mutable` break does this).
    pub fn rename(&mut self, kind: Kind, id: &str, new_id: &str) {
        if let Some(r) = self.get_mut(kind, id) {
            r.id = new_id.to_string();
        }
    }
}

/// A random (version 4) UUID: ids must not be guessable or reused (RFC 7643 §3.1).
fn new_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn ids_are_uuids_and_unique() {
        let a = new_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, new_id());
    }

    #[test]
    fn removing_a_user_drops_its_memberships() {
        let mut s = Store::default();
        let u1 = s
            .insert(Kind::User, attrs(json!({"userName": "a"})))
            .id
            .clone();
        let u2 = s
            .insert(Kind::User, attrs(json!({"userName": "b"})))
            .id
            .clone();
        let g = s
            .insert(
                Kind::Group,
                attrs(json!({"displayName": "G", "members": [{"value": u1}, {"value": u2}]})),
            )
            .id
            .clone();
        assert!(s.remove(Kind::User, &u1));
        let group = s.get(Kind::Group, &g).expect("group");
        assert_eq!(group.attrs["members"], json!([{"value": u2}]));
        assert_eq!(group.version, 2);
        assert!(s.remove(Kind::User, &u2));
        assert!(
            s.get(Kind::Group, &g)
                .expect("group")
                .attrs
                .get("members")
                .is_none()
        );
        assert!(!s.remove(Kind::User, &u2));
    }
}
