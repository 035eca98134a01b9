//! What commands print: results on stdout (text, tables or JSON lines), logs
//! on stderr (text or JSON), with registered secrets scrubbed from logs.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{self, LogConfig, LogFormat};

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
    for (target, level) in [("sqlx", "warn"), ("lapin", "off")] {
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
            .write_all(config::scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
