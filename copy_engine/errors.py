"""Errors that carry a message fit to show a user (CLI stderr line, UI message)."""


class CopyLabError(Exception):
    """A problem caused by input or configuration, with a one-line human explanation."""


class InputError(CopyLabError):
    """Bad user input: a file, a field, a slider value or a CSV row."""


class ModelLoadError(CopyLabError):
    """The configured model (or adapter) could not be loaded."""


class DatabaseBusyError(CopyLabError):
    """Another writer held the database lock for longer than the retries allow; nothing was changed."""
