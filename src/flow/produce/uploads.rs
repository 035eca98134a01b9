//! The upload routes: `POST /uploads` (multipart, JSON or raw body) writes
//! the upload and its `upload.created` event in one transaction; `GET
//! /uploads/{id}` shows the upload with its event and consumption history;
//! `GET /uploads` pages through them.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::{error, info};
use uuid::Uuid;

use super::api::Api;
use super::errors::ApiError;
use crate::model::{MessageId, Upload, UploadCreated, UploadStatus};
use crate::store::outbox::{self, NewEvent};
use crate::store::uploads::{self, NewUpload};
use crate::store::{inbox, saga};
use crate::telemetry::TraceContext;

/// The file of a `POST /uploads`, however it was sent.
struct Incoming {
    filename: String,
    content_type: String,
    content: Bytes,
}

/// Strict like the rest of the request: a parameter the document does not
/// list is refused, not ignored (a misspelt `?filname=` must not pass).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    filename: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonUpload {
    #[serde(default, deserialize_with = "present_string")]
    filename: Option<String>,
    content_type: String,
    content_base64: String,
}

/// An optional member that, when present, must be a string (not `null`).
fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// The longest file name the API takes, in characters.
pub(super) const MAX_FILE_NAME: usize = 255;

/// [`file_name`] as a regular expression (JSON Schema dialect) for the
/// OpenAPI document: empty, or no control characters and a last path
/// segment that is not blank. Blank is what `str::trim` removes.
pub(super) const FILE_NAME_PATTERN: &str = r"^(?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f/\\ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f/\\]*)?$";

/// The file-name rule, in one sentence, for the document and the README.
pub(super) const FILE_NAME_RULE: &str = "The file name is the first non-empty one of: the body's \
    `filename` (multipart field or JSON member), the multipart part's own file name, `?filename=`; \
    with none, it is `upload` plus the extension of the file's type (`upload.png`). A name given \
    but invalid (over 255 characters, control characters, blank after its last / or \\) is refused; \
    the stored name is the part after the last / or \\, trimmed.";

/// Standard base64 with padding, at least one byte: what `content_base64`
/// must be.
pub(super) const BASE64_PATTERN: &str =
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$";

/// The accepted types that can be sent as a raw body: all of
/// `api.content_types` but the two that name another form of upload.
pub(super) fn raw_types(content_types: &[String]) -> Vec<&str> {
    content_types
        .iter()
        .map(String::as_str)
        .filter(|t| !matches!(*t, "application/json" | "multipart/form-data"))
        .collect()
}

/// One given file name checked: `None` when empty (not given), else the
/// last path segment, trimmed ("C:\\tmp\\cat.png" is "cat.png").
fn file_name(given: &str, source: &str) -> Result<Option<String>, ApiError> {
    if given.is_empty() {
        return Ok(None);
    }
    let invalid = |why: &str| {
        ApiError::bad_request(
            "invalid_filename",
            format!("the file name {given:?} ({source}) {why}; leave it out or send another"),
        )
    };
    if given.chars().count() > MAX_FILE_NAME {
        return Err(invalid("is longer than 255 characters"));
    }
    if given.chars().any(char::is_control) {
        return Err(invalid("has control characters"));
    }
    let name = given.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if name.is_empty() {
        return Err(invalid("is blank after its last / or \\"));
    }
    Ok(Some(name.to_string()))
}

/// The name of an upload with no name given: `upload` and its type's usual
/// extension.
fn default_name(content_type: &str) -> String {
    let ext = match content_type {
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        "application/octet-stream" => ".bin",
        _ => "",
    };
    format!("upload{ext}")
}

