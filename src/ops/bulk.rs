//! What every bulk change shares — `outbox replay|requeue|retry|discard`,
//! `dlq replay|drop|purge`: a pace (`--rate`), and a clean stop at SIGINT
//! or SIGTERM between batches. The batch in flight finishes (a transaction
//! commits or rolls back as a whole; dead letters are copied and confirmed
//! before they are removed), then the command says what it changed and the
//! exact command that changes the rest, and exits 130.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::output::Outcome;

/// A bulk change under way.
pub struct Bulk {
    stop: CancellationToken,
    rate: Option<f64>,
    started: Instant,
}

impl Bulk {
    /// From here on, SIGINT and SIGTERM stop the change between batches
    /// (not before: a confirmation prompt still ends at Ctrl-C as usual).
    pub fn start(rate: Option<f64>) -> Self {
        Self {
            stop: crate::shutdown::on_signal(),
            rate,
            started: Instant::now(),
        }
    }

    /// The most items one batch may take: a slow pace takes small batches,
    /// so that it stays even.
    pub fn batch(&self, batch: u32) -> usize {
        let batch = batch.max(1) as usize;
        match self.rate {
            Some(r) => batch.min((r.ceil() as usize).max(1)),
            None => batch,
        }
    }

    /// Wait until `done` items are on pace. `false`: stop now — a signal
    /// came before or while waiting.
    pub async fn next(&self, done: u64) -> bool {
        if self.stop.is_cancelled() {
            return false;
        }
        if let Some(rate) = self.rate {
            let due = self.started + Duration::from_secs_f64(done as f64 / rate);
            let wait = tokio::time::sleep_until(due.into());
            if self.stop.run_until_cancelled(wait).await.is_none() {
                return false;
            }
        }
        true
    }

    /// Whether a signal asked the change to stop.
    pub fn stopped(&self) -> bool {
        self.stop.is_cancelled()
    }
}

/// Say that a bulk change stopped early: how much of it is done, and the
/// command that does the rest. The exit status is 130.
pub fn interrupted(done: u64, total: u64, what: &str, resume: &[String]) -> Outcome {
    eprintln!(
        "outboxctl: interrupted: {done} of {total} {what}; {} left — the rest: {}",
        total.saturating_sub(done),
        command_line(resume)
    );
    Outcome::Interrupted
}

/// `args` as one command line a shell takes back (words that need it
/// quoted), to show: a password given on the command line is masked.
pub fn command_line(args: &[String]) -> String {
    let line = args
        .iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    crate::secret::scrub(&line)
}

/// The global options this process was given, wherever they stood, then
/// `words` (`outbox requeue --dead`): the start of the command that resumes
/// this one, in the same environment.
pub fn resume(words: &[&str]) -> Vec<String> {
    const GLOBALS: &[&str] = &[
        "--config",
        "--database-url",
        "--broker-url",
        "--log-level",
        "--log-format",
    ];
    let argv: Vec<String> = std::env::args().collect();
    let at = words
        .first()
        .and_then(|w| argv.iter().skip(1).position(|a| a == w))
        .map_or(argv.len(), |p| p + 1);
    let mut out: Vec<String> = argv[..at].to_vec();
    let mut rest = argv[at..].iter();
    while let Some(a) = rest.next() {
        if GLOBALS.contains(&a.as_str()) {
            out.push(a.clone());
            out.extend(rest.next().cloned());
        } else if GLOBALS.iter().any(|g| a.starts_with(&format!("{g}="))) {
            out.push(a.clone());
        }
    }
    out.extend(words.iter().map(|w| w.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_quotes_what_a_shell_would_split() {
        let args: Vec<String> = [
            "outboxctl",
            "outbox",
            "requeue",
            "--topic",
            "order paid",
            "it's",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            command_line(&args),
            r"outboxctl outbox requeue --topic 'order paid' 'it'\''s'"
        );
    }

    #[tokio::test]
    async fn a_pace_spreads_the_work_and_a_slow_one_takes_small_batches() {
        let bulk = Bulk {
            stop: CancellationToken::new(),
            rate: Some(50.0),
            started: Instant::now(),
        };
        assert_eq!(bulk.batch(1000), 50);
        assert!(bulk.next(10).await);
        // 10 items at 50/s: a fifth of a second in.
        assert!(bulk.started.elapsed() >= Duration::from_millis(190));
        bulk.stop.cancel();
        assert!(!bulk.next(20).await);
    }
}
