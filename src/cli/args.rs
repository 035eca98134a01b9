//! Option groups several commands share: the output format, and what the
//! commands that change things take (dry run, confirmation, batch size).

use clap::{Args, ValueEnum};

use super::parse::parse_rate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Output {
    /// Aligned columns for people
    #[default]
    Table,
    /// One JSON object per line, for scripts
    Json,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// What every changing command takes.
#[derive(Debug, Clone, Copy, Args)]
pub struct ChangeArgs {
    /// Say what would happen, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation when more than one row is affected
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Rows changed per transaction (a progress bar shows on a terminal)
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    /// With a selection by filter: only rows with an id up to ID (an
    /// interrupted change prints the command for the rest with it)
    #[arg(long, value_name = "ID")]
    pub max_id: Option<i64>,
    #[command(flatten)]
    pub rate: RateArg,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--force` of the commands that send rows out again.
#[derive(Debug, Clone, Copy, Args)]
pub struct ForceArg {
    /// Send saga commands out again even when their saga has moved on (an
    /// outside participant would act on them; outboxctl's handlers fence them)
    #[arg(long)]
    pub force: bool,
}

/// Listings cut to the terminal's width unless told otherwise.
#[derive(Debug, Clone, Copy, Args)]
pub struct WideArg {
    /// Every column in full, however wide the terminal (a pipe gets that anyway)
    #[arg(long)]
    pub wide: bool,
}

/// What failures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupBy {
    /// The cause: the handler, the code (SQLSTATE, HTTP status, exit
    /// status) and the message, its ids and numbers masked
    Reason,
}

/// How fast a bulk change may go.
#[derive(Debug, Clone, Copy, Args)]
pub struct RateArg {
    /// At most this many per second (100/s, 6000/m, or a number), so a
    /// recovering downstream is not flooded [default: as fast as it goes]
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate: Option<f64>,
}

/// What the changing commands that always ask take (moving or deleting dead
/// letters, renumbering lanes).
#[derive(Debug, Clone, Copy, Args)]
pub struct MoveArgs {
    /// Say what would happen, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}
