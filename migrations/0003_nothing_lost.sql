-- Nothing lost: each call keeps its original request (so a reconciler can re-publish it), its
-- attempts and its next due time; a call that cannot be made is dead-lettered, and counted.

ALTER TABLE calls ADD COLUMN request jsonb;
ALTER TABLE calls ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE calls ADD COLUMN last_error text;
ALTER TABLE calls ADD COLUMN published_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE calls DROP CONSTRAINT calls_status_check;
ALTER TABLE calls ADD CONSTRAINT calls_status_check
    CHECK (status IN ('pending', 'retrying', 'ok', 'failed', 'skipped', 'dead_letter'));
CREATE INDEX calls_due ON calls (next_attempt_at) WHERE status IN ('pending', 'retrying');

ALTER TABLE runs ADD COLUMN dead_lettered_calls integer NOT NULL DEFAULT 0;

-- Every consumer process beats here, so "does this group have live members?" has an answer that
-- does not depend on the broker (Tansu never drops a departed member from DescribeGroups).
CREATE TABLE consumer_processes (
    process_id    uuid PRIMARY KEY,
    groups        text[] NOT NULL,
    host          text NOT NULL,
    pid           integer NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
