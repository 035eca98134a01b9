//! `outboxctl outbox ls|show|why|replay|requeue|retry|discard|edit|purge`:
//! see every row, know why it is where it is, and steer it. Every change says
//! what it changed (also as `-o json`) and records who did it and when: in
//! the row (replay, requeue) or in `outbox_audit` (retry, discard, edit).
//! Many rows change in bounded batches, each its own transaction, with a
//! progress bar on a terminal.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use sqlx::PgPool;

use super::{Outcome, declined, empty};
use crate::cli::{
    ChangeArgs, DiscardArgs, LsArgs, OutboxCommand, Output, ReplayArgs, RequeueArgs, RetryArgs,
};
use crate::config::Config;
use crate::model::{EventState, OutboxRow, OutboxStatus, RowRef};
use crate::output::{self, age, cut, when};
use crate::store::outbox::{self, ListFilter};
use crate::store::{self, inbox};

async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    let pool = store::connect(&config.database, "outboxctl ops", &[("jit", "off".into())]).await?;
    store::check_schema(&pool).await?;
    Ok(pool)
}

/// `outboxctl outbox …`
pub async fn command(config: &Config, cmd: OutboxCommand) -> anyhow::Result<Outcome> {
    match cmd {
        OutboxCommand::Ls(args) => ls(config, &args).await,
        OutboxCommand::Show { row, output } => show(config, row, output.output).await,
        OutboxCommand::Why { row, output } => why(config, row, output.output).await,
        OutboxCommand::Replay(args) => replay(config, &args).await,
        OutboxCommand::Requeue(args) => requeue(config, &args).await,
        OutboxCommand::Retry(args) => retry(config, &args).await,
        OutboxCommand::Discard(args) => discard(config, &args).await,
        OutboxCommand::Edit { row, output } => edit(config, row, output.output).await,
        OutboxCommand::Purge(args) => {
            purge(
                config,
                args.older_than,
                args.batch,
                args.dry_run,
                !args.no_vacuum,
                args.output.output,
            )
            .await
        }
    }
}

/// Where a pending row stands in detail, for `ls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// Goes out with the next batch.
    Due,
    /// A relayer has it in a batch now.
    InFlight,
    /// Waits out a backoff after a failed attempt.
    Retrying,
    /// `available_at` is in the future and it never failed.
    Scheduled,
    /// An older pending row of its key goes first.
    Held,
}

/// A row as `outbox ls` shows it.
#[derive(Debug, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub row: EventState,
    /// For pending rows: due, in_flight, retrying, scheduled or held.
    pub state: Option<Waiting>,
    /// For held rows: the older row of the key that goes first.
    pub held_by: Option<i64>,
}

impl Listed {
    /// The status column: `sent`, `dead`, or the pending row's detail.
    fn status_text(&self) -> String {
        let now = Utc::now();
        match self.state {
            None => self.row.status.to_string(),
            Some(Waiting::Due) => "due".into(),
            Some(Waiting::InFlight) => "in flight".into(),
            Some(Waiting::Retrying) => {
                format!("retry in {}", age(self.row.available_at - now))
            }
            Some(Waiting::Scheduled) => format!("sched. in {}", age(self.row.available_at - now)),
            Some(Waiting::Held) => format!("held by {}", self.held_by.unwrap_or_default()),
        }
    }
}

