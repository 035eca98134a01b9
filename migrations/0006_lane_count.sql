-- The number of lanes becomes a setting of the database instead of a
-- constant of the schema. It bounds how many batches can be in flight across
-- all relayers (a batch owns its lanes until it commits), so a fleet of many
-- relayers may want more than 64. `outboxctl lanes set N` changes it; it
-- lives in this function so the lane column can use it.
--
-- IMMUTABLE is a promise kept by hand: the function changes only inside
-- `lanes set`, which (after every batch in flight has ended and with the
-- table locked against writers) recomputes the lane of every pending row in
-- the same transaction. Sent and dead rows keep the lane they had; no batch
-- ever reads them.
CREATE FUNCTION outbox_lane_count() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 64';

-- The lane column, computed with it. This rewrites the outbox table once
-- (purge sent rows first on a large one: `outboxctl outbox purge`).
DROP INDEX outbox_pending_lane_idx;
ALTER TABLE outbox DROP COLUMN lane;
ALTER TABLE outbox ADD COLUMN lane smallint GENERATED ALWAYS AS (
    CASE WHEN partition_key IS NULL THEN (id % outbox_lane_count())::smallint
         ELSE (('x' || substr(md5(partition_key), 1, 4))::bit(16)::integer % outbox_lane_count())::smallint
    END) STORED;
CREATE INDEX outbox_pending_lane_idx ON outbox (lane, id)
    WHERE sent_at IS NULL AND dead_at IS NULL;
