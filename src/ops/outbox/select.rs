//! What the changing commands share: the rows named on the command line
//! (each must exist and be in a state the command takes), and carrying a
//! change out in bounded batches — each its own transaction, with a
//! progress bar on a terminal — saying what changed.

use std::collections::HashSet;

use serde::Serialize;
use sqlx::PgPool;

use crate::cli::{ChangeArgs, Output};
use crate::model::{EventState, OutboxStatus, RowRef};
use crate::ops::bulk::{self, Bulk};
use crate::ops::{Outcome, declined};
use crate::output::{self, when};
use crate::store::{self, outbox};

/// A row that is not there: discarded (say by whom), or never existed (an
/// error naming the fix).
pub(super) async fn gone(pool: &PgPool, row: RowRef) -> anyhow::Result<Outcome> {
    if let Some(d) = outbox::discarded(pool, row).await? {
        anyhow::bail!(
            "{row} was discarded {} by {}; its last state is in outbox_audit \
             (SELECT detail FROM outbox_audit WHERE action = 'discard' AND row_id = {})",
            when(d.at),
            d.actor,
            d.detail["row"]["id"]
        );
    }
    anyhow::bail!("there is no outbox {row} — `outboxctl outbox ls` lists rows")
}

/// What a changing command did (or would do, with `--dry-run`), as `-o
/// json` prints it.
#[derive(Debug, Default, Serialize)]
pub struct Changed {
    pub action: &'static str,
    pub dry_run: bool,
    /// Rows selected.
    pub selected: Vec<i64>,
    /// Rows changed.
    pub changed: Vec<i64>,
    /// Selected, but they changed state meanwhile and were left alone.
    pub skipped: Vec<i64>,
    /// `replay --new-id`: each original and its copy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<(i64, i64)>,
    /// Stopped by SIGINT or SIGTERM before every row selected was reached.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Selected by the filter but left alone: saga commands whose saga has
    /// moved on (`--force` includes them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<i64>,
    /// With `interrupted`: the command that changes the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
}

/// What a changing command does to each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Replay,
    ReplayNewId,
    Requeue,
    Retry,
    Discard,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Self::Replay | Self::ReplayNewId => "replay",
            Self::Requeue => "requeue",
            Self::Retry => "retry",
            Self::Discard => "discard",
        }
    }

    /// Past tense, short: "rows requeued".
    fn done_short(self) -> &'static str {
        match self {
            Self::Replay | Self::ReplayNewId => "replayed",
            Self::Requeue => "requeued",
            Self::Retry => "set to go out now",
            Self::Discard => "discarded",
        }
    }

    /// Past tense, for "replayed 3 rows …".
    fn done(self) -> &'static str {
        match self {
            Self::Replay => "replayed (same message ids; they go out with the next relay batch)",
            Self::ReplayNewId => "replayed as new rows with new message ids",
            Self::Requeue => "requeued (attempts reset; they go out with the next relay batch)",
            Self::Retry => "set to go out now",
            Self::Discard => "discarded (kept in outbox_audit)",
        }
    }

    pub async fn apply(
        self,
        tx: &mut store::Tx,
        ids: &[i64],
        actor: &str,
        copies: &mut Vec<(i64, i64)>,
    ) -> Result<Vec<i64>, store::StoreError> {
        match self {
            Self::Replay => outbox::replay_same_id(tx, ids, actor).await,
            Self::ReplayNewId => {
                let made = outbox::replay_new_id(tx, ids, actor).await?;
                let originals = made.iter().map(|(o, _)| *o).collect();
                copies.extend(made);
                Ok(originals)
            }
            Self::Requeue => outbox::requeue(tx, ids, actor).await,
            Self::Retry => outbox::retry_now(tx, ids, actor).await,
            Self::Discard => outbox::discard(tx, ids, actor).await,
        }
    }
}

/// The rows named on the command line, each of which must exist and be in
/// one of `allowed` (an error naming the row and the fix otherwise).
pub(super) async fn named_rows(
    pool: &PgPool,
    named: &[RowRef],
    allowed: &[OutboxStatus],
    hint: &str,
) -> anyhow::Result<Vec<EventState>> {
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (r, state) in outbox::resolve(pool, named).await? {
        match state {
            None => {
                gone(pool, r).await?;
            }
            Some(s) if !allowed.contains(&s.status) => {
                anyhow::bail!("row {} is {}: {hint}", s.id, s.status);
            }
            Some(s) => {
                if seen.insert(s.id) {
                    rows.push(s);
                }
            }
        }
    }
    Ok(rows)
}

pub(super) fn rows_word(n: usize) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}

