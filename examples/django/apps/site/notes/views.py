from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render

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


@login_required(login_url="/admin/login/")
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        return JsonResponse({"name": saved.file.name, "size": saved.file.size})
    return render(request, "notes/upload.html", {"form": form})
