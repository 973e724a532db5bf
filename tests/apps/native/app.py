"""Every native API style in one app, for the integration tests."""

import pathlib

import jinja2

from terrarium import (App, CustomRouter, HTTPError, MVCRouter, RESTRouter, Router, routerclass,
                       templates)

app = App()
app.renderer = templates.jinja2(
    jinja2.Environment(loader=jinja2.FileSystemLoader(pathlib.Path(__file__).parent / "templates"),
                       autoescape=True)
)


def timing_header(req, res, next):
    next()
    res.headers["X-Handled-By"] = "terrarium"


def require_key(req, res, next):
    if req.headers.get("x-key") != "open":
        return res.send_json({"error": "locked"}, status=403)
    next()


app.use(timing_header)
app.use("/locked", require_key)


@app.get("/locked/door")
def door(req, res):
    return "open door"


@app.get("/page")
def page(req, res):
    res.render("page.html", title="Items <&>", items=req.query.getall("item"))


@app.get("/files/*")
def files(req, res):
    return {"rest": req.params["*"]}


@app.post("/upload")
def upload(req, res):
    form = req.form()
    file = form.files["file"]
    return {"title": form["title"], "name": file.filename, "size": file.size, "type": file.content_type}


@app.post("/login")
def login(req, res):
    res.set_cookie("user", req.form()["user"], httponly=True, max_age=3600)
    res.redirect("/whoami", status=303)


@app.get("/whoami")
def whoami(req, res):
    return {"user": req.cookies.get("user")}


@app.post("/logout")
def logout(req, res):
    res.delete_cookie("user")
    res.redirect("/whoami")


@app.get("/boom")
def boom(req, res):
    raise RuntimeError("kept in the log")


@app.get("/teapot")
def teapot(req, res):
    raise HTTPError(418, {"error": "I'm a teapot"})


# Growler: routes from methods.
@routerclass
class Greeter:
    mount_point = "/greet"

    def get_hello(self, req, res):
        """/hello/:name"""
        return f"hello {req.params['name']}"


app.use(Greeter())


# Guava: REST by convention.
class UsersController:
    users = {"1": "ada"}

    def GET(self, req, res):
        return sorted(self.users.values())

    def GET_ONE(self, req, res, id):
        if id not in self.users:
            raise HTTPError(404, {"error": "no such user"})
        return {"id": id, "name": self.users[id]}

    def POST(self, req, res):
        new_id = str(len(self.users) + 1)
        self.users[new_id] = req.json()["name"]
        return res.send_json({"id": new_id}, status=201)

    def DELETE(self, req, res, id):
        self.users.pop(id, None)
        return res.send_text("", status=204)


app.use(RESTRouter("/api", UsersController))


# Guava: MVC by convention.
class IndexController:
    def index(self, req, res):
        return "mvc index"


class UserController:
    def index(self, req, res):
        return "user index"

    def message(self, req, res):
        return "user message"


app.use(MVCRouter("/mvc", IndexController, UserController))

# Guava: a custom router from a dict.
app.use(CustomRouter("/custom", {"/about": lambda req, res: "about us",
                                 ("POST", "/contact"): lambda req, res: "message sent"}))

# A plain sub-router below a prefix.
admin = Router()
admin.get("/where", lambda req, res: {"path": req.path, "script_name": req.script_name})
app.use("/admin", admin)


@app.get("/cookie-header")
def cookie_header(req, res):
    return {"cookie": req.headers.get("cookie")}
