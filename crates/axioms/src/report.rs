//! The suite's report: one row per (method, claimed axiom).

use explainer_core::{Axiom, Claim, Tolerance};
use serde::{Deserialize, Serialize};

use crate::Measure;

/// Whether a claim held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict", content = "reason")]
pub enum Verdict {
    /// Every case was within the tolerance.
    Pass,
    /// A case broke the claim (see the counter-example).
    Fail,
    /// Not checked on this subject, and why (a missing capability, no twin model, …).
    Skipped(String),
}

/// One claim of one method, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The method's registry name.
    pub method: String,
    /// The axiom claimed.
    pub axiom: Axiom,
    /// The claimed tolerance.
    pub tolerance: Tolerance,
    /// Pass, fail or skipped.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Cases tried (shrinking steps included).
    pub cases: u32,
    /// The largest deviation seen (relative to what was allowed, the worst case's deviation).
    pub worst_deviation: f64,
    /// What the tolerance allowed in that worst case.
    pub allowed: f64,
    /// The shrunk counter-example, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<String>,
}

impl Row {
    pub(crate) fn new(
        method: &str,
        claim: Claim,
        verdict: Verdict,
        cases: u32,
        worst: Measure,
        counterexample: Option<String>,
    ) -> Self {
        Row {
            method: method.to_owned(),
            axiom: claim.axiom,
            tolerance: claim.tolerance,
            verdict,
            cases,
            worst_deviation: worst.deviation,
            allowed: worst.allowed,
            counterexample,
        }
    }

    pub(crate) fn skipped(method: &str, claim: Claim, reason: String) -> Self {
        Row::new(method, claim, Verdict::Skipped(reason), 0, Measure::vacuous(), None)
    }
}

/// The suite's result on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The model's name.
    pub model: String,
    /// Cases generated per claim (before shrinking).
    pub cases_per_claim: u32,
    /// Every method checked, claims or not, in order.
    #[serde(default)]
    pub methods: Vec<String>,
    /// One row per (method, claimed axiom).
    pub rows: Vec<Row>,
}

impl Report {
    /// Whether no claim failed (skipped claims do not fail).
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.verdict != Verdict::Fail)
    }

    /// The rows whose claim failed.
    pub fn failures(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Fail)
    }

    /// The row of `method`'s claim of `axiom`, if it claims it.
    pub fn row(&self, method: &str, axiom: Axiom) -> Option<&Row> {
        self.rows.iter().find(|r| r.method == method && r.axiom == axiom)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as Markdown: an axiom × method table, then one line per claim.
    pub fn to_markdown(&self) -> String {
        let mut methods: Vec<&str> = self.methods.iter().map(String::as_str).collect();
        for r in &self.rows {
            if !methods.contains(&r.method.as_str()) {
                methods.push(&r.method);
            }
        }
        let mut out = format!(
            "# Axiom conformance: {}\n\n{} cases per claim. {}\n\n",
            escape(&self.model),
            self.cases_per_claim,
            if self.passed() { "Every checked claim holds." } else { "**Some claims FAIL.**" }
        );
        out.push_str("| axiom |");
        for m in &methods {
            out.push_str(&format!(" {} |", escape(m)));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(methods.len()));
        out.push('\n');
        for axiom in Axiom::ALL {
            out.push_str(&format!("| {axiom} |"));
            for m in &methods {
                let cell = match self.row(m, axiom).map(|r| &r.verdict) {
                    None => "—".to_owned(),
                    Some(Verdict::Pass) => "pass".to_owned(),
                    Some(Verdict::Fail) => "**FAIL**".to_owned(),
                    Some(Verdict::Skipped(_)) => "skipped".to_owned(),
                };
                out.push_str(&format!(" {cell} |"));
            }
            out.push('\n');
        }
        out.push_str("\n| method | axiom | verdict | cases | worst deviation | allowed there | tolerance (rel, abs, of Σ\\|A\\|) |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let verdict = match &r.verdict {
                Verdict::Pass => "pass".to_owned(),
                Verdict::Fail => "**FAIL**".to_owned(),
                Verdict::Skipped(why) => format!("skipped: {}", escape(why)),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.3e} | {:.3e} | {:.0e}, {:.0e}, {:.0e} |\n",
                escape(&r.method),
                r.axiom,
                verdict,
                r.cases,
                r.worst_deviation,
                r.allowed,
                r.tolerance.relative,
                r.tolerance.absolute,
                r.tolerance.of_mass
            ));
        }
        let silent: Vec<&str> =
            methods.iter().copied().filter(|m| !self.rows.iter().any(|r| r.method == *m)).collect();
        if !silent.is_empty() {
            out.push_str(&format!("\nMethods that claim no axiom: {}.\n", silent.join(", ")));
        }
        let failures: Vec<&Row> = self.failures().collect();
        if !failures.is_empty() {
            out.push_str("\n## Counter-examples (shrunk)\n\n");
            for r in failures {
                out.push_str(&format!(
                    "- {} / {}: {}\n",
                    escape(&r.method),
                    r.axiom,
                    escape(r.counterexample.as_deref().unwrap_or("none recorded"))
                ));
            }
        }
        out
    }
}

/// Escapes Markdown table-significant characters.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('`', "\\`").replace('<', "&lt;").replace('\n', " ")
}
