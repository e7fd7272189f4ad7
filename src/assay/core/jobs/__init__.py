"""Jobs: a huey queue, with Assay's own job record for status, progress, leases and retries.

A domain writes a handler with ``job_handler`` and lists its module in
``assay.domains.JOB_MODULES``; doors enqueue with ``service.enqueue_job``; ``worker.Worker``
runs the handlers. See docs/jobs.md.
"""

from assay.core.jobs.context import JobCancelled, JobContext, JobRuntime, LeaseLost
from assay.core.jobs.registry import JobHandler, job_handler

__all__ = ["JobCancelled", "JobContext", "JobHandler", "JobRuntime", "LeaseLost", "job_handler"]