pub async fn ls(config: &Config, args: &LsArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let status = if args.pending {
        Some(OutboxStatus::Pending)
    } else if args.sent {
        Some(OutboxStatus::Sent)
    } else if args.dead {
        Some(OutboxStatus::Dead)
    } else {
        None
    };
    let filter = ListFilter {
        status,
        topic: args.topic.clone(),
        key: args.key.clone(),
        since: args.since,
        until: args.until,
        limit: Some(args.limit),
        oldest_first: args.oldest_first,
        in_backoff: false,
    };
    let rows = outbox::list(&pool, &filter).await?;
    // A listing cut short says so, and by how much (counted up to 100,000).
    let more = if rows.len() as u32 == args.limit {
        outbox::count_beyond(&pool, &filter, args.limit, 100_000).await?
    } else {
        0
    };
    let pending: Vec<i64> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Pending)
        .map(|r| r.id)
        .collect();
    let details = if pending.is_empty() {
        HashMap::new()
    } else {
        outbox::pending_details(&pool, &pending).await?
    };
    let now = Utc::now();
    let listed: Vec<Listed> = rows
        .into_iter()
        .map(|row| {
            let (held_by, in_flight) = details.get(&row.id).copied().unwrap_or((None, false));
            let state = (row.status == OutboxStatus::Pending).then(|| {
                if in_flight {
                    Waiting::InFlight
                } else if row.available_at > now && row.attempts > 0 {
                    Waiting::Retrying
                } else if row.available_at > now {
                    Waiting::Scheduled
                } else if held_by.is_some() {
                    Waiting::Held
                } else {
                    Waiting::Due
                }
            });
            Listed {
                held_by: held_by.filter(|_| state == Some(Waiting::Held)),
                row,
                state,
            }
        })
        .collect();
    if listed.is_empty() {
        return empty(args.output.output, "no outbox rows match");
    }
    match args.output.output {
        Output::Json => {
            for r in &listed {
                output::json_line(r)?;
            }
        }
        Output::Table => print_rows(&listed)?,
    }
    if more > 0 {
        let n = if more >= 100_000 {
            "100000 or more".to_string()
        } else {
            more.to_string()
        };
        eprintln!(
            "outboxctl: {} rows shown; {n} more match — raise --limit (up to 100000) or narrow \
             with --topic, --key, --since",
            listed.len()
        );
    }
    Ok(Outcome::Success)
}

/// The rows as a table that fits the terminal: ids never wrap, the message
/// id column goes first when room is short, and the error gets what is left
/// (its start, cut with an ellipsis).
fn print_rows(rows: &[Listed]) -> anyhow::Result<()> {
    let now = Utc::now();
    let width = output::terminal_width();
    // Columns besides the error, at their widest here.
    let widest = |f: &dyn Fn(&Listed) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let id_w = widest(&|r| r.row.id.to_string().len()).max(2);
    let topic_w = widest(&|r| r.row.topic.chars().count()).clamp(5, 30);
    let key_w = widest(&|r| {
        r.row
            .partition_key
            .as_deref()
            .map_or(1, |k| k.chars().count())
    })
    .clamp(3, 24);
    let status_w = widest(&|r| r.status_text().len()).max(6);
    // Gaps of two between eight columns, attempts and age at most 8 each.
    let without_mid = id_w + topic_w + key_w + status_w + 8 + 8 + 2 * 7;
    let with_mid = without_mid + 36 + 2;
    let show_mid = width.is_none_or(|w| w >= with_mid + 30);
    let used = if show_mid { with_mid } else { without_mid };
    let room = width.map_or(usize::MAX, |w| w.saturating_sub(used + 2).max(12));
    let mut header = vec!["id"];
    if show_mid {
        header.push("message id");
    }
    header.extend(["topic", "key", "status", "att", "age", "last error"]);
    let mut t = output::table(&header);
    for r in rows {
        let mut cells = vec![comfy_table::Cell::new(r.row.id)];
        if show_mid {
            cells.push(comfy_table::Cell::new(r.row.message_id));
        }
        cells.extend([
            comfy_table::Cell::new(cut(&r.row.topic, topic_w)),
            comfy_table::Cell::new(cut(r.row.partition_key.as_deref().unwrap_or("-"), key_w)),
            output::status_cell(&r.status_text()),
            comfy_table::Cell::new(r.row.attempts),
            comfy_table::Cell::new(age(now - r.row.created_at)),
            comfy_table::Cell::new(
                r.row
                    .last_error
                    .as_deref()
                    .map_or("-".into(), |e| cut(e, room)),
            ),
        ]);
        t.add_row(cells);
    }
    if let Some(id) = t.column_mut(0) {
        id.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
    }
    output::print_table(&t)?;
    Ok(())
}

