"""How agents organise their work: tags (a vocabulary managers keep on the admin site) and
saved views (a named list filter and sort, for one user or shared with a queue).

Written only by tickets/services/ (tags.py, saved_views.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.models import Queue, Ticket, validate_single_line


class Tag(models.Model):
    """A label from the managed vocabulary; agents attach tags, only managers create them."""

    name = models.CharField(max_length=50, unique=True, validators=[validate_single_line])
    slug = models.SlugField(max_length=50, unique=True)
    tickets = models.ManyToManyField(Ticket, related_name="tags", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SavedView(models.Model):
    """A named ticket list: its query string (filters and sort, as the list's URL has them).
    ``queue`` set: shared with that queue's members (only managers share)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60, validators=[validate_single_line])
    query = models.CharField(max_length=500, blank=True)
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, null=True, blank=True, related_name="saved_views"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return f"{reverse('ticket_list')}?{self.query}&view={self.pk}".replace("?&", "?")
