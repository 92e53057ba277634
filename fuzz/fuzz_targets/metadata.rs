#![no_main]

use kepguard::kep::metadata::{Metadata, MetadataError, Milestone, render_scalar, split_front_matter, values_equal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    exercise(Metadata::parse(&text, 0));
    if let Some((yaml, offset, body_start)) = split_front_matter(&text) {
        // The engine hands this offset to `Readme::parse`, which slices the text there.
        assert!(
            text.is_char_boundary(body_start),
            "body start {body_start} is not a char boundary"
        );
        exercise(Metadata::parse(yaml, offset));
    }
    let _ = Milestone::parse(&text);
});

fn exercise(parsed: Result<Metadata, MetadataError>) {
    let m = match parsed {
        Ok(m) => m,
        Err(e) => {
            let _ = (e.message, e.line, e.snippet);
            return;
        }
    };
    for key in m.keys() {
        let value = m.get(&key);
        let _ = (
            m.scalar(&key),
            value.and_then(render_scalar),
            values_equal(value, value),
        );
        if let Some(line) = m.key_line(&[&key]) {
            let _ = m.line_text(line);
        }
    }
    let _ = (m.scalar("status"), m.stage().valid(), m.status());
    let _ = (
        m.milestone("latest-milestone", None),
        m.milestone("milestone", Some("beta")),
    );
    let _ = m.nested_scalar("milestone", "stable");
    for path in [&[][..], &["status"], &["milestone", "beta"], &["milestone", "missing"]] {
        if let Some(line) = m.key_line(path) {
            let _ = (m.line_text(line), m.line_text(line + 1));
        }
    }
    for n in [0, 1, 2, 3, usize::MAX] {
        let _ = m.line_text(n);
    }
}
