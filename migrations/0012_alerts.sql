-- Alerts: significant changes with their evidence, once each (the id is derived from what the
-- alert is about); the rules that decide which changes count; webhooks and what each received.

CREATE TABLE alert_rules (
    scope        text PRIMARY KEY,   -- 'global' or 'project:<name>'
    metrics      text[] NOT NULL DEFAULT '{*}',
    min_effect   double precision NOT NULL DEFAULT 0 CHECK (min_effect >= 0),
    alpha        double precision NOT NULL DEFAULT 0.05 CHECK (alpha > 0 AND alpha < 1),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
    alert_id     uuid PRIMARY KEY,
    kind         text NOT NULL,
    subject      text NOT NULL,
    project      text,
    brand        text,
    provider     text NOT NULL,
    metric       text NOT NULL,
    body         jsonb NOT NULL,      -- the AlertRaised message
    raised_at    timestamptz NOT NULL
);
CREATE INDEX alerts_raised ON alerts (raised_at);

CREATE TABLE webhooks (
    webhook_id     uuid PRIMARY KEY,
    url            text NOT NULL,
    format         text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
    allow_private  boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    removed_at     timestamptz
);

CREATE TABLE alert_deliveries (
    alert_id      uuid NOT NULL REFERENCES alerts,
    webhook_id    uuid NOT NULL REFERENCES webhooks,
    delivered_at  timestamptz NOT NULL DEFAULT now(),
    status        integer NOT NULL,
    attempts      integer NOT NULL,
    PRIMARY KEY (alert_id, webhook_id)
);
