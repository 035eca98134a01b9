//! `outboxctl outbox ls|show|why|replay|requeue|purge`: see every row, know
//! why it is where it is, and steer it. Every change says what it changed and
//! records who did it, when, in the row.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;

use super::{Outcome, nothing};
use crate::cli::{LsArgs, OutboxCommand, Output, ReplayArgs, RequeueArgs};
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
        OutboxCommand::Why { row } => why(config, row).await,
        OutboxCommand::Replay(args) => replay(config, &args).await,
        OutboxCommand::Requeue(args) => requeue(config, &args).await,
        OutboxCommand::Purge(args) => {
            purge(config, args.older_than, args.batch, args.dry_run).await
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
    };
    let rows = outbox::list(&pool, &filter).await?;
    if rows.is_empty() {
        return nothing("no outbox rows match");
    }
    match args.output.output {
        Output::Json => {
            for r in &rows {
                output::json_line(r)?;
            }
        }
        Output::Table => {
            let now = Utc::now();
            let mut t = output::table(&[
                "id",
                "message id",
                "topic",
                "key",
                "status",
                "attempts",
                "age",
                "last error",
            ]);
            // The error takes what the other columns leave of the terminal.
            let fixed: usize = rows
                .iter()
                .map(|r| {
                    60 + r.topic.len().min(30)
                        + r.partition_key.as_deref().map_or(1, str::len).min(36)
                })
                .max()
                .unwrap_or(80);
            let room = output::room(fixed);
            for r in &rows {
                t.add_row(vec![
                    comfy_table::Cell::new(r.id),
                    comfy_table::Cell::new(r.message_id),
                    comfy_table::Cell::new(&r.topic),
                    comfy_table::Cell::new(r.partition_key.as_deref().unwrap_or("-")),
                    output::status_cell(r.status.as_str()),
                    comfy_table::Cell::new(r.attempts),
                    comfy_table::Cell::new(age(now - r.created_at)),
                    comfy_table::Cell::new(
                        r.last_error.as_deref().map_or("-".into(), |e| cut(e, room)),
                    ),
                ]);
            }
            output::print_table(&t)?;
        }
    }
    Ok(Outcome::Success)
}

pub async fn show(config: &Config, row: RowRef, format: Output) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some(r) = outbox::find(&pool, row).await? else {
        return nothing(&format!("there is no outbox {row}"));
    };
    let consumed = inbox::history(&pool, r.state.message_id).await?;
    if format == Output::Json {
        let mut v = serde_json::to_value(&r)?;
        v["consumed"] = serde_json::to_value(&consumed)?;
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
    for l in lines {
        output::line(l)?;
    }
    Ok(Outcome::Success)
}

pub async fn why(config: &Config, row: RowRef) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some(r) = outbox::find(&pool, row).await? else {
        return nothing(&format!("there is no outbox {row}"));
    };
    let text = explain(&pool, &r).await?;
    output::line(text)?;
    Ok(Outcome::Success)
}

