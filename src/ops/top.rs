//! `outboxctl top`: a live terminal view of the pipeline, refreshed every
//! two seconds — rates and lag per stage, the processes, the topics that fail
//! and why, the queues and their dead letters, and the rows that need an
//! operator. Keys drill into a row (why) and act on it (retry now, requeue,
//! discard), each after a confirmation. Fits 80×24; `q` quits, and the
//! terminal is restored also after a panic.
//!
//! [`App`] holds what is shown and turns keys into [`Command`]s; [`draw`]
//! renders it; [`step`] is what the terminal loop does with a key — the tests
//! drive the same functions on ratatui's test backend.

use std::time::Duration;

use chrono::Utc;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};
use sqlx::PgPool;

use super::Outcome;
use super::lag::{self, Snapshot};
use crate::config::Config;
use crate::model::{EventState, OutboxStatus, RowRef};
use crate::output::{actor, age, cut};
use crate::presence::GONE_AFTER;
use crate::store::outbox::{self, ListFilter, TroubleGroup};
use crate::store::{self, processes};

/// How often the view refreshes.
const REFRESH: Duration = Duration::from_secs(2);
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
    fn question(&self) -> String {
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
enum Mode {
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
    selected: ListState,
    mode: Mode,
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
pub async fn apply(pool: &PgPool, cmd: &Command) -> anyhow::Result<String> {
    let one = |done: Vec<i64>, what: &str, id: i64| {
        if done.is_empty() {
            format!("Row {id} changed state meanwhile; nothing done.")
        } else {
            format!("Row {id} {what}.")
        }
    };
    let actor = actor();
    Ok(match *cmd {
        Command::Quit => String::new(),
        Command::Why(id) => match outbox::find(pool, RowRef::Id(id)).await? {
            Some(r) => super::outbox::explain(pool, &r).await?,
            None => format!("Row {id} is gone (sent and purged, or discarded)."),
        },
        Command::Requeue(id) => {
            let mut tx = pool.begin().await?;
            let done = outbox::requeue(&mut tx, &[id], &actor).await?;
            tx.commit().await?;
            one(done, "is requeued; it goes out with the next batch", id)
        }
        Command::Retry(id) => {
            let mut tx = pool.begin().await?;
            let done = outbox::retry_now(&mut tx, &[id], &actor).await?;
            tx.commit().await?;
            one(done, "goes out now", id)
        }
        Command::Discard(id) => {
            let mut tx = pool.begin().await?;
            let done = outbox::discard(&mut tx, &[id], &actor).await?;
            tx.commit().await?;
            one(done, "is discarded (kept in outbox_audit)", id)
        }
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
    match apply(pool, &cmd).await {
        Ok(text) => app.note(text),
        Err(e) => app.note(format!("Failed: {e:#}")),
    }
    if changes {
        let view = View::read(config, pool).await;
        app.refreshed(view);
    }
    true
}

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let [title, stages, middle, rows, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(4),
        Constraint::Length(7),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);
    let now = Utc::now();
    frame.render_widget(
        Line::from(vec![
            Span::from(" outboxctl top ").bold().reversed(),
            Span::from(format!(
                " {}  every {}s",
                now.format("%H:%M:%S"),
                REFRESH.as_secs()
            )),
            Span::from(
                app.error
                    .as_deref()
                    .map(|e| format!("  {e}"))
                    .unwrap_or_default(),
            )
            .red(),
        ]),
        title,
    );
    let Some(v) = app.view.clone() else {
        frame.render_widget(Paragraph::new("reading…"), stages);
        return;
    };
    draw_stages(frame, stages, &v);
    let [procs, failing] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
    draw_processes(frame, procs, &v);
    draw_failing(frame, failing, &v);
    draw_rows(frame, rows, app, &v);
    frame.render_widget(
        Line::from(" ↑↓ select  ⏎ why  r retry now  u requeue  d discard  q quit").dim(),
        keys,
    );
    match &app.mode {
        Mode::Browse => {}
        Mode::Confirm(cmd) => popup(
            frame,
            area,
            "Confirm",
            &format!("{}  y / n", cmd.question()),
        ),
        Mode::Note(text) => popup(frame, area, "", &format!("{text}\n\n(any key)")),
    }
}

fn draw_stages(frame: &mut Frame, area: Rect, v: &View) {
    let o = &v.lag.outbox;
    let lag = if o.pending == o.scheduled {
        "-".to_string()
    } else {
        format!("{:.1}s", o.oldest_pending_age_seconds)
    };
    let mut lines = vec![Line::from(format!(
        "outbox  pending {}  lag {lag}  scheduled {}  dead {}   sent {:.0}/s  consumed {:.0}/s",
        o.pending,
        o.scheduled,
        o.dead,
        v.sent_10s as f64 / 10.0,
        v.consumed_10s as f64 / 10.0
    ))];
    let n = |x: Option<u64>| x.map_or("?".into(), |x| x.to_string());
    let work: Vec<String> = v
        .lag
        .queues
        .iter()
        .filter(|q| q.role == "work")
        .map(|q| {
            let dlq = v
                .lag
                .queues
                .iter()
                .find(|d| d.role == "dead-letter" && d.name == format!("{}.dlq", q.name))
                .and_then(|d| d.ready);
            format!(
                "{} ready {} unacked {} consumers {} dlq {}",
                q.name,
                n(q.ready),
                n(q.unacked),
                n(q.consumers),
                n(dlq)
            )
        })
        .collect();
    lines.extend(work.into_iter().take(2).map(Line::from));
    if let Some(e) = &v.lag.broker_error {
        lines.push(Line::from(format!("broker UNREACHABLE: {e}")).red());
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(" stages ")),
        area,
    );
}

fn draw_processes(frame: &mut Frame, area: Rect, v: &View) {
    let width = area.width.saturating_sub(2) as usize;
    let items: Vec<ListItem> = if v.processes.is_empty() {
        vec![ListItem::new("none registered").red()]
    } else {
        v.processes
            .iter()
            .map(|p| {
                let alive = p.silent_seconds < GONE_AFTER.as_secs_f64();
                let rest = format!(
                    "{}:{} {}",
                    p.host,
                    p.pid,
                    if alive {
                        format!("up {}", age(Utc::now() - p.started_at))
                    } else {
                        format!("GONE {}s", p.silent_seconds as i64)
                    }
                );
                let item = ListItem::new(format!(
                    "{:<7} {}",
                    p.role,
                    cut(&rest, width.saturating_sub(8).max(8))
                ));
                if alive { item } else { item.red() }
            })
            .collect()
    };
    frame.render_widget(
        List::new(items).block(Block::default().borders(Borders::TOP).title(" processes ")),
        area,
    );
}

fn draw_failing(frame: &mut Frame, area: Rect, v: &View) {
    let width = area.width.saturating_sub(2) as usize;
    let items: Vec<ListItem> = if v.failing.is_empty() {
        vec![ListItem::new("none").green()]
    } else {
        v.failing
            .iter()
            .map(|g| {
                ListItem::new(cut(
                    &format!(
                        "{} {}{}: {}",
                        g.topic,
                        g.rows,
                        if g.dead { " dead" } else { "" },
                        g.last_error.as_deref().unwrap_or("-")
                    ),
                    width,
                ))
            })
            .collect()
    };
    frame.render_widget(
        List::new(items).block(
            Block::default()
                .borders(Borders::TOP)
                .title(" failing topics "),
        ),
        area,
    );
}

fn draw_rows(frame: &mut Frame, area: Rect, app: &mut App, v: &View) {
    let width = area.width.saturating_sub(3) as usize;
    let now = Utc::now();
    let items: Vec<ListItem> = v
        .attention
        .iter()
        .map(|r| {
            let state = match r.status {
                OutboxStatus::Dead => "dead".to_string(),
                _ => format!("retry {}", age(r.available_at - now)),
            };
            let columns = format!("{:<8} {:<10} {:<18} ", r.id, state, cut(&r.topic, 18));
            let room = width.saturating_sub(columns.chars().count()).max(8);
            let text = columns + &cut(r.last_error.as_deref().unwrap_or("-"), room);
            let item = ListItem::new(text);
            if r.status == OutboxStatus::Dead {
                item.red()
            } else {
                item.yellow()
            }
        })
        .collect();
    let title = format!(" rows that need you ({}) ", v.attention.len());
    let list = List::new(items)
        .block(Block::default().borders(Borders::TOP).title(title))
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    frame.render_stateful_widget(list, area, &mut app.selected);
}

fn popup(frame: &mut Frame, area: Rect, title: &str, text: &str) {
    let w = area.width.saturating_sub(8).clamp(20, 72);
    let h = (text.len() as u16 / w.saturating_sub(4).max(1) + 4)
        .clamp(5, area.height.saturating_sub(2));
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(w)) / 2,
        y: area.y + (area.height.saturating_sub(h)) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: true })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(title.to_string()),
            ),
        rect,
    );
}

