-- The system of record for runs: what was asked, what each call cost and answered.

CREATE TABLE runs (
    run_id            uuid PRIMARY KEY,
    prompt_set        text NOT NULL,
    providers         text[] NOT NULL,
    samples           integer NOT NULL CHECK (samples >= 1),
    expected_domains  integer NOT NULL CHECK (expected_domains >= 1),
    planned_domains   integer NOT NULL DEFAULT 0,
    expected_calls    integer NOT NULL DEFAULT 0,
    succeeded_calls   integer NOT NULL DEFAULT 0,
    failed_calls      integer NOT NULL DEFAULT 0,
    status            text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'complete', 'degraded', 'failed')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);

CREATE TABLE domains (
    domain            text PRIMARY KEY,
    name              text NOT NULL,
    aliases           text[] NOT NULL DEFAULT '{}',
    first_seen_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE run_domains (
    run_id            uuid NOT NULL REFERENCES runs,
    domain            text NOT NULL REFERENCES domains,
    planned_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, domain)
);

CREATE TABLE calls (
    call_id           uuid PRIMARY KEY,
    run_id            uuid NOT NULL REFERENCES runs,
    domain            text NOT NULL,
    provider          text NOT NULL,
    model             text NOT NULL,
    prompt_id         text NOT NULL,
    prompt_version    integer NOT NULL,
    sample            integer NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'ok', 'failed', 'skipped')),
    claims            integer NOT NULL DEFAULT 0,
    claimed_at        timestamptz,
    planned_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (run_id, domain) REFERENCES run_domains (run_id, domain)
);
CREATE INDEX calls_run_status ON calls (run_id, status);

CREATE TABLE responses (
    call_id           uuid PRIMARY KEY REFERENCES calls,
    run_id            uuid NOT NULL REFERENCES runs,
    domain            text NOT NULL,
    provider          text NOT NULL,
    model             text NOT NULL,
    prompt_id         text NOT NULL,
    prompt_version    integer NOT NULL,
    sample            integer NOT NULL,
    status            text NOT NULL CHECK (status IN ('ok', 'failed')),
    text              text,
    model_version     text,
    finish_reason     text,
    input_tokens      integer NOT NULL DEFAULT 0,
    output_tokens     integer NOT NULL DEFAULT 0,
    cost_usd          numeric(14, 8) NOT NULL DEFAULT 0,
    latency_ms        double precision,
    attempts          integer NOT NULL DEFAULT 1,
    error_type        text,
    error             text,
    key_fingerprint   text,
    trace_id          text,
    responded_at      timestamptz NOT NULL,
    stored_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX responses_run_provider ON responses (run_id, provider);
CREATE INDEX responses_domain ON responses (domain, provider, prompt_id);
