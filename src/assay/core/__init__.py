"""The base every domain stands on: settings, storage, clock, errors, authorization, audit, jobs."""
