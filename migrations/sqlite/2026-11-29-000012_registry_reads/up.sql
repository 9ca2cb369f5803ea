-- Donors returned by registry reads that show a CCCD or a phone (GET /donors in the full
-- view, GET /donors/{id}), per caller and clock hour (UTC): the budget of
-- `registry.donors_per_hour`. Kept in the database, not in memory, so that several stateless
-- instances on one database share one budget per caller; upserted in the read's write
-- transaction, with the audit entry. Only the caller's current hour is kept (older windows
-- are deleted as the next one starts).
CREATE TABLE registry_reads (
    principal_id TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    donors BIGINT NOT NULL,
    PRIMARY KEY (principal_id, window_start)
);
