DROP TABLE registry_reads;
