//! What commands print and how they end: results on stdout (text, tables or
//! JSON lines), logs on stderr (text or JSON) with registered secrets
//! scrubbed, and the [`Outcome`] `main` turns into an exit code.

use std::io::{self, Write};
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogConfig, LogFormat};

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command worked and what it checked is not fine (e.g.
    /// `relay --once` left rows failing or dead), or nothing matched.
    CheckFailed,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Success => ExitCode::SUCCESS,
            Self::CheckFailed => ExitCode::from(1),
        }
    }
}

/// Print one line of a command's result to stdout.
pub fn line(text: impl AsRef<str>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_ref().as_bytes())?;
    out.write_all(b"\n")
}

/// Print a block of text to stdout as it is.
pub fn text(text: impl AsRef<str>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_ref().as_bytes())?;
    out.flush()
}

/// Send logs to stderr, filtered by `log.level`, as text or JSON. Call once.
pub fn init_logging(cfg: &LogConfig) -> anyhow::Result<()> {
    // The drivers are chatty (PostgreSQL notices, lapin's own view of returned
    // messages); outboxctl logs what matters itself. Naming them in log.level
    // brings them back.
    let mut directives = cfg.level.clone();
    for (target, level) in [("sqlx", "error"), ("lapin", "off")] {
        if !directives.contains(target) {
            directives.push_str(&format!(",{target}={level}"));
        }
    }
    let filter = EnvFilter::try_new(&directives).map_err(|e| {
        anyhow::anyhow!(
            "log.level {:?} is not a valid filter ({e}) — use error, warn, info, debug, trace \
             or e.g. outboxctl=debug,sqlx=warn",
            cfg.level
        )
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ScrubbedStderr)
        .with_target(false);
    let result = match cfg.format {
        LogFormat::Text => builder.with_ansi(use_color()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second init (tests running several commands in one process) keeps the first.
    let _ = result;
    Ok(())
}

/// Colour only on a terminal, and never when `NO_COLOR` is set.
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stderr().is_terminal()
}

struct ScrubbedStderr;

impl<'a> MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbingWriter;
    fn make_writer(&'a self) -> Self::Writer {
        ScrubbingWriter
    }
}

/// Each log event arrives as one `write`; secrets are replaced before it
/// reaches stderr.
struct ScrubbingWriter;

impl Write for ScrubbingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr()
            .lock()
            .write_all(crate::secret::scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Print one value as a line of JSON (the `--output json` format).
pub fn json_line(value: &impl serde::Serialize) -> io::Result<()> {
    let text = serde_json::to_string(value).map_err(io::Error::other)?;
    line(text)
}

/// A table for people: no borders, a header row, columns two spaces apart,
/// as wide as the terminal allows.
pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(
            header
                .iter()
                .map(|h| comfy_table::Cell::new(h.to_uppercase())),
        );
    if !use_color_stdout() {
        t.force_no_tty();
    }
    if let Some(w) = terminal_width() {
        t.set_width(u16::try_from(w).unwrap_or(u16::MAX));
    }
    t
}

/// Print a table built with [`table`].
pub fn print_table(t: &comfy_table::Table) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for l in t.lines() {
        out.write_all(l.trim_end().as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Colour on stdout only on a terminal, and never when `NO_COLOR` is set.
pub fn use_color_stdout() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
}

/// A cell coloured by outbox status (when colours are on).
pub fn status_cell(status: &str) -> comfy_table::Cell {
    let cell = comfy_table::Cell::new(status);
    if !use_color_stdout() {
        return cell;
    }
    match status {
        "dead" => cell.fg(comfy_table::Color::Red),
        "pending" => cell.fg(comfy_table::Color::Yellow),
        _ => cell,
    }
}

/// `ok` or `FAILED` (green or red when colours are on).
pub fn verdict_cell(ok: bool) -> comfy_table::Cell {
    let cell = comfy_table::Cell::new(if ok { "ok" } else { "FAILED" });
    if !use_color_stdout() {
        return cell;
    }
    cell.fg(if ok {
        comfy_table::Color::Green
    } else {
        comfy_table::Color::Red
    })
}

/// Width of the terminal on stdout; `None` when stdout is not a terminal
/// (then nothing is cut: a pipe gets every character). `COLUMNS`, when set,
/// is the width either way (`COLUMNS=80 outboxctl outbox ls | less`).
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w > 0)
    {
        return Some(w);
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    comfy_table::Table::new().width().map(usize::from)
}

/// Room left on the terminal after `used` columns, at least 20; unbounded
/// when stdout is not a terminal.
pub fn room(used: usize) -> usize {
    terminal_width().map_or(usize::MAX, |w| w.saturating_sub(used).max(20))
}

/// `s` on one line, cut to `max` characters with an ellipsis.
pub fn cut(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A short age: `42s`, `3m12s`, `5h4m`, `2d3h`.
pub fn age(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

/// An instant for people: `2026-11-27 23:12:01Z (3h4m ago)` or `(in 5s)`.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    let now = chrono::Utc::now();
    let rel = if t <= now {
        format!("{} ago", age(now - t))
    } else {
        format!("in {}", age(t - now))
    };
    format!("{} ({rel})", t.format("%Y-%m-%d %H:%M:%SZ"))
}

/// Who is acting, recorded on rows an operator changes: `user@host`. The
/// user is the effective one from the password database — cron, systemd
/// and `docker exec` often set no `$USER` — then `$USER`/`$LOGNAME`, then
/// the bare uid; under sudo, who ran sudo is added: `root (sudo by alice)@db1`.
pub fn actor() -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    // SAFETY: geteuid cannot fail and has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let mut user = passwd_name(uid)
        .or_else(|| env("USER"))
        .or_else(|| env("LOGNAME"))
        .unwrap_or_else(|| format!("uid {uid}"));
    if let Some(by) = env("SUDO_USER").filter(|s| *s != user) {
        user = format!("{user} (sudo by {by})");
    }
    format!("{user}@{}", crate::presence::host())
}

/// The login name of `uid`, from the password database.
fn passwd_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is a valid value to be overwritten.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, buf outlives the result.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into buf, NUL-terminated by getpwuid_r.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty())
}

