//! Presentation: one report, several formats.

pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod summary;

use std::io::{IsTerminal, Write};

use anyhow::Result;
use clap::ValueEnum;

use crate::finding::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// GitHub workflow commands (annotations).
    Github,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML: a testsuite per rule, a testcase per KEP (Prow's Spyglass, most CI systems).
    Junit,
    /// GitLab Code Quality (CodeClimate JSON), for `artifacts:reports:codequality`.
    Gitlab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour output going to stdout: `auto` means a terminal and no `NO_COLOR`.
    pub fn enabled(self) -> bool {
        self.enabled_for(std::io::stdout().is_terminal())
    }

    /// Whether to colour output going to a stream that is (or is not) a terminal.
    pub fn enabled_for(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal,
        }
    }
}

/// Renders `report` to `out` in `format`.
pub fn render(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> Result<()> {
    match format {
        Format::Human => human::render(report, color, out),
        Format::Json => json::render(report, out),
        Format::Github => github::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Junit => junit::render(report, out),
        Format::Gitlab => gitlab::render(report, out),
    }
}
