"""Dashboard forms for project administration: API keys and project settings."""

from __future__ import annotations

from django import forms

from memdash.models import Project, Role


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=200, required=False, help_text="A label to tell keys apart, e.g. 'support bot'."
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class ProjectSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    custom_instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What to extract from conversations (and what to ignore), for every add.",
    )
    agent_custom_instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The same, for memories about agents.",
    )
    custom_categories = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
        help_text=("One per line, as 'name: description'. Empty: the default catalogue is used."),
    )

    @classmethod
    def for_project(cls, project: Project) -> ProjectSettingsForm:
        lines = [
            f"{c.name}: {c.description}" if c.description else c.name
            for c in project.categories.all()
        ]
        return cls(
            initial={
                "name": project.name,
                "description": project.description,
                "custom_instructions": project.custom_instructions,
                "agent_custom_instructions": project.agent_custom_instructions,
                "custom_categories": "\n".join(lines),
            }
        )

    def clean_custom_categories(self) -> list[dict[str, str]]:
        categories = []
        for number, line in enumerate(self.cleaned_data["custom_categories"].splitlines(), 1):
            if not line.strip():
                continue
            name, _sep, description = line.partition(":")
            if not name.strip():
                raise forms.ValidationError(f"line {number}: a category needs a name")
            categories.append({name.strip(): description.strip()})
        return categories

    def settings_payload(self) -> dict:
        """What memdash.projects.update_project takes (the API's PATCH body)."""
        return dict(self.cleaned_data)
