-- Provider budget: a run may carry a cost cap; calls beyond it are recorded as skipped, and the
-- run says why it stopped.

ALTER TABLE runs ADD COLUMN cost_cap_usd numeric(14, 6) CHECK (cost_cap_usd >= 0);
ALTER TABLE runs ADD COLUMN skipped_calls integer NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN stop_reason text;

-- A CHECK cannot be widened in place: replaced by a wider one in the same transaction.
ALTER TABLE responses DROP CONSTRAINT responses_status_check;
ALTER TABLE responses ADD CONSTRAINT responses_status_check
    CHECK (status IN ('ok', 'failed', 'skipped'));
