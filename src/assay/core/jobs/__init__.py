"""Jobs: a huey queue, with Assay's own job record for status, progress, leases and retries."""
