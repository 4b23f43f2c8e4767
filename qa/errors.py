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


class ArticleNotFoundError(QAError):
    """No indexed article has the id given."""

    exit_code = 2
    http_status = 404


class IndexBusyError(QAError):
    """Another process holds the index's write lock (a full rebuild, say) for too long."""

    exit_code = 5
    http_status = 503


class AccessDeniedError(QAError):
    """A request without the API key a protected endpoint needs."""

    exit_code = 2
    http_status = 401


class WritesDisabledError(QAError):
    """A write over HTTP while no API key is configured: writes are closed, not open."""

    exit_code = 2
    http_status = 403
