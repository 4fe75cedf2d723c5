//! Reporters: the terminal view (live, from events) and the files (JUnit, JSON, artifacts),
//! which are pure functions of the finished [`RunReport`](crate::run::RunReport).

pub mod artifacts;
pub mod catalogue;
pub mod github;
pub mod html;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod terminal;
pub mod text;
mod write;

pub use write::write_atomically;
