//! Test helpers: a per-test database (from `#[sqlx::test]`) and per-test
//! RabbitMQ objects, the real binary, a TCP proxy that cuts connections, and
//! waits that fail loudly instead of hanging.

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use outboxctl::broker::topology;
use outboxctl::config::{Config, HandlerConfig, QueueConfig, QueueType, SagaConfig, SecretUrl};
use outboxctl::flow::relay::Settings;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// Longest any wait in a test may take before it counts as a hang.
pub const HANG: Duration = Duration::from_secs(60);

/// The URL of the database a `#[sqlx::test]` pool points at.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by .cargo/config.toml");
    let mut url = url::Url::parse(&base).expect("DATABASE_URL parses");
    let db = pool
        .connect_options()
        .get_database()
        .expect("test pool names its database")
        .to_string();
    url.set_path(&db);
    url.to_string()
}

/// One test's world: its database, its exchange and queues (named after a
/// fresh id, deleted when dropped) and a configuration pointing at both.
pub struct TestEnv {
    pub pool: PgPool,
    pub config: Config,
    pub id: String,
    /// Config files written for the binary; removed with the test.
    dir: tempfile::TempDir,
}

impl TestEnv {
    /// One work queue `<id>.work` bound to `bindings`.
    pub fn new(pool: PgPool, bindings: &[&str]) -> Self {
        let id = format!("t-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let mut config = Config::default();
        config.database.url = SecretUrl::new(database_url(&pool));
        config.broker.url = SecretUrl::new(AMQP_URL);
        config.broker.exchange = format!("{id}.x");
        config.broker.dead_letter_exchange = format!("{id}.dlx");
        config.broker.queue_type = QueueType::Quorum;
        config.broker.confirm_timeout = Duration::from_secs(5);
        config.broker.queues = vec![QueueConfig {
            name: format!("{id}.work"),
            bindings: bindings.iter().map(|b| b.to_string()).collect(),
            adopt: false,
        }];
        // The upload example's inspection, on this test's (first) queue,
        // straight from upload.created; the upload saga is its own test's.
        config.handlers = vec![HandlerConfig {
            queue: None,
            topics: vec!["upload.created".into()],
            ..HandlerConfig::inspect_upload()
        }];
        config.sagas = Vec::new();
        config.relay.interval = Duration::from_millis(200);
        config.consumer.retry_delay = Duration::from_millis(100);
        // Retry queues of 100ms, 1s and 5s (a tier more for each ladder step).
        config.consumer.max_retry_after = Duration::from_secs(5);
        config.relay.backoff_initial = Duration::from_millis(20);
        config.relay.backoff_max = Duration::from_millis(100);
        config.log.level = "warn".into();
        let dir = tempfile::Builder::new().prefix(&id).tempdir().unwrap();
        Self {
            pool,
            config,
            id,
            dir,
        }
    }

    /// The upload example as the quick start runs it: its step handlers on
    /// this test's queue, the upload saga on a queue of its own.
    pub fn with_upload_saga(&mut self) {
        let sagas_queue = format!("{}.sagas", self.id);
        self.config.broker.queues.push(QueueConfig {
            name: sagas_queue.clone(),
            bindings: vec![],
            adopt: false,
        });
        self.config.orchestrator.queue = sagas_queue;
        self.config.handlers = HandlerConfig::upload_example()
            .into_iter()
            .map(|h| HandlerConfig { queue: None, ..h })
            .collect();
        self.config.sagas = vec![SagaConfig::upload_example()];
    }

    pub fn queue(&self) -> String {
        self.config.broker.queues[0].name.clone()
    }

    /// The configuration as a file the binary can read (real passwords).
    pub fn config_file(&self) -> PathBuf {
        self.config_file_for(&self.config, "outbox.toml")
    }

    /// `config` (a variant of this test's) as a file named `name`.
    pub fn config_file_for(&self, config: &Config, name: &str) -> PathBuf {
        let table = config.to_toml_with_secrets();
        // Written aside and renamed into place: every `cmd()` writes the file
        // again, and a process starting meanwhile must never read it half
        // written (an empty file is a valid config of defaults: database
        // `outbox`, not this test's).
        let path = self.dir.path().join(name);
        let aside = self
            .dir
            .path()
            .join(format!(".{name}.{}", Uuid::new_v4().simple()));
        std::fs::write(&aside, toml::to_string(&table).unwrap()).unwrap();
        std::fs::rename(&aside, &path).unwrap();
        path
    }

    /// The real binary, with this test's configuration and a clean environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = outboxctl_cmd();
        cmd.arg("--config").arg(self.config_file());
        cmd
    }

