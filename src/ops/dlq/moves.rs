//! Moving dead letters: `dlq replay` (back to their work queue, attempts
//! reset: each copy is confirmed there before the letter is removed), `dlq
//! drop` (deleted for good) and `dlq purge` (a dead-letter queue emptied) —
//! of every queue unless `--queue` narrows it, chosen by id, by cause
//! (`--reason N`) or all. Rounds at `--rate`; SIGINT or SIGTERM stops
//! between rounds with the command for the rest. Every letter moved is in
//! the audit, and the consumers' record of it is forgotten. (`dlq purge` is
//! in `purge`.)

use serde::Serialize;
use serde_json::json;

use super::letters::{self, Name, Opened};
use crate::broker::{Broker, Delivery, Forwarder, topology};
use crate::cli::{MoveArgs, Output};
use crate::config::Config;
use crate::model::{MessageId, headers as outbox_headers};
use crate::ops::bulk::{self, Bulk};
use crate::ops::fenced;
use crate::ops::reasons::{self, Failure};
use crate::ops::{Outcome, declined};
use crate::output;
use crate::store::outbox::{self, DeadLetterAction};
use crate::store::{self, inbox};

/// Dead letters moved or deleted per round: read, copied and confirmed,
/// then acknowledged.
const ROUND: usize = 1000;

/// How long a streamed replay waits for the next dead letter before it
/// takes the queue as empty.
const IDLE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Replay,
    Drop,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Self::Replay => "replay",
            Self::Drop => "drop",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Self::Replay => "replayed",
            Self::Drop => "dropped",
        }
    }
}

/// What a move did: the report, how many letters it chose, and — when a
/// signal stopped it — the command for the rest.
pub(super) struct Done {
    pub report: Moved,
    pub chosen: u64,
    pub rest: Option<Vec<String>>,
}

/// Which dead letters.
#[derive(Debug, Clone)]
pub enum Choice {
    /// By name (`ID` or `QUEUE/ID`).
    Named(Vec<String>),
    /// Every one.
    All,
    /// A cause of `dlq ls --by reason`: its number or key.
    Reason(String),
}

/// What `dlq replay|drop` was asked.
pub struct Move<'a> {
    pub queue: Option<&'a str>,
    pub choice: Choice,
    pub verb: Verb,
    pub change: MoveArgs,
    pub rate: Option<f64>,
    /// Replay saga commands whose saga has moved on too.
    pub force: bool,
}

