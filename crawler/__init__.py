"""splashaudit's outward half: devices, probe plans, batches, reports and the `splashaudit` CLI."""
