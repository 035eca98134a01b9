//! What a changed saga definition would do to the instances still in
//! flight: each change that strands some (a step they wait on gone or
//! renamed without a mapping, a step before it moved, a completed step's
//! compensation removed, the correlation field changed), with the
//! instances and the way out. No I/O: `saga plan` and the orchestrator's
//! start gather the definitions and instances and print or refuse.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use crate::config::SagaConfig;
use crate::model::saga::{Instance, State};

/// One change that strands instances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What changed and why it strands them.
    pub change: String,
    /// What the operator can do instead.
    pub way_out: String,
    pub instances: Vec<Stranded>,
}

/// An instance a change would strand.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stranded {
    pub id: Uuid,
    /// `SAGA:KEY`, as `saga show` takes it.
    pub key: String,
    pub state: State,
    /// Where it is: "waiting for step charge".
    pub at: String,
}

/// The changes from the definitions the instances run under to `new` that
/// strand any of them, each with the instances. `running(version)` is the
/// definition an instance started under (`None` when it is not known:
/// such an instance is not judged).
pub fn check<'a>(
    new: &SagaConfig,
    instances: &[Instance],
    running: impl Fn(Option<&str>) -> Option<&'a SagaConfig>,
) -> Vec<Finding> {
    // In the order first found; instances in the order given.
    let mut found: BTreeMap<usize, Finding> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for inst in instances {
        let Some(old) = running(inst.version.as_deref()) else {
            continue;
        };
        for (change, way_out) in problems(old, new, inst) {
            let at = match order.iter().position(|k| k.0 == change) {
                Some(at) => at,
                None => {
                    order.push((change.clone(), way_out.clone()));
                    order.len() - 1
                }
            };
            found
                .entry(at)
                .or_insert_with(|| Finding {
                    change,
                    way_out,
                    instances: Vec::new(),
                })
                .instances
                .push(stranded(old, inst));
        }
    }
    found.into_values().collect()
}

fn stranded(old: &SagaConfig, inst: &Instance) -> Stranded {
    let step = usize::try_from(inst.step)
        .ok()
        .and_then(|i| old.steps.get(i))
        .map_or("?", |s| s.name.as_str());
    Stranded::at(inst, step)
}

impl Stranded {
    /// An instance, where its timeline says it is.
    pub fn of(inst: &Instance) -> Self {
        let step = inst
            .waiting_step
            .clone()
            .unwrap_or_else(|| format!("#{}", inst.step + 1));
        Self::at(inst, &step)
    }

    fn at(inst: &Instance, step: &str) -> Self {
        Self {
            id: inst.id,
            key: format!("{}:{}", inst.saga, inst.correlation),
            state: inst.state,
            at: match inst.state {
                State::Running => format!("waiting for step {step}"),
                State::Failed => format!("failed undoing step {step}"),
                _ => format!("undoing step {step}"),
            },
        }
    }
}

