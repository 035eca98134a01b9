-- Operators' actions on dead letters (dlq replay, drop, purge) are audited
-- beside those on outbox rows: a dead letter is named by its message id and
-- has an outbox row only when it came from one (or when a purge did not
-- read the messages it deleted: neither is known, the queue is in detail).
ALTER TABLE outbox_audit ALTER COLUMN row_id DROP NOT NULL;
ALTER TABLE outbox_audit ADD COLUMN message_id uuid;
CREATE INDEX outbox_audit_message_idx ON outbox_audit (message_id, id)
    WHERE message_id IS NOT NULL;

-- The pool size each registered process runs with: `outboxctl status` shows
-- what holds the server's connections.
ALTER TABLE outbox_processes ADD COLUMN pool_size integer;
