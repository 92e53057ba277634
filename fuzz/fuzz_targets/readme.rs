#![no_main]

use kepguard::kep::metadata::split_front_matter;
use kepguard::kep::readme::{Readme, gained_line, section_gained_line, visible_lines};
use libfuzzer_sys::fuzz_target;

const TITLES: [&str; 4] = [
    "Implementation History",
    "Summary",
    "Production Readiness Review Questionnaire",
    "",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    // `Readme::parse` takes a char boundary within the text, as `split_front_matter` returns.
    let boundary = |n: usize| {
        (0..=n.min(text.len()))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0)
    };
    let seed = data.iter().take(2).fold(0usize, |acc, &b| acc << 8 | usize::from(b));
    let mut starts = vec![0, boundary(seed)];
    starts.extend(split_front_matter(&text).map(|(_, _, body)| body));
    for start in starts {
        exercise(&Readme::parse(text.clone(), start));
    }

    let mid = boundary(text.len() / 2);
    let old = Readme::parse(text[..mid].to_owned(), 0);
    let new = Readme::parse(text[mid..].to_owned(), 0);
    for title in TITLES {
        let _ = section_gained_line(Some(&old), &new, title);
        let _ = section_gained_line(None, &new, title);
    }
    let lines = |r: &Readme| visible_lines(r.text());
    let _ = gained_line(&lines(&old), &lines(&new));
});

fn exercise(r: &Readme) {
    // A few headings suffice: looking each one up by title is quadratic in long inputs.
    for h in r.headings().iter().take(8) {
        let _ = r.line_text(h.line);
        if let Some(s) = r.section(&h.title) {
            let _ = visible_lines(s.body);
        }
    }
    if let Some(s) = r.section("Implementation History") {
        let _ = visible_lines(s.body);
    }
    for s in r
        .subsections("Feature Enablement and Rollback", 6)
        .into_iter()
        .flatten()
    {
        let _ = visible_lines(s.body);
    }
    for n in [0, 1, 2, usize::MAX] {
        let _ = r.line_text(n);
    }
}