fn ids_text(ids: &[i64]) -> String {
    let shown: Vec<String> = ids.iter().take(20).map(|i| i.to_string()).collect();
    match ids.len().saturating_sub(20) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// The command that changes the rest of an interrupted change: its words
/// after the global options (`outbox requeue --dead --topic T`), and whether
/// the rows were named on the command line (then the rest are named again;
/// else the same filter selects them, up to the last row selected).
pub(super) struct Resume {
    pub words: Vec<String>,
    pub named: bool,
}

impl Resume {
    pub fn filter(words: &[&str]) -> Self {
        Self {
            words: words.iter().map(|w| w.to_string()).collect(),
            named: false,
        }
    }

    pub fn named(words: &[&str]) -> Self {
        Self {
            named: true,
            ..Self::filter(words)
        }
    }

    /// Add flags given (`--force`).
    pub fn flags(mut self, flags: impl IntoIterator<Item = String>) -> Self {
        self.words.extend(flags);
        self
    }

    /// Add `--flag value` when there is a value.
    pub fn with(mut self, flag: &str, value: Option<String>) -> Self {
        if let Some(v) = value {
            self.words.push(flag.to_string());
            self.words.push(v);
        }
        self
    }

    /// The whole command line for the rest.
    fn command(&self, rest: &[i64], selected_up_to: i64, change: &ChangeArgs) -> Vec<String> {
        let words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        let mut out = bulk::resume(&words);
        if self.named {
            out.extend(rest.iter().map(i64::to_string));
        } else {
            out.extend(["--max-id".to_string(), selected_up_to.to_string()]);
        }
        out.extend([
            "--yes".to_string(),
            "--batch".into(),
            change.batch.to_string(),
        ]);
        if let Some(r) = change.rate.rate {
            out.extend(["--rate".to_string(), format!("{r}/s")]);
        }
        if change.output.output == Output::Json {
            out.extend(["-o".to_string(), "json".into()]);
        }
        out
    }
}

/// Confirm, then apply `action` to `rows` in batches of `change.batch`, each
/// its own transaction, at `--rate`, with a progress bar on a terminal; say
/// what changed. SIGINT or SIGTERM stops it between batches: it says what it
/// changed and how to resume (exit 130).
pub(super) async fn change(
    pool: &PgPool,
    action: Action,
    (rows, kept): (&[EventState], Vec<i64>),
    change: &ChangeArgs,
    nothing: &str,
    resume: Resume,
) -> anyhow::Result<Outcome> {
    let format = change.output.output;
    let mut report = Changed {
        action: action.name(),
        dry_run: change.dry_run,
        selected: rows.iter().map(|r| r.id).collect(),
        kept,
        ..Changed::default()
    };
    if rows.is_empty() {
        if format == Output::Json {
            output::json_line(&report)?;
        } else {
            output::line(nothing)?;
            say_kept(&report)?;
        }
        return Ok(Outcome::Success);
    }
    let n = rows.len();
    if change.dry_run {
        if format == Output::Json {
            output::json_line(&report)?;
        } else {
            output::line(format!(
                "would {} {}: {}",
                action.name(),
                rows_word(n),
                ids_text(&report.selected)
            ))?;
            say_kept(&report)?;
        }
        return Ok(Outcome::Success);
    }
    if !output::confirm(
        &format!("{} {}", action.name(), rows_word(n)),
        n,
        change.yes,
    )? {
        return declined();
    }
    let actor = crate::identity::actor();
    let bar = output::progress(n as u64, &format!("rows {}", action.name()));
    let bulk = Bulk::start(change.rate.rate);
    let mut reached = 0;
    for chunk in report.selected.clone().chunks(bulk.batch(change.batch)) {
        if !bulk.next(reached as u64).await {
            break;
        }
        let mut tx = pool.begin().await?;
        let done = action
            .apply(&mut tx, chunk, &actor, &mut report.copies)
            .await?;
        tx.commit().await?;
        report.changed.extend(done);
        reached += chunk.len();
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let changed: HashSet<i64> = report.changed.iter().copied().collect();
    report.skipped = report.selected[..reached]
        .iter()
        .filter(|id| !changed.contains(id))
        .copied()
        .collect();
    let rest = &report.selected[reached..];
    let up_to = report.selected.iter().copied().max().unwrap_or(0);
    let resume = (!rest.is_empty()).then(|| resume.command(rest, up_to, change));
    report.interrupted = resume.is_some();
    report.resume = resume.as_deref().map(bulk::command_line);
    if format == Output::Json {
        output::json_line(&report)?;
    } else {
        say(&report, action)?;
    }
    Ok(match resume {
        None => Outcome::Success,
        Some(resume) => bulk::interrupted(
            report.changed.len() as u64,
            n as u64,
            &format!("rows {}", action.done_short()),
            &resume,
        ),
    })
}

/// What a change did, in sentences.
fn say(report: &Changed, action: Action) -> anyhow::Result<()> {
    output::line(format!(
        "{} {}: {}",
        rows_word(report.changed.len()),
        action.done(),
        if report.copies.is_empty() {
            ids_text(&report.changed)
        } else {
            let pairs: Vec<String> = report
                .copies
                .iter()
                .take(20)
                .map(|(o, c)| format!("{o}→{c}"))
                .collect();
            pairs.join(", ")
        }
    ))?;
    if !report.skipped.is_empty() {
        output::line(format!(
            "{} changed state meanwhile and were left alone: {}",
            rows_word(report.skipped.len()),
            ids_text(&report.skipped)
        ))?;
    }
    say_kept(report)
}

/// Saga commands left out of a selection, and why.
fn say_kept(report: &Changed) -> anyhow::Result<()> {
    if !report.kept.is_empty() {
        output::line(format!(
            "{} left alone: saga commands whose saga has moved on (sent again they would have \
             their effect after the saga decided otherwise; `outboxctl outbox why ID` says \
             more, --force includes them): {}",
            rows_word(report.kept.len()),
            ids_text(&report.kept)
        ))?;
    }
    Ok(())
}
