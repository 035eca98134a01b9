//! The OpenAPI 3.1 document served at `GET /openapi.json`. A test checks it
//! against `produce::ROUTES`, the list the router is built from.

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

pub fn document() -> Value {
    let upload_ref = json!({ "$ref": "#/components/schemas/Upload" });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "outboxctl producer API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Registers uploads. Each upload and its `upload.created` outbox row are written \
                in one PostgreSQL transaction; `outboxctl relay` publishes the event to RabbitMQ. \
                Every error body is `{\"error\": code, \"message\": sentence}` and a failed request changes nothing."
        },
        "security": [ { "bearer": [] } ],
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "The process is alive",
                    "security": [],
                    "responses": { "200": { "description": "alive" } }
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The database is reachable",
                    "security": [],
                    "responses": {
                        "200": { "description": "ready" },
                        "503": error_response("the database is unavailable")
                    }
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text exposition format)",
                    "responses": {
                        "200": { "description": "metrics", "content": { "text/plain": {} } },
                        "401": error_response("missing or wrong bearer token")
                    }
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {
                        "200": { "description": "the OpenAPI document", "content": { "application/json": {} } },
                        "401": error_response("missing or wrong bearer token")
                    }
                }
            },
            "/uploads": {
                "post": {
                    "summary": "Register an upload and its upload.created event",
                    "description": "Send the file as multipart/form-data (a `file` part, optional `filename` field), \
                        as JSON (`filename`, `content_type`, `content_base64`), or as the raw body with the file's \
                        own Content-Type and `?filename=`. With an `Idempotency-Key`, a retry of the same request \
                        returns the same upload (header `Idempotent-Replayed: true`) and writes nothing.",
                    "parameters": [
                        { "name": "Idempotency-Key", "in": "header", "required": false,
                          "schema": { "type": "string", "minLength": 1, "maxLength": 255 } },
                        { "name": "traceparent", "in": "header", "required": false,
                          "description": "W3C trace context, stored with the event and carried to consumers",
                          "schema": { "type": "string" } },
                        { "name": "filename", "in": "query", "required": false,
                          "description": "file name of a raw-body upload",
                          "schema": { "type": "string" } }
                    ],
                    "requestBody": {
                        "required": true,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {
                                        "file": { "type": "string", "format": "binary" },
                                        "filename": { "type": "string" }
                                    }
                                }
                            },
                            "application/json": { "schema": { "$ref": "#/components/schemas/JsonUpload" } },
                            "application/octet-stream": { "schema": { "type": "string", "format": "binary" } },
                            "image/*": { "schema": { "type": "string", "format": "binary" } }
                        }
                    },
                    "responses": {
                        "201": {
                            "description": "stored (or, with a replayed Idempotency-Key, the upload stored before)",
                            "headers": {
                                "Location": { "schema": { "type": "string" } },
                                "Idempotent-Replayed": { "schema": { "type": "string" } },
                                "traceparent": { "schema": { "type": "string" } }
                            },
                            "content": { "application/json": { "schema": upload_ref } }
                        },
                        "400": error_response("malformed body, missing file or file name, empty file, invalid header"),
                        "401": error_response("missing or wrong bearer token"),
                        "409": error_response("the Idempotency-Key was used for a different request"),
                        "413": error_response("the file is larger than api.max_upload_size"),
                        "415": error_response("a content type the API does not accept"),
                        "503": error_response("the database is unavailable")
                    }
                },
                "get": {
                    "summary": "List uploads, newest first",
                    "parameters": [
                        { "name": "status", "in": "query", "required": false,
                          "schema": { "type": "string", "enum": ["registered", "processed", "rejected"] } },
                        { "name": "limit", "in": "query", "required": false,
                          "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } },
                        { "name": "after", "in": "query", "required": false,
                          "description": "the `next` value of the previous page",
                          "schema": { "type": "string", "format": "uuid" } }
                    ],
                    "responses": {
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
                        "401": error_response("missing or wrong bearer token"),
                        "503": error_response("the database is unavailable")
                    }
                }
            },
            "/uploads/{id}": {
                "get": {
                    "summary": "An upload and where its event stands",
                    "parameters": [
                        { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }
                    ],
                    "responses": {
                        "200": {
                            "description": "the upload, its outbox event (null once purged) and its consumption history",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UploadDetail" } } }
                        },
                        "400": error_response("the id is not a UUID"),
                        "401": error_response("missing or wrong bearer token"),
                        "404": error_response("no upload with this id"),
                        "503": error_response("the database is unavailable")
                    }
                }
            },
            "/uploads/{id}/thumbnail": {
                "get": {
                    "summary": "The upload's thumbnail, made by the upload saga",
                    "parameters": [
                        { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }
                    ],
                    "responses": {
                        "200": {
                            "description": "a PNG that fits in uploads.thumbnail_size",
                            "content": { "image/png": { "schema": { "type": "string", "format": "binary" } } }
                        },
                        "400": error_response("the id is not a UUID"),
                        "401": error_response("missing or wrong bearer token"),
                        "404": error_response("no upload with this id, or it has no thumbnail (yet, or rejected)"),
                        "503": error_response("the database is unavailable")
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "api.token, when set" }
            },
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
                    "required": ["filename", "content_type", "content_base64"],
                    "properties": {
                        "filename": { "type": "string" },
                        "content_type": { "type": "string" },
                        "content_base64": { "type": "string", "contentEncoding": "base64" }
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
    })
}
