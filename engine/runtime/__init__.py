"""Process wiring: what each long-running process is built from (database, waker,
executor, relay, notifier, metrics endpoints), how it logs, and ``loom standalone``."""
