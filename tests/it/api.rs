//! `outboxctl serve`: the producer API against the real database. After every
//! failure, the tests check that no row was added.

use std::collections::HashSet;
use std::time::Duration;

use outboxctl::config::{ByteSize, Config, Secret};
use outboxctl::flow::produce;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::support::*;

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The API served in this process on a free port.
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    pub async fn start(config: &Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = tokio_util::sync::CancellationToken::new();
        let config = config.clone();
        let shutdown = stop.clone();
        let task = tokio::spawn(async move { produce::serve(&config, listener, shutdown).await });
        Self {
            base,
            http: reqwest::Client::new(),
            stop,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn upload_png(&self, name: &str) -> Value {
        let form = Form::new().part(
            "file",
            Part::bytes(PNG)
                .file_name(name.to_string())
                .mime_str("image/png")
                .unwrap(),
        );
        let r = self
            .http
            .post(self.url("/uploads"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        tokio::time::timeout(HANG, &mut self.task)
            .await
            .expect("the API stops")
            .unwrap()
            .unwrap();
    }
}

async fn rows(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM uploads), (SELECT count(*) FROM outbox)")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The status and the JSON error code of a response.
async fn error_of(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let body: Value = r.json().await.expect("error bodies are JSON");
    let message = body["message"].as_str().expect("a message").to_string();
    assert!(!message.is_empty());
    (
        status,
        body["error"].as_str().expect("an error code").to_string(),
    )
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn post_upload_writes_the_upload_and_its_event_in_one_transaction(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let server = Server::start(&env.config).await;
    let form = Form::new().part(
        "file",
        Part::bytes(PNG)
            .file_name("pixel.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let r = server
        .http
        .post(server.url("/uploads"))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
    let message_id: Uuid = body["message_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(location, format!("/uploads/{id}"));
    assert_eq!(body["filename"], "pixel.png");
    assert_eq!(body["content_type"], "image/png");
    assert_eq!(body["size_bytes"], PNG.len());
    assert_eq!(body["status"], "registered");

    let content: Vec<u8> = sqlx::query_scalar("SELECT content FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(content, PNG);
    let (topic, key, payload, traceparent): (String, String, Value, String) = sqlx::query_as(
        "SELECT topic, partition_key, payload, traceparent FROM outbox WHERE message_id = $1",
    )
    .bind(message_id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(topic, "upload.created");
    assert_eq!(key, id.to_string());
    assert_eq!(payload["upload_id"], id.to_string());
    assert_eq!(payload["size_bytes"], PNG.len());
    assert!(
        payload.get("content").is_none(),
        "the event carries metadata, not the bytes"
    );
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{traceparent}"
    );
    assert_eq!(rows(&env.pool).await, (1, 1));

    let detail: Value = server
        .http
        .get(server.url(&location))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["id"], id.to_string());
    assert_eq!(detail["event"]["status"], "pending");
    assert_eq!(detail["event"]["attempts"], 0);
    assert_eq!(detail["consumed"], json!([]));
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn raw_and_json_uploads_are_accepted(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let server = Server::start(&env.config).await;
    let r = server
        .http
        .post(server.url("/uploads?filename=notes.txt"))
        .header("content-type", "text/plain; charset=utf-8")
        .body("some notes")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["filename"].as_str(), body["content_type"].as_str()),
        (Some("notes.txt"), Some("text/plain"))
    );

    use base64::Engine;
    let r = server
        .http
        .post(server.url("/uploads"))
        .json(&json!({
            "filename": "dir/pixel.png",
            "content_type": "image/png",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(PNG),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["filename"], "pixel.png", "path components are dropped");
    assert_eq!(body["size_bytes"], PNG.len());
    assert_eq!(rows(&env.pool).await, (2, 2));
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn get_upload_shows_the_event_and_who_consumed_it(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let server = Server::start(&env.config).await;
    let up = server.upload_png("a.png").await;
    let message_id: Uuid = up["message_id"].as_str().unwrap().parse().unwrap();
    sqlx::query("UPDATE outbox SET sent_at = now(), attempts = 1 WHERE message_id = $1")
        .bind(message_id)
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query(
        r#"INSERT INTO consumed_messages (consumer, message_id, topic, queue, received_at, delivery_attempt, redelivered)
           VALUES ('worker-1', $1, 'upload.created', 'uploads.process', now(), 1, false)"#,
    )
    .bind(message_id)
    .execute(&env.pool)
    .await
    .unwrap();
    let detail: Value = server
        .http
        .get(server.url(&format!("/uploads/{}", up["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["event"]["status"], "sent");
    assert_eq!(detail["event"]["attempts"], 1);
    assert_eq!(detail["consumed"][0]["consumer"], "worker-1");
    assert!(detail["consumed"][0]["committed_at"].is_string());
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn list_uploads_pages_newest_first_and_filters_by_status(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let server = Server::start(&env.config).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            server.upload_png(&format!("{i}.png")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    sqlx::query("UPDATE uploads SET status = 'processed' WHERE id = ANY($1::uuid[])")
        .bind(vec![ids[1].clone(), ids[3].clone()])
        .execute(&env.pool)
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut url = server.url("/uploads?limit=2");
    loop {
        let page: Value = server
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(next) => url = server.url(&format!("/uploads?limit=2&after={next}")),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let processed: Value = server
        .http
        .get(server.url("/uploads?status=processed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let got: HashSet<&str> = processed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, HashSet::from([ids[1].as_str(), ids[3].as_str()]));
    assert_eq!(processed["next"], Value::Null);
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn bad_input_gets_a_json_error_and_changes_nothing(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["#"]);
    env.config.api.max_upload_size = ByteSize(1024);
    let server = Server::start(&env.config).await;
    let http = &server.http;
    let uploads = server.url("/uploads");
    let big = vec![b'x'; 2048];
    let png_part = |bytes: Vec<u8>, name: &str, mime: &str| {
        Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(mime)
            .unwrap()
    };

    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            http.post(&uploads)
                .header("content-type", "application/json")
                .body("{\"filename\": "),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "JSON without content",
            http.post(&uploads)
                .json(&json!({"filename": "a.png", "content_type": "image/png"})),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "JSON with bad base64",
            http.post(&uploads).json(
                &json!({"filename": "a.png", "content_type": "image/png", "content_base64": "***"}),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_base64",
        ),
        (
            "malformed multipart",
            http.post(&uploads)
                .header("content-type", "multipart/form-data; boundary=XYZ")
                .body("--XYZ\r\nbroken"),
            StatusCode::BAD_REQUEST,
            "malformed_multipart",
        ),
        (
            "multipart without a file part",
            http.post(&uploads)
                .multipart(Form::new().text("filename", "a.png")),
            StatusCode::BAD_REQUEST,
            "missing_file",
        ),
        (
            "empty file",
            http.post(&uploads)
                .multipart(Form::new().part("file", png_part(vec![], "a.png", "image/png"))),
            StatusCode::BAD_REQUEST,
            "empty_file",
        ),
        (
            "oversized multipart",
            http.post(&uploads)
                .multipart(Form::new().part("file", png_part(big.clone(), "a.png", "image/png"))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            "oversized raw body",
            http.post(server.url("/uploads?filename=a.bin"))
                .header("content-type", "application/octet-stream")
                .body(big.clone()),
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            "body beyond any limit",
            http.post(server.url("/uploads?filename=a.bin"))
                .header("content-type", "application/octet-stream")
                .body(vec![0u8; 1 << 20]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            "unsupported raw type",
            http.post(server.url("/uploads?filename=a.html"))
                .header("content-type", "text/html")
                .body("<p>"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
        ),
        (
            "unsupported multipart type",
            http.post(&uploads).multipart(Form::new().part(
                "file",
                png_part(b"<svg/>".to_vec(), "a.svg", "image/svg+xml"),
            )),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
        ),
        (
            "no content type",
            http.post(&uploads).body("bytes"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "missing_content_type",
        ),
        (
            "multipart with a part the API does not know",
            http.post(&uploads).multipart(
                Form::new()
                    .part("file", png_part(PNG.to_vec(), "a.png", "image/png"))
                    .text("submit", "Upload"),
            ),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            // Schemathesis (stateful, seed 4208787625): a list, not a name.
            "multipart with the filename field twice",
            http.post(&uploads).multipart(
                Form::new()
                    .text("filename", "a.png")
                    .text("filename", "b.png")
                    .part("file", png_part(PNG.to_vec(), "a.png", "image/png")),
            ),
            StatusCode::BAD_REQUEST,
            "repeated_field",
        ),
        (
            "a file name that is blank after its directory",
            http.post(server.url("/uploads?filename=dir/"))
                .header("content-type", "image/png")
                .body(PNG),
            StatusCode::BAD_REQUEST,
            "invalid_filename",
        ),
        (
            "bad idempotency key",
            http.post(server.url("/uploads?filename=a.png"))
                .header("content-type", "image/png")
                .header("idempotency-key", "has space")
                .body(PNG),
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
        ),
        (
            "unknown id",
            http.get(server.url(&format!("/uploads/{}", Uuid::new_v4()))),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "non-UUID id",
            http.get(server.url("/uploads/42")),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            "bad status filter",
            http.get(server.url("/uploads?status=lost")),
            StatusCode::BAD_REQUEST,
            "invalid_status",
        ),
        (
            "bad limit",
            http.get(server.url("/uploads?limit=0")),
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            "bad cursor",
            http.get(server.url("/uploads?after=yesterday")),
            StatusCode::BAD_REQUEST,
            "invalid_after",
        ),
        (
            "unknown route",
            http.get(server.url("/nope")),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "wrong method",
            http.delete(&uploads),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (what, request, status, code) in cases {
        let got = error_of(request.send().await.unwrap()).await;
        assert_eq!(got, (status, code.to_string()), "{what}");
        assert_eq!(rows(&env.pool).await, (0, 0), "{what} added rows");
    }
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn bearer_token_guards_every_route_but_health_checks(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["#"]);
    let token = "s3cret-token-0123456789";
    env.config.api.token = Some(Secret::new(token));
    let server = Server::start(&env.config).await;
    for path in ["/healthz", "/readyz"] {
        let r = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    for path in ["/metrics", "/openapi.json", "/uploads"] {
        let r = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            error_of(r).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into()),
            "{path}"
        );
        let r = server
            .http
            .get(server.url(path))
            .bearer_auth("wrong-token-wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        let r = server
            .http
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let r = server
        .http
        .post(server.url("/uploads?filename=a.png"))
        .header("content-type", "image/png")
        .bearer_auth("wrong-token-wrong-token")
        .body(PNG)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(rows(&env.pool).await, (0, 0));
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_failing_outbox_insert_rolls_back_the_upload(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    // The upload insert succeeds; the outbox insert after it violates this.
    sqlx::query(
        "ALTER TABLE outbox ADD CONSTRAINT test_refuse_uploads CHECK (topic <> 'upload.created')",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    let server = Server::start(&env.config).await;
    let r = server
        .http
        .post(server.url("/uploads?filename=a.png"))
        .header("content-type", "image/png")
        .body(PNG)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "internal".into())
    );
    assert_eq!(
        rows(&env.pool).await,
        (0, 0),
        "an upload without its event survived"
    );
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn idempotency_key_returns_the_same_upload_and_refuses_a_different_body(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let server = Server::start(&env.config).await;
    let send = |body: &'static [u8]| {
        server
            .http
            .post(server.url("/uploads?filename=a.png"))
            .header("content-type", "image/png")
            .header("idempotency-key", "order-7-photo")
            .body(body)
            .send()
    };
    let first = send(PNG).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = send(PNG).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(rows(&env.pool).await, (1, 1));

    let other = send(b"other bytes").await.unwrap();
    assert_eq!(
        error_of(other).await,
        (StatusCode::CONFLICT, "idempotency_key_reused".into())
    );
    assert_eq!(rows(&env.pool).await, (1, 1));
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn concurrent_requests_with_one_idempotency_key_store_one_upload(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let server = Server::start(&env.config).await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let http = server.http.clone();
        let url = server.url("/uploads?filename=a.png");
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .header("content-type", "image/png")
                .header("idempotency-key", "same-key-for-all")
                .body(PNG)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "every request got the same upload");
    assert_eq!(rows(&env.pool).await, (1, 1));
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_database_outage_is_503_and_the_api_recovers(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["#"]);
    let proxy = proxy(PG_ADDR).await;
    env.config.database.url = env.database_url_via(&proxy);
    env.config.database.connect_timeout = Duration::from_secs(1);
    let server = Server::start(&env.config).await;
    server.upload_png("before.png").await;

    proxy.refuse(true);
    let r = server
        .http
        .post(server.url("/uploads?filename=a.png"))
        .header("content-type", "image/png")
        .body(PNG)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable".into()
        )
    );
    let r = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    proxy.refuse(false);
    wait_for("the API to be ready again", || async {
        let r = server.http.get(server.url("/readyz")).send().await.unwrap();
        (r.status() == StatusCode::OK).then_some(())
    })
    .await;
    server.upload_png("after.png").await;
    assert_eq!(rows(&env.pool).await, (2, 2));
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn openapi_documents_exactly_the_routes_that_exist(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let server = Server::start(&env.config).await;
    let doc: Value = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = HashSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed: HashSet<(String, String)> = produce::ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, routed);

    // Every listed route answers; every other method on its path is 405.
    let upload_id = server.upload_png("x.png").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // As the upload saga's thumbnail step would leave it.
    sqlx::query("UPDATE uploads SET thumbnail = $2 WHERE id = $1::uuid")
        .bind(&upload_id)
        .bind(PNG)
        .execute(&env.pool)
        .await
        .unwrap();
    for (method, path) in &routed {
        let concrete = path.replace("{id}", &upload_id);
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = server.http.request(m, server.url(&concrete));
        if method == "POST" {
            req = req
                .header("content-type", "image/png")
                .query(&[("filename", "y.png")])
                .body(PNG);
        }
        let status = req.send().await.unwrap().status();
        assert!(status.is_success(), "{method} {path} answered {status}");
        for other in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if routed.contains(&(other.to_string(), path.clone())) {
                continue;
            }
            let m = reqwest::Method::from_bytes(other.as_bytes()).unwrap();
            let r = server
                .http
                .request(m, server.url(&concrete))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{other} {path}");
        }
    }
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn metrics_count_requests_by_route_and_status(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let server = Server::start(&env.config).await;
    server.upload_png("m.png").await;
    let _ = server
        .http
        .get(server.url("/uploads/not-a-uuid"))
        .send()
        .await
        .unwrap();
    let text = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"outbox_api_requests_total{method="POST",route="/uploads",status="201"}"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"outbox_api_requests_total{method="GET",route="/uploads/{id}",status="400"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains("outbox_api_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"outbox_api_events_written_total{topic="upload.created"}"#),
        "{text}"
    );
    server.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn sigterm_finishes_the_request_in_flight_then_exits_0(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["#"]);
    env.config.api.listen = "127.0.0.1:0".parse().unwrap();
    env.config.log.level = "info".into();
    let mut child = spawn(env.cmd().arg("serve"));
    let port = bound(&mut child, "API listening").await;
    let http = reqwest::Client::new();
    wait_for("the API to serve", || async {
        let r = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();

    // Half a request, then SIGTERM, then the rest: the request must complete.
    let head = format!(
        "POST /uploads?filename=slow.png HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        PNG.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&PNG[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    terminate(&child);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(&PNG[10..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert_eq!(wait_exit(&mut child).await.code(), Some(0));
    assert_eq!(rows(&env.pool).await, (1, 1));
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "still listening"
    );
}
