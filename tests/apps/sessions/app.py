"""Login, visits and logout, kept in the host's session store."""

from terrarium import App

app = App()


@app.post("/login")
def login(req, res):
    req.session["user"] = req.form()["user"]
    req.session.regenerate()  # a fresh id on login: no session fixation
    return {"user": req.session["user"]}


@app.get("/me")
def me(req, res):
    if req.session is None:
        return {"sessions": False}
    req.session["visits"] = req.session.get("visits", 0) + 1
    return {"user": req.session.get("user"), "visits": req.session["visits"]}


@app.get("/peek")
def peek(req, res):
    return {"user": req.session.get("user")}


@app.post("/logout")
def logout(req, res):
    req.session.destroy()
    return {"user": None}


@app.get("/who")
def who(req, res):
    return {"host": req.host, "root": req.script_name}
