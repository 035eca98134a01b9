//! The example producer's consumer side, as the steps of the `upload` saga
//! (inspect → thumbnail → publish; a failure rejects the upload and removes
//! its thumbnail), each a built-in handler:
//!
//! - `inspect-upload` (`upload.inspect`): the stored bytes' SHA-256, the
//!   pixel size of images, and whether the bytes are what the content type
//!   says; the upload becomes `processed`, or `rejected` with the reason.
//! - `make-thumbnail` (`upload.thumbnail`): a PNG thumbnail of an image, kept
//!   with the upload; a rejected upload, or an image over
//!   `uploads.max_pixels`, fails the step.
//! - `publish-upload` (`upload.publish`): `available`, and `upload.available`.
//! - `remove-thumbnail` (`upload.thumbnail.remove`) and `reject-upload`
//!   (`upload.reject`, with `upload.rejected`): the compensations.
//!
//! Each also takes a bare `upload.created` payload, outside a saga.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use tracing::info;
use uuid::Uuid;

use std::sync::Arc;

use super::handler::{Done, Handler, HandlerError, HandlerFuture, Message};
use crate::config::{Builtin, UploadsConfig};
use crate::model::saga::Command;
use crate::model::{Findings, MessageId, Topic, Upload, UploadCreated, UploadStatus};
use crate::store::outbox::{self, NewEvent};
use crate::store::uploads;

/// The handler of a built-in step.
pub fn handler(builtin: Builtin, settings: &UploadsConfig) -> Arc<dyn Handler> {
    match builtin {
        Builtin::InspectUpload => Arc::new(InspectUpload),
        Builtin::MakeThumbnail => Arc::new(MakeThumbnail {
            settings: settings.clone(),
        }),
        Builtin::RemoveThumbnail => Arc::new(RemoveThumbnail),
        Builtin::PublishUpload => Arc::new(PublishUpload),
        Builtin::RejectUpload => Arc::new(RejectUpload),
    }
}

/// The upload a message is about: a saga command's input, or the event itself.
fn event_of(m: &Message) -> Result<(UploadCreated, Option<Command>), HandlerError> {
    let command: Option<Command> = m
        .saga
        .as_ref()
        .and_then(|_| serde_json::from_value(m.payload.clone()).ok());
    let payload = command.as_ref().map_or(&m.payload, |c| &c.input);
    let event = serde_json::from_value(payload.clone()).map_err(|e| {
        HandlerError::Reject(format!("not an {} payload: {e}", UploadCreated::TOPIC))
    })?;
    Ok((event, command))
}

async fn locked(conn: &mut PgConnection, id: Uuid) -> Result<(Upload, Vec<u8>), HandlerError> {
    uploads::lock_for_processing(conn, id)
        .await?
        .ok_or_else(|| HandlerError::Reject(format!("upload {id} does not exist")))
}

fn findings_of(u: &Upload) -> Value {
    json!({
        "sha256": u.sha256,
        "width": u.width,
        "height": u.height,
        "status": u.status,
        "rejection_reason": u.rejection_reason,
    })
}

/// Announce what became of an upload, in the handler's transaction.
async fn announce(
    conn: &mut PgConnection,
    u: &Upload,
    topic: &str,
    extra: Value,
) -> Result<(), HandlerError> {
    let mut payload = json!({ "upload_id": u.id, "filename": u.filename });
    if let (Value::Object(p), Value::Object(e)) = (&mut payload, extra) {
        p.extend(e);
    }
    let topic = Topic::parse(topic).expect("a valid topic");
    let key = u.id.to_string();
    outbox::insert(
        conn,
        &NewEvent {
            message_id: MessageId::new(),
            topic: &topic,
            partition_key: Some(&key),
            payload: &payload,
            traceparent: None,
        },
    )
    .await?;
    Ok(())
}

/// `upload.inspect`: read the stored bytes, compute their SHA-256, read the
/// pixel size of images, and mark the upload `processed` — or `rejected` when
/// the bytes are not what the content type says.
pub struct InspectUpload;

