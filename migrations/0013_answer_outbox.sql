-- The answer a provider-calls process paid for, kept with its call until capture stores it: an
-- answer lost on the way to capture (a broker restart, a publish that failed) is published again
-- from here by the reconciler, never paid for again. Cleared when the answer is stored.
ALTER TABLE calls ADD COLUMN answer jsonb;
