-- Each claim carries a token of its own: a process renews, and confirms right before it pays,
-- only the claim it holds. A claim that lapsed (a late renewal, a stalled process) and was taken
-- by another is then known lost, and the call is not paid twice.
ALTER TABLE calls ADD COLUMN claim_token uuid;
