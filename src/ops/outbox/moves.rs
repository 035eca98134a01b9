//! Moving rows: `replay` (sent rows out again), `requeue` (dead rows back
//! to pending), `retry` (rows in backoff now), `discard` (pending or dead
//! rows away, kept in the audit), `edit` (a row's payload and headers in
//! $EDITOR) and `purge` (old sent rows deleted).

use std::collections::HashSet;
use std::io::IsTerminal;

use chrono::Utc;
use serde::Serialize;
use sqlx::PgPool;

use super::select::{Action, Changed, Resume, change, gone, named_rows, rows_word};
use crate::cli::{DiscardArgs, ForceArg, Output, PurgeArgs, ReplayArgs, RequeueArgs, RetryArgs};
use crate::config::Config;
use crate::model::{EventState, OutboxStatus, RowRef};
use crate::ops::{Outcome, connect, declined, fenced};
use crate::output;
use crate::store::outbox::{self, ListFilter};

pub async fn replay(config: &Config, args: &ReplayArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let hint = "replay publishes sent rows again (requeue puts dead rows back, retry sends \
                rows in backoff now)";
    let words = ["outbox", "replay"];
    let new_id = args.new_id.then(|| "--new-id".to_string());
    let (rows, resume) = if args.rows.is_empty() {
        let filter = ListFilter {
            status: Some(OutboxStatus::Sent),
            topic: args.topic.clone(),
            since: args.since,
            until: args.until,
            oldest_first: true,
            max_id: args.change.max_id,
            ..ListFilter::default()
        };
        // A window given as an age ("1h") is fixed to the instants it
        // meant, so the rest is the same rows.
        let resume = Resume::filter(&words)
            .with("--topic", args.topic.clone())
            .with("--since", args.since.map(|t| t.to_rfc3339()))
            .with("--until", args.until.map(|t| t.to_rfc3339()));
        (outbox::list(&pool, &filter).await?, resume)
    } else {
        no_max_id(&args.change)?;
        let rows = named_rows(&pool, &args.rows, &[OutboxStatus::Sent], hint).await?;
        (rows, Resume::named(&words))
    };
    let (rows, kept) = fence(config, &pool, rows, !args.rows.is_empty(), args.force.force).await?;
    let action = if args.new_id {
        Action::ReplayNewId
    } else {
        Action::Replay
    };
    let flags = new_id.into_iter().chain(forced(args.force));
    let resume = Resume {
        words: resume.words.into_iter().chain(flags).collect(),
        ..resume
    };
    change(
        &pool,
        action,
        (&rows, kept),
        &args.change,
        "no sent rows match; nothing to replay",
        resume,
    )
    .await
}

/// `--force` again in the command that resumes an interrupted change.
fn forced(f: ForceArg) -> Option<String> {
    f.force.then(|| "--force".to_string())
}

