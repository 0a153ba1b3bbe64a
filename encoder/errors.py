"""Errors that reach the user as one line and a non-zero exit."""


class UserError(Exception):
    """Bad input, a bad file, or a refused action; the message names the file, row or field."""
