from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmarks (`benchmark`, `benchmark_dashboard`, `benchmark_pipeline` commands).

    Development tooling, not part of the product: an app only so that Django finds its
    management commands. It has no models; the product apps never import it.
    """

    name = "bench"
