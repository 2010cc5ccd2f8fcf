//! Document loading: arbitrary text through `workflow::load` (YAML/JSON loader, JSON Schema
//! validation, model, semantic checks, expression compilation). Errors are fine; a panic, a
//! stack overflow or a hang is a bug.
//!
//! `NAGARE_FUZZ_DEBUG=1` prints each input's verdict (to check that seeds load).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("NAGARE_FUZZ_DEBUG").is_some())
}

fuzz_target!(|data: &[u8]| {
    // Workflow files are text; lossy decoding keeps every input useful to the fuzzer.
    let text = String::from_utf8_lossy(data);
    let verdict = nagare::workflow::load("fuzz.yaml", &text);
    if debug() {
        match verdict {
            Ok(_) => eprintln!("loaded"),
            Err(problems) => problems.iter().for_each(|p| eprintln!("{p}")),
        }
    }
});