/// A progress bar on stderr for `len` steps of long work; indicatif draws
/// nothing when stderr is not a terminal.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    indicatif::ProgressBar::new(len).with_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"
        ))
        .expect("a valid template"),
    )
}

/// Ask a yes/no question on the terminal; `default` when the answer is empty.
pub fn ask(question: &str, default: bool) -> anyhow::Result<bool> {
    let mut err = io::stderr().lock();
    write!(
        err,
        "{question}? {} ",
        if default { "[Y/n]" } else { "[y/N]" }
    )?;
    err.flush()?;
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(match answer.trim().to_ascii_lowercase().as_str() {
        "" => default,
        a => matches!(a, "y" | "yes"),
    })
}

/// Ask before changing more than one thing. `Ok(false)`: the operator said no.
/// Without a terminal to ask on, refuse (an error: exit 2) unless `yes`.
pub fn confirm(question: &str, affected: usize, yes: bool) -> anyhow::Result<bool> {
    use std::io::IsTerminal;
    if affected <= 1 || yes {
        return Ok(true);
    }
    if !io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to {question} without --yes: stdin is not a terminal to ask on — add --yes \
             (or --dry-run to see what would happen)"
        );
    }
    ask(question, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_cuts() {
        assert_eq!(age(chrono::TimeDelta::seconds(42)), "42s");
        assert_eq!(age(chrono::TimeDelta::seconds(192)), "3m12s");
        assert_eq!(age(chrono::TimeDelta::seconds(3 * 3600 + 240)), "3h4m");
        assert_eq!(
            age(chrono::TimeDelta::seconds(2 * 86400 + 3 * 3600)),
            "2d3h"
        );
        assert_eq!(cut("a  b\nc", 10), "a b c");
        assert_eq!(cut("abcdefghij", 5), "abcd…");
    }
}
