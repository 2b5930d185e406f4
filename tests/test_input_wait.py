"""bench/input_wait.py (issue 35, item 6): the share of a training step the input pipeline
costs, measured at a program's own `fit` by replaying the same batches from memory."""

import json
import textwrap

import pytest

from _scripts import load_script

PROGRAM = textwrap.dedent("""
    import sys, time
    import numpy as np, keras, tensorflow as tf

    slow = float(sys.argv[1])
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    data = tf.data.Dataset.from_tensor_slices((np.ones((64, 4), "float32"),
                                              np.ones((64, 2), "float32"))).batch(8)
    def wait(x, y):
        time.sleep(slow)
        return x, y
    data = data.map(lambda x, y: tf.numpy_function(wait, [x, y], [tf.float32, tf.float32],
                                                   stateful=True))
    data = data.map(lambda x, y: (tf.ensure_shape(x, (None, 4)), tf.ensure_shape(y, (None, 2))))
    model.fit(data, epochs=1, verbose=0)
    model.fit(np.ones((16, 4), "float32"), np.ones((16, 2), "float32"), batch_size=4,
              validation_split=0.25, epochs=1, verbose=0)
    print("AFTER THE FITS")
""")


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "program.py"
    path.write_text(PROGRAM)
    return path


def test_a_slow_pipeline_shows_as_waiting_and_the_program_stops_after_it(program, tmp_path,
                                                                         capsys):
    bench = load_script("bench", "input_wait")
    output = tmp_path / "figures.json"
    assert bench.main(["--steps", "10", "--rounds", "2", "--output", str(output), "--",
                       str(program), "0.02"]) == 0
    figures = json.loads(output.read_text())
    (fit,) = figures["fits"]
    # a 20 ms sleep per batch against a microsecond-sized step: almost all of it is waiting
    assert fit["wait_share"] > 0.5 and fit["real_ms_per_step"] > 15 > fit["cached_ms_per_step"]
    assert fit["steps"] == 10 and len(fit["real_seconds"]) == 2
    out = capsys.readouterr().out
    assert "wait share" in out and "AFTER THE FITS" not in out  # stopped after the measured fit


def test_later_fits_are_measured_after_the_earlier_ones_ran(program, tmp_path, capsys):
    bench = load_script("bench", "input_wait")
    output = tmp_path / "figures.json"
    assert bench.main(["--steps", "10", "--rounds", "1", "--fits", "3", "--output",
                       str(output), "--", str(program), "0"]) == 0
    fits = json.loads(output.read_text())["fits"]
    assert [fit["fit"] for fit in fits] == [1, 2]  # the program has two fits, both measured
    assert all(0 <= fit["wait_share"] < 1 for fit in fits)
    assert "AFTER THE FITS" in capsys.readouterr().out  # it ran to its end


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0", "--", "apps/tiny_example.py"], "--steps must be a positive integer, got 0"),
    (["--seconds", "-1", "--", "apps/tiny_example.py"], "--seconds must be a positive number"),
    ([], "give either --survey or a program after --"),
    (["--", "apps/no_such_app.py"], "no such program 'apps/no_such_app.py'"),
    (["--", "-m"], "-m needs a module"),
])
def test_bad_options_are_refused_in_one_line(argv, message, capsys):
    bench = load_script("bench", "input_wait")
    with pytest.raises(SystemExit) as stop:
        bench.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1]
