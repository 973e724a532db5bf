"""Request bodies as forms: urlencoded, and multipart with files."""

from urllib.parse import parse_qsl

from .datastructures import MultiDict


class UploadedFile:
    """A file from a multipart form: `filename`, `content_type`, `data` (bytes)."""

    __slots__ = ("name", "filename", "content_type", "data")

    def __init__(self, name, filename, content_type, data):
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.data = data

    @property
    def size(self):
        return len(self.data)

    def __repr__(self):
        return f"<UploadedFile {self.filename!r} {self.content_type} {len(self.data)} bytes>"


class FormData(MultiDict):
    """Form fields (multi-valued, like `QueryParams`) and uploaded files (`.files`)."""

    __slots__ = ("files", "_all_files")

    def __init__(self, fields=(), files=()):
        super().__init__(fields)
        self._all_files = list(files)
        self.files = {}
        for upload in self._all_files:
            self.files.setdefault(upload.name, upload)

    def getfiles(self, name):
        """Every file uploaded under `name`."""
        return [upload for upload in self._all_files if upload.name == name]


def _parameters(header_value):
    """`form-data; name="a"; filename="b.txt"` -> ("form-data", {"name": "a", "filename": "b.txt"})."""
    parts = _split_unquoted(header_value, ";")
    main = parts[0].strip().lower()
    params = {}
    for part in parts[1:]:
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[key.strip().lower()] = value
    return main, params


def _split_unquoted(text, separator):
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


class FormError(ValueError):
    """The body is not a well-formed form."""


def parse_form(content_type_header, body, charset="utf-8"):
    """Parses a urlencoded or multipart body; other types give an empty form."""
    media_type, params = _parameters(content_type_header or "")
    if media_type == "application/x-www-form-urlencoded":
        text = body.decode(charset, "replace")
        return FormData(parse_qsl(text, keep_blank_values=True))
    if media_type == "multipart/form-data":
        boundary = params.get("boundary")
        if not boundary:
            raise FormError("multipart/form-data without a boundary")
        return _parse_multipart(body, boundary.encode("latin-1"), charset)
    return FormData()


def _parse_multipart(body, boundary, charset):
    delimiter = b"--" + boundary
    fields, files = [], []
    sections = body.split(delimiter)
    if len(sections) < 3 and not body.strip().startswith(delimiter):
        raise FormError("multipart body does not contain its boundary")
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        if section.startswith(b"\r\n"):
            section = section[2:]
        head, sep, content = section.partition(b"\r\n\r\n")
        if not sep:
            raise FormError("multipart part without headers")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers = {}
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition, params = _parameters(headers.get("content-disposition", ""))
        if disposition != "form-data" or "name" not in params:
            continue
        if "filename" in params:
            content_type = headers.get("content-type", "application/octet-stream")
            files.append(UploadedFile(params["name"], params["filename"], content_type, content))
        else:
            fields.append((params["name"], content.decode(charset, "replace")))
    return FormData(fields, files)
