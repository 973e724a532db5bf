"""Template engines for `App.renderer`. Terrarium forces none on you."""


def jinja2(environment):
    """A renderer from a `jinja2.Environment`:

        env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"))
        app.renderer = terrarium.templates.jinja2(env)
    """

    def render(template, context):
        return environment.get_template(template).render(**context)

    return render


def format_strings(templates):
    """A tiny renderer with no dependency: `str.format` on named strings."""

    def render(template, context):
        return templates[template].format(**context)

    return render
