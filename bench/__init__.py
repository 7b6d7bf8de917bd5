"""Benchmarks of memdash: the dataset seeding, the measurements, the reports and the commands.

Development tooling, kept apart from the product apps so that none of them depends on it.
"""