/// One paragraph on where a row stands and why.
async fn explain(pool: &PgPool, r: &OutboxRow) -> anyhow::Result<String> {
    let name = format!("Row {} ({})", r.state.id, r.state.topic);
    Ok(match r.state.status {
        OutboxStatus::Sent => {
            let at = r.state.sent_at.map_or("-".into(), when);
            format!(
                "{name} went out at {at}: the broker confirmed it on attempt {}. Consumers have it \
                 (`outboxctl outbox show {}` lists who processed it).",
                r.state.attempts, r.state.id
            )
        }
        OutboxStatus::Dead => format!(
            "{name} is dead since {} after {} attempts; the last error was: {}. It stays here until \
             you act: fix the cause, then `outboxctl outbox requeue {}`.",
            r.state.dead_at.map_or("-".into(), when),
            r.state.attempts,
            r.state.last_error.as_deref().unwrap_or("(none recorded)"),
            r.state.id
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
                 and becomes dead after relay.max_attempts attempts.",
                when(r.available_at),
                r.attempts,
                r.last_error.as_deref().unwrap_or("(no error recorded)")
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

/// The rows an operator command acts on: those named on the command line
/// (all of them in `filter.status`, or a message saying which is not), or
/// those `filter` matches.
async fn target_rows(
    pool: &PgPool,
    named: &[RowRef],
    filter: ListFilter,
    hint: &str,
) -> anyhow::Result<Result<Vec<EventState>, String>> {
    if named.is_empty() {
        return Ok(Ok(outbox::list(pool, &filter).await?));
    }
    let want = filter.status.expect("operator commands act on one status");
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (r, state) in outbox::resolve(pool, named).await? {
        match state {
            None => return Ok(Err(format!("there is no outbox {r}"))),
            Some(s) if s.status != want => {
                return Ok(Err(format!(
                    "row {} is {}, not {want}: {hint}",
                    s.id, s.status
                )));
            }
            Some(s) => {
                if seen.insert(s.id) {
                    rows.push(s);
                }
            }
        }
    }
    Ok(Ok(rows))
}

fn ids_text(rows: &[EventState]) -> String {
    let ids: Vec<String> = rows.iter().take(20).map(|r| r.id.to_string()).collect();
    let more = rows.len().saturating_sub(20);
    if more > 0 {
        format!("{} and {more} more", ids.join(", "))
    } else {
        ids.join(", ")
    }
}

fn rows_word(n: usize) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}

pub async fn replay(config: &Config, args: &ReplayArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let filter = ListFilter {
        status: Some(OutboxStatus::Sent),
        topic: args.topic.clone(),
        since: args.since,
        until: args.until,
        oldest_first: true,
        ..ListFilter::default()
    };
    let hint = "replay publishes sent rows again (requeue puts dead rows back)";
    let rows = match target_rows(&pool, &args.rows, filter, hint).await? {
        Ok(rows) => rows,
        Err(msg) => return nothing(&msg),
    };
    if rows.is_empty() {
        return nothing("no sent rows match; nothing to replay");
    }
    let how = if args.new_id {
        "as copies with new message ids (consumers process them again)"
    } else {
        "with their message ids (consumers that processed them skip them)"
    };
    let n = rows.len();
    if args.dry_run {
        output::line(format!(
            "would replay {} {how}: {}",
            rows_word(n),
            ids_text(&rows)
        ))?;
        return Ok(Outcome::Success);
    }
    if !output::confirm(&format!("replay {} {how}", rows_word(n)), n, args.yes)? {
        return nothing("not confirmed; nothing changed");
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let actor = output::actor();
    let mut tx = pool.begin().await?;
    let changed = if args.new_id {
        let copies = outbox::replay_new_id(&mut tx, &ids, &actor).await?;
        tx.commit().await?;
        let pairs: Vec<String> = copies
            .iter()
            .take(20)
            .map(|(o, c)| format!("{o}→{c}"))
            .collect();
        output::line(format!(
            "replayed {} as new rows with new message ids: {}",
            rows_word(copies.len()),
            pairs.join(", ")
        ))?;
        copies.len()
    } else {
        let changed = outbox::replay_same_id(&mut tx, &ids, &actor).await?;
        tx.commit().await?;
        output::line(format!(
            "replayed {} with their message ids; they go out with the next relay batch",
            rows_word(changed.len())
        ))?;
        changed.len()
    };
    if changed < n {
        output::line(format!(
            "{} changed state meanwhile and were left alone",
            rows_word(n - changed)
        ))?;
    }
    Ok(Outcome::Success)
}

pub async fn requeue(config: &Config, args: &RequeueArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let filter = ListFilter {
        status: Some(OutboxStatus::Dead),
        topic: args.topic.clone(),
        oldest_first: true,
        ..ListFilter::default()
    };
    let hint = "requeue puts dead rows back (replay re-publishes sent ones)";
    let rows = match target_rows(&pool, &args.rows, filter, hint).await? {
        Ok(rows) => rows,
        Err(msg) => return nothing(&msg),
    };
    if rows.is_empty() {
        return nothing("no dead rows match; nothing to requeue");
    }
    let n = rows.len();
    if args.dry_run {
        output::line(format!(
            "would requeue {}: {}",
            rows_word(n),
            ids_text(&rows)
        ))?;
        return Ok(Outcome::Success);
    }
    if !output::confirm(
        &format!("requeue {} (attempts reset to 0)", rows_word(n)),
        n,
        args.yes,
    )? {
        return nothing("not confirmed; nothing changed");
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tx = pool.begin().await?;
    let changed = outbox::requeue(&mut tx, &ids, &output::actor()).await?;
    tx.commit().await?;
    output::line(format!(
        "requeued {} (attempts reset); they go out with the next relay batch",
        rows_word(changed.len())
    ))?;
    if changed.len() < n {
        output::line(format!(
            "{} changed state meanwhile and were left alone",
            rows_word(n - changed.len())
        ))?;
    }
    Ok(Outcome::Success)
}

pub async fn purge(
    config: &Config,
    older_than: Duration,
    batch: u32,
    dry_run: bool,
) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let cutoff = Utc::now() - chrono::Duration::from_std(older_than)?;
    let total = outbox::count_sent_before(&pool, cutoff).await?;
    let span = humantime::format_duration(older_than);
    if dry_run {
        output::line(format!(
            "would delete {} sent more than {span} ago (before {})",
            rows_word(total as usize),
            cutoff.format("%Y-%m-%d %H:%M:%SZ")
        ))?;
        return Ok(Outcome::Success);
    }
    if total == 0 {
        output::line(format!(
            "no rows were sent more than {span} ago; nothing deleted"
        ))?;
        return Ok(Outcome::Success);
    }
    let bar = indicatif::ProgressBar::new(total as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} rows deleted ({per_sec}, {eta} left)",
        )
        .expect("a valid template"),
    );
    let mut deleted = 0u64;
    loop {
        let n = outbox::purge_sent_batch(&pool, cutoff, batch).await?;
        if n == 0 {
            break;
        }
        deleted += n;
        bar.set_position(deleted.min(total as u64));
    }
    bar.finish_and_clear();
    output::line(format!(
        "deleted {} sent more than {span} ago",
        rows_word(deleted as usize)
    ))?;
    Ok(Outcome::Success)
}
