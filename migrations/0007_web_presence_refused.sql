-- A web-presence check the fetch policy refused: the domain, or a redirect it led to, resolves
-- to a non-public address (loopback, private, link-local…), so nothing was fetched from it.
-- `error` says which URL and address, e.g. "http://x.example/: refused: x.example resolves to
-- a non-public address 10.0.0.5 (private)".
ALTER TABLE web_presence DROP CONSTRAINT web_presence_status_check;
ALTER TABLE web_presence ADD CONSTRAINT web_presence_status_check
    CHECK (status IN ('hosted', 'parked', 'redirecting', 'unreachable', 'refused'));
