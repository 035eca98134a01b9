-- Rows held back until later — saga time-outs, backoff after a failed
-- publish, delayed sends; `available_at > created_at` — leave the lane index.
-- Every claim looks for the oldest due row of each lane; with held-back rows
-- in that index it stepped over each of them (a heap visit apiece, to read
-- `available_at`), so 2,000 sagas waiting on their time-outs cost 2,300
-- buffers per claim, and a claim's cost grew with every saga in flight.
--
-- Now the lane index holds only rows that were never held back (always due
-- once committed), and held-back rows are found by when they become due
-- (`outbox_delayed_idx`), so a row that is not due yet costs a claim nothing.
-- A second small index finds, for a key, its held-back rows: a row of a key
-- waits while an older row of the same key is held back.
--
-- Building these reads the outbox once; purge sent rows first on a large one
-- (`outboxctl outbox purge`).
CREATE INDEX outbox_ready_lane_idx ON outbox (lane, id)
    WHERE sent_at IS NULL AND dead_at IS NULL AND available_at <= created_at;
CREATE INDEX outbox_delayed_key_idx ON outbox (partition_key, id)
    WHERE sent_at IS NULL AND dead_at IS NULL AND available_at > created_at
      AND partition_key IS NOT NULL;
DROP INDEX outbox_pending_lane_idx;
