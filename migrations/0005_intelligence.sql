-- Intelligence: embeddings of answers, brand scores, news events and their correlations.
-- Every row records the version of the code or model that produced it.

CREATE TABLE embeddings (
    call_id           uuid PRIMARY KEY REFERENCES calls,
    run_id            uuid NOT NULL REFERENCES runs,
    domain            text NOT NULL,
    provider          text NOT NULL,
    model             text NOT NULL,
    model_version     text,
    prompt_id         text NOT NULL,
    sample            integer NOT NULL,
    embedding_model   text NOT NULL,
    embedder_version  text NOT NULL,
    dimensions        integer NOT NULL CHECK (dimensions > 0),
    vector            real[] NOT NULL CHECK (cardinality(vector) = dimensions),
    -- Cosine distance to the previous run's answer for the same domain × provider × prompt × sample.
    drift             double precision,
    previous_call_id  uuid,
    previous_run_id   uuid,
    embedded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX embeddings_cell ON embeddings (domain, provider, prompt_id, sample, embedding_model);
CREATE INDEX embeddings_run_domain ON embeddings (run_id, domain);

CREATE TABLE brand_scores (
    run_id            uuid NOT NULL REFERENCES runs,
    domain            text NOT NULL,
    provider          text NOT NULL,  -- a provider, or 'all'
    scoring_version   text NOT NULL,
    run_created_at    timestamptz NOT NULL,
    samples           integer NOT NULL,
    responses         integer NOT NULL,
    model_versions    text[] NOT NULL,
    versions          jsonb NOT NULL,
    -- {metric: {value, n, low, high, sd, method}} for mention_rate, position, sentiment,
    -- accuracy, consensus, drift, composite.
    metrics           jsonb NOT NULL,
    previous_run_id   uuid,
    changes           jsonb NOT NULL DEFAULT '[]',
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, domain, provider, scoring_version)
);
CREATE INDEX brand_scores_timeline ON brand_scores (domain, provider, scoring_version, run_created_at);
CREATE INDEX brand_scores_created ON brand_scores (scoring_version, run_created_at);

CREATE TABLE news_events (
    event_id          uuid PRIMARY KEY,  -- UUIDv5 of the URL
    domain            text NOT NULL,
    headline          text NOT NULL,
    url               text NOT NULL,
    source            text,
    published_at      timestamptz NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('leadership', 'rebrand', 'scandal',
                          'regulatory', 'security', 'financial', 'product', 'other')),
    summary           text,
    ingested_at       timestamptz NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX news_events_published ON news_events (published_at);

CREATE TABLE correlations (
    event_id            uuid NOT NULL REFERENCES news_events,
    provider            text NOT NULL,
    metric              text NOT NULL,
    correlation_version text NOT NULL,
    domain              text NOT NULL,
    verdict             text NOT NULL CHECK (verdict IN ('effect', 'no_effect',
                            'model_version_change', 'insufficient_data')),
    effect              double precision,
    effect_low          double precision,
    effect_high         double precision,
    p_value             double precision,
    test                text NOT NULL,
    before_window       jsonb NOT NULL,
    after_window        jsonb NOT NULL,
    reason              text NOT NULL,
    computed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, provider, metric, correlation_version)
);
