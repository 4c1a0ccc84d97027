from django.urls import path

from audit import views

urlpatterns = [
    path("", views.events, name="audit_events"),
    path("events.csv", views.events_csv, name="audit_events_csv"),
    path("history/", views.history, name="audit_history"),
    path("history.csv", views.history_csv, name="audit_history_csv"),
]
