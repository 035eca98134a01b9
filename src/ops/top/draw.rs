//! Drawing `top` at any size: the title and the outbox's line at the top;
//! the deployment — every work queue (ready, unacked, consumers, retry,
//! dead letters), every process with its role and queue, the topics that
//! fail — in a pane that pages (PgDn, PgUp) when it holds more than fits;
//! the rows that need an operator below it; the keys at the bottom.

use chrono::Utc;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, Paragraph, Wrap};

use super::app::{App, Mode, View};
use crate::broker::topology;
use crate::model::OutboxStatus;
use crate::output::{age, cut};
use crate::presence::GONE_AFTER;

/// How often the view refreshes.
pub const REFRESH_SECS: u64 = 2;

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let [title, outbox, body, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(title_line(app), title);
    let Some(v) = app.view.clone() else {
        frame.render_widget(Paragraph::new("reading…"), outbox);
        return;
    };
    frame.render_widget(outbox_line(&v), outbox);
    let width = body.width.saturating_sub(1) as usize;
    let deployment = deployment(&v, width);
    // The deployment takes what it needs; the rows that need an operator
    // keep five lines (their title and four rows) and get what is left.
    let wanted = deployment.len() as u16 + 1;
    let [pane, rows] = Layout::vertical([
        Constraint::Length(wanted.min(body.height.saturating_sub(5)).max(3)),
        Constraint::Min(5),
    ])
    .areas(body);
    draw_deployment(frame, pane, app, deployment);
    draw_rows(frame, rows, app, &v);
    frame.render_widget(
        Line::from(" ↑↓ select  ⏎ why  r retry now  u requeue  d discard  PgDn/PgUp more  q quit")
            .dim(),
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

fn title_line(app: &App) -> Line<'static> {
    Line::from(vec![
        Span::from(" outboxctl top ").bold().reversed(),
        Span::from(format!(
            " {}  every {REFRESH_SECS}s",
            Utc::now().format("%H:%M:%S")
        )),
        Span::from(
            app.error
                .as_deref()
                .map(|e| format!("  {e}"))
                .unwrap_or_default(),
        )
        .red(),
    ])
}

fn outbox_line(v: &View) -> Line<'static> {
    let o = &v.lag.outbox;
    let lag = if o.pending == o.scheduled {
        "-".to_string()
    } else {
        format!("{:.1}s", o.oldest_pending_age_seconds)
    };
    let line = Line::from(format!(
        "outbox  pending {}  lag {lag}  scheduled {}  dead {}   sent {:.0}/s  consumed {:.0}/s",
        o.pending,
        o.scheduled,
        o.dead,
        v.sent_10s as f64 / 10.0,
        v.consumed_10s as f64 / 10.0
    ));
    if o.dead > 0 { line.red() } else { line }
}

/// The deployment, a line each: queues, processes, failing topics.
fn deployment(v: &View, width: usize) -> Vec<Line<'static>> {
    let n = |x: Option<u64>| x.map_or("?".into(), |x| x.to_string());
    let mut lines = Vec::new();
    if !v.lag.broker_alarms.is_empty() {
        let text = crate::ops::lag::blocked_text(&v.lag.broker_alarms);
        lines.push(Line::from(clip(&text, width)).red());
    }
    if let Some(e) = &v.lag.broker_error {
        lines.push(Line::from(clip(&format!("broker UNREACHABLE: {e}"), width)).red());
    }
    let work: Vec<_> = v.lag.queues.iter().filter(|q| q.role == "work").collect();
    lines.push(Line::from(format!("queues ({})", work.len())).bold());
    for q in work {
        let of = |name: String| {
            v.lag
                .queues
                .iter()
                .find(|x| x.name == name)
                .and_then(|x| x.ready)
        };
        let dlq = of(topology::dead_letter_queue(&q.name));
        let figures = format!(
            " ready {} unacked {} consumers {} retry {} dlq {}",
            n(q.ready),
            n(q.unacked),
            n(q.consumers),
            n(of(topology::retry_queues_pattern(&q.name))),
            n(dlq)
        );
        let name = cut(&q.name, width.saturating_sub(figures.len() + 2).max(8));
        let line = Line::from(format!("  {name}{figures}"));
        lines.push(match (dlq, q.consumers) {
            (Some(d), _) if d > 0 => line.red(),
            (_, Some(0)) => line.yellow(),
            _ => line,
        });
    }
    lines.push(Line::from(format!("processes ({})", v.processes.len())).bold());
    if v.processes.is_empty() {
        lines.push(Line::from("  none registered").red());
    }
    for p in &v.processes {
        let alive = p.silent_seconds < GONE_AFTER.as_secs_f64();
        let state = if alive {
            format!("up {}", age(Utc::now() - p.started_at))
        } else {
            format!("GONE {}s", p.silent_seconds as i64)
        };
        let text = format!(
            "  {:<7} {} {}:{} {state}",
            p.role,
            p.detail.as_deref().unwrap_or("-"),
            p.host,
            p.pid
        );
        let line = Line::from(clip(&text, width));
        lines.push(if alive { line } else { line.red() });
    }
    lines.push(Line::from(format!("failing topics ({})", v.failing.len())).bold());
    if v.failing.is_empty() {
        lines.push(Line::from("  none").green());
    }
    for g in &v.failing {
        let error = cut(g.last_error.as_deref().unwrap_or("-"), width);
        lines.push(Line::from(clip(
            &format!(
                "  {} {}{}: {error}",
                g.topic,
                g.rows,
                if g.dead { " dead" } else { "" },
            ),
            width,
        )));
    }
    lines
}

/// `s` cut to `width` characters with an ellipsis, its spacing kept.
fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The deployment pane: a page of it, its title saying which and how many.
fn draw_deployment(frame: &mut Frame, area: Rect, app: &mut App, lines: Vec<Line<'static>>) {
    let height = area.height.saturating_sub(1).max(1) as usize;
    app.pages = lines.len().div_ceil(height).max(1);
    app.page = app.page.min(app.pages - 1);
    let title = if app.pages > 1 {
        format!(
            " deployment  page {}/{} (PgDn, PgUp) ",
            app.page + 1,
            app.pages
        )
    } else {
        " deployment ".to_string()
    };
    let page: Vec<Line> = lines
        .into_iter()
        .skip(app.page * height)
        .take(height)
        .collect();
    frame.render_widget(
        Paragraph::new(page).block(Block::default().borders(Borders::TOP).title(title)),
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
