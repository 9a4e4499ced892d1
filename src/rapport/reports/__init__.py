"""Reports: one query function per report, shared by the CLI, the API, the
HTML report and the workers."""
