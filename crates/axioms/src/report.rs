//! The suite's report: one row per (method, claimed axiom).

use explainer_core::{Axiom, Claim, Tolerance};
use serde::{Deserialize, Serialize};

use crate::Measure;
use crate::checks::magnitude_of;

/// The allowed bound of `claim` in the case `m`, spelled out: each non-zero part of the
/// tolerance with the case's figures.
pub(crate) fn derivation(claim: Claim, m: &Measure) -> String {
    let t = claim.tolerance;
    let mut parts = Vec::new();
    if t.absolute != 0.0 {
        parts.push(format!("{:.1e}", t.absolute));
    }
    if t.relative != 0.0 {
        parts.push(format!("{:.1e} × scale {:.2e}", t.relative, m.scale));
    }
    if t.of_mass != 0.0 {
        parts.push(format!("{:.1e} × Σ|A| {:.2e}", t.of_mass, m.mass));
    }
    if t.rounding != 0.0 {
        parts.push(format!(
            "{} × κ {:.1} × u {:.2e} × R {:.2e} (R = {})",
            t.rounding,
            m.growth,
            m.unit_roundoff,
            m.magnitude,
            magnitude_of(claim.axiom)
        ));
    }
    let sum = if parts.is_empty() { "0 (exact)".to_owned() } else { parts.join(" + ") };
    if claim.axiom == Axiom::Sensitivity { format!("|A_k| must exceed {sum}") } else { sum }
}

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
    /// How that allowed bound was derived, with the case's figures: the claim's parts, κ, u
    /// and R (see `docs/axioms.md`).
    #[serde(default)]
    pub bound: String,
    /// The worst deviation in rounding units, deviation / (κ × u × R); for sensitivity, |A_k|
    /// in those units (the smallest seen: how far the token stood above zero).
    #[serde(default)]
    pub rounding_units: f64,
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
            bound: derivation(claim, &worst),
            rounding_units: if claim.axiom == Axiom::Sensitivity {
                // How many rounding units |A_k| stood above zero in its closest case.
                Measure { deviation: worst.allowed, ..worst }.in_rounding_units()
            } else {
                worst.in_rounding_units()
            },
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
        out.push_str("\n| method | axiom | verdict | cases | worst deviation | allowed there | in κ·u·R | bound used there |\n");
        out.push_str("|---|---|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let verdict = match &r.verdict {
                Verdict::Pass => "pass".to_owned(),
                Verdict::Fail => "**FAIL**".to_owned(),
                Verdict::Skipped(why) => format!("skipped: {}", escape(why)),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.3e} | {:.3e} | {:.3} | {} |\n",
                escape(&r.method),
                r.axiom,
                verdict,
                r.cases,
                r.worst_deviation,
                r.allowed,
                r.rounding_units,
                escape(&r.bound)
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
