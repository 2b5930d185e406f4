"""Run `keras-dl` in-process from a test."""

from keras_dl import cli


def run_cli(capsys, *argv):
    """`keras-dl argv` in-process: (exit code, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err