/// What one dead-letter queue gave up.
#[derive(Debug, Default, Serialize)]
pub(super) struct QueueMoved {
    /// The dead-letter queue.
    pub queue: String,
    pub count: u64,
    pub messages: Vec<Option<String>>,
    /// Left in the dead-letter queue: saga commands whose saga has moved on.
    #[serde(skip_serializing_if = "is_zero")]
    pub kept: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What `dlq replay|drop|purge` did, as `-o json` prints it.
#[derive(Debug, Serialize)]
pub(super) struct Moved {
    pub action: &'static str,
    pub dry_run: bool,
    /// Per dead-letter queue that had something to give.
    pub queues: Vec<QueueMoved>,
    /// Every message moved, of every queue.
    pub messages: Vec<Option<String>>,
    pub count: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
}

pub async fn move_letters(config: &Config, m: Move<'_>) -> anyhow::Result<Outcome> {
    let queues = letters::scope(config, m.queue)?;
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let result = match m.choice {
        Choice::All if !m.change.dry_run => stream_all(config, &broker, &queues, &m).await,
        _ => chosen(config, &broker, &queues, &m).await,
    };
    broker.close().await;
    let Some(Done {
        mut report,
        chosen,
        rest,
    }) = result?
    else {
        return declined();
    };
    report.count = report.queues.iter().map(|q| q.count).sum();
    report.messages = report
        .queues
        .iter()
        .flat_map(|q| q.messages.clone())
        .collect();
    report.interrupted = rest.is_some();
    report.resume = rest.as_deref().map(bulk::command_line);
    print(&report, m.verb, m.change.output.output)?;
    Ok(match rest {
        None => Outcome::Success,
        Some(rest) => bulk::interrupted(
            report.count,
            chosen,
            &format!("dead letters {}", m.verb.past()),
            &rest,
        ),
    })
}

fn print(report: &Moved, verb: Verb, format: Output) -> anyhow::Result<()> {
    if format == Output::Json {
        output::json_line(report)?;
        return Ok(());
    }
    for q in &report.queues {
        let work = q.queue.trim_end_matches(".dlq");
        if q.kept > 0 {
            eprintln!(
                "outboxctl: {} left in {}: saga commands whose saga has moved on (their effect \
                 must not happen now) — `outboxctl dlq drop` removes them, --force replays them",
                messages(q.kept),
                q.queue
            );
        }
        let text = match (report.dry_run, verb) {
            (true, Verb::Replay) => format!(
                "would move {} from {} back to {work}",
                messages(q.count),
                q.queue
            ),
            (true, Verb::Drop) => {
                format!(
                    "would delete {} from {} for good",
                    messages(q.count),
                    q.queue
                )
            }
            (false, Verb::Replay) => format!(
                "moved {} from {} back to {work}, attempts reset",
                messages(q.count),
                q.queue
            ),
            (false, Verb::Drop) => format!("deleted {} from {}", messages(q.count), q.queue),
        };
        output::line(text)?;
    }
    if report.queues.is_empty() {
        output::line(format!("no dead letters; nothing to {}", verb.name()))?;
    }
    Ok(())
}

pub(super) fn messages(n: u64) -> String {
    format!("{n} message{}", if n == 1 { "" } else { "s" })
}

/// The dead letters named, or of one cause: read every dead-letter queue,
/// pick, confirm, move in rounds. `None`: the operator said no. With the
/// report, the command for the rest when a signal stopped it.
async fn chosen(
    config: &Config,
    broker: &Broker,
    queues: &[String],
    m: &Move<'_>,
) -> anyhow::Result<Option<Done>> {
    let opened = letters::read(broker, queues, None).await?;
    let picked = match pick(&opened, &m.choice) {
        Ok(p) => p,
        Err(e) => {
            letters::close(opened).await;
            return Err(e);
        }
    };
    let result = move_picked(config, broker, &opened, &picked, m).await;
    letters::close(opened).await;
    result
}

/// The positions of the letters `choice` names.
fn pick(opened: &[Opened], choice: &Choice) -> anyhow::Result<Vec<(usize, usize)>> {
    match choice {
        Choice::Named(names) => {
            let names: Vec<Name> = names.iter().map(|n| Name::parse(n)).collect();
            letters::pick(opened, &names)
        }
        Choice::All => Ok(opened
            .iter()
            .enumerate()
            .flat_map(|(q, o)| (0..o.letters.len()).map(move |l| (q, l)))
            .collect()),
        Choice::Reason(wanted) => {
            let mut at = Vec::new();
            let mut failures = Vec::new();
            for (q, o) in opened.iter().enumerate() {
                for (l, d) in o.letters.iter().enumerate() {
                    let letter = letters::describe(&o.queue, d, false);
                    failures.push(Failure {
                        reason: letter
                            .reason
                            .unwrap_or_else(|| "(no reason recorded)".into()),
                        place: o.queue.clone(),
                        at: letter.died_at,
                        id: at.len().to_string(),
                    });
                    at.push((q, l));
                }
            }
            let groups = reasons::group(&failures);
            let group = reasons::pick(&groups, wanted).map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "outboxctl: group {} ({} dead letter{}): {}",
                group.group,
                group.count,
                if group.count == 1 { "" } else { "s" },
                group.reason
            );
            Ok(group
                .ids
                .iter()
                .map(|i| at[i.parse::<usize>().expect("an index")])
                .collect())
        }
    }
}

