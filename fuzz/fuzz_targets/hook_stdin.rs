#![no_main]

use kepguard::hook::pre_receive::parse_updates;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_updates(&String::from_utf8_lossy(data));
});
