"""Dashboard forms of tenancy: API keys, members, new projects and organizations."""

from __future__ import annotations

from django import forms

from tenancy.models import Role


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=200, required=False, help_text="A label to tell keys apart, e.g. 'support bot'."
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class MemberAddForm(forms.Form):
    person = forms.CharField(
        label="Username or email",
        max_length=254,
        help_text="Someone without an account gets one, with a one-time password shown here.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=2000, required=False)


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="It gets a project named 'default'.")
