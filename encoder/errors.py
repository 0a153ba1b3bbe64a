"""Errors that reach the user as one line and a non-zero exit."""


class UserError(Exception):
    """Bad input, a bad file, or a refused action; the message names the file, row or field."""


def warn(message: str) -> None:
    """A pitfall the user should know about, on stderr as one line; the command goes on."""
    import sys
    print(f"encoder: warning: {message}", file=sys.stderr)
