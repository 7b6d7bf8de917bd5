from __future__ import annotations

from django.db import models


class EntityQuerySet(models.QuerySet):
    def for_project(self, project) -> EntityQuerySet:
        """Entities of one project: the only way views reach entities."""
        return self.filter(project=project)

    def of_kind(self, kind: str | None) -> EntityQuerySet:
        return self.filter(kind=kind) if kind else self

    def named_like(self, text: str | None) -> EntityQuerySet:
        return self.filter(name__icontains=text) if text else self


# --- Dashboard: memory counts that stay cheap for huge entities ----------------------------------


class _CappedCount(models.Subquery):
    """COUNT(*) over a LIMITed subquery: stops reading at the limit."""

    template = "(SELECT count(*) FROM (%(subquery)s) _capped)"
    output_field = models.IntegerField()


def with_memory_counts(entities: models.QuerySet, *, cap: int) -> models.QuerySet:
    """Annotate `memory_count`: the entity's memories, counted up to `cap` + 1.

    One correlated subquery per row, over the scope's btree (project, <kind>_id, ...); CASE
    evaluates only the branch of the row's kind. A count above `cap` means "more than cap".
    """
    from memories.models import Memory

    branches = []
    for kind in ("user", "agent", "app", "run"):
        rows = (
            Memory.objects.filter(
                project=models.OuterRef("project_id"), **{f"{kind}_id": models.OuterRef("name")}
            )
            .order_by()
            .values("id")[: cap + 1]
        )
        branches.append(models.When(kind=kind, then=_CappedCount(rows)))
    return entities.annotate(
        memory_count=models.Case(
            *branches, default=models.Value(0), output_field=models.IntegerField()
        )
    )
