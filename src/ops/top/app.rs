//! What `top` shows and how keys change it: the [`View`] one refresh reads,
//! the [`App`] state (the selected row, the deployment pane's page, a
//! confirmation or a note on screen), keys turned into [`Command`]s, and
//! carrying a command out as the CLI would.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::widgets::ListState;
use sqlx::PgPool;

use crate::config::Config;
use crate::model::{EventState, OutboxStatus};
use crate::ops::lag::{self, Snapshot};
use crate::ops::outbox as rows;
use crate::store::outbox::{self, ListFilter, TroubleGroup};
use crate::store::processes;

/// Rows that need an operator, at most.
const ATTENTION: u32 = 200;

/// Everything one refresh reads.
#[derive(Debug, Clone)]
pub struct View {
    pub lag: Snapshot,
    /// Rows marked sent, and messages consumed, in the last 10 s.
    pub sent_10s: i64,
    pub consumed_10s: i64,
    pub processes: Vec<processes::Process>,
    pub failing: Vec<TroubleGroup>,
    /// Dead rows and rows waiting out a backoff, oldest first.
    pub attention: Vec<EventState>,
}

impl View {
    pub async fn read(config: &Config, pool: &PgPool) -> anyhow::Result<Self> {
        let (sent_10s, consumed_10s) = outbox::recent_rates(pool).await?;
        let mut attention = outbox::list(
            pool,
            &ListFilter {
                status: Some(OutboxStatus::Dead),
                limit: Some(ATTENTION),
                oldest_first: true,
                ..ListFilter::default()
            },
        )
        .await?;
        attention.extend(
            outbox::list(
                pool,
                &ListFilter {
                    status: Some(OutboxStatus::Pending),
                    in_backoff: true,
                    limit: Some(ATTENTION),
                    oldest_first: true,
                    ..ListFilter::default()
                },
            )
            .await?,
        );
        Ok(Self {
            lag: lag::snapshot(config, pool).await?,
            sent_10s,
            consumed_10s,
            processes: processes::list(pool).await?,
            failing: outbox::trouble_groups(pool, 8).await?,
            attention,
        })
    }
}

/// What a key asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    Why(i64),
    Requeue(i64),
    Retry(i64),
    Discard(i64),
}

impl Command {
    pub(super) fn question(&self) -> String {
        match self {
            Self::Requeue(id) => format!("Requeue row {id} (attempts reset)?"),
            Self::Retry(id) => format!("Send row {id} now?"),
            Self::Discard(id) => format!("Discard row {id} for good (kept in the audit trail)?"),
            Self::Why(id) => format!("Why row {id}?"),
            Self::Quit => "Quit?".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mode {
    Browse,
    /// A change waits for `y`.
    Confirm(Command),
    /// A text over the view (why, or what a change did) until a key.
    Note(String),
}

pub struct App {
    pub view: Option<View>,
    /// Why the last refresh failed, shown until one works.
    pub error: Option<String>,
    pub(super) selected: ListState,
    pub(super) mode: Mode,
    /// The deployment pane's page (0 the first), and how many it had at the
    /// last draw.
    pub(super) page: usize,
    pub(super) pages: usize,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    pub fn new() -> Self {
        Self {
            view: None,
            error: None,
            selected: ListState::default().with_selected(Some(0)),
            mode: Mode::Browse,
            page: 0,
            pages: 1,
        }
    }

    pub fn refreshed(&mut self, view: anyhow::Result<View>) {
        match view {
            Ok(v) => {
                let n = v.attention.len();
                self.view = Some(v);
                self.error = None;
                let i = self.selected.selected().unwrap_or(0);
                self.selected.select(Some(i.min(n.saturating_sub(1))));
            }
            Err(e) => self.error = Some(format!("{e:#}")),
        }
    }

    fn row(&self) -> Option<&EventState> {
        let v = self.view.as_ref()?;
        v.attention.get(self.selected.selected()?)
    }

    /// Show `text` over the view until the next key.
    pub fn note(&mut self, text: impl Into<String>) {
        self.mode = Mode::Note(text.into());
    }

    /// What a key does here; a change is asked for only once confirmed.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Some(Command::Quit);
        }
        match std::mem::replace(&mut self.mode, Mode::Browse) {
            Mode::Confirm(cmd) => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    return Some(cmd);
                }
                self.note("Nothing changed.");
                return None;
            }
            Mode::Note(_) => return None,
            Mode::Browse => {}
        }
        let n = self.view.as_ref().map_or(0, |v| v.attention.len());
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Some(Command::Quit),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.page = (self.page + 1).min(self.pages.saturating_sub(1));
            }
            KeyCode::PageUp | KeyCode::Char('b') => self.page = self.page.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                let i = self.selected.selected().unwrap_or(0);
                self.selected.select(Some((i + 1).min(n - 1)));
            }
            KeyCode::Up | KeyCode::Char('k') => {
                let i = self.selected.selected().unwrap_or(0);
                self.selected.select(Some(i.saturating_sub(1)));
            }
            KeyCode::Enter | KeyCode::Char('w') => return self.row().map(|r| Command::Why(r.id)),
            KeyCode::Char('u') => match self.row() {
                Some(r) if r.status == OutboxStatus::Dead => {
                    self.mode = Mode::Confirm(Command::Requeue(r.id));
                }
                Some(r) => self.note(format!(
                    "Row {} is not dead: requeue is for dead rows (r sends a failing row now).",
                    r.id
                )),
                None => {}
            },
            KeyCode::Char('r') => match self.row() {
                Some(r) if r.status == OutboxStatus::Pending => {
                    self.mode = Mode::Confirm(Command::Retry(r.id));
                }
                Some(r) => self.note(format!(
                    "Row {} is dead: u requeues it, d discards it.",
                    r.id
                )),
                None => {}
            },
            KeyCode::Char('d') => {
                if let Some(r) = self.row() {
                    self.mode = Mode::Confirm(Command::Discard(r.id));
                }
            }
            _ => {}
        }
        None
    }
}

/// Carry out a command (not `Quit`) and say what happened, as the CLI would.
pub async fn apply(config: &Config, pool: &PgPool, cmd: &Command) -> anyhow::Result<String> {
    let (action, id, what) = match *cmd {
        Command::Quit => return Ok(String::new()),
        Command::Why(id) => return rows::why_row(config, pool, id).await,
        Command::Requeue(id) => (
            rows::Action::Requeue,
            id,
            "is requeued; it goes out with the next batch",
        ),
        Command::Retry(id) => (rows::Action::Retry, id, "goes out now"),
        Command::Discard(id) => (
            rows::Action::Discard,
            id,
            "is discarded (kept in outbox_audit)",
        ),
    };
    Ok(if rows::act_on(pool, action, id).await?.is_empty() {
        format!("Row {id} changed state meanwhile; nothing done.")
    } else {
        format!("Row {id} {what}.")
    })
}

/// What the terminal loop does with a key: `false` when it is time to quit.
pub async fn step(app: &mut App, pool: &PgPool, config: &Config, key: KeyEvent) -> bool {
    let Some(cmd) = app.on_key(key) else {
        return true;
    };
    if cmd == Command::Quit {
        return false;
    }
    let changes = !matches!(cmd, Command::Why(_));
    match apply(config, pool, &cmd).await {
        Ok(text) => app.note(text),
        Err(e) => app.note(format!("Failed: {e:#}")),
    }
    if changes {
        let view = View::read(config, pool).await;
        app.refreshed(view);
    }
    true
}
