//! The report page: inline CSS, SVG and a little script, nothing fetched, so that it reads the same
//! offline, from a CI artifact or a mail attachment.

use std::collections::{BTreeMap, HashMap};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::charts::{self, PALETTE, Series};
use super::figures::{self, Tally};
use crate::date::day_of;
use crate::finding::{Finding, Report, Severity, plural};
use crate::ledger::{CommitInfo, Entry, Event, KepLedger, Ledger, value};

/// What the page shows.
pub struct Page<'a> {
    pub report: &'a Report,
    pub ledger: &'a Ledger,
    /// The history covered, as given: `HEAD`, `v1.30..main since 2024-01-01`.
    pub range: &'a str,
    /// Commits link to this URL followed by their id.
    pub link_base: Option<&'a str>,
}

/// Findings listed per rule before the rest are folded away, to keep the page light.
const FINDINGS_SHOWN: usize = 100;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

impl Page<'_> {
    pub fn render(&self) -> String {
        let overall = figures::tally(&self.ledger.judged);
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { "KEP compliance report" }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    header {
                        h1 { "KEP compliance report" }
                        p.meta {
                            "The first-parent history of " code { (self.range) } ", "
                            (plural(self.report.commits_checked, "commit")) ", "
                            (self.span()) ". Judged by " (self.report.policy.as_deref().unwrap_or("the built-in defaults"))
                            "; kepguard " (env!("CARGO_PKG_VERSION")) "."
                        }
                        nav {
                            a href="#headline" { "Headline" } " · "
                            a href="#over-time" { "Over time" } " · "
                            a href="#per-sig" { "Per SIG" } " · "
                            a href="#per-kep" { "Per KEP" } " · "
                            a href="#findings" { "Findings" }
                        }
                    }
                    main {
                        (self.headline(&overall))
                        (self.over_time(&overall))
                        (self.per_sig())
                        (self.per_kep())
                        (self.findings())
                    }
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
        .into_string()
    }

    /// The dates of the first and last commit with a KEP change.
    fn span(&self) -> String {
        match (self.ledger.commits.first(), self.ledger.commits.last()) {
            (Some(a), Some(b)) => format!("KEP changes from {} to {}", day_of(a.time), day_of(b.time)),
            _ => "no KEP changes".to_owned(),
        }
    }

    fn headline(&self, overall: &BTreeMap<&'static str, Tally>) -> Markup {
        let history = figures::of(overall, "implementation-history");
        let prr = figures::of(overall, "prr-on-graduation");
        let backward = figures::backward_stage_moves(self.ledger);
        let flagged_backward = figures::of(overall, "stage-monotonic").flagged;
        let errors = self.report.count(Severity::Error);
        let warnings = self.report.count(Severity::Warning);
        html! {
            section #headline {
                h2 { "Headline" }
                div.cards {
                    (card("Commits", &self.report.commits_checked.to_string(), "on the first-parent line"))
                    (card("KEP changes", &self.report.keps_checked.to_string(), "a KEP's kep.yaml or README changed"))
                    (card(
                        "Lifecycle changes with an Implementation History entry",
                        &percent(&history),
                        &format!("{} of {} changes of status, stage or milestones", history.judged - history.flagged, history.judged),
                    ))
                    (card(
                        "Graduations that touched the PRR answers",
                        &percent(&prr),
                        &format!("{} of {} graduations targeting v1.21 or later", prr.judged - prr.flagged, prr.judged),
                    ))
                    (card(
                        "Backward stage moves",
                        &backward.to_string(),
                        &format!("{flagged_backward} reported by stage-monotonic (shipped, or planned release passed)"),
                    ))
                    (card("Findings", &(errors + warnings).to_string(), &format!("{} and {}", plural(errors, "error"), plural(warnings, "warning"))))
                }
                table.rules {
                    caption { "Findings per rule" }
                    thead { tr { th { "Rule" } th.num { "Errors" } th.num { "Warnings" } th.num { "Notes" } th { "What it checks" } } }
                    tbody {
                        @for (id, counts) in self.report.per_rule() {
                            tr {
                                td { a href={ "#rule-" (id) } { code { (id) } } }
                                td.num { (counts.errors) }
                                td.num { (counts.warnings) }
                                td.num { (counts.notes) }
                                td { (crate::rules::find(id).map_or("", |r| r.info().summary)) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn over_time(&self, overall: &BTreeMap<&'static str, Tally>) -> Markup {
        let quarters = figures::per_quarter(self.ledger);
        let labels: Vec<String> = quarters.iter().map(|(q, _)| q.clone()).collect();
        let shown = figures::judging_rules(overall);
        // One small chart per rule: rules that judge a handful of changes a quarter would swing
        // across a shared chart and hide the others.
        let compliance: Vec<(&str, String)> = shown
            .iter()
            .map(|rule| {
                let series = Series {
                    name: (*rule).to_owned(),
                    color: PALETTE[0],
                    points: quarters
                        .iter()
                        .map(|(_, t)| {
                            let t = figures::of(t, rule);
                            t.percent().map(|p| (p, t.judged))
                        })
                        .collect(),
                };
                let frame = charts::Frame {
                    title: rule,
                    y_label: "% without a finding",
                    size: (560, 240),
                    percent: true,
                };
                (*rule, charts::lines(&frame, &labels, &[series]))
            })
            .collect();
        let volume = |name: &str, i: usize, pick: fn(Tally) -> usize| Series {
            name: name.to_owned(),
            color: PALETTE[i],
            points: quarters
                .iter()
                .map(|(_, t)| {
                    let n = pick(figures::of(t, "implementation-history"));
                    Some((n as f64, n))
                })
                .collect(),
        };
        let volume_frame = charts::Frame {
            title: "Lifecycle changes per quarter",
            y_label: "changes",
            size: (1140, 300),
            percent: false,
        };
        let volumes = [
            volume("lifecycle changes", 0, |t| t.judged),
            volume("without an Implementation History entry", 1, |t| t.flagged),
        ];
        html! {
            section #over-time {
                h2 { "Compliance over time" }
                p { "Per calendar quarter, the share of the changes each lifecycle rule judged that it found nothing wrong with. A dot's size is the number of changes it stands on; the table below the charts gives them." }
                div.charts {
                    @for (rule, svg) in &compliance {
                        figure.chart #{ "chart-" (rule) } {
                            (PreEscaped(svg))
                            figcaption { (crate::rules::find(rule).map_or("", |r| r.info().summary)) }
                        }
                    }
                }
                figure.chart #chart-volume {
                    (PreEscaped(charts::lines(&volume_frame, &labels, &volumes)))
                    figcaption {
                        @for s in &volumes {
                            span.swatch style=(format!("background:rgb({},{},{})", s.color.0, s.color.1, s.color.2)) {} " " (s.name) " "
                        }
                    }
                }
                details {
                    summary { "The numbers behind the charts" }
                    table.quarters {
                        thead { tr { th { "Quarter" } @for rule in &shown { th.num { code { (rule) } } } } }
                        tbody {
                            @for (q, t) in &quarters {
                                tr {
                                    td { (q) }
                                    @for rule in &shown {
                                        td.num { (cell(&figures::of(t, rule))) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn per_sig(&self) -> Markup {
        let rows = figures::per_sig(self.ledger);
        html! {
            section #per-sig {
                h2 { "Per SIG" }
                p { "Click a heading to sort. A KEP counts under its " code { "owning-sig" } " at the time of each change." }
                table #sig-table.sortable {
                    thead {
                        tr {
                            th { "SIG" }
                            th.num { "KEP changes" }
                            th.num { "Lifecycle changes" }
                            th.num { "With history entry" }
                            th.num { "Graduations (v1.21+)" }
                            th.num { "With PRR answers" }
                            th.num { "Backward moves reported" }
                            th.num { "Findings" }
                        }
                    }
                    tbody {
                        @for row in &rows {
                            @let history = figures::of(&row.tallies, "implementation-history");
                            @let prr = figures::of(&row.tallies, "prr-on-graduation");
                            tr {
                                td { (row.sig) }
                                td.num { (row.changes) }
                                td.num { (history.judged) }
                                td.num data-sort=(sort_key(&history)) { (percent(&history)) }
                                td.num { (prr.judged) }
                                td.num data-sort=(sort_key(&prr)) { (percent(&prr)) }
                                td.num { (figures::of(&row.tallies, "stage-monotonic").flagged) }
                                td.num { (row.findings) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn per_kep(&self) -> Markup {
        let keps = self.ledger.by_number();
        let (first, last) = match (self.ledger.commits.first(), self.ledger.commits.last()) {
            (Some(a), Some(b)) => (a.time, b.time.max(a.time + 1)),
            _ => (0, 1),
        };
        html! {
            section #per-kep {
                h2 { "Per KEP" }
                p {
                    "Every change of " code { "status" } ", " code { "stage" } ", " code { "latest-milestone" } " and "
                    code { "milestone.*" } ", and whether the Implementation History (IH) and the PRR answers moved with it. "
                    "The strip shows the stage over the covered period."
                }
                p.search {
                    label for="kep-search" { "Filter KEPs " }
                    input #kep-search type="search" placeholder="number, title, SIG, path, stage" autocomplete="off";
                    " " span #kep-count { (keps.len()) } " of " (keps.len()) " KEPs"
                }
                div #keps {
                    @for kep in &keps {
                        (self.kep(kep, first, last))
                    }
                }
            }
        }
    }

    fn kep(&self, kep: &KepLedger, first: i64, last: i64) -> Markup {
        let name = match kep.number.as_str() {
            "" => "KEP".to_owned(),
            n => format!("KEP-{n}"),
        };
        let stage = value(&kep.values, "stage");
        let status = value(&kep.values, "status");
        let kep_number = format!("kep-{}", kep.number);
        let mut words = vec![kep.number.as_str(), &kep_number, &kep.title, &kep.sig, &kep.path];
        words.extend(kep.former_paths.iter().map(String::as_str));
        words.extend(stage.into_iter().chain(status));
        let search = words
            .iter()
            .filter(|w| !w.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        html! {
            details.kep data-search=(search) {
                summary {
                    span.kep-name { (name) } " "
                    span.kep-title { (kep.title) } " "
                    (self.strip(kep, first, last))
                    span.tag { (kep.sig) } " "
                    @if let Some(status) = status { span.tag { (status) } " " }
                    @if let Some(stage) = stage { span class={ "tag stage-" (stage) } { (stage) } }
                    @if kep.deleted { " " span.tag { "deleted" } }
                }
                p.path { code { (kep.path) } @for p in &kep.former_paths { " · formerly " code { (p) } } }
                table.ledger {
                    thead { tr { th { "Date" } th { "Commit" } th { "Change" } th { "IH" } th { "PRR" } th { "Findings" } } }
                    tbody {
                        @for e in &kep.entries {
                            (self.entry(e))
                        }
                    }
                }
            }
        }
    }

    /// The KEP's stage over the covered period, one coloured segment per stage held.
    fn strip(&self, kep: &KepLedger, first: i64, last: i64) -> Markup {
        let span = (last - first) as f64;
        let mut segments: Vec<(f64, f64, String)> = Vec::new();
        for (i, e) in kep.entries.iter().enumerate() {
            if e.event == Event::Deleted {
                continue;
            }
            let from = self.ledger.commits[e.commit].time;
            let to = match kep.entries.get(i + 1) {
                Some(next) => self.ledger.commits[next.commit].time,
                None if kep.deleted => from,
                None => last,
            };
            let stage = e.value("stage").unwrap_or("none").to_owned();
            let left = 100.0 * (from - first) as f64 / span;
            let width = (100.0 * (to - from) as f64 / span).max(0.3);
            match segments.last_mut() {
                Some(prev) if prev.2 == stage => prev.1 = left + width - prev.0,
                _ => segments.push((left, width, stage)),
            }
        }
        html! {
            span.strip {
                @for (left, width, stage) in &segments {
                    span class={ "seg stage-" (stage) } style=(format!("left:{left:.2}%;width:{width:.2}%")) title=(stage) {}
                }
            }
        }
    }

    fn entry(&self, e: &Entry) -> Markup {
        let commit = &self.ledger.commits[e.commit];
        let change = e.describe();
        html! {
            tr {
                td.date { (day_of(commit.time)) }
                td { (self.commit_link(commit)) }
                td { (change) }
                td { (mark(e.history)) }
                td { (mark(e.prr)) }
                td {
                    @for (rule, severity) in &e.findings {
                        span class={ "sev-" (severity.as_str()) } title=(severity.as_str()) { (rule) } " "
                    }
                }
            }
        }
    }

    fn commit_link(&self, commit: &CommitInfo) -> Markup {
        let id = commit.id.to_string();
        html! {
            @match self.link_base {
                Some(base) => a href={ (base) (id) } title=(commit.subject) { code { (&id[..9]) } },
                None => code title=(commit.subject) { (&id[..9]) },
            }
        }
    }

    fn findings(&self) -> Markup {
        let times: HashMap<gix::ObjectId, &CommitInfo> = self.ledger.commits.iter().map(|c| (c.id, c)).collect();
        let mut by_rule: Vec<(&str, Vec<&Finding>)> = Vec::new();
        for (id, _) in self.report.per_rule() {
            let mut list: Vec<&Finding> = self.report.findings.iter().filter(|f| f.rule == id).collect();
            // Newest first: the report lists commits newest first, so keep that order.
            list.sort_by_key(|f| std::cmp::Reverse(times.get(&f.commit).map_or(0, |c| c.time)));
            by_rule.push((id, list));
        }
        html! {
            section #findings {
                h2 { "Findings" }
                p { "Grouped by rule, newest first. " code { "kepguard explain RULE" } " tells what each rule checks and why." }
                @for (rule, list) in &by_rule {
                    details.rule #{ "rule-" (rule) } {
                        summary { code { (rule) } " " (plural(list.len(), "finding")) }
                        ol.findings {
                            @for f in list.iter().take(FINDINGS_SHOWN) { (self.finding(f, &times)) }
                        }
                        @if list.len() > FINDINGS_SHOWN {
                            details.more {
                                summary { (list.len() - FINDINGS_SHOWN) " older" }
                                ol.findings start=(FINDINGS_SHOWN + 1) {
                                    @for f in list.iter().skip(FINDINGS_SHOWN) { (self.finding(f, &times)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn finding(&self, f: &Finding, times: &HashMap<gix::ObjectId, &CommitInfo>) -> Markup {
        let at = match f.location.line {
            Some(line) => format!("{}:{line}", f.location.path),
            None => f.location.path.clone(),
        };
        html! {
            li {
                span class={ "sev-" (f.severity.as_str()) } { (f.severity.as_str()) } " "
                @if let Some(c) = times.get(&f.commit) { span.date { (day_of(c.time)) } " " (self.commit_link(c)) " " }
                code { (at) } br;
                (f.title) br;
                span.help { "help: " (f.help) }
            }
        }
    }
}

fn card(title: &str, value: &str, detail: &str) -> Markup {
    html! {
        div.card {
            div.value { (value) }
            div.title { (title) }
            div.detail { (detail) }
        }
    }
}

fn percent(t: &Tally) -> String {
    t.percent().map_or_else(|| "-".to_owned(), |p| format!("{p:.0}%"))
}

/// A table cell's value: `67% of 12`.
fn cell(t: &Tally) -> String {
    match t.percent() {
        Some(p) => format!("{p:.0}% of {}", t.judged),
        None => "-".to_owned(),
    }
}

/// A number the table sorts by: the percentage, or -1 when there is none.
fn sort_key(t: &Tally) -> String {
    t.percent().map_or_else(|| "-1".to_owned(), |p| format!("{p:.3}"))
}

fn mark(moved: Option<bool>) -> Markup {
    html! {
        @match moved {
            Some(true) => span.yes title="updated" { "✓" },
            Some(false) => span.no title="not updated" { "✗" },
            None => span.na { "" },
        }
    }
}