    /// The real binary with a variant of this test's configuration.
    pub fn cmd_with(&self, config: &Config) -> Command {
        let name = format!("outbox-{}.toml", Uuid::new_v4().simple());
        let mut cmd = outboxctl_cmd();
        cmd.arg("--config").arg(self.config_file_for(config, &name));
        cmd
    }

    /// Insert a row the way any application would: plain SQL.
    pub async fn insert(
        &self,
        topic: &str,
        key: Option<&str>,
        payload: serde_json::Value,
    ) -> (i64, Uuid) {
        sqlx::query_as(
            "INSERT INTO outbox (topic, partition_key, payload) VALUES ($1, $2, $3) RETURNING id, message_id",
        )
        .bind(topic)
        .bind(key)
        .bind(payload)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// Insert `n` rows in one statement; row i gets key `k{i % keys}` (no key when `keys` is 0).
    pub async fn insert_many(&self, n: i64, topic: &str, keys: i64) {
        sqlx::query(
            r#"
            INSERT INTO outbox (topic, partition_key, payload)
            SELECT $2, CASE WHEN $3 > 0 THEN 'k' || (i % $3) END, jsonb_build_object('n', i)
            FROM generate_series(1, $1) AS i
            "#,
        )
        .bind(n)
        .bind(topic)
        .bind(keys)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// (pending, sent, dead)
    pub async fn counts(&self) -> (i64, i64, i64) {
        sqlx::query_as(
            r#"SELECT count(*) FILTER (WHERE sent_at IS NULL AND dead_at IS NULL),
                      count(*) FILTER (WHERE sent_at IS NOT NULL),
                      count(*) FILTER (WHERE dead_at IS NOT NULL)
               FROM outbox"#,
        )
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// A connection to this test's broker (of a cluster, the first node that
    /// answers).
    pub async fn amqp(&self) -> lapin::Connection {
        amqp_connect(&self.config.broker.url)
            .await
            .expect("no node of the test's broker.url answers")
    }

    /// Ready messages in the retry queues of `queue`, all tiers together.
    pub async fn retry_depth(&self, queue: &str) -> u32 {
        let tiers = self.config.consumer.retry_delays().tiers();
        let mut n = 0;
        for q in topology::retry_queues(queue, &tiers) {
            n += self.depth(&q).await;
        }
        n
    }

    /// Ready messages in a queue.
    pub async fn depth(&self, queue: &str) -> u32 {
        let conn = self.amqp().await;
        let ch = conn.create_channel().await.unwrap();
        let q = ch
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let _ = conn.close(200, "".into()).await;
        q.message_count()
    }

    /// Every message of `queue`, in delivery order, taken without
    /// acknowledgements (each is gone once delivered): when counting copies,
    /// no acknowledgement can be lost at a channel's close and bring a
    /// message back a second time. Ends when nothing more arrives for 2 s.
    pub async fn take_all(&self, queue: &str) -> Vec<Delivery> {
        let conn = self.amqp().await;
        let ch = conn.create_channel().await.unwrap();
        let mut consumer = ch
            .basic_consume(
                queue.into(),
                "test-count".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut out = Vec::new();
        while let Ok(Some(next)) =
            tokio::time::timeout(Duration::from_secs(2), consumer.next()).await
        {
            out.push(next.unwrap());
        }
        let _ = ch.close(200, "".into()).await;
        let _ = conn.close(200, "".into()).await;
        out
    }

    /// Consume and ack exactly `n` messages from `queue`, in delivery order.
    pub async fn take(&self, queue: &str, n: usize) -> Vec<Delivery> {
        let conn = self.amqp().await;
        let ch = conn.create_channel().await.unwrap();
        ch.basic_qos(1000, BasicQosOptions::default())
            .await
            .unwrap();
        let mut consumer = ch
            .basic_consume(
                queue.into(),
                "test".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut out = Vec::with_capacity(n);
        let deadline = Instant::now() + HANG;
        while out.len() < n {
            let next = tokio::time::timeout_at(deadline.into(), consumer.next()).await;
            let delivery = match next {
                Ok(Some(Ok(d))) => d,
                other => panic!(
                    "expected {n} messages in {queue}, got {} ({other:?})",
                    out.len()
                ),
            };
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .unwrap();
            out.push(delivery);
        }
        let _ = ch.close(200, "".into()).await;
        let _ = conn.close(200, "".into()).await;
        out
    }
}

impl Drop for TestEnv {
    /// Delete this test's exchanges and queues, even after a panic.
    fn drop(&mut self) {
        let mut queues: Vec<String> = Vec::new();
        // The configured queues, and the default one a test may have renamed.
        let names = self.config.broker.queues.iter().map(|q| q.name.clone());
        let tiers = self.config.consumer.retry_delays().tiers();
        for name in names.chain([format!("{}.work", self.id)]) {
            queues.extend(topology::retry_queues(&name, &tiers));
            queues.extend([format!("{name}.retry"), format!("{name}.dlq"), name]);
        }
        queues.push(format!("{}.extra", self.id));
        queues.sort();
        queues.dedup();
        let exchanges = [
            self.config.broker.exchange.clone(),
            self.config.broker.dead_letter_exchange.clone(),
        ];
        let url = self.config.broker.url.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let Some(conn) = amqp_connect(&url).await else {
                    return;
                };
                for q in &queues {
                    if let Ok(ch) = conn.create_channel().await {
                        let _ = ch
                            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                            .await;
                    }
                }
                for x in &exchanges {
                    if let Ok(ch) = conn.create_channel().await {
                        let _ = ch
                            .exchange_delete(x.as_str().into(), Default::default())
                            .await;
                    }
                }
                let _ = conn.close(200, "".into()).await;
            });
        })
        .join();
    }
}

/// `url` without its `heartbeat=` query parameter, if it has one.
fn without_heartbeat(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("heartbeat="))
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// The first node of `url` that takes a connection.
pub async fn amqp_connect(url: &SecretUrl) -> Option<lapin::Connection> {
    for node in url.nodes() {
        // No heartbeats: on a loaded machine the test's own reader was
        // dropped for a missed heartbeat in the middle of reading 50,000
        // messages. A connection that really dies still ends the read
        // (errors, or nothing for 2 s) and the counts then tell.
        let url = without_heartbeat(node.expose());
        let sep = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{sep}heartbeat=0");
        let connect = lapin::Connection::connect(&url, Default::default());
        if let Ok(Ok(conn)) = tokio::time::timeout(Duration::from_secs(5), connect).await {
            return Some(conn);
        }
    }
    None
}

/// The binary with no inherited OUTBOX_* variables and a quiet log.
pub fn outboxctl_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outboxctl"));
    for (k, _) in std::env::vars() {
        if k.starts_with("OUTBOX_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("outboxctl runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A running outboxctl process. Its stderr is read as it comes (a full pipe
/// would block the process); it is killed if the test ends first.
pub struct Proc {
    child: Child,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Stdout, when it is read (see [`spawn_capturing`]).
    out: Option<Lines>,
}

/// Lines a thread gathers from a pipe, and the thread (until joined).
type Lines = (Arc<Mutex<String>>, Option<std::thread::JoinHandle<()>>);

impl Proc {
    /// Everything the process wrote to stdout, once it has exited (it must
    /// have been started by [`spawn_capturing`]).
    pub fn out(&mut self) -> String {
        let (text, reader) = self.out.as_mut().expect("stdout is captured");
        if self.child.try_wait().ok().flatten().is_some()
            && let Some(reader) = reader.take()
        {
            let _ = reader.join();
        }
        text.lock().unwrap().clone()
    }

    /// Everything the process wrote to stderr so far — all of it, once the
    /// process has exited.
    pub fn log(&mut self) -> String {
        if self.child.try_wait().ok().flatten().is_some()
            && let Some(reader) = self.reader.take()
        {
            let _ = reader.join();
        }
        self.log.lock().unwrap().clone()
    }
}

impl std::ops::Deref for Proc {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl std::ops::DerefMut for Proc {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn spawn(cmd: &mut Command) -> Proc {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("outboxctl starts");
    let (log, reader) = read_lines(child.stderr.take().expect("stderr is piped"));
    Proc {
        child,
        log,
        reader: Some(reader),
        out: None,
    }
}

/// [`spawn`], and stdout read as it comes too ([`Proc::out`]).
pub fn spawn_capturing(cmd: &mut Command) -> Proc {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("outboxctl starts");
    let (log, reader) = read_lines(child.stderr.take().expect("stderr is piped"));
    let (out, out_reader) = read_lines(child.stdout.take().expect("stdout is piped"));
    Proc {
        child,
        log,
        reader: Some(reader),
        out: Some((out, Some(out_reader))),
    }
}

/// Every line of `from`, gathered by a thread of its own (a full pipe would
/// block the process).
fn read_lines(
    from: impl std::io::Read + Send + 'static,
) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    (text, reader)
}

/// The port a child process bound, read from its log line `<what>` with
/// its `address` field. The processes bind port 0: a port picked free and
/// handed over can be taken by any socket of the tests running alongside.
pub async fn bound(p: &mut Proc, what: &str) -> u16 {
    wait_for(&format!("{what:?} in the log"), || {
        if let Ok(Some(status)) = p.try_wait() {
            panic!("exited with {status} before {what:?}:\n{}", p.log());
        }
        // Text (`address=…`) or JSON (`"address":"…"`) logs.
        let port = p.log().lines().find(|l| l.contains(what)).and_then(|l| {
            let rest = l
                .split("address=")
                .nth(1)
                .or_else(|| l.split(r#""address":""#).nth(1))?;
            let addr = rest.split(|c: char| c.is_whitespace() || c == '"').next()?;
            addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
        });
        async move { port }
    })
    .await
}

/// Send SIGTERM.
pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Wait for `child` to exit, failing after [`HANG`].
pub async fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + HANG;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "outboxctl did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Poll `check` until it returns `Some`, failing after [`HANG`].
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + HANG;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Poll `count` until it reaches `target`; slow is fine, stuck is not: the
/// count it stopped at when it did not grow for [`HANG`].
pub async fn wait_progress<F, Fut>(target: i64, mut count: F) -> Result<(), i64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = i64>,
{
    let (mut last, mut moved) = (-1, Instant::now());
    loop {
        let n = count().await;
        if n >= target {
            return Ok(());
        }
        if n > last {
            (last, moved) = (n, Instant::now());
        } else if moved.elapsed() > HANG {
            return Err(n);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The relayer running in this process until the returned handle is stopped.
pub struct RunningRelay {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<outboxctl::flow::relay::RelaySummary>,
}

impl RunningRelay {
    pub fn start(config: &Config) -> Self {
        let stop = CancellationToken::new();
        let config = config.clone();
        let shutdown = stop.clone();
        let task = tokio::spawn(async move {
            outboxctl::flow::relay::run(&Settings::new(&config, false), shutdown)
                .await
                .expect("relay runs")
        });
        Self { stop, task }
    }

    pub async fn stop(mut self) -> outboxctl::flow::relay::RelaySummary {
        self.stop.cancel();
        tokio::time::timeout(HANG, &mut self.task)
            .await
            .expect("relay stops")
            .expect("relay task does not panic")
    }
}

/// `relay --once`, in process.
pub async fn relay_once(config: &Config) -> outboxctl::flow::relay::RelaySummary {
    tokio::time::timeout(
        HANG,
        outboxctl::flow::relay::run(&Settings::new(config, true), CancellationToken::new()),
    )
    .await
    .expect("relay --once finishes")
    .expect("relay --once succeeds")
}

pub use outboxctl::proxy::FaultProxy;

pub const PG_ADDR: &str = "127.0.0.1:5432";
pub const AMQP_ADDR: &str = "127.0.0.1:5672";

/// A fault proxy in front of `upstream` (`PG_ADDR` or `AMQP_ADDR`).
pub async fn proxy(upstream: &str) -> FaultProxy {
    FaultProxy::start(upstream.parse().unwrap()).await.unwrap()
}

impl TestEnv {
    /// This test's database URL, through `proxy`.
    pub fn database_url_via(&self, proxy: &FaultProxy) -> SecretUrl {
        let mut url = url::Url::parse(self.config.database.url.expose()).unwrap();
        url.set_port(Some(proxy.addr().port())).unwrap();
        SecretUrl::new(url.to_string())
    }

    /// The broker URL, through `proxy`.
    pub fn broker_url_via(proxy: &FaultProxy) -> SecretUrl {
        SecretUrl::new(format!("amqp://guest:guest@{}/%2f", proxy.addr()))
    }
}

/// The consumer running in this process until the returned handle is stopped.
pub struct RunningConsumer {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<outboxctl::flow::consume::ConsumeSummary>,
}

impl RunningConsumer {
    pub fn start(config: &Config, handlers: outboxctl::flow::handlers::Handlers) -> Self {
        let settings =
            outboxctl::flow::consume::Settings::from_config(config).expect("a queue to consume");
        Self::start_with(settings, handlers)
    }

    /// A consumer of other settings than `consume`'s (the orchestrator's).
    pub fn start_with(
        settings: outboxctl::flow::consume::Settings,
        handlers: outboxctl::flow::handlers::Handlers,
    ) -> Self {
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        let task = tokio::spawn(async move {
            outboxctl::flow::consume::run(&settings, handlers, shutdown)
                .await
                .expect("consumer runs")
        });
        Self { stop, task }
    }

    pub async fn stop(mut self) -> outboxctl::flow::consume::ConsumeSummary {
        self.stop.cancel();
        tokio::time::timeout(HANG, &mut self.task)
            .await
            .expect("consumer stops")
            .expect("consumer task does not panic")
    }
}

/// A message as a producer other than outboxctl could publish it.
pub struct RawMessage<'a> {
    pub routing_key: &'a str,
    pub body: &'a [u8],
    pub message_id: Option<&'a str>,
    pub message_type: Option<&'a str>,
}

impl TestEnv {
    /// Publish to this test's exchange and wait for the broker's confirm.
    pub async fn publish(&self, m: RawMessage<'_>) {
        use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
        let conn = self.amqp().await;
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        let mut props = lapin::BasicProperties::default().with_delivery_mode(2);
        if let Some(id) = m.message_id {
            props = props.with_message_id(id.into());
        }
        if let Some(t) = m.message_type {
            props = props.with_type(t.into());
        }
        let confirm = ch
            .basic_publish(
                self.config.broker.exchange.as_str().into(),
                m.routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                m.body,
                props,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(
            confirm.is_ack() && confirm.take_message().is_none(),
            "the test message was not routed"
        );
        let _ = conn.close(200, "".into()).await;
    }

    /// Declare this test's exchanges and queues.
    pub async fn apply_topology(&self) {
        let broker = outboxctl::broker::Broker::connect(&self.config.broker, "test")
            .await
            .unwrap();
        broker
            .apply_topology(&outboxctl::broker::Topology::from_config(&self.config))
            .await
            .unwrap();
        broker.close().await;
    }
}

/// Wait until the consumers recorded `n` messages.
pub async fn wait_consumed(env: &TestEnv, n: i64) {
    wait_for(&format!("{n} messages consumed"), || async {
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM consumed_messages")
            .fetch_one(&env.pool)
            .await
            .unwrap();
        (seen == n).then_some(())
    })
    .await;
}

/// Serve `app` on a free port of 127.0.0.1 in the background; its `/hook` URL.
pub async fn serve_hook(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The python of the venv ./scripts/tools.sh made for `tool`
/// (scripts/tools-path.sh names it).
pub fn venv_python(tool: &str) -> PathBuf {
    let out = Command::new("./scripts/tools-path.sh")
        .arg(tool)
        .output()
        .expect("scripts/tools-path.sh runs");
    let venv = String::from_utf8(out.stdout).unwrap();
    let bin = std::path::Path::new(venv.trim()).join("bin/python");
    assert!(
        bin.exists(),
        "{} is missing — run ./scripts/tools.sh (./scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// The first `n` dead letters of the test's queue: (message id, death reason).
pub async fn dead_letters(env: &TestEnv, n: usize) -> Vec<(String, String)> {
    let dlq = format!("{}.dlq", env.queue());
    wait_for("the dead letters", || async {
        (env.depth(&dlq).await as usize >= n).then_some(())
    })
    .await;
    env.take(&dlq, n)
        .await
        .iter()
        .map(|d| {
            let id = d.properties.message_id().as_ref().unwrap().to_string();
            let reason = match d
                .properties
                .headers()
                .as_ref()
                .and_then(|h| h.inner().get("x-outbox-death-reason"))
            {
                Some(lapin::types::AMQPValue::LongString(s)) => s.to_string(),
                other => panic!("no death reason: {other:?}"),
            };
            (id, reason)
        })
        .collect()
}

/// The RabbitMQ management API of the shared broker, as `guest` (an
/// administrator there): users and policies a test makes and removes.
pub struct Management {
    http: reqwest::Client,
    base: &'static str,
}

impl Management {
    pub fn new() -> Self {
        Self {
            // No idle connections kept: the server closes them after a
            // while, and a reused one fails the next request.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            base: "http://127.0.0.1:15672/api",
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .basic_auth("guest", Some("guest"));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("the management API answers");
        assert!(
            r.status().is_success(),
            "{method} {path}: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }

    /// A user with every permission on the default vhost.
    pub async fn add_user(&self, name: &str, password: &str) {
        self.call(
            reqwest::Method::PUT,
            &format!("/users/{name}"),
            Some(serde_json::json!({ "password": password, "tags": "" })),
        )
        .await;
        self.grant(name).await;
    }

    pub async fn grant(&self, name: &str) {
        self.call(
            reqwest::Method::PUT,
            &format!("/permissions/%2f/{name}"),
            Some(serde_json::json!({ "configure": ".*", "write": ".*", "read": ".*" })),
        )
        .await;
    }

    /// Take the user's access to the default vhost away: its next connection
    /// is refused.
    pub async fn revoke(&self, name: &str) {
        self.call(
            reqwest::Method::DELETE,
            &format!("/permissions/%2f/{name}"),
            None,
        )
        .await;
    }

    pub async fn delete_user(&self, name: &str) {
        self.call(reqwest::Method::DELETE, &format!("/users/{name}"), None)
            .await;
    }

    /// A policy on the default vhost for queues matching `pattern`.
    pub async fn set_policy(&self, name: &str, pattern: &str, definition: serde_json::Value) {
        self.call(
            reqwest::Method::PUT,
            &format!("/policies/%2f/{name}"),
            Some(serde_json::json!({
                "pattern": pattern, "definition": definition,
                "apply-to": "queues", "priority": 100
            })),
        )
        .await;
    }

    pub async fn clear_policy(&self, name: &str) {
        self.call(
            reqwest::Method::DELETE,
            &format!("/policies/%2f/{name}"),
            None,
        )
        .await;
    }
}

/// A dead letter as a consumer leaves one, in the dead-letter queue of work
/// queue `queue`: its reason, 5 attempts, died now, and the outbox row it
/// came from when given.
pub async fn publish_dead_letter(
    env: &TestEnv,
    queue: &str,
    message_id: &str,
    reason: &str,
    row: Option<i64>,
) {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    use lapin::types::{AMQPValue, FieldTable};
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let mut h = FieldTable::default();
    h.insert(
        "x-outbox-death-reason".into(),
        AMQPValue::LongString(reason.into()),
    );
    h.insert("x-outbox-attempts".into(), AMQPValue::LongLongInt(5));
    h.insert("x-outbox-attempt".into(), AMQPValue::LongLongInt(5));
    h.insert(
        "x-outbox-died-at-ms".into(),
        AMQPValue::LongLongInt(chrono::Utc::now().timestamp_millis()),
    );
    if let Some(row) = row {
        h.insert("x-outbox-id".into(), AMQPValue::LongLongInt(row));
    }
    let props = lapin::BasicProperties::default()
        .with_message_id(message_id.into())
        .with_type("order.paid".into())
        .with_headers(h);
    let confirm = ch
        .basic_publish(
            env.config.broker.dead_letter_exchange.as_str().into(),
            queue.into(),
            BasicPublishOptions {
                mandatory: true,
                immediate: false,
            },
            b"{\"order\": 1}",
            props,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(
        confirm.is_ack() && confirm.take_message().is_none(),
        "the dead letter was not routed to {queue}.dlq"
    );
    let _ = conn.close(200, "".into()).await;
}
