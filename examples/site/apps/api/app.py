"""A small JSON API. State lives in each pooled instance (a real app would use a database)."""

from terrarium import App

app = App()

users = {1: {"id": 1, "name": "ada"}, 2: {"id": 2, "name": "grace"}}


@app.get("/users")
def list_users(req, res):
    res.send_json(sorted(users.values(), key=lambda u: u["id"]))


@app.get("/users/:id")
def show_user(req, res):
    user = users.get(int(req.params["id"])) if req.params["id"].isdigit() else None
    if user is None:
        return res.send_json({"error": "no such user"}, status=404)
    res.send_json(user)


@app.post("/users")
def create_user(req, res):
    try:
        name = req.json()["name"]
    except (ValueError, KeyError, TypeError):
        return res.send_json({"error": "send JSON like {\"name\": \"...\"}"}, status=400)
    user = {"id": max(users) + 1, "name": str(name)}
    users[user["id"]] = user
    res.send_json(user, status=201)
