//! A fault-injecting TCP proxy: put it between a process and PostgreSQL or
//! RabbitMQ, then reset its connections, refuse new ones, freeze the bytes
//! while every connection stays open, or hold only the server's replies (the
//! requests arrive, the answers do not: a publish the broker stored whose
//! confirm never comes back) — the faults a real network produces and a
//! restart of the shared server cannot.
//!
//! Used by the integration tests and by `outboxctl verify`; depends on tokio only.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy saw, so a test can show that a fault hit live traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted (refused ones included).
    pub accepted: u64,
    /// Connections refused while the proxy played a server that is down.
    pub refused: u64,
    /// Connections open right now.
    pub open: u64,
    /// Connections reset by [`FaultProxy::cut`] (or by a refusal starting).
    pub reset: u64,
    /// Bytes forwarded client → server and server → client.
    pub bytes_up: u64,
    pub bytes_down: u64,
}

#[derive(Default)]
struct Shared {
    refusing: AtomicBool,
    accepted: AtomicU64,
    refused: AtomicU64,
    open: AtomicU64,
    reset: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

/// A proxy listening on a loopback port of its own, forwarding to `upstream`.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Bumped to reset every open connection.
    cut: watch::Sender<u64>,
    /// `true` while bytes are frozen.
    stall: watch::Sender<bool>,
    /// `true` while the server's bytes are held back.
    hold: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (cut, cut_rx) = watch::channel(0u64);
        let (stall, stall_rx) = watch::channel(false);
        let (hold, hold_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            upstream,
            shared.clone(),
            cut_rx,
            [stall_rx, hold_rx],
        ));
        Ok(Self {
            addr,
            shared,
            cut,
            stall,
            hold,
            task,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Reset (TCP RST) every connection open now; new ones go through.
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Play a server that is down: reset every open connection and reset new
    /// ones as they arrive — or, with `false`, be reachable again.
    pub fn refuse(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
        if refusing {
            self.cut();
        }
    }

    /// Freeze every byte in both directions (connections stay open, new ones
    /// are accepted and wait) — or, with `false`, let them flow again.
    pub fn stall(&self, stalled: bool) {
        self.stall.send_replace(stalled);
    }

    /// Hold back what the server sends (the client's bytes still arrive) —
    /// or, with `false`, deliver it. Held in front of RabbitMQ, publishes
    /// reach the queue and their confirms wait here; in front of PostgreSQL,
    /// statements run and their results wait.
    pub fn hold_replies(&self, held: bool) {
        self.hold.send_replace(held);
    }

    pub fn stats(&self) -> ProxyStats {
        let s = &self.shared;
        ProxyStats {
            accepted: s.accepted.load(Ordering::SeqCst),
            refused: s.refused.load(Ordering::SeqCst),
            open: s.open.load(Ordering::SeqCst),
            reset: s.reset.load(Ordering::SeqCst),
            bytes_up: s.bytes_up.load(Ordering::SeqCst),
            bytes_down: s.bytes_down.load(Ordering::SeqCst),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    cut: watch::Receiver<u64>,
    freezes: [watch::Receiver<bool>; 2],
) {
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        if shared.refusing.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            reset(inbound);
            continue;
        }
        let mut cut = cut.clone();
        cut.mark_unchanged();
        tokio::spawn(forward(
            inbound,
            upstream,
            shared.clone(),
            cut,
            freezes.clone(),
        ));
    }
}

/// Close with RST instead of FIN, as a connection reset by the network does.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn forward(
    inbound: TcpStream,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    mut cut: watch::Receiver<u64>,
    freezes: [watch::Receiver<bool>; 2],
) {
    let [stall, hold] = freezes;
    // A connection made during a freeze waits, like its SYN would.
    let mut syn = [stall.clone()];
    let connected = tokio::select! {
        _ = wait_flowing(&mut syn) => TcpStream::connect(upstream).await,
        _ = cut.changed() => { reset(inbound); return; }
    };
    let Ok(outbound) = connected else {
        reset(inbound);
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    shared.open.fetch_add(1, Ordering::SeqCst);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let up = pump(in_read, out_write, vec![stall.clone()], &shared.bytes_up);
    let down = pump(out_read, in_write, vec![stall, hold], &shared.bytes_down);
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (false, false);
    let was_cut = loop {
        tokio::select! {
            _ = &mut up, if !up_done => up_done = true,
            _ = &mut down, if !down_done => down_done = true,
            _ = cut.changed() => break true,
        }
        if up_done && down_done {
            break false;
        }
    };
    shared.open.fetch_sub(1, Ordering::SeqCst);
    if was_cut {
        shared.reset.fetch_add(1, Ordering::SeqCst);
    }
    // Returning drops the pumps and with them both sockets, which reset
    // (zero linger) rather than close.
}

/// Copy one direction until EOF, holding bytes (and the EOF) while any of
/// `freezes` is on. A socket closes when both of its halves are dropped, so a
/// direction that ended leaves the other one flowing.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut freezes: Vec<watch::Receiver<bool>>,
    counter: &AtomicU64,
) {
    // Zero linger from the start: however this connection ends — a cut that
    // drops this future, or an error — the peers see a reset, never a clean
    // close the proxy made up. A normal end still sends FIN (shutdown below).
    let _ = from.as_ref().set_zero_linger();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else {
            return;
        };
        wait_flowing(&mut freezes).await;
        if n == 0 {
            let _ = to.shutdown().await;
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Wait until none of `freezes` is on.
async fn wait_flowing(freezes: &mut [watch::Receiver<bool>]) {
    loop {
        let Some(on) = freezes.iter_mut().find_map(|f| {
            let frozen = *f.borrow_and_update();
            frozen.then_some(f)
        }) else {
            return;
        };
        if on.changed().await.is_err() {
            return;
        }
    }
}