async fn move_picked(
    config: &Config,
    broker: &Broker,
    opened: &[Opened],
    picked: &[(usize, usize)],
    m: &Move<'_>,
) -> anyhow::Result<Option<Done>> {
    let per_queue: Vec<Vec<&Delivery>> = opened
        .iter()
        .enumerate()
        .map(|(q, o)| {
            picked
                .iter()
                .filter(|(pq, _)| *pq == q)
                .map(|(_, l)| &o.letters[*l])
                .collect()
        })
        .collect();
    let n = picked.len();
    let mut report = Moved {
        action: m.verb.name(),
        dry_run: m.change.dry_run,
        queues: opened
            .iter()
            .zip(&per_queue)
            .filter(|(_, ds)| !ds.is_empty())
            .map(|(o, ds)| QueueMoved {
                queue: o.dlq.clone(),
                count: ds.len() as u64,
                messages: ds
                    .iter()
                    .map(|d| d.message_id().map(str::to_string))
                    .collect(),
                kept: 0,
            })
            .collect(),
        messages: Vec::new(),
        count: 0,
        interrupted: false,
        resume: None,
    };
    let chosen = n as u64;
    if m.verb == Verb::Replay && !m.force {
        let letters: Vec<&Delivery> = per_queue.iter().flatten().copied().collect();
        refuse_moved_on(config, &letters).await?;
    }
    if n == 0 || m.change.dry_run || !confirm(m, chosen)? {
        return Ok((n == 0 || m.change.dry_run).then_some(Done {
            report,
            chosen,
            rest: None,
        }));
    }
    for q in &mut report.queues {
        q.count = 0;
        q.messages.clear();
    }
    let bulk = Bulk::start(m.rate);
    let mut done = 0u64;
    let mut rest: Vec<String> = Vec::new();
    for (o, ds) in opened.iter().zip(&per_queue) {
        if ds.is_empty() {
            continue;
        }
        let moved = report
            .queues
            .iter_mut()
            .find(|q| q.queue == o.dlq)
            .expect("a queue with picks has its entry");
        let forwarder = forwarder(config, broker, &o.queue, m.verb).await?;
        let mut left = ds.as_slice();
        while !left.is_empty() {
            if !bulk.next(done).await {
                break;
            }
            let (round, after) = left.split_at(left.len().min(bulk.batch(ROUND as u32)));
            if let Some(f) = &forwarder {
                // Confirmed in the work queue first, then removed here.
                f.restore_all(round).await?;
            }
            for d in round {
                d.ack().await?;
            }
            record(config, &o.queue, m.verb, round).await;
            moved.count += round.len() as u64;
            moved
                .messages
                .extend(round.iter().map(|d| d.message_id().map(str::to_string)));
            done += round.len() as u64;
            left = after;
        }
        if let Some(f) = forwarder {
            f.close().await;
        }
        rest.extend(
            left.iter()
                .map(|d| Name::qualified(&o.queue, &letters::id_of(d))),
        );
    }
    let resume = (!rest.is_empty()).then(|| match &m.choice {
        Choice::Reason(r) => resume_args(m, &["--reason".to_string(), r.clone()]),
        _ => resume_args(m, &rest),
    });
    Ok(Some(Done {
        report,
        chosen,
        rest: resume,
    }))
}

/// The saga command a dead letter is, if it is one.
fn command_of(d: &Delivery) -> Option<fenced::For> {
    fenced::For::of(|k| d.header_str(k))
}

/// Replaying a saga command its saga has moved past would have its effect
/// after the saga decided otherwise: an error naming each (nothing changed)
/// unless `--force`.
async fn refuse_moved_on(config: &Config, letters: &[&Delivery]) -> anyhow::Result<()> {
    let commands: Vec<Option<fenced::For>> = letters.iter().map(|d| command_of(d)).collect();
    if commands.iter().all(Option::is_none) {
        return Ok(());
    }
    let pool = store::connect(&config.database, "outboxctl dlq", &[]).await?;
    let mut refused = Vec::new();
    for c in commands.iter().flatten() {
        if let Some(why) = fenced::moved_on(config, &pool, c).await? {
            refused.push(why);
        }
    }
    pool.close().await;
    if !refused.is_empty() {
        anyhow::bail!(
            "{} of these dead letters {} saga command(s) whose saga has moved on ({}) — their \
             effect must not happen now; nothing changed. `outboxctl dlq drop` removes them; \
             --force replays them anyway",
            refused.len(),
            if refused.len() == 1 { "is a" } else { "are" },
            refused.join("; ")
        );
    }
    Ok(())
}

