"""Errors the user can act on: each prints as one line and exits with code 2."""

USER_ERROR_EXIT = 2
INTERRUPTED_EXIT = 130


class UserError(Exception):
    """Bad input or environment: the message says what is wrong and what to do."""
