//! The example producer's business table: one row per uploaded file.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{StoreError, Tx};
use crate::model::{Findings, MessageId, Upload, UploadStatus};

const COLUMNS: &str = "id, filename, content_type, size_bytes, status, message_id, sha256, \
                       width, height, rejection_reason, created_at, processed_at";

/// An upload about to be stored.
#[derive(Debug)]
pub struct NewUpload<'a> {
    pub id: Uuid,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub content: &'a [u8],
    pub message_id: MessageId,
    pub idempotency_key: Option<&'a str>,
    /// Digest of the request, to tell a retry from a different request
    /// reusing the same idempotency key.
    pub fingerprint: Option<&'a str>,
}

/// Insert an upload. With an idempotency key that is already taken, nothing
/// is written and `None` comes back; a concurrent insert of the same key
/// waits here until the other transaction ends.
pub async fn insert(tx: &mut Tx, new: &NewUpload<'_>) -> Result<Option<Upload>, StoreError> {
    let row = sqlx::query_as::<_, Upload>(
        r#"
        INSERT INTO uploads (id, filename, content_type, size_bytes, content, message_id,
                             idempotency_key, request_fingerprint)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id, filename, content_type, size_bytes, status, message_id, sha256,
                  width, height, rejection_reason, created_at, processed_at
        "#,
    )
    .bind(new.id)
    .bind(new.filename)
    .bind(new.content_type)
    .bind(new.content.len() as i64)
    .bind(new.content)
    .bind(new.message_id)
    .bind(new.idempotency_key)
    .bind(new.fingerprint)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row)
}

/// The upload stored under an idempotency key, with its request fingerprint.
pub async fn by_idempotency_key(
    tx: &mut Tx,
    key: &str,
) -> Result<Option<(Upload, Option<String>)>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Keyed {
        #[sqlx(flatten)]
        upload: Upload,
        request_fingerprint: Option<String>,
    }
    let row = sqlx::query_as::<_, Keyed>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, request_fingerprint FROM uploads WHERE idempotency_key = $1"
    )))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|k| (k.upload, k.request_fingerprint)))
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Upload>, StoreError> {
    let upload = sqlx::query_as::<_, Upload>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM uploads WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(upload)
}

/// Newest first; `before` is the last id of the previous page.
pub async fn list(
    pool: &PgPool,
    status: Option<UploadStatus>,
    limit: u32,
    before: Option<Uuid>,
) -> Result<Vec<Upload>, StoreError> {
    let rows = sqlx::query_as::<_, Upload>(sqlx::AssertSqlSafe(format!(
        r#"SELECT {COLUMNS} FROM uploads
           WHERE ($1::text IS NULL OR status = $1)
             AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC
           LIMIT $3"#
    )))
    .bind(status)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Lock an upload for its consumer and load its bytes (in the consumer's
/// transaction).
pub async fn lock_for_processing(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Upload, Vec<u8>)>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct WithContent {
        #[sqlx(flatten)]
        upload: Upload,
        content: Vec<u8>,
    }
    let row = sqlx::query_as::<_, WithContent>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, content FROM uploads WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.upload, r.content)))
}

/// Store the findings: `processed`, or `rejected` with the reason.
pub async fn record_findings(
    conn: &mut PgConnection,
    id: Uuid,
    f: &Findings,
) -> Result<(), StoreError> {
    let status = if f.rejection.is_some() {
        UploadStatus::Rejected
    } else {
        UploadStatus::Processed
    };
    let (width, height) = f.dimensions.map_or((None, None), |(w, h)| {
        (i32::try_from(w).ok(), i32::try_from(h).ok())
    });
    sqlx::query(
        r#"UPDATE uploads
           SET status = $2, sha256 = $3, width = $4, height = $5, rejection_reason = $6,
               processed_at = clock_timestamp()
           WHERE id = $1"#,
    )
    .bind(id)
    .bind(status)
    .bind(&f.sha256)
    .bind(width)
    .bind(height)
    .bind(f.rejection.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Store an upload's thumbnail (PNG).
pub async fn set_thumbnail(
    conn: &mut PgConnection,
    id: Uuid,
    png: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE uploads SET thumbnail = $2 WHERE id = $1")
        .bind(id)
        .bind(png)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drop an upload's thumbnail; `true` when there was one.
pub async fn remove_thumbnail(conn: &mut PgConnection, id: Uuid) -> Result<bool, StoreError> {
    let n =
        sqlx::query("UPDATE uploads SET thumbnail = NULL WHERE id = $1 AND thumbnail IS NOT NULL")
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(n > 0)
}

/// An upload's thumbnail, if it has one.
pub async fn thumbnail(pool: &PgPool, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
    let t = sqlx::query_scalar("SELECT thumbnail FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(t.flatten())
}

/// Move an upload to `status` (with a reason when rejected), unless it is
/// there already; `false` then.
pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: UploadStatus,
    reason: Option<&str>,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        r#"UPDATE uploads SET status = $2,
               rejection_reason = COALESCE(rejection_reason, $3),
               processed_at = COALESCE(processed_at, clock_timestamp())
           WHERE id = $1 AND status <> $2"#,
    )
    .bind(id)
    .bind(status)
    .bind(reason)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}
