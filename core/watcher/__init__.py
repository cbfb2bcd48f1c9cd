"""The stale-order watcher: orders unfinished too long, alerted once per run."""
