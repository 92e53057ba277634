use anyhow::Result;

use super::{Context, Rule, RuleInfo, declare_rule, metadata_location};
use crate::finding::{Finding, Location};
use crate::kep::MetadataState;
use crate::kep::metadata::{Stage, StageValue};

declare_rule! {
    /// ## What it checks
    /// The metadata of a KEP a change touches (`kep.yaml`, or a legacy KEP's front matter) is
    /// usable: it is a regular file (not a symlink, directory or submodule), it parses as a YAML
    /// mapping, and `stage`, when set, is one of alpha, beta, stable, deprecated, disabled or
    /// removed.
    ///
    /// ## Why
    /// Every other rule, and the release tooling, reads these values. Metadata that does not parse
    /// silently switches those checks off for the KEP.
    ///
    /// ## How to fix
    /// Fix the YAML at the line shown (indentation, an unclosed quote or bracket, a tab), or set
    /// `stage` to one of the valid values.
    INFO, "kep-metadata", Error, "KEP metadata parses and holds valid values"
}

pub struct KepMetadata;

impl Rule for KepMetadata {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some(new) = &cx.diff.new else { return Ok(()) };
        let path = new.kep.metadata_path();
        match &new.metadata {
            MetadataState::Missing => {}
            MetadataState::NotAFile => out.push(cx.finding(
                &INFO,
                Location {
                    path: path.clone(),
                    line: None,
                    snippet: None,
                },
                format!("{}: {path} is not a regular file", cx.kep_name()),
                "replace it with a regular file holding the KEP's metadata".into(),
            )),
            MetadataState::Invalid(e) => out.push(cx.finding(
                &INFO,
                Location {
                    path: path.clone(),
                    line: e.line,
                    snippet: e.snippet.clone(),
                },
                format!("{}: {path} is not valid KEP metadata: {}", cx.kep_name(), e.message),
                "fix the YAML so that it parses as a mapping of KEP fields".into(),
            )),
            MetadataState::Parsed(meta) => {
                if let StageValue::Invalid(value) = meta.stage() {
                    let valid = Stage::ALL.map(Stage::as_str).join(", ");
                    out.push(cx.finding(
                        &INFO,
                        metadata_location(new, Some(meta), &["stage"]),
                        format!("{}: invalid stage `{value}`", cx.kep_name()),
                        format!("set `stage` to one of: {valid}"),
                    ));
                }
            }
        }
        Ok(())
    }
}
