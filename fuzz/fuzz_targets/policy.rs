#![no_main]

use kepguard::policy::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = Policy::parse(&String::from_utf8_lossy(data), ".kepguard.yaml") {
        for id in ["implementation-history", "stage-regression", "no-such-rule"] {
            let _ = (policy.level(id), policy.since(id));
        }
    }
});
