from django.contrib import admin
from django.urls import path

from notes import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", views.index, name="index"),
    path("notes/new", views.new_note, name="new-note"),
    path("notes/<int:pk>.json", views.note_json, name="note-json"),
    path("notes/search", views.search_notes, name="search-notes"),
    path("uploads/new", views.upload, name="upload"),
]
