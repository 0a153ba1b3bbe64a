"""Checks shared by the CLI tests: what a refused command prints."""


def one_line_error(capsys, *needles):
    """stderr is exactly one line, no traceback, containing every needle; returns it."""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err
