#![no_main]

use kepguard::event::plan;
use libfuzzer_sys::fuzz_target;

const EVENTS: [&str; 5] = [
    "pull_request",
    "pull_request_target",
    "push",
    "merge_group",
    "workflow_dispatch",
];

// The first byte picks the event (`0` to `4` in the seeds), the rest is its JSON payload.
fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let name = EVENTS[usize::from(first.wrapping_sub(b'0')) % EVENTS.len()];
    if let Ok(p) = plan(name, &payload) {
        let _ = (p.describe(name), p.machine());
    }
});
