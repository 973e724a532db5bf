import json

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .forms import NoteForm, UploadForm
from .models import Note


def index(request):
    return render(request, "notes/index.html", {"notes": Note.objects.select_related("author")})


@login_required(login_url="/admin/login/")
def new_note(request):
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        note = form.save(commit=False)
        note.author = request.user
        note.save()
        return redirect("index")
    return render(request, "notes/new.html", {"form": form})


def note_json(request, pk):
    note = get_object_or_404(Note.objects.select_related("author"), pk=pk)
    return JsonResponse({"id": note.pk, "title": note.title, "body": note.body, "author": note.author.username})


@csrf_exempt
@require_POST
def search_notes(request):
    """`{"q": "words"}`: the notes whose title holds them, newest first."""
    try:
        query = json.loads(request.body)["q"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": 'send {"q": "..."}'}, status=400)
    found = Note.objects.filter(title__icontains=query)
    return JsonResponse({"q": query, "titles": [note.title for note in found]})


@login_required(login_url="/admin/login/")
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        return JsonResponse({"name": saved.file.name, "size": saved.file.size})
    return render(request, "notes/upload.html", {"form": form})