/// The command that moves the rest: the same verb, queue and pace, with
/// `choice` (the letters left, the cause, or `--all`).
fn resume_args(m: &Move<'_>, choice: &[String]) -> Vec<String> {
    let mut args = bulk::resume(&["dlq", m.verb.name()]);
    args.extend(choice.iter().cloned());
    if let Some(q) = m.queue {
        args.extend(["--queue".to_string(), q.to_string()]);
    }
    args.push("--yes".into());
    if let Some(r) = m.rate {
        args.extend(["--rate".to_string(), format!("{r}/s")]);
    }
    if m.force && m.verb == Verb::Replay {
        args.push("--force".into());
    }
    args
}

/// Ask first (dropping always asks: a deleted dead letter cannot come back).
fn confirm(m: &Move<'_>, n: u64) -> anyhow::Result<bool> {
    let what = match m.verb {
        Verb::Replay => format!("move {} back to their work queues", messages(n)),
        Verb::Drop => format!("delete {} for good", messages(n)),
    };
    let asked = usize::try_from(n).unwrap_or(usize::MAX);
    let asked = if m.verb == Verb::Drop {
        asked.max(2)
    } else {
        asked
    };
    output::confirm(&what, asked, m.change.yes)
}

async fn forwarder(
    config: &Config,
    broker: &Broker,
    queue: &str,
    verb: Verb,
) -> anyhow::Result<Option<Forwarder>> {
    Ok(match verb {
        Verb::Replay => Some(
            broker
                .forwarder(
                    queue,
                    &config.broker.dead_letter_exchange,
                    config.broker.confirm_timeout,
                )
                .await?,
        ),
        Verb::Drop => None,
    })
}

/// Every dead letter of every queue in scope, streamed a round at a time
/// (bounded memory; only what each queue held when its turn came: what
/// consumers dead-letter meanwhile is not taken again).
async fn stream_all(
    config: &Config,
    broker: &Broker,
    queues: &[String],
    m: &Move<'_>,
) -> anyhow::Result<Option<Done>> {
    let mut totals = Vec::new();
    for q in queues {
        let dlq = topology::dead_letter_queue(q);
        totals.push(broker.queue_stats(&dlq).await?.map_or(0, |s| s.ready));
    }
    let n: u64 = totals.iter().sum();
    let mut report = Moved {
        action: m.verb.name(),
        dry_run: false,
        queues: Vec::new(),
        messages: Vec::new(),
        count: 0,
        interrupted: false,
        resume: None,
    };
    if n == 0 {
        return Ok(Some(Done {
            report,
            chosen: 0,
            rest: None,
        }));
    }
    if !confirm(m, n)? {
        return Ok(None);
    }
    let bulk = Bulk::start(m.rate);
    let bar = output::progress(n, &format!("dead letters ({})", m.verb.name()));
    let mut done = 0u64;
    for (q, total) in queues.iter().zip(totals) {
        if total == 0 || bulk.stopped() {
            continue;
        }
        let dlq = topology::dead_letter_queue(q);
        let mut moved = QueueMoved {
            queue: dlq.clone(),
            ..QueueMoved::default()
        };
        let streamed =
            stream_queue(config, broker, q, total, m, &bulk, &mut done, &mut moved).await;
        bar.set_position(done);
        report.queues.push(moved);
        streamed?;
    }
    bar.finish_and_clear();
    let resume = bulk
        .stopped()
        .then(|| resume_args(m, &["--all".to_string()]));
    Ok(Some(Done {
        report,
        chosen: n,
        rest: resume,
    }))
}

