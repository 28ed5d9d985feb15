//! `kafka-lab run A --compare B`: two scenarios (a bug under its historical switch and the fix
//! under today's protocol, say) with the same seed and settings, their findings side by side.

use crate::{prepare, Format, RunArgs};
use scenarios::{FindingKind, Outcome, Scenario};
use sim::Verdict;
use std::collections::BTreeSet;
use std::io::Write;

/// Both runs; true when both pass (`RunVerdict::passed`).
pub fn compare(args: &RunArgs, other: &str) -> anyhow::Result<bool> {
    let a = prepare(&args.scenario, args.seed, &args.set)?;
    // The same seed for both: the first scenario's, unless --seed gave one.
    let b = prepare(other, Some(args.seed.unwrap_or(a.seed)), &args.set)?;
    let run = |s: &Scenario| scenarios::run_with_events_max(s, false, args.events_max);
    let (ra, rb) = (run(&a)?, run(&b)?);
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => text(&mut out, [(&a, &ra), (&b, &rb)])?,
        Format::Json => json(&mut out, [(&a, &ra), (&b, &rb)])?,
    }
    Ok(ra.verdict.passed() && rb.verdict.passed())
}

/// "VIOLATION", "allowed" or "-" for one kind in one run.
fn verdict(outcome: &Outcome, kind: FindingKind) -> &'static str {
    let found = outcome.findings.iter().filter(|f| f.kind == kind);
    let verdicts: BTreeSet<bool> = found.map(|f| f.verdict == Verdict::Violation).collect();
    match (verdicts.contains(&true), verdicts.contains(&false)) {
        (true, _) => "VIOLATION",
        (false, true) => "allowed",
        _ => "-",
    }
}

fn text(out: &mut impl Write, runs: [(&Scenario, &Outcome); 2]) -> std::io::Result<()> {
    let [(a, ra), (b, rb)] = runs;
    writeln!(
        out,
        "kafka-lab run {} --compare {} (seed {})",
        a.name, b.name, a.seed
    )?;
    for o in &a.overrides {
        writeln!(out, "  {o}  (both runs)")?;
    }
    writeln!(out, "  A: {}", a.title)?;
    writeln!(out, "  B: {}", b.title)?;
    writeln!(out)?;
    writeln!(out, "  {:<22} {:<18} {:<18}", "finding", "A", "B")?;
    let kinds: BTreeSet<FindingKind> = ra.found.union(&rb.found).copied().collect();
    if kinds.is_empty() {
        writeln!(out, "  {:<22} {:<18} {:<18}", "(none)", "-", "-")?;
    }
    for kind in kinds {
        writeln!(
            out,
            "  {:<22} {:<18} {:<18}",
            kind.as_str(),
            verdict(ra, kind),
            verdict(rb, kind)
        )?;
    }
    let met = crate::report::expect_word;
    writeln!(out, "  {:<22} {:<18} {:<18}", "expect", met(ra), met(rb))?;
    let (fa, fb) = (ra.world.fingerprint(), rb.world.fingerprint());
    writeln!(out, "  {:<22} {fa:<18} {fb:<18}", "fingerprint")
}

fn json(out: &mut impl Write, runs: [(&Scenario, &Outcome); 2]) -> std::io::Result<()> {
    let side = |(s, o): (&Scenario, &Outcome)| {
        let findings: Vec<serde_json::Value> = o
            .findings
            .iter()
            .map(|f| serde_json::json!({ "kind": f.kind, "verdict": f.verdict, "explanation": f.explanation }))
            .collect();
        serde_json::json!({
            "scenario": s.name,
            "fingerprint": o.world.fingerprint(),
            "findings": findings,
            "expect_judged": crate::report::expect_judged(o),
            "expect_met": crate::report::expect_met_json(o),
            "truncated": o.truncated(),
            "simulated_ms": o.world.now().0,
        })
    };
    let value = serde_json::json!({
        "seed": runs[0].0.seed,
        "sets": crate::report::sets(runs[0].0),
        "runs": [side(runs[0]), side(runs[1])],
    });
    writeln!(out, "{value}")
}
