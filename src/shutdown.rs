//! The one place that turns SIGINT and SIGTERM into a [`CancellationToken`].
//! Every long-running command takes such a token and stops when it is
//! cancelled; tests cancel one themselves.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGINT or SIGTERM. The handlers are
/// installed before this returns, so a signal that arrives while a command is
/// still starting up stops it instead of killing the process.
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers =
            signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
        tokio::spawn(async move {
            match handlers {
                Ok((mut term, mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                // Without signal handlers there is nothing to wait for but Ctrl-C.
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            cancel.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        cancel.cancel();
    });
    token
}
