//! `kind = "exec"`: run a command for each message — no shell unless the
//! operator writes one. The payload arrives on stdin; the metadata in
//! `OUTBOX_MESSAGE_ID`, `OUTBOX_TOPIC`, `OUTBOX_PARTITION_KEY` (when there
//! is one), `OUTBOX_ATTEMPT`, `OUTBOX_REDELIVERED`, `OUTBOX_HEADERS` (JSON)
//! and `TRACEPARENT`. The process's own `OUTBOX_*` variables (which may
//! hold passwords) are not passed on.
//!
//! Exit 0: done (a JSON object on stdout is the output). 75 (`EX_TEMPFAIL`)
//! or a signal: retried later. Anything else: dead-lettered with the end of
//! stderr (of stdout when stderr is empty). Past the time-out the whole process group is killed, children
//! included, and the message is retried.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::handler::{Call, CheckFuture, Done, HandlerError, HandlerFuture, Limits, Message};
use crate::config::ExecSpec;

/// Exit status that asks for another attempt later (sysexits.h).
pub const EX_TEMPFAIL: i32 = 75;
/// Most of stdout kept (the output), and of stderr (the reason).
const STDOUT_MAX: usize = 1 << 20;
const STDERR_TAIL: usize = 1000;

pub struct Command {
    program: String,
    args: Vec<String>,
    timeout: Duration,
    permits: Arc<Semaphore>,
}

impl Command {
    pub fn new(spec: &ExecSpec, limits: Limits) -> Self {
        let (program, args) = spec
            .command
            .split_first()
            .expect("validated: exec has a command");
        Self {
            program: program.clone(),
            args: args.to_vec(),
            timeout: limits.timeout,
            permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
        }
    }
}

/// Where `program` is: itself when it names a path, else the first match on
/// `PATH`; `None` when there is no such executable.
pub fn locate(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// Kills the whole process group when dropped: at the time-out, or when the
/// delivery is abandoned (a lost broker connection, shutdown).
struct Group(Option<i32>);

impl Group {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) has no memory effects; a negative pid names the
            // process group the child leads (process_group(0) below).
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn read_up_to(mut from: impl AsyncRead + Unpin, max: usize, keep_tail: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() > max {
            let cut = out.len() - max;
            if keep_tail {
                out.drain(..cut);
            } else {
                out.truncate(max);
            }
        }
    }
    out
}

/// What a failed command said: the end of its stderr, else of its stdout
/// (tools such as jq explain themselves there), else that it said nothing.
fn said(stderr: &[u8], stdout: &[u8]) -> String {
    let tail = |b: &[u8]| {
        let text = String::from_utf8_lossy(&b[b.len().saturating_sub(STDERR_TAIL)..]);
        text.trim().to_string()
    };
    let err = tail(stderr);
    if !err.is_empty() {
        return err;
    }
    match tail(stdout) {
        out if out.is_empty() => "(no output on stderr or stdout)".to_string(),
        out => format!("(no stderr; stdout ends) {out}"),
    }
}

impl Call for Command {
    fn call<'a>(&'a self, m: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(|_| HandlerError::Retry("the handler is shutting down".into()))?;
            let mut cmd = tokio::process::Command::new(&self.program);
            cmd.args(&self.args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0)
                .kill_on_drop(true);
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("OUTBOX_") {
                    cmd.env_remove(k);
                }
            }
            cmd.env("OUTBOX_MESSAGE_ID", m.message_id.to_string())
                .env("OUTBOX_TOPIC", &m.topic)
                .env("OUTBOX_ATTEMPT", m.attempt.to_string())
                .env("OUTBOX_REDELIVERED", m.redelivered.to_string())
                .env("OUTBOX_HEADERS", m.headers.to_string());
            if let Some(key) = &m.partition_key {
                cmd.env("OUTBOX_PARTITION_KEY", key);
            }
            if let Some(tp) = &m.traceparent {
                cmd.env("TRACEPARENT", tp);
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| HandlerError::Retry(format!("cannot start {}: {e}", self.program)))?;
            let mut group = Group(child.id().and_then(|id| i32::try_from(id).ok()));
            let mut stdin = child.stdin.take().expect("stdin is piped");
            let stdout = child.stdout.take().expect("stdout is piped");
            let stderr = child.stderr.take().expect("stderr is piped");
            let feed = async move {
                // A command that does not read its input just closes the pipe.
                let _ = stdin.write_all(&m.body).await;
            };
            let run = async {
                let ((), out, err, status) = tokio::join!(
                    feed,
                    read_up_to(stdout, STDOUT_MAX, false),
                    read_up_to(stderr, STDERR_TAIL, true),
                    child.wait()
                );
                (out, err, status)
            };
            let Ok((out, err, status)) = tokio::time::timeout(self.timeout, run).await else {
                group.kill();
                return Err(HandlerError::Retry(format!(
                    "{} still ran after {}: killed it and its children",
                    self.program,
                    humantime::format_duration(self.timeout)
                )));
            };
            let status = status
                .map_err(|e| HandlerError::Retry(format!("waiting for {}: {e}", self.program)))?;
            // The command is done; what it left running in its group is not ours to keep.
            group.kill();
            let stderr = said(&err, &out);
            match status.code() {
                Some(0) => Ok(Done {
                    output: serde_json::from_slice(&out).ok(),
                    ..Done::default()
                }),
                Some(EX_TEMPFAIL) => Err(HandlerError::Retry(format!(
                    "{} exited 75 (EX_TEMPFAIL): {stderr}",
                    self.program
                ))),
                Some(code) => Err(HandlerError::Reject(format!(
                    "{} exited {code}: {stderr}",
                    self.program
                ))),
                None => Err(HandlerError::Retry(format!(
                    "{} was killed by a signal: {stderr}",
                    self.program
                ))),
            }
        })
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match locate(&self.program) {
                Some(path) => Ok(format!("runs {}", path.display())),
                None => Err(format!(
                    "program {:?} is not an executable file{} — install it or fix command in [[handlers]]",
                    self.program,
                    if self.program.contains('/') {
                        ""
                    } else {
                        " on PATH"
                    }
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::said;

    #[test]
    fn a_failure_says_stderr_else_the_end_of_stdout() {
        assert_eq!(said(b"  boom\n", b"ignored"), "boom");
        assert_eq!(
            said(
                b"",
                b"jq: error (at <stdin>:0): Cannot index number with \"id\"\n"
            ),
            "(no stderr; stdout ends) jq: error (at <stdin>:0): Cannot index number with \"id\""
        );
        let long = format!("{}END", "x".repeat(5000));
        let r = said(b"\n", long.as_bytes());
        assert!(r.ends_with("END") && r.len() < 1100, "{r}");
        assert_eq!(said(b"", b" \n"), "(no output on stderr or stdout)");
    }
}
