"""Background work on Celery: thin tasks that call the domain services.

`app` configures Celery from the settings; `tasks/` holds one module per
domain; `ingest` runs distributed imports; `schedule` connects Celery beat
to the schedule table. Domains never import this package.
"""
