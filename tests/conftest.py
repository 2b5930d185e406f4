"""Shared fixtures. TensorFlow's start-up logging is silenced once for the whole session."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Several workers share the machine's cores: one thread inside each op (the test models
    # are tiny) instead of every worker's thread pool competing for every core.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Refuse to run a suite that pytest-xdist's `--dist loadgroup` failed to group.

    The model contract relies on it (tests/test_model_contract.py: one model's tests on one
    worker, the model built once); a pytest / pytest-xdist pair that loses the grouping would
    build every model on every worker and silently add minutes to the suite.
    """
    if not config.getoption("loadgroup", default=False):
        return
    for item in items:
        if any(item.iter_markers("xdist_group")) and "@" not in item.nodeid:
            raise pytest.UsageError(
                f"pytest-xdist did not group {item.nodeid} (pytest {pytest.__version__}): "
                "use the versions setup.cfg pins")


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from a cleared Keras session and a fixed seed."""
    keras.backend.clear_session(free_memory=False)  # a full gc.collect() costs ~0.5 s a test
    keras.utils.set_random_seed(1234)
    yield
