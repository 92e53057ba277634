//! kepguard: guards Kubernetes Enhancement Proposals kept in git.
//!
//! The data path runs through the modules in order: [`git`] finds the KEPs a change touches,
//! [`kep`] parses their old and new snapshots, [`rules`] judge them into [`finding`]s, and
//! [`report`] renders those. [`engine`] wires the path together; [`cli`] is the command line.
//! Consumers of the same snapshots and rules: [`readiness`] (a release's freeze checks),
//! [`ledger`] (each KEP's lifecycle over history, learnt during an audit), [`dashboard`] (the
//! `report` page drawn from it) and [`fix`].

pub mod baseline;
pub mod cli;
pub mod dashboard;
pub mod date;
pub mod demo;
pub mod engine;
pub mod error;
pub mod event;
pub mod finding;
pub mod fix;
pub mod git;
pub mod hook;
pub mod kep;
pub mod ledger;
pub mod memo;
pub mod policy;
pub mod readiness;
pub mod report;
pub mod rules;
pub mod schema;