pub(super) async fn create(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let trace = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
        .map_or_else(TraceContext::new_root, |t| t.child());
    let incoming = read_upload(&api, req).await?;
    let fingerprint = key.map(|_| fingerprint(&incoming));

    // A retried request whose key lost a race with a row that then vanished
    // (rolled back) simply runs again.
    for _ in 0..3 {
        let mut tx = api.pool.begin().await?;
        let new = NewUpload {
            id: Uuid::now_v7(),
            filename: &incoming.filename,
            content_type: &incoming.content_type,
            content: &incoming.content,
            message_id: MessageId::new(),
            idempotency_key: key,
            fingerprint: fingerprint.as_deref(),
        };
        if let Some(upload) = uploads::insert(&mut tx, &new).await? {
            let payload =
                serde_json::to_value(UploadCreated::from(&upload)).expect("an event serializes");
            let partition_key = upload.id.to_string();
            let traceparent = trace.header();
            outbox::insert(
                &mut tx,
                &NewEvent {
                    message_id: upload.message_id,
                    topic: &api.topic,
                    partition_key: Some(&partition_key),
                    payload: &payload,
                    traceparent: Some(&traceparent),
                },
            )
            .await?;
            tx.commit().await?;
            metrics::counter!("outbox_api_events_written_total", "topic" => UploadCreated::TOPIC)
                .increment(1);
            info!(upload_id = %upload.id, message_id = %upload.message_id, trace_id = %trace.trace_id,
                size = upload.size_bytes, "upload registered");
            return Ok(created(&upload, false, &trace));
        }
        let key = key.expect("only an idempotency key can conflict");
        let existing = uploads::by_idempotency_key(&mut tx, key).await?;
        tx.rollback().await?;
        match existing {
            Some((upload, stored)) if stored == fingerprint => {
                return Ok(created(&upload, true, &trace));
            }
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different request; use a new key for a new upload",
                ));
            }
            None => continue,
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_key_busy",
        "another request with this Idempotency-Key kept failing; try again",
    ))
}

fn created(upload: &Upload, replayed: bool, trace: &TraceContext) -> Response {
    let mut response = (StatusCode::CREATED, Json(upload)).into_response();
    let h = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("/uploads/{}", upload.id)) {
        h.insert(header::LOCATION, location);
    }
    if replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if let Ok(tp) = HeaderValue::from_str(&trace.header()) {
        h.insert("traceparent", tp);
    }
    response
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(Some).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID",
        )
    })
}

fn fingerprint(file: &Incoming) -> String {
    let mut h = Sha256::new();
    h.update(file.filename.as_bytes());
    h.update([0]);
    h.update(file.content_type.as_bytes());
    h.update([0]);
    h.update(&file.content);
    hex::encode(h.finalize())
}

/// The media type without parameters, lower-cased: `image/png`.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

async fn read_upload(api: &Api, req: Request) -> Result<Incoming, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence);
    let query: UploadQuery = query(req.uri())?;
    // Checked even when the body names the file: an invalid value is refused.
    let query_name = match &query.filename {
        Some(given) => file_name(given, "?filename=")?,
        None => None,
    };
    let incoming = match declared.as_deref() {
        None => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "missing_content_type",
                "send multipart/form-data with a `file` part, a JSON upload, or the file itself \
                 with its Content-Type",
            ));
        }
        Some("multipart/form-data") => read_multipart(api, req, query_name).await?,
        Some("application/json") => read_json(api, req, query_name).await?,
        Some(content_type) => {
            let content_type = content_type.to_string();
            if !raw_types(&api.content_types).contains(&content_type.as_str()) {
                return Err(unsupported(api, &content_type));
            }
            let content = Bytes::from_request(req, &())
                .await
                .map_err(|e| body_error(api, e.status(), &e.body_text()))?;
            Incoming {
                filename: query_name.unwrap_or_else(|| default_name(&content_type)),
                content_type,
                content,
            }
        }
    };
    check_upload(api, incoming)
}

fn unsupported(api: &Api, content_type: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_content_type",
        format!(
            "files of type {content_type:?} are not accepted; accepted: {} (api.content_types)",
            api.content_types.join(", ")
        ),
    )
}

fn body_error(api: &Api, status: StatusCode, detail: &str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(api)
    } else {
        ApiError::bad_request(
            "unreadable_body",
            format!("the request body could not be read: {detail}"),
        )
    }
}