impl Handler for InspectUpload {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let (event, _) = event_of(message)?;
            let id = event.upload_id;
            let (upload, content) = locked(conn, id).await?;
            if upload.status != UploadStatus::Registered {
                // Already handled through another event: the effect happened.
                return Ok(Done::with_output(findings_of(&upload)));
            }
            // Hashing megabytes would stall the async workers; small files
            // are quicker hashed in place than handed to another thread.
            let findings = if content.len() > 256 * 1024 {
                let content_type = upload.content_type.clone();
                tokio::task::spawn_blocking(move || inspect(&content_type, &content))
                    .await
                    .map_err(|e| HandlerError::Retry(format!("inspection failed: {e}")))?
            } else {
                inspect(&upload.content_type, &content)
            };
            uploads::record_findings(conn, id, &findings).await?;
            info!(upload_id = %id, message_id = %message.message_id, trace_id = %message.trace_id(),
                status = if findings.rejection.is_some() { "rejected" } else { "processed" },
                "upload checked");
            let (upload, _) = locked(conn, id).await?;
            Ok(Done::with_output(findings_of(&upload)))
        })
    }
}

/// `upload.thumbnail`: a PNG that fits in `uploads.thumbnail_size`, stored
/// with the upload. A rejected upload, or an image with more pixels than
/// `uploads.max_pixels`, fails the step (and the saga compensates).
pub struct MakeThumbnail {
    pub settings: UploadsConfig,
}

impl Handler for MakeThumbnail {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let (event, _) = event_of(message)?;
            let (upload, content) = locked(conn, event.upload_id).await?;
            if upload.status == UploadStatus::Rejected {
                return Err(HandlerError::Reject(format!(
                    "the upload was rejected: {}",
                    upload
                        .rejection_reason
                        .as_deref()
                        .unwrap_or("(no reason recorded)")
                )));
            }
            let (Some(w), Some(h)) = (upload.width, upload.height) else {
                // Not an image: nothing to show in small.
                return Ok(Done::with_output(json!({ "thumbnail": false })));
            };
            let pixels = i64::from(w) * i64::from(h);
            let max = self.settings.max_pixels;
            if pixels as u64 > max {
                return Err(HandlerError::Reject(format!(
                    "the image is {w}×{h} = {pixels} pixels, more than uploads.max_pixels = {max}"
                )));
            }
            let size = self.settings.thumbnail_size;
            let png = tokio::task::spawn_blocking(move || thumbnail(&content, size))
                .await
                .map_err(|e| HandlerError::Retry(format!("the thumbnail task failed: {e}")))?
                .map_err(HandlerError::Reject)?;
            uploads::set_thumbnail(conn, upload.id, &png).await?;
            Ok(Done::with_output(
                json!({ "thumbnail": true, "thumbnail_bytes": png.len() }),
            ))
        })
    }
}

/// A PNG of `bytes` (an image) that fits in a `size`×`size` square; one
/// that fits already keeps its size.
pub fn thumbnail(bytes: &[u8], size: u32) -> Result<Vec<u8>, String> {
    let image =
        image::load_from_memory(bytes).map_err(|e| format!("cannot decode the image: {e}"))?;
    let small = if image.width() <= size && image.height() <= size {
        image
    } else {
        image.thumbnail(size, size)
    };
    let mut png = std::io::Cursor::new(Vec::new());
    small
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode the thumbnail: {e}"))?;
    Ok(png.into_inner())
}

/// `upload.thumbnail.remove`: undo the thumbnail step.
pub struct RemoveThumbnail;

impl Handler for RemoveThumbnail {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let (event, _) = event_of(message)?;
            let removed = uploads::remove_thumbnail(conn, event.upload_id).await?;
            Ok(Done::with_output(json!({ "removed": removed })))
        })
    }
}

/// `upload.publish`: the upload is `available`, and `upload.available` says so.
pub struct PublishUpload;

impl Handler for PublishUpload {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let (event, _) = event_of(message)?;
            let (upload, _) = locked(conn, event.upload_id).await?;
            if uploads::set_status(conn, upload.id, UploadStatus::Available, None).await? {
                announce(
                    conn,
                    &upload,
                    "upload.available",
                    json!({
                        "sha256": upload.sha256, "width": upload.width, "height": upload.height,
                    }),
                )
                .await?;
            }
            Ok(Done::default())
        })
    }
}

/// `upload.reject`: undo the inspection — the upload is `rejected`, with the
/// saga's reason, and `upload.rejected` says so.
pub struct RejectUpload;

