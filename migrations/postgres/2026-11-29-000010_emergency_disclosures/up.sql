-- Donors disclosed for an emergency request: returned by its candidates to a caller of its
-- hospital (a user or an API key). A hospital may record answers and donations only for them,
-- and the number of distinct donors disclosed per request is capped. A later decline does not
-- remove a row: what was shown stays shown.
CREATE TABLE emergency_disclosures (
    request_id TEXT NOT NULL REFERENCES emergency_requests (id),
    donor_id TEXT NOT NULL REFERENCES donors (id),
    disclosed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, donor_id)
);
-- An admin's cap on the donors disclosed for one request; null: the configured multiple of
-- units_needed.
ALTER TABLE emergency_requests ADD COLUMN disclosure_cap INTEGER CHECK (disclosure_cap >= 0);
