//! The OpenAPI 3.1 document served at `GET /openapi.json`: it describes the
//! server that serves it. Security appears only when `api.token` is set; the
//! accepted content types, the size limit and the file-name rule come from
//! the same values and functions the handlers use (`super::uploads`). A test
//! checks the paths against `produce::ROUTES`, and the suite runs Schemathesis
//! against a real `serve` to check everything else.

use serde_json::{Value, json};

use super::uploads;

/// What the document needs to know about the server it describes.
pub struct Described<'a> {
    /// `api.token` is set: every route but the health checks needs it.
    pub auth: bool,
    /// `api.content_types`, as the handlers compare them (lower case).
    pub content_types: &'a [String],
    /// `api.max_upload_size` in bytes.
    pub max_upload: u64,
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

/// A file name as the API takes it: empty (not given), or at most 255
/// characters without control characters whose last path segment is not
/// blank. The same rule as `uploads::file_name`.
fn file_name_schema(description: &str) -> Value {
    json!({
        "type": "string",
        "maxLength": uploads::MAX_FILE_NAME,
        "pattern": uploads::FILE_NAME_PATTERN,
        "description": description
    })
}

pub fn document(server: &Described<'_>) -> Value {
    let upload_ref = json!({ "$ref": "#/components/schemas/Upload" });
    let raw_types = uploads::raw_types(server.content_types);
    let max = server.max_upload;
    // The file's bytes, not empty; text as text, anything else as bytes.
    // The size limit is not a schema keyword: past it the answer is 413, not
    // the 400 of a request the schema forbids.
    let limit = format!(
        "at most {} (api.max_upload_size; larger: 413)",
        crate::config::ByteSize::b(max).display().iec()
    );
    let file =
        json!({ "type": "string", "format": "binary", "minLength": 1, "description": limit });
    let text = json!({ "type": "string", "minLength": 1, "description": limit });
    let mut bodies = serde_json::Map::new();
    bodies.insert(
        "multipart/form-data".into(),
        json!({
            "schema": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": false,
                "properties": {
                    // A plain string, not `format: binary`: Schemathesis checks a
                    // mutated form against a copy whose binary parts read as "",
                    // which a minimum length then reports as the mutation.
                    "file": { "type": "string", "minLength": 1, "description": format!("the file's bytes, {limit}") },
                    "filename": file_name_schema("the file name; wins over the part's own file name and ?filename=")
                }
            },
            "encoding": { "file": { "contentType": server.content_types.join(", ") } }
        }),
    );
    bodies.insert(
        "application/json".into(),
        json!({ "schema": { "$ref": "#/components/schemas/JsonUpload" } }),
    );
    for t in &raw_types {
        let schema = if t.starts_with("text/") { &text } else { &file };
        bodies.insert(t.to_string(), json!({ "schema": schema }));
    }
    // Every route answers 401 only when a token is configured.
    let unauthorized = |mut responses: Value| {
        if server.auth {
            responses["401"] = error_response("missing or wrong bearer token");
        }
        responses
    };
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "outboxctl producer API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Registers uploads. Each upload and its `upload.created` outbox row are written \
                in one PostgreSQL transaction; `outboxctl relay` publishes the event to RabbitMQ. \
                Every error body is `{\"error\": code, \"message\": sentence}` and a failed request changes nothing."
        },
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "The process is alive",
                    "security": [],
                    "responses": { "200": { "description": "alive", "content": { "application/json": {} } } }
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The database is reachable",
                    "security": [],
                    "responses": {
                        "200": { "description": "ready", "content": { "application/json": {} } },
                        "503": error_response("the database is unavailable")
                    }
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text exposition format)",
                    "responses": unauthorized(json!({
                        "200": { "description": "metrics", "content": { "text/plain": { "schema": { "type": "string" } } } }
                    }))
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": unauthorized(json!({
                        "200": { "description": "the OpenAPI document", "content": { "application/json": {} } }
                    }))
                }
            },
            "/uploads": {
                "post": {
                    "summary": "Register an upload and its upload.created event",
                    "description": format!(
                        "Send the file as multipart/form-data (a `file` part, optional `filename` field), \
                        as JSON (`filename`, `content_type`, `content_base64`), or as the raw body with the file's \
                        own Content-Type (one of api.content_types) and an optional `?filename=`. A body of type \
                        application/json is always the JSON form. {} With an `Idempotency-Key`, a retry of the same \
                        request returns the same upload (header `Idempotent-Replayed: true`) and writes nothing.",
                        uploads::FILE_NAME_RULE
                    ),
                    "parameters": [
                        { "name": "Idempotency-Key", "in": "header", "required": false,
                          "description": "1 to 255 visible ASCII characters, e.g. a UUID",
                          "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" } },
                        { "name": "traceparent", "in": "header", "required": false,
                          "description": "W3C trace context, stored with the event and carried to consumers; \
                              a value that is not one starts a new trace",
                          "schema": { "type": "string" } },
                        { "name": "filename", "in": "query", "required": false,
                          "schema": file_name_schema("the file name, when the body does not name the file") }
                    ],
                    "requestBody": { "required": true, "content": bodies },
                    "responses": unauthorized(json!({
                        "201": {
                            "description": "stored (or, with a replayed Idempotency-Key, the upload stored before)",
                            "headers": {
                                "Location": { "schema": { "type": "string" } },
                                "Idempotent-Replayed": { "schema": { "type": "string", "enum": ["true"] } },
                                "traceparent": { "schema": { "type": "string" } }
                            },
                            "content": { "application/json": { "schema": upload_ref } }
                        },
                        "400": error_response("malformed body, missing file part, empty file, invalid file name or header"),
                        "409": error_response("the Idempotency-Key was used for a different request"),
                        "413": error_response("the file is larger than api.max_upload_size"),
                        "415": error_response("a content type the API does not accept"),
                        "503": error_response("the database is unavailable")
                    }))
                },
                "get": {
                    "summary": "List uploads, newest first",
                    "parameters": [
                        { "name": "status", "in": "query", "required": false,
                          "schema": { "type": "string", "enum": ["registered", "processed", "available", "rejected"] } },
                        { "name": "limit", "in": "query", "required": false,
                          "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } },
                        { "name": "after", "in": "query", "required": false,
                          "description": "the `next` value of the previous page",
                          "schema": { "type": "string", "format": "uuid" } }
                    ],
                    "responses": unauthorized(json!({
                        "200": {
                            "description": "a page of uploads",
                            "content": { "application/json": { "schema": {
                                "type": "object",
                                "required": ["items", "next"],
                                "properties": {
                                    "items": { "type": "array", "items": upload_ref },
                                    "next": { "type": ["string", "null"], "format": "uuid" }
                                }
                            } } }
                        },
                        "400": error_response("invalid status, limit or after"),
                        "503": error_response("the database is unavailable")
                    }))
                }
            },
            "/uploads/{id}": {
                "get": {
                    "summary": "An upload and where its event stands",
                    "parameters": [
                        { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }
                    ],
                    "responses": unauthorized(json!({
                        "200": {
                            "description": "the upload, its outbox event (null once purged) and its consumption history",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UploadDetail" } } }
                        },
                        "400": error_response("the id is not a UUID"),
                        "404": error_response("no upload with this id"),
                        "503": error_response("the database is unavailable")
                    }))
                }
            },
            "/uploads/{id}/thumbnail": {
                "get": {
                    "summary": "The upload's thumbnail, made by the upload saga",
                    "parameters": [
                        { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }
                    ],
                    "responses": unauthorized(json!({
                        "200": {
                            "description": "a PNG that fits in uploads.thumbnail_size",
                            "content": { "image/png": { "schema": { "type": "string", "format": "binary" } } }
                        },
                        "400": error_response("the id is not a UUID"),
                        "404": error_response("no upload with this id"),
                        "409": error_response("the upload has no thumbnail: not made yet, or the upload was rejected"),
                        "503": error_response("the database is unavailable")
                    }))
                }
            }
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": { "type": "string", "description": "stable code for programs" },
                        "message": { "type": "string", "description": "what is wrong and how to fix it" }
                    }
                },
                "JsonUpload": {
                    "type": "object",
                    "required": ["content_type", "content_base64"],
                    "additionalProperties": false,
                    "properties": {
                        "filename": file_name_schema("the file name; wins over ?filename="),
                        "content_type": { "type": "string", "enum": server.content_types },
                        "content_base64": {
                            "type": "string",
                            "description": format!("the file, in standard base64 with padding; the file {limit}"),
                            "contentEncoding": "base64",
                            "pattern": uploads::BASE64_PATTERN
                        }
                    }
                },
                "Upload": {
                    "type": "object",
                    "required": ["id", "filename", "content_type", "size_bytes", "status", "message_id", "created_at"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "filename": { "type": "string" },
                        "content_type": { "type": "string" },
                        "size_bytes": { "type": "integer" },
                        "status": { "type": "string", "enum": ["registered", "processed", "available", "rejected"] },
                        "message_id": { "type": "string", "format": "uuid", "description": "message id of the upload.created event" },
                        "sha256": { "type": ["string", "null"] },
                        "width": { "type": ["integer", "null"] },
                        "height": { "type": ["integer", "null"] },
                        "rejection_reason": { "type": ["string", "null"] },
                        "created_at": { "type": "string", "format": "date-time" },
                        "processed_at": { "type": ["string", "null"], "format": "date-time" }
                    }
                },
                "UploadDetail": {
                    "allOf": [
                        upload_ref,
                        {
                            "type": "object",
                            "required": ["event", "consumed"],
                            "properties": {
                                "event": { "oneOf": [ { "$ref": "#/components/schemas/Event" }, { "type": "null" } ] },
                                "consumed": { "type": "array", "items": { "$ref": "#/components/schemas/Consumption" } },
                                "saga": {
                                    "description": "the upload's saga and its timeline, when a saga starts on upload.created (null before it started)",
                                    "oneOf": [ { "$ref": "#/components/schemas/Saga" }, { "type": "null" } ]
                                }
                            }
                        }
                    ]
                },
                "Event": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "integer" },
                        "message_id": { "type": "string", "format": "uuid" },
                        "topic": { "type": "string" },
                        "partition_key": { "type": ["string", "null"] },
                        "status": { "type": "string", "enum": ["pending", "sent", "dead"] },
                        "attempts": { "type": "integer" },
                        "last_error": { "type": ["string", "null"] },
                        "created_at": { "type": "string", "format": "date-time" },
                        "available_at": { "type": "string", "format": "date-time" },
                        "sent_at": { "type": ["string", "null"], "format": "date-time" },
                        "dead_at": { "type": ["string", "null"], "format": "date-time" }
                    }
                },
                "Saga": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "saga": { "type": "string" },
                        "state": { "type": "string", "enum": ["running", "compensating", "completed", "compensated", "failed"] },
                        "step": { "type": "integer" },
                        "attempt": { "type": "integer" },
                        "outputs": { "type": "object" },
                        "reason": { "type": ["string", "null"] },
                        "started_at": { "type": "string", "format": "date-time" },
                        "finished_at": { "type": ["string", "null"], "format": "date-time" },
                        "timeline": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "at": { "type": "string", "format": "date-time" },
                                    "kind": { "type": "string" },
                                    "step": { "type": ["string", "null"] },
                                    "attempt": { "type": ["integer", "null"] },
                                    "detail": {},
                                    "message_id": { "type": ["string", "null"], "format": "uuid" },
                                    "actor": { "type": ["string", "null"] }
                                }
                            }
                        }
                    }
                },
                "Consumption": {
                    "type": "object",
                    "properties": {
                        "consumer": { "type": "string" },
                        "message_id": { "type": "string", "format": "uuid" },
                        "topic": { "type": "string" },
                        "queue": { "type": "string" },
                        "received_at": { "type": "string", "format": "date-time" },
                        "committed_at": { "type": "string", "format": "date-time" },
                        "delivery_attempt": { "type": "integer" },
                        "redelivered": { "type": "boolean" },
                        "processing_ms": { "type": "number" },
                        "duplicates": { "type": "integer" },
                        "traceparent": { "type": ["string", "null"] }
                    }
                }
            }
        }
    });
    if server.auth {
        doc["security"] = json!([{ "bearer": [] }]);
        doc["components"]["securitySchemes"] =
            json!({ "bearer": { "type": "http", "scheme": "bearer", "description": "api.token" } });
    }
    doc
}
