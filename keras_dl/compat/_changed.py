"""The one error every check in keras_dl.compat raises: an upstream internal has moved."""

from __future__ import annotations


def internal_changed(what: str, upstream, module: str) -> RuntimeError:
    """`RuntimeError` saying that `upstream` (the imported package: keras, tensorflow,
    keras_tuner) changed `what`, and which keras_dl/compat module to update."""
    version = getattr(upstream, "__version__", "?")
    return RuntimeError(
        f"keras_dl.compat: {what}; {upstream.__name__} ({version}) changed an internal "
        f"keras_dl relies on — update keras_dl/compat/{module}.py")
