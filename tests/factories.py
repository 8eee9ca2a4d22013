"""Factories: every tenant-owned factory needs its organization passed in, so no cross-tenant
object appears by accident."""

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from crm.models import Membership, Organization, Role, User

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")
    # Campaigns launch only with a postal address; tests of its absence clear it.
    postal_address = "1 Example Street, 75001 Paris, France"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=True)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = None  # required: pass it
    user = factory.SubFactory(UserFactory)
    role = Role.RECRUITER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs.get("organization") is None:
            raise ValueError("MembershipFactory needs an organization.")
        return model_class.all_tenants.create(*args, **kwargs)


class CandidateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "crm.Candidate"

    organization = None  # required: pass it
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"candidate{n}@example.test")
    headline = "Software engineer"
    skills = factory.LazyFunction(lambda: ["python"])
    last_activity_at = factory.LazyFunction(timezone.now)
    # Nobody is active before being added.
    created_at = factory.LazyAttribute(lambda candidate: candidate.last_activity_at)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs.get("organization") is None:
            raise ValueError("CandidateFactory needs an organization.")
        obj = model_class(*args, **kwargs)
        obj.save()
        return obj
