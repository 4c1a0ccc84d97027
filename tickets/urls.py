from django.urls import path

from tickets import agent_views, attachment_views, list_views, live_views, views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("tickets/", views.ticket_list, name="ticket_list"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/bulk/", list_views.ticket_bulk, name="ticket_bulk"),
    path("tickets/views/", list_views.saved_view_save, name="saved_view_save"),
    path(
        "tickets/views/<int:pk>/delete/",
        list_views.saved_view_delete,
        name="saved_view_delete",
    ),
    path("tickets/following/", agent_views.following, name="following"),
    path("notifications/", agent_views.notifications, name="notifications"),
    path("canned/", agent_views.canned_list, name="canned_list"),
    path("canned/<int:pk>/", agent_views.canned_list, name="canned_edit"),
    path("canned/<int:pk>/delete/", agent_views.canned_delete, name="canned_delete"),
    path("tickets/<str:ref>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<str:ref>/changes/", views.ticket_changes, name="ticket_changes"),
    path("tickets/<str:ref>/comment/", views.ticket_comment, name="ticket_comment"),
    path("tickets/<str:ref>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<str:ref>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<str:ref>/priority/", views.ticket_priority, name="ticket_priority"),
    path("tickets/<str:ref>/move/", views.ticket_move, name="ticket_move"),
    path("tickets/<str:ref>/subject/", agent_views.ticket_subject, name="ticket_subject"),
    path("tickets/<str:ref>/requester/", agent_views.ticket_requester, name="ticket_requester"),
    path("tickets/<str:ref>/cc/", agent_views.ticket_cc, name="ticket_cc"),
    path("tickets/<str:ref>/follow/", agent_views.ticket_follow, name="ticket_follow"),
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
    # Live pages' resynchronisation after (re)connecting their websocket.
    path("live/dashboard.json", live_views.dashboard_json, name="live_dashboard"),
    path("live/tickets.json", live_views.ticket_list_json, name="live_ticket_list"),
    path("live/tickets/<str:ref>.json", live_views.ticket_json, name="live_ticket"),
]
