//! A readiness report in four formats: a table and rustc-style details for people, JSON
//! (`kepguard/readiness/v1`) and CSV for tools and the tracking spreadsheet, and Markdown with a
//! comment per KEP ready to paste on its enhancement issue.

use std::io::Write;

use anyhow::Result;
use clap::ValueEnum;
use serde::Serialize;

use super::{CRITERIA, Checked, KepReadiness, Outcome, Readiness, Verdict};
use crate::finding::{Finding, Location, Severity, plural};

/// The name of the JSON document kind.
pub const SCHEMA: &str = "kepguard/readiness/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Csv,
}

pub fn render(r: &Readiness, format: Format, color: bool, out: &mut dyn Write) -> Result<()> {
    match format {
        Format::Human => human(r, color, out),
        Format::Json => json(r, out),
        Format::Markdown => markdown(r, out),
        Format::Csv => csv(r, out),
    }
}

/// The line that sums a run up.
pub fn summary_line(r: &Readiness) -> String {
    format!(
        "{} for {} {}: {} tracked, {} at risk, {} with an exception",
        plural(r.keps.len(), "KEP"),
        r.release,
        r.freeze.words(),
        r.count(Verdict::Tracked),
        r.count(Verdict::AtRisk),
        r.count(Verdict::Exception),
    )
}

fn failing_ids(k: &KepReadiness) -> Vec<&'static str> {
    k.failed().map(|c| c.criterion).collect()
}

/// A title without the KEP's name the rules put first: the reports name the KEP once.
fn bare<'t>(k: &KepReadiness, title: &'t str) -> &'t str {
    title.strip_prefix(&format!("{}: ", name(k))).unwrap_or(title)
}

fn name(k: &KepReadiness) -> String {
    match k.number.is_empty() {
        true => k.path.clone(),
        false => format!("KEP-{}", k.number),
    }
}

fn human(r: &Readiness, color: bool, out: &mut dyn Write) -> Result<()> {
    let rows: Vec<[String; 5]> = r
        .keps
        .iter()
        .map(|k| {
            [
                k.sig.clone(),
                name(k),
                k.stage.clone().unwrap_or_else(|| "-".into()),
                k.verdict.as_str().to_owned(),
                failing_ids(k).join(", "),
            ]
        })
        .collect();
    let header = ["SIG", "KEP", "STAGE", "VERDICT", "FAILING"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            match i {
                4 => s.push_str(cell),
                _ => s.push_str(&format!("{cell:<w$}  ")),
            }
        }
        s.trim_end().to_owned()
    };
    writeln!(out, "{}", line(header))?;
    for row in &rows {
        writeln!(out, "{}", line([&row[0], &row[1], &row[2], &row[3], &row[4]]))?;
    }
    writeln!(out)?;
    let findings: Vec<Finding> = r.keps.iter().flat_map(|k| as_findings(r, k)).collect();
    crate::report::human::render_findings(&findings, color, out)?;
    for n in &r.unknown {
        writeln!(out, "note: no KEP numbered {n} at {}", r.rev)?;
    }
    writeln!(out, "{}", summary_line(r))?;
    Ok(())
}

/// A KEP's failed required criteria as findings, for the rustc-style renderer; an excepted KEP's
/// as warnings.
fn as_findings(r: &Readiness, k: &KepReadiness) -> Vec<Finding> {
    k.failed()
        .filter_map(|c| match &c.outcome {
            Outcome::Failed {
                title,
                help,
                path,
                line,
                snippet,
            } => Some(Finding {
                rule: c.criterion,
                severity: match k.verdict {
                    Verdict::Exception => Severity::Warning,
                    _ => Severity::Error,
                },
                commit: r.commit,
                kep: k.path.clone(),
                number: k.number.clone(),
                location: Location {
                    path: path.clone(),
                    line: *line,
                    snippet: snippet.clone(),
                },
                title: format!("{}: {}", name(k), bare(k, title)),
                help: help.clone(),
                fix: None,
                notes: k
                    .exception
                    .iter()
                    .map(|e| format!("exception {} ({})", e.status, e.name.as_deref().unwrap_or("no name")))
                    .collect(),
            }),
            _ => None,
        })
        .collect()
}

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    version: &'static str,
    release: String,
    freeze: &'static str,
    rev: &'a str,
    commit: String,
    counts: Counts,
    criteria: Vec<CriterionDoc>,
    keps: &'a [KepReadiness],
    unknown: &'a [String],
}

