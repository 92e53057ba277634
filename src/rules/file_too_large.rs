use anyhow::Result;

use super::{Context, Rule, RuleInfo, declare_rule};
use crate::finding::{Finding, Location};
use crate::kep::human_size;

declare_rule! {
    /// ## What it checks
    /// A KEP's files are of a size kepguard reads: `kep.yaml` at most 1 MiB, `README.md` (or a
    /// legacy single-file KEP) at most 10 MiB. The size comes from git's object header, so an
    /// oversized file is never read. While a file is over its cap, the rules that would read it
    /// skip the KEP, and the lifecycle rules skip it for either file.
    ///
    /// ## Why
    /// Real KEP metadata is a few KiB and the largest READMEs under 200 KiB. A file many
    /// times that size is a mistake (a log, a binary or generated output committed by accident)
    /// or an attempt to make every check of the repository slow; reading it would cost each
    /// check, hook and CI run the memory and time it takes.
    ///
    /// ## How to fix
    /// Remove what does not belong in the file. Move large material (logs, data, diagrams) out of
    /// the KEP and link to it; keep images as separate files next to the README.
    INFO, "file-too-large", Error, "kep.yaml is at most 1 MiB and README.md at most 10 MiB"
}

pub struct FileTooLarge;

impl Rule for FileTooLarge {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn snapshot(&self) -> bool {
        true
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some(new) = &cx.diff.new else { return Ok(()) };
        for file in &new.oversized {
            let name = file.path.rsplit('/').next().unwrap_or(&file.path);
            out.push(cx.finding(
                &INFO,
                Location {
                    path: file.path.clone(),
                    line: None,
                    snippet: None,
                },
                format!(
                    "{}: {name} is {}, over the {} kepguard reads",
                    cx.kep_name(),
                    human_size(file.size),
                    human_size(file.cap)
                ),
                format!(
                    "bring {name} under {}: move large material (logs, data, generated text) out of the KEP and link to it",
                    human_size(file.cap)
                ),
            ));
        }
        Ok(())
    }
}
