-- Operator actions leave their mark on the rows they change.

-- `outbox replay --new-id` writes a copy; this points at the original.
ALTER TABLE outbox ADD COLUMN replay_of bigint;
-- `outbox replay` (either kind): how often, when last, by whom.
ALTER TABLE outbox ADD COLUMN replay_count integer NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN replayed_at timestamptz;
ALTER TABLE outbox ADD COLUMN replayed_by text;
-- `outbox requeue`: when a dead row was put back, and by whom.
ALTER TABLE outbox ADD COLUMN requeued_at timestamptz;
ALTER TABLE outbox ADD COLUMN requeued_by text;

-- Time filters (`outbox ls --since`, `replay --since`) over millions of rows.
-- Rows are inserted in time order, so a BRIN index is tiny and nearly free to
-- maintain.
CREATE INDEX outbox_created_brin ON outbox USING brin (created_at);
