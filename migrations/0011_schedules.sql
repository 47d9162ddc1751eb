-- Schedules: a project or a list of domains, run on a cron expression in a time zone. Each slot
-- (schedule, slot time) runs at most once: its run id is derived from the two, and the slot's
-- row records when it was published (by whichever scheduler replica got there first).

CREATE TABLE schedules (
    name            text PRIMARY KEY,
    target_kind     text NOT NULL CHECK (target_kind IN ('project', 'domains')),
    -- the project's name, or the domains as JSON [{domain, name, aliases}]
    target          jsonb NOT NULL,
    cron            text NOT NULL,
    timezone        text NOT NULL,
    missed          text NOT NULL DEFAULT 'latest' CHECK (missed IN ('latest', 'all', 'none')),
    samples         integer CHECK (samples >= 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    removed_at      timestamptz
);

CREATE TABLE schedule_slots (
    schedule        text NOT NULL REFERENCES schedules,
    slot            timestamptz NOT NULL,
    run_id          uuid NOT NULL,
    -- 'published': the run's requests are on the broker; 'skipped': the run was already complete
    -- (the orchestrator's skip-if-done), or the slot was missed and the policy passes it over.
    outcome         text NOT NULL CHECK (outcome IN ('published', 'skipped', 'missed')),
    decided_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, slot)
);