/// `outboxctl top`: until `q`.
pub async fn command(config: &Config) -> anyhow::Result<Outcome> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "top needs a terminal — for scripts, `outboxctl status -o json` and `outboxctl lag -o json`"
        );
    }
    let pool = store::connect(&config.database, "outboxctl top", &[("jit", "off".into())]).await?;
    store::check_schema(&pool).await?;
    let mut app = App::new();
    app.refreshed(View::read(config, &pool).await);
    let mut terminal = ratatui::try_init()?;
    let result = async {
        let mut next = tokio::time::Instant::now() + REFRESH;
        loop {
            terminal.draw(|f| draw(f, &mut app))?;
            let key = tokio::task::spawn_blocking(|| -> std::io::Result<Option<Event>> {
                if event::poll(Duration::from_millis(200))? {
                    return event::read().map(Some);
                }
                Ok(None)
            })
            .await??;
            if let Some(Event::Key(key)) = key
                && !step(&mut app, &pool, config, key).await
            {
                return anyhow::Ok(());
            }
            if tokio::time::Instant::now() >= next {
                app.refreshed(View::read(config, &pool).await);
                next = tokio::time::Instant::now() + REFRESH;
            }
        }
    }
    .await;
    ratatui::restore();
    pool.close().await;
    result?;
    Ok(Outcome::Success)
}
