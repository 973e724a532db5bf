from terrarium.datastructures import Headers, QueryParams


def test_headers_are_case_insensitive_and_multi_valued():
    headers = Headers([("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
    assert headers["content-type"] == "text/plain"
    assert headers.getall("SET-COOKIE") == ["a=1", "b=2"]
    assert headers.get("missing") is None and "Content-type" in headers
    headers["SET-cookie"] = "c=3"
    assert headers.getall("set-cookie") == ["c=3"]
    headers.add("X", "1")
    del headers["x"]
    assert "x" not in headers


def test_query_params_keep_every_value_in_order():
    query = QueryParams("a=1&b=&a=2&c=%20x")
    assert query["a"] == "2" and query.getall("a") == ["1", "2"]
    assert query["b"] == "" and query["c"] == " x"
    assert query.keys() == ["a", "b", "c"] and len(query) == 3
    assert query.get("zzz", "d") == "d"
    assert query.to_dict() == {"a": "2", "b": "", "c": " x"}
