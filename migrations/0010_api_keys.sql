-- API keys: only a hash of each key is stored; the fingerprint (a prefix of another hash) names
-- a key in lists, logs and headers without revealing it.
CREATE TABLE api_keys (
    fingerprint   text PRIMARY KEY,
    key_hash      text NOT NULL UNIQUE,
    name          text NOT NULL,
    scope         text NOT NULL CHECK (scope IN ('read', 'write')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