pub async fn show(config: &Config, row: RowRef, format: Output) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some(r) = outbox::find(&pool, row).await? else {
        return gone(&pool, row).await;
    };
    let consumed = inbox::history(&pool, r.state.message_id).await?;
    let dead_lettered = inbox::dead_lettered(&pool, r.state.message_id).await?;
    let audit = outbox::audit(&pool, r.state.id).await?;
    if format == Output::Json {
        let mut v = serde_json::to_value(&r)?;
        v["consumed"] = serde_json::to_value(&consumed)?;
        v["dead_lettered"] = serde_json::to_value(&dead_lettered)?;
        v["audit"] = serde_json::to_value(&audit)?;
        output::json_line(&v)?;
        return Ok(Outcome::Success);
    }
    let opt = |t: Option<chrono::DateTime<Utc>>| t.map_or("-".to_string(), when);
    let mut lines = vec![
        format!(
            "row {}  message {}  {}",
            r.state.id, r.state.message_id, r.state.status
        ),
        format!("topic          {}", r.state.topic),
        format!(
            "partition key  {}",
            r.state.partition_key.as_deref().unwrap_or("-")
        ),
        format!("attempts       {}", r.state.attempts),
        format!("created        {}", when(r.state.created_at)),
        format!("available      {}", when(r.state.available_at)),
        format!("sent           {}", opt(r.state.sent_at)),
        format!("dead           {}", opt(r.state.dead_at)),
        format!(
            "last error     {}",
            r.state.last_error.as_deref().unwrap_or("-")
        ),
        format!("traceparent    {}", r.traceparent.as_deref().unwrap_or("-")),
        format!("lane           {}", r.lane),
    ];
    if let Some(orig) = r.replay_of {
        lines.push(format!("replay of      row {orig}"));
    }
    if r.replay_count > 0 {
        lines.push(format!(
            "replayed       {} time(s), last {} by {}",
            r.replay_count,
            opt(r.replayed_at),
            r.replayed_by.as_deref().unwrap_or("?")
        ));
    }
    if let Some(at) = r.requeued_at {
        lines.push(format!(
            "requeued       {} by {}",
            when(at),
            r.requeued_by.as_deref().unwrap_or("?")
        ));
    }
    for a in &audit {
        lines.push(format!("{:<14} {} by {}", a.action, when(a.at), a.actor));
    }
    lines.push(format!("headers        {}", r.headers));
    lines.push("payload".into());
    for l in serde_json::to_string_pretty(&r.payload)?.lines() {
        lines.push(format!("  {l}"));
    }
    if consumed.is_empty() {
        lines.push("consumed by    nobody yet".into());
    } else {
        lines.push("consumed by".into());
        for c in &consumed {
            lines.push(format!(
                "  {}  {}  attempt {}{}  {:.1} ms  duplicates {}",
                c.consumer,
                when(c.committed_at),
                c.delivery_attempt,
                if c.redelivered { " (redelivered)" } else { "" },
                c.processing_ms,
                c.duplicates
            ));
        }
    }
    for d in &dead_lettered {
        lines.push(format!(
            "dead-lettered  by {} at {} after {} attempt(s): {}",
            d.consumer,
            when(d.dead_at),
            d.attempts,
            d.reason
        ));
    }
    for l in lines {
        output::line(l)?;
    }
    Ok(Outcome::Success)
}

/// A row that is not there: discarded (say by whom), or never existed (an
/// error naming the fix).
async fn gone(pool: &PgPool, row: RowRef) -> anyhow::Result<Outcome> {
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

/// `outbox why` as JSON.
#[derive(Debug, Serialize)]
struct Why {
    id: i64,
    message_id: String,
    status: OutboxStatus,
    explanation: String,
}

pub async fn why(config: &Config, row: RowRef, format: Output) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some(r) = outbox::find(&pool, row).await? else {
        return gone(&pool, row).await;
    };
    let text = explain(&pool, &r).await?;
    if format == Output::Json {
        output::json_line(&Why {
            id: r.state.id,
            message_id: r.state.message_id.to_string(),
            status: r.state.status,
            explanation: text,
        })?;
    } else {
        output::line(text)?;
    }
    Ok(Outcome::Success)
}

