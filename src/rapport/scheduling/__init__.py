"""Scheduling: one table of periodic jobs that every domain can register
kinds of work in (channel polls first; snooze wake-ups, health
recomputation, alerts...).

Who runs the due jobs depends on the deployment: without
``RAPPORT_BROKER_URL``, `rapport serve` runs `runner.SchedulerThread` in its
own process; with a broker, Celery beat reads the same table (through
`queries.due_jobs`, `service.do_claim` and `service.do_mark_run`) and
workers run the same handlers (`registry.handler_for`).
"""
