-- The outbox: one row per event, written in the same transaction as the
-- business change it announces. This table is a public contract: any
-- application may INSERT into it (topic, partition_key, payload[, headers,
-- available_at]); `outboxctl relay` moves every row to RabbitMQ.
CREATE TABLE outbox (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- AMQP message-id, and the consumer's deduplication key.
    message_id    uuid        NOT NULL DEFAULT gen_random_uuid(),
    -- Routing key on the topic exchange.
    topic         text        NOT NULL,
    -- Rows with the same key reach the broker in id order; NULL = unordered.
    partition_key text,
    payload       jsonb       NOT NULL,
    -- Extra AMQP headers: a flat JSON object.
    headers       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- W3C trace context of the request that wrote the row, if any.
    traceparent   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Not published before this instant (backoff after a failure, or a delayed send).
    available_at  timestamptz NOT NULL DEFAULT now(),
    -- Publish attempts made, successful or not.
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    sent_at       timestamptz,
    dead_at       timestamptz,
    -- One of 64 lanes; a relayer owns a lane for the length of a batch, so the
    -- rows of one key (which share a lane) are never in two batches at once.
    -- Unkeyed rows are spread by id. md5 is stable across PostgreSQL versions.
    lane          smallint    GENERATED ALWAYS AS (
                      CASE WHEN partition_key IS NULL THEN (id % 64)::smallint
                           ELSE (('x' || substr(md5(partition_key), 1, 4))::bit(16)::integer % 64)::smallint
                      END) STORED,
    CONSTRAINT outbox_message_id_key UNIQUE (message_id),
    CONSTRAINT outbox_topic_length CHECK (octet_length(topic) BETWEEN 1 AND 255),
    CONSTRAINT outbox_headers_object CHECK (jsonb_typeof(headers) = 'object'),
    CONSTRAINT outbox_traceparent_length CHECK (traceparent IS NULL OR octet_length(traceparent) <= 255),
    CONSTRAINT outbox_attempts_nonnegative CHECK (attempts >= 0),
    CONSTRAINT outbox_sent_or_dead CHECK (sent_at IS NULL OR dead_at IS NULL)
);

-- The claim walks pending rows in id order. Partial indexes hold only
-- pending rows, so millions of sent rows never slow it down.
CREATE INDEX outbox_pending_idx ON outbox (id)
    WHERE sent_at IS NULL AND dead_at IS NULL;
-- Which lanes have rows ready, oldest first.
CREATE INDEX outbox_pending_lane_idx ON outbox (lane, id)
    WHERE sent_at IS NULL AND dead_at IS NULL;
-- Pending rows that were held back: a backoff after a failure, a delayed send
-- or a requeue, i.e. available_at moved past created_at. Few, so finding the
-- keys that must wait, and the next instant to wake up, costs nothing. (An
-- index on available_at over all pending rows would tempt the planner away
-- from the lane index whenever statistics lag behind a burst of inserts.)
CREATE INDEX outbox_delayed_idx ON outbox (available_at)
    WHERE sent_at IS NULL AND dead_at IS NULL AND available_at > created_at;
-- Purge of old sent rows and "sent in the last minute".
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at)
    WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_dead_idx ON outbox (id)
    WHERE dead_at IS NOT NULL;

-- Wake relayers as soon as rows commit. One notification per statement,
-- and PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- The business data of the example producer: one row per uploaded file.
-- The bytes live in the row itself: they commit (or not) with the upload and
-- its outbox row, and there is no second store that could disagree.
CREATE TABLE uploads (
    id                  uuid        PRIMARY KEY,
    filename            text        NOT NULL,
    content_type        text        NOT NULL,
    size_bytes          bigint      NOT NULL,
    content             bytea       NOT NULL,
    status              text        NOT NULL DEFAULT 'registered',
    -- The message id of this upload's upload.created event.
    message_id          uuid        NOT NULL,
    sha256              text,
    width               integer,
    height              integer,
    rejection_reason    text,
    idempotency_key     text,
    request_fingerprint text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    processed_at        timestamptz,
    CONSTRAINT uploads_status_valid CHECK (status IN ('registered', 'processed', 'rejected')),
    CONSTRAINT uploads_size_matches CHECK (size_bytes = octet_length(content) AND size_bytes > 0),
    CONSTRAINT uploads_filename_length CHECK (char_length(filename) BETWEEN 1 AND 255),
    CONSTRAINT uploads_idempotency_key_key UNIQUE (idempotency_key)
);
-- Images are already compressed: store them out of line without trying again.
ALTER TABLE uploads ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE INDEX uploads_status_idx ON uploads (status, id);

-- Consumption history: a row per (consumer, message) written in the same
-- transaction as the consumer's effect, so a redelivery changes nothing twice.
CREATE TABLE consumed_messages (
    consumer         text        NOT NULL,
    message_id       uuid        NOT NULL,
    topic            text        NOT NULL,
    queue            text        NOT NULL,
    received_at      timestamptz NOT NULL,
    committed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivery_attempt integer     NOT NULL,
    redelivered      boolean     NOT NULL,
    processing_ms    double precision NOT NULL DEFAULT 0,
    -- Later deliveries of the same message that were skipped.
    duplicates       integer     NOT NULL DEFAULT 0,
    traceparent      text,
    PRIMARY KEY (consumer, message_id)
);
CREATE INDEX consumed_messages_message_id_idx ON consumed_messages (message_id);
