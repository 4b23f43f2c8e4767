"""The few errors the product raises on purpose.

Every interface maps them the same way: the CLI prints the message on one line and exits
with ``exit_code``; the HTTP server answers with ``http_status`` and the message.
Anything else escaping is a bug.
"""


class QAError(Exception):
    """Base class: a failure with a message meant for the person who caused it."""

    exit_code = 1
    http_status = 500


class InvalidInputError(QAError):
    """A question, option or file the caller gave us cannot be used as given."""

    exit_code = 2
    http_status = 422


class IndexNotFoundError(QAError):
    """There is no built index where one was expected."""

    exit_code = 3
    http_status = 503


class IndexMismatchError(QAError):
    """An index exists but was built with another model, dimension or format."""

    exit_code = 3
    http_status = 503


class CorruptIndexError(QAError):
    """An index directory exists but its files cannot be read."""

    exit_code = 3
    http_status = 503


class NoArticlesError(InvalidInputError):
    """Indexing found no readable article in the paths given."""


class ModelError(QAError):
    """The embedding model could not be loaded, converted or verified."""

    exit_code = 4
    http_status = 503
