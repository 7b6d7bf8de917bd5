"""The pipeline benchmark, inline only (no throughput runs, so no worker): it reports and puts
the LLM settings back. Never timings."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command


@pytest.mark.django_db
def test_pipeline_benchmark_reports_the_inline_figures_and_restores_the_llm_settings():
    provider = settings.OPENAI_BASE_URL
    out = StringIO()

    call_command("benchmark_pipeline", adds=3, workers="", stdout=out)

    report = out.getvalue()
    assert "inline adds: 3, memories written: 6" in report
    assert "pipeline overhead per add" in report
    assert "LLM calls per add" in report
    assert "async throughput" not in report
    assert provider == settings.OPENAI_BASE_URL
