import pytest

from memories.models import Category


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", ["first", "second, after the first one's flush"])
def test_default_category_catalogue_is_present_in_every_transactional_test(run):
    names = list(Category.objects.filter(project=None).values_list("name", flat=True)[:3])
    assert names == ["personal_details", "family", "professional_details"]
    assert Category.objects.filter(project=None).count() == 15