#[derive(Serialize)]
struct Counts {
    keps: usize,
    tracked: usize,
    at_risk: usize,
    exception: usize,
}

#[derive(Serialize)]
struct CriterionDoc {
    id: &'static str,
    summary: &'static str,
    source: &'static str,
}

fn json(r: &Readiness, out: &mut dyn Write) -> Result<()> {
    let doc = Document {
        schema: SCHEMA,
        version: env!("CARGO_PKG_VERSION"),
        release: r.release.to_string(),
        freeze: r.freeze.as_str(),
        rev: &r.rev,
        commit: r.commit.to_string(),
        counts: Counts {
            keps: r.keps.len(),
            tracked: r.count(Verdict::Tracked),
            at_risk: r.count(Verdict::AtRisk),
            exception: r.count(Verdict::Exception),
        },
        criteria: CRITERIA
            .iter()
            .map(|c| CriterionDoc {
                id: c.id,
                summary: c.summary,
                source: c.source,
            })
            .collect(),
        keps: &r.keps,
        unknown: &r.unknown,
    };
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

fn csv(r: &Readiness, out: &mut dyn Write) -> Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record([
        "kep",
        "title",
        "sig",
        "stage",
        "status",
        "latest_milestone",
        "graduating",
        "verdict",
        "failing",
        "exception",
        "link",
    ])?;
    for k in &r.keps {
        w.write_record([
            k.number.as_str(),
            &k.title,
            &k.sig,
            k.stage.as_deref().unwrap_or(""),
            k.status.as_deref().unwrap_or(""),
            k.latest_milestone.as_deref().unwrap_or(""),
            if k.graduating { "yes" } else { "no" },
            k.verdict.as_str(),
            &failing_ids(k).join(";"),
            k.exception.as_ref().map_or("", |e| e.status.as_str()),
            &r.link(&k.path),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Markdown: a summary table, then per KEP a comment in the shape of the Release Team's templates
/// (communication-templates.md), to paste on its enhancement issue.
fn markdown(r: &Readiness, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "## {} readiness for {} {}\n",
        r.release,
        r.freeze.words(),
        short(r)
    )?;
    writeln!(out, "{}\n", summary_line(r))?;
    writeln!(out, "| KEP | Title | SIG | Stage | Verdict | Failing |")?;
    writeln!(out, "| --- | --- | --- | --- | --- | --- |")?;
    for k in &r.keps {
        writeln!(
            out,
            "| [{}]({}) | {} | {} | {} | {} | {} |",
            name(k),
            r.link(&k.path),
            cell(&k.title),
            cell(&k.sig),
            k.stage.as_deref().map(cell).unwrap_or_default(),
            verdict_words(k.verdict),
            failing_ids(k)
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
        )?;
    }
    for n in &r.unknown {
        writeln!(out, "\nNo KEP is numbered {n} at `{}`.", r.rev)?;
    }
    for k in &r.keps {
        writeln!(
            out,
            "\n### {}: {} ({})\n",
            name(k),
            cell(&k.title),
            verdict_words(k.verdict)
        )?;
        writeln!(out, "````markdown\n{}````", comment(r, k))?;
    }
    Ok(())
}

fn short(r: &Readiness) -> String {
    format!("at `{}` ({})", r.rev, r.commit.to_hex_with_len(12))
}

fn verdict_words(v: Verdict) -> &'static str {
    match v {
        Verdict::Tracked => "tracked",
        Verdict::AtRisk => "at risk",
        Verdict::Exception => "exception",
    }
}

/// Text for a table cell: one line, no pipe.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The comment for one KEP's issue.
fn comment(r: &Readiness, k: &KepReadiness) -> String {
    let mut s = String::new();
    let owners = match k.authors.is_empty() {
        true => "there".to_owned(),
        false => k
            .authors
            .iter()
            .map(|a| format!("@{}", a.trim_start_matches('@')))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let release = r.release.to_string();
    let release = release.trim_start_matches('v');
    s.push_str(&format!("Hello {owners} 👋, v{release} Enhancements team here.\n\n"));
    s.push_str(&format!("Just checking in as we approach {}.\n\n", r.freeze.words()));
    if let Some(stage) = &k.stage {
        s.push_str(&format!(
            "This enhancement is targeting stage `{stage}` for v{release} (correct me, if otherwise)\n\n"
        ));
    }
    s.push_str("Here's where this enhancement currently stands:\n\n");
    for c in k.criteria.iter().filter(|c| c.required || c.outcome.is_failed()) {
        if let Outcome::NotApplicable { .. } = c.outcome {
            continue;
        }
        let advisory = if c.required { "" } else { " (not required)" };
        s.push_str(&format!("- {} {}{advisory}\n", c.outcome.mark(), item(r, k, c)));
    }
    let failed: Vec<&Checked> = k.failed().collect();
    if !failed.is_empty() {
        s.push_str("\nFor this KEP, we would just need to update the following:\n");
        for c in &failed {
            if let Outcome::Failed {
                title,
                help,
                path,
                line,
                ..
            } = &c.outcome
            {
                let at = match line {
                    Some(l) => format!("{}#L{l}", r.link(path)),
                    None => r.link(path),
                };
                s.push_str(&format!("- [{}]({at}): {}; {help}\n", file_name(path), bare(k, title)));
            }
        }
    }
    let status = match k.verdict {
        Verdict::Tracked => format!("Tracked for {}", r.freeze.words()),
        Verdict::AtRisk => format!("At risk for {}", r.freeze.words()),
        Verdict::Exception => "Exception Approved".to_owned(),
    };
    s.push_str(&format!(
        "\nThe status of this enhancement is marked as `{status}`. Please keep the issue description up-to-date with appropriate stages as well.\n"
    ));
    if k.verdict == Verdict::AtRisk {
        s.push_str("\nIf you anticipate missing the freeze, you can file an [exception request](https://github.com/kubernetes/sig-release/blob/master/releases/EXCEPTIONS.md) in advance. Thank you!\n");
    } else {
        s.push_str("\nThank you!\n");
    }
    s
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A checklist line for a criterion, in the templates' words where they have one.
fn item(r: &Readiness, k: &KepReadiness, c: &Checked) -> String {
    let readme = format!("[KEP readme]({})", r.link(&k.readme));
    let yaml = format!("[kep.yaml]({})", r.link(&k.metadata));
    match c.criterion {
        "metadata" => format!("{yaml} passes `hack/verify-kep-metadata.sh`."),
        "status" => format!(
            "KEP status is marked as `implementable` for `latest-milestone: {}`.",
            r.release
        ),
        "milestones" => format!(
            "{yaml} has `stage`, `latest-milestone` and `milestone` filled out for {}.",
            r.release
        ),
        "prr-approval" => {
            "KEP has a PRR approval file with the PRR approver listed for the stage the KEP is targeting.".to_owned()
        }
        "prr-answers" => format!("{readme} has the PRR questionnaire filled out for the stage."),
        "template" => format!(
            "{readme} uses the [latest template](https://github.com/kubernetes/enhancements/tree/master/keps/NNNN-kep-template)."
        ),
        "test-plan" => format!("{readme} has an updated detailed Test Plan section filled out."),
        "graduation-criteria" => format!("{readme} has up-to-date graduation criteria."),
        "implementation-history" => format!("{readme} has an Implementation History entry for {}.", r.release),
        "signoff-checklist" => format!("{readme} has every (R) item of the Release Signoff Checklist checked."),
        "changed-since" => "KEP has a production readiness review updated for this cycle.".to_owned(),
        other => other.to_owned(),
    }
}