/// Where a sent row went: consumed, dead-lettered by a consumer, or not
/// recorded by anyone yet.
async fn after_sending(pool: &PgPool, r: &OutboxRow) -> anyhow::Result<String> {
    let dead = inbox::dead_lettered(pool, r.state.message_id).await?;
    let consumed = inbox::history(pool, r.state.message_id).await?;
    let mut parts = Vec::new();
    if !consumed.is_empty() {
        let names: Vec<&str> = consumed.iter().map(|c| c.consumer.as_str()).collect();
        parts.push(format!(
            "Consumers have it: {} (`outboxctl outbox show {}` lists when).",
            names.join(", "),
            r.state.id
        ));
    }
    for d in &dead {
        parts.push(format!(
            "Consumer {} gave up on it {} after {} attempt(s) and put it in the dead-letter queue \
             of {}: {}. Fix the cause, then `outboxctl dlq replay {} --queue {}` sends it back \
             (`outboxctl dlq show {} --queue {}` shows it in full).",
            d.consumer,
            when(d.dead_at),
            d.attempts,
            d.queue,
            d.reason,
            r.state.message_id,
            d.queue,
            r.state.message_id,
            d.queue
        ));
    }
    if parts.is_empty() {
        parts.push(
            "No consumer has recorded it yet: it waits in its queue, or no consumer runs \
             (`outboxctl status` tells)."
                .into(),
        );
    }
    Ok(parts.join(" "))
}

/// One paragraph on where a row stands and why.
pub async fn explain(pool: &PgPool, r: &OutboxRow) -> anyhow::Result<String> {
    let name = format!("Row {} ({})", r.state.id, r.state.topic);
    Ok(match r.state.status {
        OutboxStatus::Sent => {
            let at = r.state.sent_at.map_or("-".into(), when);
            format!(
                "{name} went out at {at}: the broker confirmed it on attempt {}. {}",
                r.state.attempts,
                after_sending(pool, r).await?
            )
        }
        OutboxStatus::Dead => format!(
            "{name} is dead since {} after {} attempts; the last error was: {}. It stays here until \
             you act: fix the cause, then `outboxctl outbox requeue {id}` (or fix its payload first \
             with `outboxctl outbox edit {id}`); if it should never go out, `outboxctl outbox \
             discard {id}`.",
            r.state.dead_at.map_or("-".into(), when),
            r.state.attempts,
            r.state.last_error.as_deref().unwrap_or("(none recorded)"),
            id = r.state.id
        ),
        OutboxStatus::Pending => {
            let state = &r.state;
            let own = pending_reason(pool, state, r.lane).await?;
            match (&own, r.state.partition_key.as_deref()) {
                (Pending::Due, Some(key)) => match outbox::blocker(pool, key, r.state.id).await? {
                    Some(b) => {
                        let theirs = pending_reason(pool, &b, r.lane).await?;
                        format!(
                            "{name} is held back by row {}, an older pending row of the same key {key:?}: \
                             rows of a key go out in id order. Row {} {}",
                            b.id,
                            b.id,
                            theirs.sentence(pool, &b).await?
                        )
                    }
                    None => format!("{name} {}", own.sentence(pool, state).await?),
                },
                _ => format!("{name} {}", own.sentence(pool, state).await?),
            }
        }
    })
}

/// Why a pending row is where it is, on its own (without its key).
enum Pending {
    Claimed(Option<outbox::LaneHolder>),
    Backoff,
    Scheduled,
    Due,
}

async fn pending_reason(pool: &PgPool, r: &EventState, lane: i16) -> anyhow::Result<Pending> {
    if outbox::is_claimed(pool, r.id).await? {
        return Ok(Pending::Claimed(outbox::lane_holder(pool, lane).await?));
    }
    if r.available_at > Utc::now() {
        return Ok(if r.attempts > 0 {
            Pending::Backoff
        } else {
            Pending::Scheduled
        });
    }
    Ok(Pending::Due)
}

