"""One REST call to a running `ModelServer`, as the serving tests make them."""

import json
import urllib.error
import urllib.request


def http(server, method, path, body=None, raw=None):
    """`method path` on `server`'s REST port with `body` as JSON (or `raw` bytes as they are);
    `(status, decoded JSON answer)`, an HTTP error's included."""
    url = f"http://127.0.0.1:{server.rest_port}{path}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
