//! The producer API (`outboxctl serve`): `POST /uploads` stores an upload and
//! its `upload.created` outbox row in one PostgreSQL transaction, so the event
//! exists exactly when the upload does. It never talks to RabbitMQ; the relay
//! does that.
//!
//! The only module that uses axum. Every error is JSON,
//! `{"error": "<code>", "message": "<sentence>"}`, and a request that fails
//! changes nothing.

mod api;
mod errors;
pub mod openapi;
mod uploads;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;
use tracing::{info, warn};

use crate::config::Config;
use crate::model::{Topic, UploadCreated};
use crate::output::Outcome;
use crate::presence::Presence;
use crate::store;
use crate::telemetry;
use api::Api;
pub use errors::ApiError;

/// Every route the API has. The router is built from this list and the
/// OpenAPI document is checked against it, so neither can drift.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Reachable without the bearer token.
    pub public: bool,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/healthz",
        public: true,
    },
    Route {
        method: "GET",
        path: "/readyz",
        public: true,
    },
    Route {
        method: "GET",
        path: "/metrics",
        public: false,
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        public: false,
    },
    Route {
        method: "POST",
        path: "/uploads",
        public: false,
    },
    Route {
        method: "GET",
        path: "/uploads",
        public: false,
    },
    Route {
        method: "GET",
        path: "/uploads/{id}",
        public: false,
    },
    Route {
        method: "GET",
        path: "/uploads/{id}/thumbnail",
        public: false,
    },
];

/// Bind `api.listen`, naming the setting when the address is unusable.
pub async fn bind(config: &Config) -> anyhow::Result<TcpListener> {
    let addr = config.api.listen;
    TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e} — choose another address with --listen, \
             OUTBOX_API_LISTEN or api.listen"
        )
    })
}

/// `outboxctl serve`: bind `api.listen` and serve until `shutdown`.
pub async fn command(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let listener = bind(config).await?;
    serve(config, listener, shutdown).await?;
    Ok(Outcome::Success)
}

/// Serve the API on `listener` until `shutdown` is cancelled, then stop
/// taking connections, give the requests in flight `shutdown.grace` to
/// finish, and return. (A request cut off rolls back: it changed nothing.)
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = store::connect(
        &config.database,
        "outboxctl serve",
        &[("statement_timeout", "30s".into()), ("jit", "off".into())],
    )
    .await?;
    store::check_schema(&pool).await?;
    telemetry::prometheus();
    let address = listener.local_addr()?;
    let presence = Presence::start(
        &pool,
        "serve",
        Some(address.to_string()),
        std::sync::Arc::new(|| "serving".to_string()),
    );
    let app = router(config, pool);
    info!(address = %address, "API listening");
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    let grace = config.shutdown.grace;
    tokio::select! {
        served = server => served?,
        _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            warn!(grace = %humantime::format_duration(grace),
                "requests still running after shutdown.grace are cut off; they roll back");
        }
    }
    presence.stop().await;
    info!("API stopped");
    Ok(())
}

fn router(config: &Config, pool: PgPool) -> Router {
    let api = Arc::new(Api {
        pool,
        token: config.api.token.clone(),
        max_upload: config.api.max_upload_size.0,
        // Compared with media types as the handlers read them: lower case.
        content_types: config
            .api
            .content_types
            .iter()
            .map(|t| t.to_ascii_lowercase())
            .collect(),
        topic: Topic::parse(UploadCreated::TOPIC).expect("a valid topic"),
        saga: config
            .sagas
            .iter()
            .find(|s| s.start == UploadCreated::TOPIC && s.correlate == "upload_id")
            .map(|s| s.name.clone()),
    });
    // Room for multipart framing and the base64 of a JSON upload; the file
    // itself is held to max_upload exactly.
    let body_limit =
        usize::try_from(api.max_upload.saturating_mul(4) / 3 + 64 * 1024).unwrap_or(usize::MAX);

    let mut public = Router::new();
    let mut protected = Router::new();
    let mut paths: Vec<(&str, bool)> = ROUTES.iter().map(|r| (r.path, r.public)).collect();
    paths.dedup();
    for (path, is_public) in paths {
        let route = method_router(path, body_limit);
        if is_public {
            public = public.route(path, route);
        } else {
            protected = protected.route(path, route);
        }
    }
    let protected =
        protected.route_layer(middleware::from_fn_with_state(api.clone(), require_token));
    public
        .merge(protected)
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see GET /openapi.json",
            )
        })
        .with_state(api)
        .layer(middleware::from_fn(errors::json_errors))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.api.request_timeout,
        ))
        .layer(middleware::from_fn(track))
}

fn method_router(path: &str, body_limit: usize) -> MethodRouter<Arc<Api>> {
    match path {
        "/healthz" => get(healthz),
        "/readyz" => get(readyz),
        "/metrics" => get(telemetry::metrics_response),
        "/openapi.json" => get(|State(api): State<Arc<Api>>| async move {
            Json(openapi::document(&openapi::Described {
                auth: api.token.is_some(),
                content_types: &api.content_types,
                max_upload: api.max_upload,
            }))
        }),
        "/uploads" => get(uploads::list)
            .post(uploads::create)
            .layer(DefaultBodyLimit::max(body_limit)),
        "/uploads/{id}" => get(uploads::get),
        "/uploads/{id}/thumbnail" => get(uploads::thumbnail),
        other => unreachable!("route {other} is listed in ROUTES but has no handler"),
    }
}

/// Requests by route and status, and their latency.
async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("outbox_api_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("outbox_api_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

async fn require_token(State(api): State<Arc<Api>>, req: Request, next: Next) -> Response {
    if let Some(token) = &api.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        // Constant time: how much of a guess matched must not show in the timing.
        let ok = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(token.expose().as_bytes())));
        if !ok {
            let message = if given.is_some() {
                "the bearer token is wrong"
            } else {
                "this route needs `Authorization: Bearer <api.token>`"
            };
            return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
                .into_response();
        }
    }
    next.run(req).await
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(api): State<Arc<Api>>) -> Result<Json<Value>, ApiError> {
    store::ready(&api.pool, Duration::from_secs(2)).await?;
    Ok(Json(json!({ "status": "ready" })))
}
