"""What the serving hardening tests share (test_serving_hardening.py, test_serving_limits.py):
a model base laid out with links in and out of it, and small socket helpers; and the wait for
a `keras-dl serve` process to answer (test_serving.py, test_text_serving.py)."""

import http.client
import json
import socket
import time

import numpy as np
import pytest

import keras_dl
from keras_dl.export import export_saved_model

X = [[1.0, 2.0, 3.0, 4.0]]  # one request row: a tiny_model(s) answers [[10 s, 10 s]]


def tiny_model(scale):
    """A 4 → 2 dense layer whose weights are all `scale`: outputs `scale × sum(x)`, exactly."""
    model = keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(), num_classes=2,
                                  classifier_activation=None)
    model.set_weights([np.full_like(w, scale if w.ndim == 2 else 0.0)
                       for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """root/evil/1        a SavedModel outside the base (answers 7 × sum(x))
    root/evil/base/       the model base:
        m/1               the served model (answers 1 × sum(x))
        m/7 -> root/evil/1          a version linked out of the base
        linked -> root/evil         a model linked out of the base
        inner -> m                  a link that stays inside the base
        a/b/1             a model nested one folder down"""
    root = tmp_path_factory.mktemp("layout")
    export_saved_model(tiny_model(7.0), root, "evil", 1)
    base = root / "evil" / "base"
    export_saved_model(tiny_model(1.0), base, "m", 1)
    export_saved_model(tiny_model(3.0), base / "a", "b", 1)
    (base / "m" / "7").symlink_to(root / "evil" / "1")
    (base / "linked").symlink_to(root / "evil")
    (base / "inner").symlink_to("m")
    return root, base


@pytest.fixture(scope="module")
def base(layout):
    return layout[1]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def connection_refused(port):
    """True if a connection to `port` is refused (or reset: caught as the port closes)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    return False


def listening_addresses(port):
    """The local addresses with a socket listening on TCP `port` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state != "0A" or int(hex_port, 16) != port:
                    continue
                raw = bytes.fromhex(address)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                if len(words) == 16 and words[:12] == b"\0" * 10 + b"\xff\xff":
                    words = words[12:]  # an IPv4 address mapped into IPv6
                family = socket.AF_INET if len(words) == 4 else socket.AF_INET6
                found.add(socket.inet_ntop(family, words))
    return found


def http_request(port, method, path, body=None):
    """`method path` with `body` as JSON over one HTTP connection: (status, decoded answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body))
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def wait_until_serving(process, port, model_name, limit=90.0):
    """Return once the `keras-dl serve` child `process` answers `GET /v1/models/model_name`
    on REST `port` with 200; fail at once, with its stderr, if it exited."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if http_request(port, "GET", f"/v1/models/{model_name}")[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.5)
    pytest.fail(f"keras-dl serve did not answer within {limit:g} s")
