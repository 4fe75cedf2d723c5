//! Plan loading (`plan::load::load_plan_source`: YAML with positions and budgets, the plan
//! model, placeholders, expectations) and the rendering of its diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oinspect::diag::Source;
use oinspect::plan::load_plan_source;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source::new("fuzz.yaml", text);
    match load_plan_source(&source) {
        Ok(plan) => {
            let _ = format!("{plan:?}");
        }
        Err(d) => {
            let _ = d.to_string();
        }
    }
});
