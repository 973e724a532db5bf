"""ASGI config: exposes the ASGI callable as `application`.

Terrarium serves either entry: `mysite.wsgi:application` or this one.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
# Tells settings.py to leave WhiteNoise out (see there).
os.environ["MYSITE_ASGI"] = "1"

application = get_asgi_application()
