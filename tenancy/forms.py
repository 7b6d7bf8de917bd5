"""Dashboard forms of tenancy: API keys."""

from __future__ import annotations

from django import forms

from tenancy.models import Role


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=200, required=False, help_text="A label to tell keys apart, e.g. 'support bot'."
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)