impl Pending {
    async fn sentence(&self, pool: &PgPool, r: &EventState) -> anyhow::Result<String> {
        Ok(match self {
            Self::Claimed(holder) => {
                let who = holder.as_ref().map_or("a relayer".to_string(), |h| {
                    format!(
                        "a relayer (database session {}, {}{}) in a batch that started {}",
                        h.pid,
                        h.application_name,
                        h.client
                            .as_deref()
                            .map(|c| format!(" from {c}"))
                            .unwrap_or_default(),
                        h.batch_started.map_or("-".into(), when)
                    )
                });
                format!(
                    "is being published right now by {who}; it is marked sent when the broker confirms it."
                )
            }
            Self::Backoff => format!(
                "waits for its backoff until {}: attempt {} failed with: {}. It is tried again then, \
                 and becomes dead after relay.max_attempts attempts; once the cause is fixed, \
                 `outboxctl outbox retry {}` sends it now.",
                when(r.available_at),
                r.attempts,
                r.last_error.as_deref().unwrap_or("(no error recorded)"),
                r.id
            ),
            Self::Scheduled => format!(
                "is scheduled: its available_at is {}, and it does not go out before then.",
                when(r.available_at)
            ),
            Self::Due => {
                let relayers = outbox::relayers_connected(pool).await?;
                if relayers == 0 {
                    format!(
                        "has been due since {}, but no relayer is connected to the database: start \
                         `outboxctl relay` (or `outboxctl up`).",
                        when(r.available_at)
                    )
                } else {
                    format!(
                        "has been due since {} and {relayers} relayer session(s) are connected: it goes \
                         out with the next batch, within relay.interval at most. If it stays, look at \
                         the relay's log.",
                        when(r.available_at)
                    )
                }
            }
        })
    }
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Replay,
    ReplayNewId,
    Requeue,
    Retry,
    Discard,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Replay | Self::ReplayNewId => "replay",
            Self::Requeue => "requeue",
            Self::Retry => "retry",
            Self::Discard => "discard",
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

