-- A call whose answer provider-calls has published is 'answered' until capture stores it: no
-- other process may claim (and pay for) it meanwhile, however long capture takes.
ALTER TABLE calls DROP CONSTRAINT calls_status_check;
ALTER TABLE calls ADD CONSTRAINT calls_status_check
    CHECK (status IN ('pending', 'retrying', 'answered', 'ok', 'failed', 'skipped',
                      'dead_letter'));
