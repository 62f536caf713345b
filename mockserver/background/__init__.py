"""The background side: the scheduler, callback deliveries, and the --state store."""
