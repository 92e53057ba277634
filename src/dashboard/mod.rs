//! `kepguard report`: one self-contained HTML page of a KEP repository's compliance over time and
//! each KEP's lifecycle, from an audit's findings and the ledger it learnt.

pub mod charts;
pub mod figures;
mod page;

pub use page::Page;
