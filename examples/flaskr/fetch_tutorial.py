"""Puts Flask's own tutorial app (flaskr), unmodified, into apps/flaskr/.

It comes from the Flask release's source archive on PyPI (the tutorial is
in its examples/ folder), at the version pinned below, so what runs here is
exactly what the Flask documentation teaches.

    python3 examples/flaskr/fetch_tutorial.py [SITE]   (default: this folder)
"""

import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

FLASK_VERSION = "3.1.3"


def main():
    site = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
    app = site / "apps" / "flaskr"
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             "--disable-pip-version-check", f"flask=={FLASK_VERSION}", "-d", download],
            check=True,
        )
        archive = next(pathlib.Path(download).glob("flask-*.tar.gz"))
        prefix = f"flask-{FLASK_VERSION}/examples/tutorial/flaskr/"
        if app.exists():
            shutil.rmtree(app)
        with tarfile.open(archive) as sdist:
            for member in sdist.getmembers():
                if member.isfile() and member.name.startswith(prefix):
                    target = app / "flaskr" / member.name[len(prefix):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with sdist.extractfile(member) as source, open(target, "wb") as out:
                        shutil.copyfileobj(source, out)
    (app / "requirements.txt").write_text(f"flask=={FLASK_VERSION}\n")
    print(f"Flask {FLASK_VERSION}'s tutorial app is in {app}")


if __name__ == "__main__":
    main()
