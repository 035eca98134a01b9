-- Sagas: multi-step workflows with compensation, run by `outboxctl saga run`.
-- Every transition changes an instance, appends to its history and writes
-- the outbox row of the next command in the transaction that records the
-- message that caused it, so a transition happens once and its command is
-- never lost or doubled.
CREATE TABLE saga_instances (
    id            uuid        PRIMARY KEY,
    -- The [[sagas]] entry it follows.
    saga          text        NOT NULL,
    -- The start payload's correlation field: one instance per value.
    correlation   text        NOT NULL,
    -- running, compensating, completed, compensated, failed
    state         text        NOT NULL,
    -- The step waited for (running) or being compensated (compensating).
    step          integer     NOT NULL,
    attempt       integer     NOT NULL,
    -- How many steps completed (compensation undoes these, in reverse).
    done          integer     NOT NULL DEFAULT 0,
    -- The start payload, and each completed step's output by step name.
    input         jsonb       NOT NULL,
    outputs       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- Why it compensates or failed.
    reason        text,
    -- The overall deadline, and when the current command was sent.
    deadline      timestamptz NOT NULL,
    waiting_since timestamptz,
    -- The pending outbox row that times the current wait out; deleted when
    -- the answer comes first.
    timer_id      bigint,
    started_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    CONSTRAINT saga_instances_state_valid
        CHECK (state IN ('running', 'compensating', 'completed', 'compensated', 'failed')),
    CONSTRAINT saga_instances_correlation_key UNIQUE (saga, correlation)
);
-- In flight, by saga and state (gauges, `saga ls`), and past their deadline.
CREATE INDEX saga_instances_active_idx ON saga_instances (saga, state, started_at)
    WHERE state IN ('running', 'compensating', 'failed');
CREATE INDEX saga_instances_started_idx ON saga_instances (started_at);

-- Each instance's timeline: what happened, to which step, on which attempt.
CREATE TABLE saga_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    saga_id     uuid        NOT NULL REFERENCES saga_instances (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- started, command_sent, step_done, step_failed, timed_out,
    -- compensation_sent, compensation_done, compensation_failed, completed,
    -- compensated, failed, aborted, retried, ignored_reply
    kind        text        NOT NULL,
    step        text,
    attempt     integer,
    -- The output of a step, or why it failed.
    detail      jsonb,
    -- The message that caused it, or the command it sent.
    message_id  uuid,
    actor       text
);
CREATE INDEX saga_events_saga_idx ON saga_events (saga_id, id);

-- The upload example is a saga: inspect → thumbnail → publish.
ALTER TABLE uploads ADD COLUMN thumbnail bytea;
ALTER TABLE uploads DROP CONSTRAINT uploads_status_valid;
ALTER TABLE uploads ADD CONSTRAINT uploads_status_valid
    CHECK (status IN ('registered', 'processed', 'available', 'rejected'));

-- What a handler handed on (a saga step's output), so that the reply to a
-- command sent again carries it though the effect is not done again.
ALTER TABLE consumed_messages ADD COLUMN output jsonb;
