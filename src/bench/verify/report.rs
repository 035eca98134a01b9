//! What a `verify` campaign found, and how it is told: the counts, the
//! faults that landed, the loss risks of the queues' settings, and which of
//! them fail the run.

use serde::Serialize;

use super::STUCK;
use crate::broker::management::LossRisk;
use crate::cli::Output;
use crate::output;

/// What a campaign found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub seed: u64,
    pub settings: indexmap::IndexMap<&'static str, String>,
    pub faults: indexmap::IndexMap<&'static str, u64>,
    pub inserted: i64,
    pub sent: i64,
    pub dead: i64,
    pub reached_broker: i64,
    pub broker_duplicates: i64,
    pub effects: i64,
    pub duplicate_effects: i64,
    pub dead_lettered: i64,
    pub lost: i64,
    pub order_violations: i64,
    pub longest_recovery_ms: Option<u64>,
    /// The longest recovery after each kind of fault, in ms.
    pub recovery_ms_by_fault: indexmap::IndexMap<&'static str, u64>,
    /// Faults after which the pipeline did not move again within a minute.
    pub stuck: u64,
    /// Faults whose process had no work left to show it recovered: every
    /// event had its effect before it spoke again (a late fault).
    pub unobserved: u64,
    /// Why `lost` may be non-zero, when the counts point somewhere.
    pub hint: Option<String>,
    /// Settings of the run's queues that lose messages when a backlog forms
    /// (the static look, before any event): each fails the run, lost or not.
    pub loss_risks: Vec<LossRisk>,
    /// Why the static look could not be made, if it could not.
    pub static_look: Option<String>,
}

impl Report {
    pub(super) fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// The rows of the table that failed, each with what it means.
    pub(super) fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        for r in &self.loss_risks {
            f.push(format!(
                "loss risk on {}: {} — {}; {}",
                r.queue, r.setting, r.means, r.fix
            ));
        }
        if self.sent + self.dead != self.inserted {
            f.push(format!(
                "accounting: sent {} + dead {} is not inserted {} — the relayer left rows \
                 unmarked",
                self.sent, self.dead, self.inserted
            ));
        }
        if self.reached_broker < self.sent {
            f.push(format!(
                "accounting: {} reached the broker, fewer than the {} marked sent — the \
                 observer missed copies or stopped reading",
                self.reached_broker, self.sent
            ));
        }
        if self.lost > 0 {
            f.push(format!(
                "lost {} — of {} events, {} never had their effect",
                self.lost, self.inserted, self.lost
            ));
        }
        if self.duplicate_effects > 0 {
            f.push(format!(
                "duplicate effects {} — a message's effect committed more than once",
                self.duplicate_effects
            ));
        }
        if self.order_violations > 0 {
            f.push(format!(
                "per-key order violations {} — a key's events reached the broker or took effect \
                 out of order",
                self.order_violations
            ));
        }
        if self.dead > 0 {
            f.push(format!(
                "dead {} — the relayer gave up on rows (`outboxctl outbox ls --dead` in the \
                 run's database shows why; it is dropped at the end)",
                self.dead
            ));
        }
        if self.stuck > 0 {
            f.push(format!(
                "stuck {} — after a fault the pipeline did not move again within {}s",
                self.stuck,
                STUCK.as_secs()
            ));
        }
        f
    }

    pub(super) fn print(&self, format: Output) -> anyhow::Result<()> {
        if format == Output::Json {
            return Ok(output::json_line(self)?);
        }
        output::line(format!("outboxctl verify — seed {}", self.seed))?;
        let mut t = output::table(&["", ""]);
        for (k, v) in &self.settings {
            t.add_row(vec![k.to_string(), v.clone()]);
        }
        let faults: Vec<String> = self
            .faults
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        t.add_row(vec!["faults".into(), faults.join(", ")]);
        let recoveries: Vec<String> = self
            .recovery_ms_by_fault
            .iter()
            .map(|(k, ms)| format!("{k} {ms} ms"))
            .collect();
        t.add_row(vec![
            "longest recovery by fault".into(),
            recoveries.join(", "),
        ]);
        output::print_table(&t)?;
        output::line("")?;
        let verdict = |bad: bool| if bad { "FAILED" } else { "ok" };
        let mut f = output::table(&["", "count", ""]);
        let rows: [(&str, String, &str); 13] = [
            ("inserted", self.inserted.to_string(), ""),
            ("sent", self.sent.to_string(), ""),
            ("dead", self.dead.to_string(), verdict(self.dead > 0)),
            ("reached the broker", self.reached_broker.to_string(), ""),
            (
                "duplicates at the broker",
                self.broker_duplicates.to_string(),
                "",
            ),
            ("effects", self.effects.to_string(), ""),
            (
                "duplicate effects",
                self.duplicate_effects.to_string(),
                verdict(self.duplicate_effects > 0),
            ),
            ("dead-lettered", self.dead_lettered.to_string(), ""),
            ("lost", self.lost.to_string(), verdict(self.lost > 0)),
            (
                "per-key order violations",
                self.order_violations.to_string(),
                verdict(self.order_violations > 0),
            ),
            (
                "longest recovery",
                self.longest_recovery_ms
                    .map_or("-".into(), |ms| format!("{ms} ms")),
                "",
            ),
            (
                "stuck after a fault",
                self.stuck.to_string(),
                verdict(self.stuck > 0),
            ),
            (
                "recovery not seen (work was done)",
                self.unobserved.to_string(),
                "",
            ),
        ];
        for (what, count, verdict) in rows {
            f.add_row(vec![what.to_string(), count, verdict.to_string()]);
        }
        output::print_table(&f)?;
        for r in &self.loss_risks {
            output::line(format!(
                "\nLOSS RISK {}: {} — {}. Fix: {}.",
                r.queue, r.setting, r.means, r.fix
            ))?;
        }
        if let Some(why) = &self.static_look {
            output::line(format!("\nthe queues' settings were not checked: {why}"))?;
        }
        if let Some(hint) = &self.hint {
            output::line(format!("\n{hint}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sound() -> Report {
        Report {
            inserted: 100,
            sent: 100,
            reached_broker: 100,
            effects: 100,
            ..Report::default()
        }
    }

    #[test]
    fn each_detector_fails_the_run_it_should() {
        assert!(sound().passed(), "{:?}", sound().failures());
        type Break = fn(&mut Report);
        let cases: [(&str, Break); 7] = [
            ("lost", |r| r.lost = 3),
            ("duplicate effects", |r| r.duplicate_effects = 1),
            ("per-key order", |r| r.order_violations = 2),
            ("stuck", |r| r.stuck = 1),
            // A relayer that never marks rows sent.
            ("accounting: sent 0", |r| r.sent = 0),
            // An observer that stopped reading.
            ("accounting: 90 reached", |r| r.reached_broker = 90),
            ("loss risk on q", |r| {
                r.loss_risks.push(LossRisk {
                    queue: "q".into(),
                    setting: "max-length 100 with overflow drop-head (policy p)".into(),
                    means: "drops".into(),
                    fix: "remove it".into(),
                })
            }),
        ];
        for (says, break_it) in cases {
            let mut r = sound();
            break_it(&mut r);
            let failures = r.failures();
            assert!(
                !r.passed() && failures.iter().any(|f| f.contains(says)),
                "{says}: {failures:?}"
            );
        }
    }
}
