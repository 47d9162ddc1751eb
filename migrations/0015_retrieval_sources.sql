-- Memory vs retrieval: every run is asked in one mode, ``memory`` (no tools) or ``retrieval``
-- (the provider's own web search). A request for both modes is two twin runs, so no row, count
-- or metric of one mode is ever averaged with the other's; ``twin_run_id`` pairs them.
ALTER TABLE runs ADD COLUMN mode text NOT NULL DEFAULT 'memory'
    CHECK (mode IN ('memory', 'retrieval'));
ALTER TABLE runs ADD COLUMN twin_run_id uuid;
-- Retrieval cells a request asked for that a provider cannot serve (no web search in its API):
-- {provider: reason}. Refused at planning, never answered from memory instead.
ALTER TABLE runs ADD COLUMN refused jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE responses ADD COLUMN mode text NOT NULL DEFAULT 'memory';
ALTER TABLE responses ADD COLUMN web_searches integer NOT NULL DEFAULT 0;

-- The provider's response body of every answered call, as received, zlib-compressed: what
-- extraction (text, usage, citations, search queries) is a function of, so a new extractor
-- version recomputes everything without paying a provider again. Written by provider-calls in
-- the transaction that marks the call answered. ``api`` names the body's shape.
CREATE TABLE response_bodies (
    call_id           uuid PRIMARY KEY REFERENCES calls,
    run_id            uuid NOT NULL REFERENCES runs,
    api               text NOT NULL,
    body              bytea NOT NULL,
    raw_bytes         integer NOT NULL,
    stored_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX response_bodies_run ON response_bodies (run_id);
CREATE INDEX response_bodies_age ON response_bodies (stored_at);

-- Each distinct source of one answer, per extractor version: cited in the answer or only
-- retrieved by the engine's search, with the spans it supports where the provider gives them.
CREATE TABLE citations (
    call_id           uuid NOT NULL REFERENCES calls,
    extractor_version integer NOT NULL,
    ordinal           integer NOT NULL,       -- 1-based order of first appearance
    run_id            uuid NOT NULL REFERENCES runs,
    provider          text NOT NULL,
    prompt_id         text NOT NULL,
    url               text NOT NULL,          -- as the provider gave it
    canonical_url     text NOT NULL,
    domain            text NOT NULL,
    title             text,
    cited             boolean NOT NULL,
    spans             jsonb NOT NULL DEFAULT '[]'::jsonb,   -- [[start, end], ...] code points
    source_class      text NOT NULL,          -- own | competitor | a third-party class
    brand             text,                   -- the tracked brand whose site it is, if any
    PRIMARY KEY (call_id, extractor_version, ordinal)
);
CREATE INDEX citations_run ON citations (run_id, extractor_version);

CREATE TABLE search_queries (
    call_id           uuid NOT NULL REFERENCES calls,
    extractor_version integer NOT NULL,
    ordinal           integer NOT NULL,
    run_id            uuid NOT NULL REFERENCES runs,
    query             text NOT NULL,
    PRIMARY KEY (call_id, extractor_version, ordinal)
);

-- Which extractor version has read each answer (also the answers that cite nothing).
CREATE TABLE source_extractions (
    call_id           uuid NOT NULL REFERENCES calls,
    extractor_version integer NOT NULL,
    run_id            uuid NOT NULL REFERENCES runs,
    sources           integer NOT NULL,
    cited             integer NOT NULL,
    web_searches      integer NOT NULL,
    extracted_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (call_id, extractor_version)
);
CREATE INDEX source_extractions_run ON source_extractions (run_id, extractor_version);
