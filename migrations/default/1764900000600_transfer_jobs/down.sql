DROP SCHEMA transfer CASCADE;
DROP TABLE core.transfer_problems;
DROP TABLE core.transfer_jobs;