impl Handler for RejectUpload {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let (event, command) = event_of(message)?;
            let reason = command
                .and_then(|c| c.reason)
                .unwrap_or_else(|| "rejected".into());
            let (upload, _) = locked(conn, event.upload_id).await?;
            uploads::set_status(conn, upload.id, UploadStatus::Rejected, Some(&reason)).await?;
            let (upload, _) = locked(conn, event.upload_id).await?;
            announce(
                conn,
                &upload,
                "upload.rejected",
                json!({
                    "reason": upload.rejection_reason,
                }),
            )
            .await?;
            Ok(Done::default())
        })
    }
}

/// SHA-256, image dimensions, and whether the bytes match the declared type.
pub fn inspect(content_type: &str, bytes: &[u8]) -> Findings {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let expected = match content_type {
        "image/png" => Some(imagesize::ImageType::Png),
        "image/jpeg" => Some(imagesize::ImageType::Jpeg),
        "image/gif" => Some(imagesize::ImageType::Gif),
        "image/webp" => Some(imagesize::ImageType::Webp),
        _ => None,
    };
    let (dimensions, rejection) = match expected {
        Some(expected) => match imagesize::image_type(bytes) {
            Ok(found) if found == expected => match imagesize::blob_size(bytes) {
                Ok(size) => (Some((size.width as u32, size.height as u32)), None),
                Err(e) => (
                    None,
                    Some(format!(
                        "declared {content_type} but the image header is damaged: {e}"
                    )),
                ),
            },
            Ok(found) => (
                None,
                Some(format!(
                    "declared {content_type} but the bytes are a {found:?} image"
                )),
            ),
            Err(_) => (
                None,
                Some(format!(
                    "declared {content_type} but the bytes are not an image"
                )),
            ),
        },
        None => match content_type {
            "application/pdf" if !bytes.starts_with(b"%PDF-") => (
                None,
                Some("declared application/pdf but the bytes do not start with %PDF-".into()),
            ),
            "text/plain" if std::str::from_utf8(bytes).is_err() => (
                None,
                Some("declared text/plain but the bytes are not UTF-8 text".into()),
            ),
            _ => (None, None),
        },
    };
    Findings {
        sha256,
        dimensions,
        rejection,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Smallest valid headers of each format, 3×2 pixels.
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0,
        0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0, 0, 0, 0, 0,
    ];
    const GIF: &[u8] = b"GIF89a\x03\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    const WEBP: &[u8] = &[
        b'R', b'I', b'F', b'F', 0x24, 0, 0, 0, b'W', b'E', b'B', b'P', b'V', b'P', b'8', b'X',
        0x0a, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 0,
    ];
    const JPEG: &[u8] = &[
        0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        0xff, 0xc0, 0, 0x11, 8, 0, 2, 0, 3, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9,
    ];

    #[test]
    fn images_get_their_dimensions() {
        for (mime, bytes) in [
            ("image/png", PNG),
            ("image/gif", GIF),
            ("image/webp", WEBP),
            ("image/jpeg", JPEG),
        ] {
            let f = inspect(mime, bytes);
            assert_eq!(f.rejection, None, "{mime}");
            assert_eq!(f.dimensions, Some((3, 2)), "{mime}");
            assert_eq!(f.sha256.len(), 64);
        }
    }

    #[test]
    fn bytes_that_are_not_what_the_type_says_are_rejected() {
        let f = inspect("image/png", JPEG);
        assert!(f.rejection.unwrap().contains("Jpeg"));
        let f = inspect("image/gif", b"hello, world");
        assert!(f.rejection.unwrap().contains("not an image"));
        assert!(inspect("application/pdf", b"hello").rejection.is_some());
        assert!(
            inspect("application/pdf", b"%PDF-1.7 ...")
                .rejection
                .is_none()
        );
        assert!(
            inspect("text/plain", &[0xff, 0xfe, 0x00])
                .rejection
                .is_some()
        );
        assert!(
            inspect("application/octet-stream", &[0xff, 0xfe])
                .rejection
                .is_none()
        );
    }

    #[test]
    fn sha256_is_the_known_digest() {
        assert_eq!(
            inspect("text/plain", b"abc").sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
