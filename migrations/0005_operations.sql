-- What the operator needs at 3 a.m.: who is running, what was thrown away or
-- changed by hand, and which messages the consumers gave up on.

-- Every relayer, consumer, API and orchestrator registers here and beats
-- every few seconds: `outboxctl status` lists them. A row, not only
-- application_name, so it survives a connection pooler.
CREATE TABLE outbox_processes (
    id           uuid        PRIMARY KEY,
    -- relay, consume, serve, saga
    role         text        NOT NULL,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    version      text        NOT NULL,
    -- The queue a consumer takes, the address an API listens on.
    detail       text,
    -- What it is doing, in a few words, as of the last beat.
    doing        text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    -- Set by a clean shutdown; a process that died keeps NULL and a stale beat.
    stopped_at   timestamptz
);
CREATE INDEX outbox_processes_heartbeat_idx ON outbox_processes (heartbeat_at);

-- Operator actions that have no column of their own on the row: discard
-- (the row is deleted; `row` keeps it as it was), retry now, edit (before
-- and after). Replay and requeue keep their columns on the row (0002).
CREATE TABLE outbox_audit (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    row_id  bigint      NOT NULL,
    -- discard, retry, edit
    action  text        NOT NULL,
    actor   text        NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    detail  jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX outbox_audit_row_idx ON outbox_audit (row_id, id);

-- Messages a consumer dead-lettered: written when the dead letter is in the
-- dead-letter queue, removed when it is replayed or dropped. `outbox why`
-- reads it to tell "consumed" from "given up on".
CREATE TABLE consumer_dead_letters (
    consumer   text        NOT NULL,
    message_id uuid        NOT NULL,
    queue      text        NOT NULL,
    topic      text,
    reason     text        NOT NULL,
    attempts   integer     NOT NULL,
    dead_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
CREATE INDEX consumer_dead_letters_message_idx ON consumer_dead_letters (message_id);
