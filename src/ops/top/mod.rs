//! `outboxctl top`: a live terminal view of the whole deployment, refreshed
//! every two seconds — the outbox's lag and rates, every work queue with its
//! retries and dead letters, every process with its role and queue, the
//! topics that fail and why, and the rows that need an operator. Keys drill
//! into a row (why) and act on it (retry now, requeue, discard), each after
//! a confirmation; PgDn and PgUp page through a deployment larger than the
//! screen. Clean at 80×24; `q` quits, and the terminal is restored also
//! after a panic.
//!
//! `app` holds what is shown and turns keys into commands; `draw` renders
//! it; the terminal loop here does the same as the tests, which drive
//! [`step`] and [`draw`] on ratatui's test backend.

mod app;
mod draw;

use std::time::Duration;

use ratatui::crossterm::event::{self, Event};

use crate::config::Config;
use crate::ops::Outcome;
use crate::store;
pub use app::{App, Command, View, apply, step};
pub use draw::draw;

/// How often the view refreshes.
const REFRESH: Duration = Duration::from_secs(draw::REFRESH_SECS);

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
