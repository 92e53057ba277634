use anyhow::Result;

use super::{Context, Rule, RuleInfo, declare_rule};
use crate::finding::Finding;

declare_rule! {
    /// ## What it checks
    /// A change to the repository's policy file, `.kepguard.yaml`. The policy decides what every
    /// other rule blocks, and a change is always judged by the policy *before* it, so a policy
    /// change itself takes effect only for later changes: this rule makes sure somebody sees it.
    /// A policy that does not parse is an error: every later check would stop on it.
    ///
    /// In `check` and the GitHub Action the change is a warning a reviewer must see. The
    /// pre-receive gate makes it an error unless the pushing user is listed in the server's
    /// `kepguard.policyAdmin`; a server may also pin its own policy file (`kepguard.policy`),
    /// which then wins over the repository's.
    ///
    /// ## Why
    /// Without this, one push that turns every rule `off` (and changes no KEP) is accepted, and the
    /// next push, judged by it, lands anything.
    ///
    /// ## How to fix
    /// Have a policy administrator push the policy change, or review it as its own pull request.
    /// Fix a policy that does not parse at the line the message names.
    INFO, "policy-change", Warning, "a change to .kepguard.yaml is seen and gated"
}

pub struct PolicyChange;

impl Rule for PolicyChange {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    // The change is to the repository, not to a KEP: the engine reports it (`policy_finding`).
    fn check(&self, _cx: &Context<'_>, _out: &mut Vec<Finding>) -> Result<()> {
        Ok(())
    }
}
