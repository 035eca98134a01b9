-- Every saga definition the orchestrator ran, by a hash of it: an instance
-- keeps the version it started under, and `saga plan` / `saga run` check a
-- changed definition against the instances still in flight.
CREATE TABLE saga_definitions (
    saga         text        NOT NULL,
    version      text        NOT NULL,
    definition   jsonb       NOT NULL,
    first_run_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (saga, version)
);
ALTER TABLE saga_instances ADD COLUMN version text;
-- The step (by name) the instance waits for — its command while running,
-- its compensation while compensating — so a handler can tell a command the
-- saga has moved past. NULL when it waits for nothing (or it started before
-- this column, when nobody can tell).
ALTER TABLE saga_instances ADD COLUMN waiting_step text;
