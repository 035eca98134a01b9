//! The example producer's consumer side: `upload.created` makes the
//! consumer inspect the stored bytes (digest, image size, does the content
//! match its declared type) and record what it found on the upload.

use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use tracing::info;

use super::{Handler, HandlerError, HandlerFuture, Message};
use crate::model::{Findings, UploadCreated, UploadStatus};
use crate::store::uploads;

/// `upload.created`: read the stored bytes, compute their SHA-256, read the
/// pixel size of images, and mark the upload `processed` — or `rejected` when
/// the bytes are not what the content type says.
pub struct InspectUpload;

impl Handler for InspectUpload {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let event: UploadCreated =
                serde_json::from_value(message.payload.clone()).map_err(|e| {
                    HandlerError::Reject(format!("not an {} payload: {e}", UploadCreated::TOPIC))
                })?;
            let id = event.upload_id;
            let (upload, content) = uploads::lock_for_processing(conn, id)
                .await?
                .ok_or_else(|| HandlerError::Reject(format!("upload {id} does not exist")))?;
            if upload.status != UploadStatus::Registered {
                // Already handled through another event: the effect happened.
                return Ok(None);
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
            Ok(None)
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
