//! kepval's decoding read from the already parsed metadata against decoding the text again, on
//! every `kep.yaml` blob of the real KEP history (`../shared/corpus/`, where present): wherever
//! the parsed document is used, the result must be the text's. Prints how often it was used.

mod common;

use common::{clone_corpus, corpus_blobs};
use kepguard::kep::kepval::{decode_proposal, from_parsed};
use kepguard::kep::metadata::Metadata;

fn check(name: &str, text: &str, wrong: &mut Vec<String>, parsed: &mut usize) {
    let Ok(meta) = Metadata::parse(text, 0) else { return };
    for artefacts in [false, true] {
        let got = format!("{:?}", meta.kepval(artefacts));
        let want = format!("{:?}", decode_proposal(text.as_bytes(), artefacts));
        if got != want {
            wrong.push(format!(
                "{name} (artefacts {artefacts}):\n  parsed: {got}\n  text:   {want}"
            ));
        }
        let served = from_parsed(meta.mapping(), text, artefacts).is_some();
        *parsed += usize::from(served);
        if !served && std::env::var_os("SHOW_TEXT_DECODES").is_some() {
            eprintln!("TEXT {name} {artefacts}");
        }
    }
}

#[test]
fn the_parsed_document_decodes_as_the_text_on_every_corpus_kep_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let blobs = corpus_blobs(&repo, |path| path.starts_with("keps/") && path.ends_with("/kep.yaml"));
    assert!(blobs.len() > 1000, "only {} kep.yaml blobs", blobs.len());
    let (mut wrong, mut parsed) = (Vec::new(), 0);
    for (name, text) in &blobs {
        check(name, text, &mut wrong, &mut parsed);
    }
    println!(
        "kep.yaml blobs: {}; decoded from the parsed document: {parsed} of {} decodings",
        blobs.len(),
        2 * blobs.len()
    );
    // The rest are mostly documents kepval rejects (an unknown `prr-approvers` key in 2021): its
    // message and line come from the text.
    assert!(
        parsed * 4 > 2 * blobs.len() * 3,
        "only {parsed} of {} decodings used the parsed document",
        2 * blobs.len()
    );
    assert!(
        wrong.is_empty(),
        "{} decodings differ:\n{}",
        wrong.len(),
        wrong.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Documents where only the text can say, and ones the parsed document serves.
#[test]
fn numbers_tags_and_reader_artefacts_go_to_the_text() {
    let base = "title: T\nkep-number: 1287\nauthors: [\"@a\"]\nowning-sig: sig-x\napprovers: [\"@b\"]\nstatus: implementable\n";
    let cases: &[(&str, bool, bool)] = &[
        // (text, artefacts, served from the parsed document)
        (base, false, true),
        (base, true, true),
        ("kep-number: 1287 # the number\ntitle: T\n", false, true),
        // A leading zero makes it a string, as written, to both.
        ("kep-number: 01287\ntitle: T\n", false, true),
        // A Go string keeps the number as written.
        ("latest-milestone: 1.30\n", false, false),
        ("kep-number: 0x507\n", false, false),
        ("kep-number:\n  1287\n", false, false),
        ("milestone:\n  alpha: 1.30\n", false, false),
        ("reviewers: [1234]\n", false, false),
        ("title: !!str T\n", false, true),
        ("title: !custom T\n", false, false),
        ("a: &x {title: T}\n<<: *x\n", false, false),
        // kepval's line reader cuts at `---` and reads `\r` away.
        ("title: T\n---\n", true, false),
        ("title: T\n---\n", false, true),
        ("title: T\r\n", true, false),
        ("title: T\r\n", false, true),
        ("{}\n# only a comment\n", false, true),
    ];
    for &(text, artefacts, served) in cases {
        let meta = Metadata::parse(text, 0).unwrap();
        let got = from_parsed(meta.mapping(), text, artefacts);
        assert_eq!(got.is_some(), served, "{text:?} (artefacts {artefacts})");
        assert_eq!(
            format!("{:?}", meta.kepval(artefacts)),
            format!("{:?}", decode_proposal(text.as_bytes(), artefacts)),
            "{text:?} (artefacts {artefacts})"
        );
    }
}
