-- reality-validation: reference facts, one verdict per stored answer, and each domain's web presence.

-- What is true about a brand, as loaded by `domain-runner facts load FILE`. NULL means unknown
-- (nothing is checked against it), never "none".
CREATE TABLE facts (
    domain                text PRIMARY KEY,
    name                  text NOT NULL,
    aliases               text[] NOT NULL DEFAULT '{}',
    industry              text,
    founded               integer CHECK (founded BETWEEN 1000 AND 2100),
    headquarters_country  text,
    -- Founders, or the parent organisation.
    founders              text[],
    products              text[],
    source                text NOT NULL,
    loaded_at             timestamptz NOT NULL DEFAULT now()
);

-- One verdict per answered call, recomputable from `responses` and `facts`; `validator_version`
-- names the code and lexicons that produced it. Read by scoring: keep these column names.
CREATE TABLE validations (
    call_id            uuid PRIMARY KEY REFERENCES responses,
    run_id             uuid NOT NULL REFERENCES runs,
    domain             text NOT NULL,
    provider           text NOT NULL,
    model              text NOT NULL,
    model_version      text,
    prompt_id          text NOT NULL,
    sample             integer NOT NULL,
    mentioned          boolean NOT NULL,
    declined           boolean NOT NULL,
    position           integer CHECK (position >= 1),
    sentiment          double precision CHECK (sentiment BETWEEN -1 AND 1),
    facts_checked      integer NOT NULL CHECK (facts_checked >= 0),
    facts_correct      integer NOT NULL CHECK (facts_correct BETWEEN 0 AND facts_checked),
    fact_checks        jsonb NOT NULL DEFAULT '[]',
    validator_version  text NOT NULL,
    validated_at       timestamptz NOT NULL,
    -- Set once `responses.validated` acknowledged the verdict; NULL means publish (again).
    published_at       timestamptz
);
CREATE INDEX validations_run_provider ON validations (run_id, provider);
CREATE INDEX validations_domain ON validations (domain, provider, prompt_id);

-- What a domain's website showed on a day: checked at most once per domain and day.
CREATE TABLE web_presence (
    domain            text NOT NULL,
    checked_on        date NOT NULL,
    status            text NOT NULL CHECK (status IN ('hosted', 'parked', 'redirecting', 'unreachable')),
    addresses         text[] NOT NULL DEFAULT '{}',
    http_status       integer,
    final_url         text,
    redirect_target   text,
    redirects         integer NOT NULL DEFAULT 0,
    title             text,
    organization      jsonb,
    parked_marker     text,
    error             text,
    elapsed_ms        double precision NOT NULL,
    checker_version   text NOT NULL,
    checked_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, checked_on)
);
