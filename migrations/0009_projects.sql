-- Projects: tracked prompts about a category, read for the project's own brand and its
-- competitors. A changed prompt text is a new version row; history is never edited.

CREATE TABLE projects (
    name              text PRIMARY KEY,
    spec              jsonb NOT NULL,
    source            text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    applied_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project_prompts (
    project           text NOT NULL REFERENCES projects,
    prompt_id         text NOT NULL,
    version           integer NOT NULL CHECK (version >= 1),
    text              text NOT NULL,   -- as sent to the models, hints rendered
    topic             text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, prompt_id, version),
    UNIQUE (project, prompt_id, text)
);

-- NULL for domain runs; domain scoring never mixes the two.
ALTER TABLE runs ADD COLUMN project text;
CREATE INDEX runs_project ON runs (project, created_at) WHERE project IS NOT NULL;

-- The project as a run asked it (the ``project`` of its request).
CREATE TABLE project_runs (
    run_id            uuid PRIMARY KEY REFERENCES runs,
    project           text NOT NULL,
    request           jsonb NOT NULL
);

-- Per answer and tracked brand: what the extractor read. Keyed by the extractor's version, so
-- a new version is recomputed beside the old, never over it.
CREATE TABLE answer_brands (
    call_id           uuid NOT NULL REFERENCES calls,
    extractor_version text NOT NULL,
    brand             text NOT NULL,
    run_id            uuid NOT NULL REFERENCES runs,
    mentioned         boolean NOT NULL,
    rank              integer,
    sentiment         double precision,
    PRIMARY KEY (call_id, extractor_version, brand)
);
CREATE INDEX answer_brands_run ON answer_brands (run_id, extractor_version);

-- Names an answer ranks that the project does not track, by a folded key.
CREATE TABLE answer_discoveries (
    call_id           uuid NOT NULL REFERENCES calls,
    extractor_version text NOT NULL,
    name_key          text NOT NULL,
    name              text NOT NULL,   -- as the answer wrote it
    run_id            uuid NOT NULL REFERENCES runs,
    PRIMARY KEY (call_id, extractor_version, name_key)
);
CREATE INDEX answer_discoveries_run ON answer_discoveries (run_id, extractor_version);

-- One row per (run, scope, brand): scope is a provider (or 'all') × topic (or 'all') × prompt
-- (or 'all'). metrics: {visibility, share_of_voice, position, sentiment} each
-- {value, n, low, high, sd, method}.
CREATE TABLE visibility_scores (
    run_id            uuid NOT NULL REFERENCES runs,
    project           text NOT NULL,
    brand             text NOT NULL,
    own               boolean NOT NULL,
    provider          text NOT NULL,
    topic             text NOT NULL,
    prompt_id         text NOT NULL,
    extractor_version text NOT NULL,
    metrics_version   text NOT NULL,
    run_created_at    timestamptz NOT NULL,
    samples           integer NOT NULL,
    metrics           jsonb NOT NULL,
    rank_distribution jsonb NOT NULL,
    previous_run_id   uuid,
    changes           jsonb NOT NULL DEFAULT '[]',
    computed_at       timestamptz NOT NULL,
    PRIMARY KEY (run_id, brand, provider, topic, prompt_id, extractor_version, metrics_version)
);
CREATE INDEX visibility_scores_timeline ON visibility_scores (project, run_created_at);
