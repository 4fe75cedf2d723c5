//! The values `{{...}}` placeholders see while a test runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::target::Target;
use crate::template::{Placeholder, RandomKind, Resolve};

const GIVEN_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Radia",
    "Ken",
    "Margaret",
    "Tim",
    "Hedy",
    "Claude",
    "Katherine",
    "Leslie",
    "Sophie",
];
const FAMILY_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Perlman",
    "Thompson",
    "Hamilton",
    "Berners-Lee",
    "Lamarr",
    "Shannon",
    "Johnson",
    "Lamport",
    "Wilson",
];

/// Test data is drawn from a generator seeded by the run seed *and* the test id, so a test
/// gets the same data whatever else runs and in whatever order (`--jobs` does not matter).
pub fn test_rng(seed: u64, test_id: &str) -> ChaCha8Rng {
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in test_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(seed ^ h)
}

pub struct Scope {
    pub seed: u64,
    pub target: Arc<Target>,
    /// Vars and captures of this test and of earlier tests in its sequence.
    pub names: BTreeMap<String, serde_json::Value>,
    pub rng: ChaCha8Rng,
}

impl Scope {
    /// `oinspect-<seed>`: every resource a run creates starts with it, so a vendor can find
    /// (and a later run can recognise) test data.
    pub fn prefix(&self) -> String {
        run_prefix(self.seed)
    }

    fn random(&mut self, kind: RandomKind) -> String {
        let given = GIVEN_NAMES[self.rng.random_range(0..GIVEN_NAMES.len())];
        let family = FAMILY_NAMES[self.rng.random_range(0..FAMILY_NAMES.len())];
        match kind {
            RandomKind::GivenName => given.to_string(),
            RandomKind::FamilyName => family.to_string(),
            RandomKind::Name => format!("{given} {family}"),
            RandomKind::Id => format!("{:08x}", self.rng.random::<u32>()),
            RandomKind::Email => format!(
                "{}-{}.{}{:04}@example.test",
                self.prefix(),
                given.to_ascii_lowercase(),
                family.to_ascii_lowercase(),
                self.rng.random_range(0..10_000u32)
            ),
            RandomKind::Uuid => {
                let mut b: [u8; 16] = self.rng.random();
                b[6] = (b[6] & 0x0f) | 0x40; // version 4
                b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
                format!(
                    "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                    b[0],
                    b[1],
                    b[2],
                    b[3],
                    b[4],
                    b[5],
                    b[6],
                    b[7],
                    b[8],
                    b[9],
                    b[10],
                    b[11],
                    b[12],
                    b[13],
                    b[14],
                    b[15]
                )
            }
        }
    }
}

pub fn run_prefix(seed: u64) -> String {
    format!("oinspect-{seed}")
}

impl Scope {
    /// The typed value of a var or capture, for a JSON string that is exactly one
    /// placeholder: `"{{ids}}"` compares as the captured array, not as its text.
    pub fn value_of(&self, placeholder: &Placeholder) -> Option<serde_json::Value> {
        match placeholder {
            Placeholder::Name(n) => self.names.get(n).cloned(),
            _ => None,
        }
    }
}

impl Resolve for Scope {
    fn resolve(&mut self, placeholder: &Placeholder) -> Option<String> {
        match placeholder {
            Placeholder::Random(kind) => Some(self.random(*kind)),
            Placeholder::Run("seed") => Some(self.seed.to_string()),
            Placeholder::Run(_) => Some(self.prefix()),
            Placeholder::User { name, field } => {
                let user = self.target.users.get(name)?;
                match *field {
                    "email" => Some(user.email.as_str().to_string()),
                    "given_name" => user.given_name.as_ref().map(|v| v.as_str().to_string()),
                    _ => user.family_name.as_ref().map(|v| v.as_str().to_string()),
                }
            }
            Placeholder::Target(field) => {
                let roles = self.target.scim.as_ref()?.roles.as_ref()?;
                match *field {
                    "roles.value1" => roles.values.first().map(|v| v.as_str().to_string()),
                    "roles.value2" => roles.values.get(1).map(|v| v.as_str().to_string()),
                    _ => roles.resource.as_ref().map(|v| v.as_str().to_string()),
                }
            }
            Placeholder::Name(n) => self.names.get(n).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_id_same_data() {
        let a: u64 = test_rng(42, "scim.users.create").random();
        let b: u64 = test_rng(42, "scim.users.create").random();
        let c: u64 = test_rng(42, "scim.users.get").random();
        let d: u64 = test_rng(43, "scim.users.create").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
