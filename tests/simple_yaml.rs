//! The plain-YAML reader against `serde_yaml` on every YAML document of the real KEP history
//! (`../shared/corpus/`, where present): each `*.yaml` blob under `keps/`, `OWNERS_ALIASES`, and
//! the front matter of every Markdown file. Wherever the reader takes a document, its mapping
//! must be the one `serde_yaml` gives. Prints how many it took.

mod common;

use common::{clone_corpus, corpus_blobs};
use kepguard::kep::metadata::first_document;
use kepguard::kep::simple_yaml::mapping;
use serde_yaml::Value;

fn front_matter(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---")?;
    Some(&rest[..end + 1])
}

#[test]
fn the_reader_agrees_with_serde_yaml_on_every_corpus_document() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let blobs = corpus_blobs(&repo, |path| {
        path == "OWNERS_ALIASES"
            || path.starts_with("keps/") && (path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".md"))
    });
    let (mut kep_yaml, mut kep_yaml_taken, mut documents, mut taken) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    for (name, text) in &blobs {
        let source = if name.ends_with(".md") {
            match front_matter(text) {
                Some(source) => source,
                None => continue,
            }
        } else {
            text.as_str()
        };
        documents += 1;
        let is_kep_yaml = name.ends_with("/kep.yaml");
        kep_yaml += usize::from(is_kep_yaml);
        let Some(fast) = mapping(source) else {
            if std::env::var_os("SHOW_NOT_TAKEN").is_some() {
                eprintln!("NOT {name}");
            }
            continue;
        };
        taken += 1;
        kep_yaml_taken += usize::from(is_kep_yaml);
        let want = first_document(source).ok();
        if want.as_ref() != Some(&Value::Mapping(fast.clone())) {
            wrong.push(format!("{name}:\n  reader: {fast:?}\n  serde_yaml: {want:?}"));
        }
    }
    println!(
        "YAML documents: {documents}, taken by the reader: {taken}; kep.yaml: {kep_yaml}, taken: {kep_yaml_taken}"
    );
    assert!(
        wrong.is_empty(),
        "{} documents differ:\n{}",
        wrong.len(),
        wrong.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(kep_yaml > 1000, "only {kep_yaml} kep.yaml blobs");
    // Nearly every kep.yaml is plain block YAML; a drop here means the reader lost ground.
    assert!(
        kep_yaml_taken * 10 > kep_yaml * 9,
        "the reader took {kep_yaml_taken} of {kep_yaml} kep.yaml blobs"
    );
}