/// Saga commands among `rows` whose saga has moved on must not go out
/// again without `--force`: named on the command line, the command refuses
/// (naming each and why); selected by a filter, they are left alone and
/// returned so the report says so.
async fn fence(
    config: &Config,
    pool: &PgPool,
    rows: Vec<EventState>,
    named: bool,
    force: bool,
) -> anyhow::Result<(Vec<EventState>, Vec<i64>)> {
    if force || rows.is_empty() {
        return Ok((rows, Vec::new()));
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let commands = outbox::saga_headers(pool, &ids).await?;
    if commands.is_empty() {
        return Ok((rows, Vec::new()));
    }
    let mut moved = HashSet::new();
    if named {
        let mut why = Vec::new();
        for (id, headers) in &commands {
            let Some(c) = fenced::For::of_json(headers) else {
                continue;
            };
            if let Some(w) = fenced::moved_on(config, pool, &c).await? {
                why.push(format!("row {id}: {w}"));
            }
        }
        if !why.is_empty() {
            anyhow::bail!(
                "{}\nsending these again would have their effect after the saga decided \
                 otherwise (outboxctl's handlers fence them as stale; an outside participant \
                 would act) — leave them out, or add --force",
                why.join("\n")
            );
        }
        return Ok((rows, Vec::new()));
    }
    let fors: Vec<_> = commands
        .iter()
        .map(|(_, h)| fenced::For::of_json(h))
        .collect();
    let on = fenced::moved_on_all(config, pool, &fors).await?;
    moved.extend(
        commands
            .iter()
            .zip(on)
            .filter(|(_, m)| *m)
            .map(|((id, _), _)| *id),
    );
    let (kept, rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| moved.contains(&r.id));
    Ok((rows, kept.iter().map(|r| r.id).collect()))
}

/// `--max-id` narrows a selection by filter; rows named are named.
fn no_max_id(change: &crate::cli::ChangeArgs) -> anyhow::Result<()> {
    if change.max_id.is_some() {
        anyhow::bail!(
            "--max-id narrows a selection by filter (--dead, --topic, …), not rows named by id — \
             drop --max-id or the row ids"
        );
    }
    Ok(())
}

pub async fn requeue(config: &Config, args: &RequeueArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let hint = "requeue puts dead rows back (replay re-publishes sent ones, retry sends rows in \
                backoff now)";
    let words = ["outbox", "requeue"];
    let (rows, resume) = if args.rows.is_empty() {
        let filter = ListFilter {
            status: Some(OutboxStatus::Dead),
            topic: args.topic.clone(),
            oldest_first: true,
            max_id: args.change.max_id,
            ..ListFilter::default()
        };
        let resume =
            Resume::filter(&[words[0], words[1], "--dead"]).with("--topic", args.topic.clone());
        (outbox::list(&pool, &filter).await?, resume)
    } else {
        no_max_id(&args.change)?;
        let rows = named_rows(&pool, &args.rows, &[OutboxStatus::Dead], hint).await?;
        (rows, Resume::named(&words))
    };
    let (rows, kept) = fence(config, &pool, rows, !args.rows.is_empty(), args.force.force).await?;
    let resume = resume.flags(forced(args.force));
    change(
        &pool,
        Action::Requeue,
        (&rows, kept),
        &args.change,
        "no dead rows match; nothing to requeue",
        resume,
    )
    .await
}

pub async fn retry(config: &Config, args: &RetryArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let words = ["outbox", "retry"];
    let (rows, resume) = if args.rows.is_empty() {
        let filter = ListFilter {
            status: Some(OutboxStatus::Pending),
            topic: args.topic.clone(),
            oldest_first: true,
            in_backoff: true,
            max_id: args.change.max_id,
            ..ListFilter::default()
        };
        let resume =
            Resume::filter(&[words[0], words[1], "--failing"]).with("--topic", args.topic.clone());
        (outbox::list(&pool, &filter).await?, resume)
    } else {
        no_max_id(&args.change)?;
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
        (rows, Resume::named(&words))
    };
    let (rows, kept) = fence(config, &pool, rows, !args.rows.is_empty(), args.force.force).await?;
    let resume = resume.flags(forced(args.force));
    change(
        &pool,
        Action::Retry,
        (&rows, kept),
        &args.change,
        "no rows wait out a backoff; nothing to retry",
        resume,
    )
    .await
}

pub async fn discard(config: &Config, args: &DiscardArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let words = ["outbox", "discard"];
    let (rows, resume) = if args.rows.is_empty() {
        let filter = ListFilter {
            status: Some(if args.dead {
                OutboxStatus::Dead
            } else {
                OutboxStatus::Pending
            }),
            topic: args.topic.clone(),
            oldest_first: true,
            max_id: args.change.max_id,
            ..ListFilter::default()
        };
        let which = if args.dead { "--dead" } else { "--pending" };
        let resume =
            Resume::filter(&[words[0], words[1], which]).with("--topic", args.topic.clone());
        (outbox::list(&pool, &filter).await?, resume)
    } else {
        no_max_id(&args.change)?;
        let hint = "discard throws pending or dead rows away; a sent row is history (purge \
                    deletes old sent rows)";
        let rows = named_rows(
            &pool,
            &args.rows,
            &[OutboxStatus::Pending, OutboxStatus::Dead],
            hint,
        )
        .await?;
        (rows, Resume::named(&words))
    };
    change(
        &pool,
        Action::Discard,
        (&rows, Vec::new()),
        &args.change,
        "no rows match; nothing to discard",
        resume,
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
        &crate::identity::actor(),
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

pub async fn purge(config: &Config, args: &PurgeArgs) -> anyhow::Result<Outcome> {
    let (older_than, batch, dry_run) = (args.older_than, args.batch, args.dry_run);
    let (vacuum, format) = (!args.no_vacuum, args.output.output);
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
