//! The heading scanner against a full pulldown-cmark parse, on every README blob of the real KEP
//! history (`../shared/corpus/`, where present): wherever the scanner is sure, it must agree.
//! Prints, and writes to `target/heading-scanner.txt`, how often it had to fall back.

mod common;

use common::{clone_corpus, corpus_blobs};
use kepguard::kep::readme::{pulldown_bold_labels, pulldown_headings, scan_bold_labels, scan_headings};

/// A KEP README path: `keps/**/README.md`, or a legacy `keps/<group>/<name>.md`.
fn is_readme(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.first() == Some(&"keps")
        && (parts.last() == Some(&"README.md") || (parts.len() == 3 && parts[2].ends_with(".md")))
}

#[test]
fn scanner_agrees_with_pulldown_on_every_corpus_readme() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let blobs = corpus_blobs(&repo, is_readme);
    assert!(blobs.len() > 1000, "only {} README blobs", blobs.len());

    // Two halves in parallel: a debug build parses every blob twice.
    let (a, b) = blobs.split_at(blobs.len() / 2);
    // Headings, and the bold labels that open paragraphs (read from the scanner's paragraphs).
    let check = |part: &[(String, String)]| -> (usize, usize, usize, Vec<String>) {
        let (mut sure, mut labels_sure, mut labelled) = (0, 0, 0);
        let mut wrong = Vec::new();
        for (name, text) in part {
            if let Some(got) = scan_headings(text) {
                sure += 1;
                let want = pulldown_headings(text);
                if got != want {
                    wrong.push(format!("{name}:\n  scanner:  {got:?}\n  pulldown: {want:?}"));
                }
            }
            if let Some(got) = scan_bold_labels(text) {
                labels_sure += 1;
                let want = pulldown_bold_labels(text);
                labelled += usize::from(!want.is_empty());
                if got != want {
                    wrong.push(format!(
                        "{name} (bold labels):\n  scanner:  {got:?}\n  pulldown: {want:?}"
                    ));
                }
            }
        }
        (sure, labels_sure, labelled, wrong)
    };
    let (first, second) = std::thread::scope(|s| {
        let h = s.spawn(|| check(a));
        (check(b), h.join().unwrap())
    });
    let sure = first.0 + second.0;
    let labels_sure = first.1 + second.1;
    let labelled = first.2 + second.2;
    let wrong: Vec<String> = first.3.into_iter().chain(second.3).collect();

    let fallback = blobs.len() - sure;
    let report = format!(
        "README blobs: {}\nhandled by the scanner: {sure}\nfell back to pulldown-cmark: {fallback} ({:.2}%)\n\
         bold labels read from the scanner's paragraphs: {labels_sure} ({:.2}% fell back), \
         {labelled} of them with labels\n",
        blobs.len(),
        100.0 * fallback as f64 / blobs.len() as f64,
        100.0 * (blobs.len() - labels_sure) as f64 / blobs.len() as f64
    );
    print!("{report}");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("heading-scanner.txt"), &report).unwrap();
    assert!(labelled > 500, "only {labelled} READMEs with bold labels compared");
    assert!(
        wrong.is_empty(),
        "{} blobs differ:\n{}",
        wrong.len(),
        wrong.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}
