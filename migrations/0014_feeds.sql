-- News sources polled on their own schedule (the scheduler process), each with the validators of
-- its last answer, so the next poll is a conditional GET (If-None-Match / If-Modified-Since).
CREATE TABLE feeds (
    url               text PRIMARY KEY,
    every_s           integer NOT NULL CHECK (every_s >= 60),
    etag              text,
    last_modified     text,
    next_poll_at      timestamptz NOT NULL,
    last_polled_at    timestamptz,
    last_status       integer,           -- HTTP status of the last poll (304: unchanged)
    last_error        text,
    polls             bigint NOT NULL DEFAULT 0,
    unchanged_polls   bigint NOT NULL DEFAULT 0,
    events_published  bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feeds_due ON feeds (next_poll_at);
