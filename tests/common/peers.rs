//! Support shared by the opt-in peer tests (`peer_scim2_server`, `peer_saml_sps`): ports,
//! artifact listing, and the verdict tables that pin a real peer's outcome per test id.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// Every file under `dir`, recursively (symlinked directories not followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                out.push(entry.path());
            }
        }
    }
    out
}

/// Whether an expected outcome (`"fail"`, or alternatives like `"pass|fail"`) admits `got`.
pub fn admits(expected: &str, got: &str) -> bool {
    expected.split('|').any(|o| o == got)
}

/// The observed outcomes as a Rust table, keeping the rows (and reasons) that still hold.
pub fn render_table(
    name: &str,
    expected: &[(&str, &str, &str)],
    observed: &BTreeMap<String, (String, String)>,
) -> String {
    let known: BTreeMap<&str, (&str, &str)> =
        expected.iter().map(|(id, o, r)| (*id, (*o, *r))).collect();
    let mut s = format!("const {name}: &[(&str, &str, &str)] = &[\n");
    for (id, (outcome, message)) in observed {
        let (outcome, reason) = match known.get(id.as_str()) {
            Some((o, r)) if admits(o, outcome) => ((*o).to_string(), (*r).to_string()),
            _ if outcome == "pass" => (outcome.clone(), String::new()),
            _ => (outcome.clone(), format!("TODO investigate: {message}")),
        };
        if outcome == "pass" {
            writeln!(s, "    ({id:?}, \"pass\", \"\"),").unwrap();
        } else {
            writeln!(
                s,
                "    (\n        {id:?},\n        {outcome:?},\n        {reason:?},\n    ),"
            )
            .unwrap();
        }
    }
    s.push_str("];\n");
    s
}
