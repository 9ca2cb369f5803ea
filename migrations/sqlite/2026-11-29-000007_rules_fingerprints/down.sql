DROP TABLE rules_fingerprints;