/// What strands `inst` (running under `old`) if `new` replaces `old`.
fn problems(old: &SagaConfig, new: &SagaConfig, inst: &Instance) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !matches!(
        inst.state,
        State::Running | State::Compensating | State::Failed
    ) {
        return out;
    }
    if old.correlate != new.correlate {
        out.push((
            format!(
                "correlate changed from {:?} to {:?}: instances in flight are keyed by the old \
                 field (a start redelivered would begin a second instance, and `saga show \
                 SAGA:KEY` finds them by the old value)",
                old.correlate, new.correlate
            ),
            format!(
                "finish or abort them first, or keep correlate = {:?}",
                old.correlate
            ),
        ));
    }
    // Steps up to the one it waits on (or undoes) are where the instance
    // is: it keeps their position, and each may have to be undone.
    let last = usize::try_from(inst.step).unwrap_or(0);
    let finish = "finish or abort them first (`outboxctl saga abort ID`)";
    for (i, step) in old.steps.iter().enumerate().take(last + 1) {
        let now = new.current_name(&step.name);
        let here = new.steps.get(i);
        if let Some(h) = here.filter(|h| h.name == now) {
            if step.compensation.is_some() && h.compensation.is_none() {
                out.push((
                    format!(
                        "step {:?} lost its compensation: instances that did it (or may have) \
                         could no longer undo it",
                        step.name
                    ),
                    format!(
                        "{finish}, or keep its compensation = {:?}",
                        step.compensation.as_deref().unwrap_or_default()
                    ),
                ));
            }
            continue;
        }
        if let Some(j) = new.steps.iter().position(|s| s.name == now) {
            out.push((
                format!(
                    "step {:?} moved from position {} to {}: instances at or past it would \
                     resume at another step",
                    step.name,
                    i + 1,
                    j + 1
                ),
                format!("{finish}, or keep the steps up to it in their order"),
            ));
            continue;
        }
        // Gone: removed, or renamed with no mapping. A new step in its place
        // that the old definition did not have is likely its new name.
        let rename = here
            .filter(|h| old.steps.iter().all(|o| o.name != h.name))
            .map(|h| {
                format!(
                    ", or — if it was renamed — map the old name: [[sagas.renamed]] from = {:?}, \
                     to = {:?}",
                    step.name, h.name
                )
            })
            .unwrap_or_default();
        let change = if i == last {
            format!(
                "step {:?} was removed or renamed: instances waiting on it (or undoing it) would be \
                 stranded",
                step.name
            )
        } else {
            format!(
                "step {:?} was removed or renamed: instances that did it could no longer undo it \
                 and would resume at another step",
                step.name
            )
        };
        out.push((change, format!("{finish}{rename}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::config::{Renamed, StepConfig};

    fn step(name: &str, compensation: Option<&str>) -> StepConfig {
        StepConfig {
            name: name.into(),
            command: format!("order.{name}"),
            compensation: compensation.map(str::to_string),
            timeout: Duration::from_secs(30),
            retries: 1,
        }
    }

    fn saga(steps: Vec<StepConfig>) -> SagaConfig {
        SagaConfig {
            name: "order".into(),
            start: "order.placed".into(),
            correlate: "order_id".into(),
            deadline: Duration::from_secs(600),
            steps,
            renamed: Vec::new(),
        }
    }

    fn old() -> SagaConfig {
        saga(vec![
            step("reserve", Some("order.release")),
            step("charge", Some("order.refund")),
            step("ship", None),
        ])
    }

    fn at(n: u128, state: State, step: i32) -> Instance {
        let now = Utc::now();
        Instance {
            id: Uuid::from_u128(n),
            saga: "order".into(),
            correlation: n.to_string(),
            state,
            step,
            attempt: 1,
            done: if state == State::Running {
                step
            } else {
                step + 1
            },
            input: json!({}),
            outputs: json!({}),
            reason: None,
            deadline: now,
            waiting_since: Some(now),
            timer_id: None,
            started_at: now,
            updated_at: now,
            finished_at: None,
            version: Some(old().version()),
            waiting_step: None,
        }
    }

    fn plan(new: &SagaConfig, instances: &[Instance]) -> Vec<(String, Vec<u128>)> {
        let old = old();
        check(new, instances, |v| {
            (v == Some(old.version().as_str())).then_some(&old)
        })
        .into_iter()
        .map(|f| {
            (
                f.change,
                f.instances.iter().map(|s| s.id.as_u128()).collect(),
            )
        })
        .collect()
    }

    /// A change's name, the new definition, and each finding it makes: the
    /// start of its text and the instances it names.
    type Case<'a> = (&'a str, &'a SagaConfig, &'a [(&'a str, &'a [u128])]);

    #[test]
    fn each_change_strands_the_instances_it_would() {
        let instances = [
            at(1, State::Running, 0),
            at(2, State::Running, 1),
            at(3, State::Running, 2),
            at(4, State::Compensating, 1),
            at(5, State::Completed, 2),
        ];
        let renamed = |to_charge: &str| {
            let mut s = old();
            s.steps[1].name = to_charge.into();
            s
        };
        let mut mapped = renamed("authorize");
        mapped.renamed.push(Renamed {
            from: "charge".into(),
            to: "authorize".into(),
        });
        let mut no_refund = old();
        no_refund.steps[1].compensation = None;
        let mut inserted = old();
        inserted
            .steps
            .insert(1, step("check", Some("order.uncheck")));
        let mut appended = old();
        appended.steps.push(step("notify", None));
        appended.steps[2].compensation = Some("order.unship".into());
        let mut rekeyed = old();
        rekeyed.correlate = "id".into();
        let table: &[Case] = &[
            ("the same definition", &old(), &[]),
            (
                "a step renamed, unmapped: those waiting on it or past it",
                &renamed("authorize"),
                &[
                    (
                        "step \"charge\" was removed or renamed: instances waiting",
                        &[2, 4],
                    ),
                    (
                        "step \"charge\" was removed or renamed: instances that did",
                        &[3],
                    ),
                ],
            ),
            ("the rename mapped", &mapped, &[]),
            (
                "a compensation removed: those that did the step",
                &no_refund,
                &[("step \"charge\" lost its compensation", &[2, 3, 4])],
            ),
            (
                "a step inserted before: those past it",
                &inserted,
                &[
                    ("step \"charge\" moved from position 2 to 3", &[2, 3, 4]),
                    ("step \"ship\" moved from position 3 to 4", &[3]),
                ],
            ),
            ("a step appended, a compensation added", &appended, &[]),
            (
                "the correlation field: every one in flight",
                &rekeyed,
                &[(
                    "correlate changed from \"order_id\" to \"id\"",
                    &[1, 2, 3, 4],
                )],
            ),
        ];
        for (name, new, want) in table {
            let got = plan(new, &instances);
            assert_eq!(got.len(), want.len(), "{name}: {got:#?}");
            for ((change, ids), (start, want_ids)) in got.iter().zip(want.iter()) {
                assert!(change.starts_with(start), "{name}: {change:?}");
                assert_eq!(ids.as_slice(), *want_ids, "{name}: {change}");
            }
        }
    }

    #[test]
    fn a_rename_suggests_its_mapping_and_unknown_versions_are_not_judged() {
        let mut new = old();
        new.steps[1].name = "authorize".into();
        let found = plan(&new, &[at(2, State::Running, 1)]);
        assert_eq!(found.len(), 1);
        let old = old();
        let f = &check(&new, &[at(2, State::Running, 1)], |_| Some(&old))[0];
        assert!(
            f.way_out
                .contains("[[sagas.renamed]] from = \"charge\", to = \"authorize\""),
            "{}",
            f.way_out
        );
        assert_eq!(f.instances[0].at, "waiting for step charge");
        assert_eq!(f.instances[0].key, "order:2");
        assert!(check(&new, &[at(2, State::Running, 1)], |_| None).is_empty());
    }
}
