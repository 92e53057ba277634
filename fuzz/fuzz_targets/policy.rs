#![no_main]

use kepguard::policy::Policy;
use kepguard::rules::{self, PrrSince};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = Policy::parse(&String::from_utf8_lossy(data), ".kepguard.yaml") {
        for id in ["implementation-history", "stage-regression", "no-such-rule"] {
            let _ = policy.level(id);
        }
        // Every rule's options were parsed into its own type.
        let _ = policy.options::<PrrSince>("prr-approval").since;
        let _ = policy.options::<rules::implementation_history::Options>("implementation-history").when;
        let _ = policy.kepval;
    }
});
