ALTER TABLE emergency_requests DROP COLUMN disclosure_cap;
DROP TABLE emergency_disclosures;
