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
    /// Exit 130: a bulk change stopped at SIGINT or SIGTERM after it said
    /// what it had done and how to resume.
    Interrupted,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Success => ExitCode::SUCCESS,
            Self::CheckFailed => ExitCode::from(1),
            Self::Interrupted => ExitCode::from(130),
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

/// How a column of a [`fitted`] table takes the terminal's width.
#[derive(Debug, Clone, Copy)]
enum Fit {
    /// Never cut: ids, numbers, times.
    Fixed,
    /// Cut with an ellipsis to share what is left, down to `min` characters.
    Flex { min: usize },
    /// Left out when the table does not fit.
    Optional,
}

/// A column of a [`fitted`] table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    header: &'static str,
    fit: Fit,
}

impl Column {
    pub fn fixed(header: &'static str) -> Self {
        Self {
            header,
            fit: Fit::Fixed,
        }
    }

    pub fn flex(header: &'static str, min: usize) -> Self {
        Self {
            header,
            fit: Fit::Flex { min },
        }
    }

    pub fn optional(header: &'static str) -> Self {
        Self {
            header,
            fit: Fit::Optional,
        }
    }
}

/// The widths `columns` get within `width` (`None`: left out), and whether
/// anything was cut or left out. Fixed columns keep their natural width,
/// optional ones go first when room is short, flexible ones share the rest.
fn fit(columns: &[Column], natural: &[usize], width: Option<usize>) -> (Vec<Option<usize>>, bool) {
    let all: Vec<Option<usize>> = natural.iter().map(|w| Some(*w)).collect();
    let Some(width) = width else {
        return (all, false);
    };
    let total = |widths: &[Option<usize>]| {
        let shown: Vec<usize> = widths.iter().flatten().copied().collect();
        shown.iter().sum::<usize>() + 2 * shown.len().saturating_sub(1)
    };
    if total(&all) <= width {
        return (all, false);
    }
    let mut widths = all;
    // Optional columns go, the rightmost first, until the rest could fit.
    let floor = |widths: &[Option<usize>]| {
        let mut w = widths.to_vec();
        for (c, n) in columns.iter().zip(&mut w) {
            if let (Fit::Flex { min }, Some(n)) = (c.fit, n.as_mut()) {
                *n = (*n).min(min);
            }
        }
        total(&w)
    };
    for i in (0..columns.len()).rev() {
        if floor(&widths) <= width {
            break;
        }
        if matches!(columns[i].fit, Fit::Optional) {
            widths[i] = None;
        }
    }
    // What the fixed and optional columns leave, shared by the flexible ones.
    let flex: Vec<usize> = (0..columns.len())
        .filter(|&i| matches!(columns[i].fit, Fit::Flex { .. }) && widths[i].is_some())
        .collect();
    let others: usize = (0..columns.len())
        .filter(|i| !flex.contains(i))
        .filter_map(|i| widths[i])
        .sum();
    let shown = widths.iter().flatten().count();
    let mut room = width.saturating_sub(others + 2 * shown.saturating_sub(1));
    // Narrowest first: one that needs less than its share leaves the rest;
    // none takes what the ones after it need at least.
    let mut order = flex.clone();
    order.sort_by_key(|&i| natural[i]);
    let mins: Vec<usize> = order
        .iter()
        .map(|&i| match columns[i].fit {
            Fit::Flex { min } => min.min(natural[i]),
            _ => 0,
        })
        .collect();
    // Narrower than the flexible columns' minimums: they shrink alike,
    // down to three characters ("ab…") — the ids keep the line.
    let needed: usize = mins.iter().sum();
    let mins: Vec<usize> = if needed > room && needed > 0 {
        mins.iter().map(|m| (m * room / needed).max(3)).collect()
    } else {
        mins
    };
    for (k, &i) in order.iter().enumerate() {
        let after: usize = mins[k + 1..].iter().sum();
        let share = room / (order.len() - k);
        let w = natural[i]
            .min(share.max(mins[k]))
            .min(room.saturating_sub(after))
            .max(mins[k].min(room));
        widths[i] = Some(w);
        room = room.saturating_sub(w);
    }
    (widths, true)
}

/// Print `rows` under `columns`, fitted to the terminal (see [`Column`]):
/// no id is ever cut or wrapped; text is cut with an ellipsis. When
/// anything was cut or left out, stderr says so and names what shows it in
/// full (`in_full`, e.g. "--wide shows every column in full, -o json every
/// field"). `wide`, or no terminal: nothing is cut.
pub fn fitted(
    columns: &[Column],
    rows: &[Vec<String>],
    wide: bool,
    in_full: &str,
) -> io::Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c, usize::MAX)).collect())
        .collect();
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
                .max(c.header.len())
        })
        .collect();
    let width = if wide { None } else { terminal_width() };
    let (widths, cut_some) = fit(columns, &natural, width);
    let render = |row: Vec<String>| {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(&widths) {
            let Some(w) = w else { continue };
            if !line.is_empty() {
                line.push_str("  ");
            }
            let text = cut(cell, *w);
            let pad = w.saturating_sub(text.chars().count());
            line.push_str(&text);
            line.push_str(&" ".repeat(pad));
        }
        line.trim_end().to_string()
    };
    let mut out = io::stdout().lock();
    let header: Vec<String> = columns.iter().map(|c| c.header.to_uppercase()).collect();
    writeln!(out, "{}", render(header))?;
    for row in cells {
        writeln!(out, "{}", render(row))?;
    }
    drop(out);
    if cut_some {
        let left_out: Vec<&str> = columns
            .iter()
            .zip(&widths)
            .filter(|(_, w)| w.is_none())
            .map(|(c, _)| c.header)
            .collect();
        let left_out = if left_out.is_empty() {
            String::new()
        } else {
            format!(", without {}", left_out.join(", "))
        };
        eprintln!(
            "outboxctl: cut to fit {} columns{left_out} — {in_full}",
            width.unwrap_or_default()
        );
    }
    Ok(())
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

    #[test]
    fn a_fitted_table_keeps_ids_whole_drops_optional_columns_and_shares_the_rest() {
        let columns = [
            Column::fixed("id"),
            Column::optional("message id"),
            Column::flex("topic", 5),
            Column::flex("reason", 10),
        ];
        // id 36, message id 36, topic 12, reason 60: 150 with the gaps.
        let natural = [36, 36, 12, 60];
        let (w, cut) = fit(&columns, &natural, None);
        assert!(!cut);
        assert_eq!(w, [Some(36), Some(36), Some(12), Some(60)]);
        let (w, cut) = fit(&columns, &natural, Some(80));
        assert!(cut);
        assert_eq!(w[0], Some(36), "an id is never cut");
        assert_eq!(w[1], None, "the optional column goes first");
        // 80 - 36 - 4 (two gaps) = 40: the topic keeps its 12, the reason 28.
        assert_eq!((w[2], w[3]), (Some(12), Some(28)));
        let used: usize = w.iter().flatten().sum::<usize>() + 2 * 2;
        assert!(used <= 80, "{used}");
        // All of it fits at 200.
        assert!(!fit(&columns, &natural, Some(200)).1);
        // Narrower than the minimums: they shrink, the id stays whole.
        let (w, _) = fit(&columns, &natural, Some(50));
        assert_eq!(w[0], Some(36));
        let used: usize = w.iter().flatten().sum::<usize>() + 2 * 2;
        assert!(used <= 50, "{used}: {w:?}");
    }
}
