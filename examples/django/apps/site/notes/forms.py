from django import forms

from .models import Note, Upload


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["title", "body"]


class UploadForm(forms.ModelForm):
    class Meta:
        model = Upload
        fields = ["file"]