fn too_large(api: &Api) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        format!(
            "the file is larger than {} (api.max_upload_size)",
            crate::config::ByteSize::b(api.max_upload).display().iec()
        ),
    )
}

async fn read_multipart(
    api: &Api,
    req: Request,
    query_name: Option<String>,
) -> Result<Incoming, ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(api)
        } else {
            ApiError::bad_request(
                "malformed_multipart",
                format!("the multipart body is malformed: {}", e.body_text()),
            )
        }
    };
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::bad_request("malformed_multipart", e.body_text()))?;
    let mut file: Option<Incoming> = None;
    let mut filename_field: Option<String> = None;
    let mut filename_seen = false;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("file") => {
                if file.is_some() {
                    return Err(ApiError::bad_request(
                        "too_many_files",
                        "send exactly one `file` part",
                    ));
                }
                let filename = field.file_name().unwrap_or_default().to_string();
                let content_type = field
                    .content_type()
                    .map_or("application/octet-stream".into(), essence);
                let mut content = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    if (content.len() + chunk.len()) as u64 > api.max_upload {
                        return Err(too_large(api));
                    }
                    content.extend_from_slice(&chunk);
                }
                file = Some(Incoming {
                    filename,
                    content_type,
                    content: content.into(),
                });
            }
            Some("filename") => {
                // Repeated, it is a list, not a name: which one would win?
                if filename_seen {
                    return Err(ApiError::bad_request(
                        "repeated_field",
                        "the `filename` field is given more than once; send it once",
                    ));
                }
                filename_seen = true;
                let given = field.text().await.map_err(malformed)?;
                filename_field = file_name(&given, "the `filename` field")?;
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_field",
                    format!(
                        "the multipart body has a part {:?} the API does not know; send a `file` part \
                         and optionally a `filename` field",
                        other.unwrap_or("")
                    ),
                ));
            }
        }
    }
    let mut file = file.ok_or_else(|| {
        ApiError::bad_request(
            "missing_file",
            "the multipart body has no `file` part; add one with the file's bytes",
        )
    })?;
    // The rule of FILE_NAME_RULE: field, then the part's own name, then the query.
    file.filename = match (
        filename_field,
        file_name(&file.filename, "the `file` part's file name")?,
    ) {
        (Some(name), _) | (None, Some(name)) => name,
        (None, None) => query_name.unwrap_or_else(|| default_name(&file.content_type)),
    };
    Ok(file)
}

async fn read_json(
    api: &Api,
    req: Request,
    query_name: Option<String>,
) -> Result<Incoming, ApiError> {
    let body = Bytes::from_request(req, &())
        .await
        .map_err(|e| body_error(api, e.status(), &e.body_text()))?;
    let upload: JsonUpload = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!(
                "the JSON body is not valid: {e} — expected {{\"content_type\", \"content_base64\"}} and optionally \"filename\""
            ),
        )
    })?;
    // The JSON content type is compared as given: the document lists the
    // accepted values as an enum.
    if !api.content_types.contains(&upload.content_type) {
        return Err(unsupported(api, &upload.content_type));
    }
    let filename = match &upload.filename {
        Some(given) => file_name(given, "the JSON `filename`")?,
        None => None,
    };
    // Padding required, any trailing bits accepted: exactly BASE64_PATTERN.
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
    );
    let content = engine
        .decode(upload.content_base64.as_bytes())
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_base64",
                format!("content_base64 is not valid base64: {e}"),
            )
        })?;
    Ok(Incoming {
        filename: filename
            .or(query_name)
            .unwrap_or_else(|| default_name(&upload.content_type)),
        content_type: upload.content_type,
        content: content.into(),
    })
}