/// One queue's share of `--all`: `total` letters in rounds, each copied and
/// confirmed (replay) and then acknowledged through its last delivery.
#[allow(clippy::too_many_arguments)]
async fn stream_queue(
    config: &Config,
    broker: &Broker,
    queue: &str,
    total: u64,
    m: &Move<'_>,
    bulk: &Bulk,
    done: &mut u64,
    moved: &mut QueueMoved,
) -> anyhow::Result<()> {
    let dlq = topology::dead_letter_queue(queue);
    let forwarder = forwarder(config, broker, queue, m.verb).await?;
    // Streamed with a prefetch of one round: the broker keeps the next
    // deliveries coming while a round is copied and confirmed.
    let round_size = bulk.batch(ROUND as u32);
    let mut sub = broker
        .subscribe(&dlq, round_size as u16, "outboxctl-dlq")
        .await?;
    let result = async {
        while moved.count + moved.kept < total {
            if !bulk.next(*done).await {
                break;
            }
            let mut round = Vec::new();
            let seen = moved.count + moved.kept;
            while round.len() < round_size && seen + (round.len() as u64) < total {
                // A queue that runs dry early (someone else took messages)
                // ends the run instead of waiting forever.
                let wait = if round.is_empty() { IDLE } else { IDLE / 10 };
                match tokio::time::timeout(wait, sub.next()).await {
                    Ok(Some(d)) => round.push(d?),
                    Ok(None) | Err(_) => break,
                }
            }
            let Some(last) = round.last() else { break };
            // Saga commands whose saga has moved on stay (unless --force):
            // they go back to the queue when the subscription closes.
            let keep = match (m.verb, m.force) {
                (Verb::Replay, false) => moved_on(config, &round).await?,
                _ => vec![false; round.len()],
            };
            let refs: Vec<&Delivery> = round
                .iter()
                .zip(&keep)
                .filter(|(_, k)| !**k)
                .map(|(d, _)| d)
                .collect();
            if let Some(f) = &forwarder {
                f.restore_all(&refs).await?;
            }
            if keep.iter().any(|k| *k) {
                for d in &refs {
                    d.ack().await?;
                }
                moved.kept += keep.iter().filter(|k| **k).count() as u64;
            } else {
                // A subscription delivers in order: the round is every
                // delivery up to its last one not yet acknowledged.
                last.ack_through().await?;
            }
            record(config, queue, m.verb, &refs).await;
            moved.count += refs.len() as u64;
            moved
                .messages
                .extend(refs.iter().map(|d| d.message_id().map(str::to_string)));
            *done += round.len() as u64;
        }
        anyhow::Ok(())
    }
    .await;
    // Deliveries beyond the round return to the queue.
    sub.close().await;
    if let Some(f) = forwarder {
        f.close().await;
    }
    result.map_err(|e| {
        e.context(format!(
            "stopped after {} of {total} in {dlq} ({} stay there; any copies already in \
             {queue} are skipped by consumers that have them)",
            messages(moved.count),
            total - moved.count
        ))
    })
}

/// Which of a round's dead letters are saga commands whose saga has moved on.
async fn moved_on(config: &Config, round: &[Delivery]) -> anyhow::Result<Vec<bool>> {
    let commands: Vec<Option<fenced::For>> = round.iter().map(command_of).collect();
    if commands.iter().all(Option::is_none) {
        return Ok(vec![false; round.len()]);
    }
    let pool = store::connect(&config.database, "outboxctl dlq", &[]).await?;
    let moved = fenced::moved_on_all(config, &pool, &commands).await;
    pool.close().await;
    moved
}

/// After a round left its dead-letter queue: each letter in the audit, and
/// the consumers' record of it forgotten (best effort: the messages have
/// moved; `outbox why` may tell an older story if this fails).
async fn record(config: &Config, queue: &str, verb: Verb, round: &[&Delivery]) {
    let dlq = topology::dead_letter_queue(queue);
    let action = format!("dlq {}", verb.name());
    let done: Vec<DeadLetterAction> = round
        .iter()
        .map(|d| DeadLetterAction {
            row_id: d.header_i64(outbox_headers::OUTBOX_ID),
            message_id: d
                .message_id()
                .and_then(|m| uuid::Uuid::parse_str(m).ok())
                .map(MessageId),
            detail: json!({
                "queue": queue,
                "dead_letter_queue": dlq,
                "reason": d.header_str(crate::broker::consume::headers::DEATH_REASON),
            }),
        })
        .collect();
    let ids: Vec<MessageId> = done.iter().filter_map(|d| d.message_id).collect();
    let written = async {
        let pool = store::connect(&config.database, "outboxctl dlq", &[]).await?;
        outbox::audit_dead_letters(&pool, &action, &crate::identity::actor(), &done).await?;
        inbox::forget_dead_letters(&pool, queue, &ids).await?;
        pool.close().await;
        anyhow::Ok(())
    };
    if let Err(e) = written.await {
        eprintln!(
            "outboxctl: the messages moved, but the audit and consumer_dead_letters could not \
             be updated: {e:#}"
        );
    }
}
