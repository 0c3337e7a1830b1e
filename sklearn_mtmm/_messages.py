"""Wording shared by the package's error messages."""

import difflib


def did_you_mean(key, choices):
    """``" Did you mean 'x'?"`` for the choice closest to ``key``, else ``""``."""
    close = difflib.get_close_matches(str(key), [str(c) for c in choices], n=1)
    if not close:
        return ""
    return f" Did you mean {close[0]!r}?"
