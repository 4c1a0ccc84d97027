from django.urls import path

from tickets import attachment_views, views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("tickets/", views.ticket_list, name="ticket_list"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/<str:ref>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<str:ref>/comment/", views.ticket_comment, name="ticket_comment"),
    path("tickets/<str:ref>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<str:ref>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<str:ref>/priority/", views.ticket_priority, name="ticket_priority"),
    path("tickets/<str:ref>/move/", views.ticket_move, name="ticket_move"),
    path(
        "tickets/<str:ref>/attachments/",
        attachment_views.attachment_upload,
        name="attachment_upload",
    ),
    path(
        "tickets/<str:ref>/attachments/<uuid:uid>/",
        attachment_views.attachment_download,
        name="attachment_download",
    ),
]
