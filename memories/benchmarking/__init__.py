"""The `benchmark` management command's seeding, measurements and report."""
