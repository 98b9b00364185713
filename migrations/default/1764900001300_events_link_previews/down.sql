DROP TABLE webhooks.preview_jobs;
