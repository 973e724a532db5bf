from django.conf import settings
from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return self.title


class Upload(models.Model):
    file = models.FileField(upload_to="uploads/")
    uploaded = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.file.name