    async fn apply(
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
async fn named_rows(
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

fn rows_word(n: usize) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}

fn ids_text(ids: &[i64]) -> String {
    let shown: Vec<String> = ids.iter().take(20).map(|i| i.to_string()).collect();
    match ids.len().saturating_sub(20) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Confirm, then apply `action` to `rows` in batches of `change.batch`, each
/// its own transaction, with a progress bar on a terminal; say what changed.
async fn change(
    pool: &PgPool,
    action: Action,
    rows: &[EventState],
    change: &ChangeArgs,
    nothing: &str,
) -> anyhow::Result<Outcome> {
    let format = change.output.output;
    let mut report = Changed {
        action: action.name(),
        dry_run: change.dry_run,
        selected: rows.iter().map(|r| r.id).collect(),
        ..Changed::default()
    };
    if rows.is_empty() {
        if format == Output::Json {
            output::json_line(&report)?;
        } else {
            output::line(nothing)?;
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
    let actor = output::actor();
    let bar = output::progress(n as u64, &format!("rows {}", action.name()));
    for chunk in report.selected.clone().chunks(change.batch as usize) {
        let mut tx = pool.begin().await?;
        let done = action
            .apply(&mut tx, chunk, &actor, &mut report.copies)
            .await?;
        tx.commit().await?;
        report.changed.extend(done);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let changed: HashSet<i64> = report.changed.iter().copied().collect();
    report.skipped = report
        .selected
        .iter()
        .filter(|id| !changed.contains(id))
        .copied()
        .collect();
    if format == Output::Json {
        output::json_line(&report)?;
        return Ok(Outcome::Success);
    }
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
    Ok(Outcome::Success)
}

pub async fn replay(config: &Config, args: &ReplayArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let hint = "replay publishes sent rows again (requeue puts dead rows back, retry sends \
                rows in backoff now)";
    let rows = if args.rows.is_empty() {
        let filter = ListFilter {
            status: Some(OutboxStatus::Sent),
            topic: args.topic.clone(),
            since: args.since,
            until: args.until,
            oldest_first: true,
            ..ListFilter::default()
        };
        outbox::list(&pool, &filter).await?
    } else {
        named_rows(&pool, &args.rows, &[OutboxStatus::Sent], hint).await?
    };
    let action = if args.new_id {
        Action::ReplayNewId
    } else {
        Action::Replay
    };
    change(
        &pool,
        action,
        &rows,
        &args.change,
        "no sent rows match; nothing to replay",
    )
    .await
}

pub async fn requeue(config: &Config, args: &RequeueArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let hint = "requeue puts dead rows back (replay re-publishes sent ones, retry sends rows in \
                backoff now)";
    let rows = if args.rows.is_empty() {
        let filter = ListFilter {
            status: Some(OutboxStatus::Dead),
            topic: args.topic.clone(),
            oldest_first: true,
            ..ListFilter::default()
        };
        outbox::list(&pool, &filter).await?
    } else {
        named_rows(&pool, &args.rows, &[OutboxStatus::Dead], hint).await?
    };
    change(
        &pool,
        Action::Requeue,
        &rows,
        &args.change,
        "no dead rows match; nothing to requeue",
    )
    .await
}

pub async fn retry(config: &Config, args: &RetryArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let rows = if args.rows.is_empty() {
        let filter = ListFilter {
            status: Some(OutboxStatus::Pending),
            topic: args.topic.clone(),
            oldest_first: true,
            in_backoff: true,
            ..ListFilter::default()
        };
        outbox::list(&pool, &filter).await?
    } else {
        let hint = "retry sends pending rows waiting out a backoff now (requeue puts dead rows \
                    back)";
        let rows = named_rows(&pool, &args.rows, &[OutboxStatus::Pending], hint).await?;
        let now = Utc::now();
        if let Some(r) = rows
            .iter()
            .find(|r| r.attempts == 0 || r.available_at <= now)
        {
            anyhow::bail!(
                "row {} is not waiting out a backoff ({}): retry is for rows whose attempt \
                 failed — `outboxctl outbox why {}` says why it waits",
                r.id,
                if r.attempts == 0 && r.available_at > now {
                    "it is scheduled for later"
                } else {
                    "it is due now"
                },
                r.id
            );
        }
        rows
    };
    change(
        &pool,
        Action::Retry,
        &rows,
        &args.change,
        "no rows wait out a backoff; nothing to retry",
    )
    .await
}

pub async fn discard(config: &Config, args: &DiscardArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let rows = if args.rows.is_empty() {
        let filter = ListFilter {
            status: Some(if args.dead {
                OutboxStatus::Dead
            } else {
                OutboxStatus::Pending
            }),
            topic: args.topic.clone(),
            oldest_first: true,
            ..ListFilter::default()
        };
        outbox::list(&pool, &filter).await?
    } else {
        let hint = "discard throws pending or dead rows away; a sent row is history (purge \
                    deletes old sent rows)";
        named_rows(
            &pool,
            &args.rows,
            &[OutboxStatus::Pending, OutboxStatus::Dead],
            hint,
        )
        .await?
    };
    change(
        &pool,
        Action::Discard,
        &rows,
        &args.change,
        "no rows match; nothing to discard",
    )
    .await
}

/// The document `outbox edit` opens: what may be changed.
#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Editable {
    payload: serde_json::Value,
    headers: serde_json::Value,
}

/// `$VISUAL`, `$EDITOR` or `vi`, split into a program and its arguments.
fn editor() -> Vec<String> {
    let cmd = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    cmd.split_whitespace().map(str::to_string).collect()
}

pub async fn edit(config: &Config, row: RowRef, format: Output) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some(r) = outbox::find(&pool, row).await? else {
        return gone(&pool, row).await;
    };
    if r.state.status == OutboxStatus::Sent {
        anyhow::bail!(
            "row {} was sent: it is history and cannot be edited — `outboxctl outbox replay {} \
             --new-id` publishes a copy (which you can edit before it goes out)",
            r.state.id,
            r.state.id
        );
    }
    let before = Editable {
        payload: r.payload.clone(),
        headers: r.headers.clone(),
    };
    let original = serde_json::to_string_pretty(&before)? + "\n";
    let file = tempfile::Builder::new()
        .prefix(&format!("outbox-row-{}-", r.state.id))
        .suffix(".json")
        .tempfile()?;
    std::fs::write(file.path(), &original)?;
    let interactive = std::io::stdin().is_terminal();
    let after = loop {
        let mut cmd = editor();
        let program = cmd.remove(0);
        let status = std::process::Command::new(&program)
            .args(&cmd)
            .arg(file.path())
            .status()
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot run the editor {program:?}: {e} — set VISUAL or EDITOR to one that exists"
                )
            })?;
        if !status.success() {
            anyhow::bail!("the editor exited with {status}; nothing changed");
        }
        let text = std::fs::read_to_string(file.path())?;
        if text.trim() == original.trim() {
            output::line(format!("row {}: no change; nothing written", r.state.id))?;
            return Ok(Outcome::Success);
        }
        let problem = match serde_json::from_str::<Editable>(&text) {
            Ok(e) if !e.headers.is_object() => "\"headers\" must be a JSON object".to_string(),
            Ok(e) => break e,
            Err(e) => format!(
                "not valid: {e} — the document is {{\"payload\": <any JSON>, \"headers\": {{…}}}}"
            ),
        };
        if !interactive {
            anyhow::bail!(
                "your edit of row {} is {problem}; nothing changed",
                r.state.id
            );
        }
        eprintln!("outboxctl: your edit is {problem}");
        if !output::ask("edit it again", true)? {
            return declined();
        }
    };
    let mut tx = pool.begin().await?;
    let written = outbox::edit(
        &mut tx,
        r.state.id,
        (&before.payload, &before.headers),
        (&after.payload, &after.headers),
        &output::actor(),
    )
    .await?;
    tx.commit().await?;
    if !written {
        anyhow::bail!(
            "row {} changed while you edited it (it was sent, or someone else edited it); \
             nothing written — run edit again",
            r.state.id
        );
    }
    let report = Changed {
        action: "edit",
        selected: vec![r.state.id],
        changed: vec![r.state.id],
        ..Changed::default()
    };
    if format == Output::Json {
        output::json_line(&report)?;
    } else {
        output::line(format!(
            "row {}: payload and headers replaced (audited); {}",
            r.state.id,
            match r.state.status {
                OutboxStatus::Dead => format!(
                    "it is still dead — `outboxctl outbox requeue {}` sends it",
                    r.state.id
                ),
                _ => "it goes out as edited".into(),
            }
        ))?;
    }
    Ok(Outcome::Success)
}

/// `outbox purge` as JSON.
#[derive(Debug, Serialize)]
struct Purged {
    action: &'static str,
    dry_run: bool,
    older_than: String,
    rows: u64,
}

pub async fn purge(
    config: &Config,
    older_than: Duration,
    batch: u32,
    dry_run: bool,
    vacuum: bool,
    format: Output,
) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let cutoff = Utc::now() - chrono::Duration::from_std(older_than)?;
    let total = outbox::count_sent_before(&pool, cutoff).await?;
    let span = humantime::format_duration(older_than);
    let say = |rows: u64, text: String| -> anyhow::Result<()> {
        if format == Output::Json {
            output::json_line(&Purged {
                action: "purge",
                dry_run,
                older_than: span.to_string(),
                rows,
            })?;
        } else {
            output::line(text)?;
        }
        Ok(())
    };
    if dry_run {
        say(
            total as u64,
            format!(
                "would delete {} sent more than {span} ago (before {})",
                rows_word(total as usize),
                cutoff.format("%Y-%m-%d %H:%M:%SZ")
            ),
        )?;
        return Ok(Outcome::Success);
    }
    let bar = output::progress(total as u64, "rows deleted");
    let mut deleted = 0u64;
    // Until a batch finds nothing: rows that became old enough meanwhile go
    // too, and a count of zero ends at once.
    loop {
        let n = outbox::purge_sent_batch(&pool, cutoff, batch).await?;
        if n == 0 {
            break;
        }
        deleted += n;
        bar.set_position(deleted.min(total as u64));
    }
    bar.finish_and_clear();
    // Deleted rows leave dead tuples and index entries behind until a vacuum
    // takes them: the claim steps over them and the table grows, however
    // often purge runs, when autovacuum lags behind a busy outbox or is off
    // (`bench soak` measured both). Not through a transaction pooler: VACUUM
    // cannot run inside the transaction each use is wrapped in there.
    let vacuumed = vacuum && deleted > 0 && !config.database.transaction_pooling;
    if vacuumed {
        outbox::vacuum(&pool).await?;
    }
    say(
        deleted,
        format!(
            "deleted {} sent more than {span} ago{}",
            rows_word(deleted as usize),
            if vacuumed {
                "; vacuumed the outbox"
            } else {
                ""
            }
        ),
    )?;
    Ok(Outcome::Success)
}