/// Type and size rules shared by every way of uploading.
fn check_upload(api: &Api, file: Incoming) -> Result<Incoming, ApiError> {
    if file.content.is_empty() {
        return Err(ApiError::bad_request(
            "empty_file",
            "the file is empty; there is nothing to store",
        ));
    }
    if file.content.len() as u64 > api.max_upload {
        return Err(too_large(api));
    }
    if !api.content_types.contains(&file.content_type) {
        return Err(unsupported(api, &file.content_type));
    }
    Ok(file)
}

/// The query string as `T`, or a 400 that says what is wrong with it.
fn query<T: serde::de::DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, ApiError> {
    Query::<T>::try_from_uri(uri).map(|q| q.0).map_err(|e| {
        ApiError::bad_request(
            "invalid_query",
            format!(
                "the query string is not valid: {}",
                e.to_string()
                    .replace("unknown field", "unknown parameter")
                    .replace("expected one of", "it takes")
                    .replace("expected `", "it takes `")
            ),
        )
    })
}

/// A UUID in its hyphenated form only (`format: uuid` in the document),
/// in either case.
fn uuid(raw: &str) -> Option<Uuid> {
    let hyphens = raw.len() == 36 && [8, 13, 18, 23].iter().all(|&i| raw.as_bytes()[i] == b'-');
    hyphens.then(|| Uuid::try_parse(raw).ok()).flatten()
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    uuid(raw).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_id",
            format!(
                "{raw:?} is not an upload id; ids are UUIDs (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
            ),
        )
    })
}

pub(super) async fn get(
    State(api): State<Arc<Api>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&raw)?;
    let upload = uploads::get(&api.pool, id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no upload {id}"),
        )
    })?;
    let event = outbox::event_state(&api.pool, upload.message_id).await?;
    let consumed = inbox::history(&api.pool, upload.message_id).await?;
    let mut body = serde_json::to_value(&upload).map_err(|e| {
        error!(error = %e, "cannot serialise an upload");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "cannot render the upload",
        )
    })?;
    body["event"] = json!(event);
    body["consumed"] = json!(consumed);
    if let Some(name) = &api.saga {
        body["saga"] = match saga::by_correlation(&api.pool, name, &id.to_string()).await? {
            Some(instance) => {
                let timeline = saga::timeline(&api.pool, instance.id).await?;
                let mut v = json!(instance);
                v["timeline"] = json!(timeline);
                v
            }
            None => Value::Null,
        };
    }
    Ok(Json(body))
}

/// `GET /uploads/{id}/thumbnail`: the PNG the upload saga made, once its
/// thumbnail step has run.
pub(super) async fn thumbnail(
    State(api): State<Arc<Api>>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    let Some(upload) = uploads::get(&api.pool, id).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no upload {id}"),
        ));
    };
    match uploads::thumbnail(&api.pool, id).await? {
        Some(png) => Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response()),
        // The upload exists; its state has no thumbnail (yet): a conflict
        // with that state, not a missing resource.
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_thumbnail",
            format!(
                "upload {id} has no thumbnail: it is {}{} — see GET /uploads/{id} for its saga",
                upload.status.as_str(),
                upload
                    .rejection_reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

pub(super) async fn list(
    State(api): State<Arc<Api>>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let q: ListQuery = query(req.uri())?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(UploadStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                format!(
                    "status {s:?} is not one of registered, processed, available, rejected; \
                     leave it out for every status"
                ),
            )
        })?),
    };
    let limit = match q.limit.as_deref() {
        None => 20,
        // Digits as written by anyone: no sign, no leading zero.
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n) && n.to_string() == s)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_limit",
                    format!("limit {s:?} must be a whole number from 1 to 100"),
                )
            })?,
    };
    let after = match q.after.as_deref() {
        None => None,
        Some(s) => Some(uuid(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_after",
                format!(
                    "after {s:?} is not an upload id (a UUID): pass the `next` of the previous page"
                ),
            )
        })?),
    };
    // One more than asked tells whether another page exists.
    let mut items = uploads::list(&api.pool, status, limit + 1, after).await?;
    let next = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items[items.len() - 1].id
    });
    Ok(Json(json!({ "items": items, "next": next })))
}
