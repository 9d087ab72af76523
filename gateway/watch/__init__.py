"""Watchlists: a member's own book, watched against every member's lists (issue 19).

What ``riskshare watch`` wraps (books and alerts in the member's ``watch.sqlite``),
and the store itself for tools that read it.
"""

from gateway._watch_store import Alert, Book, Evaluation, WatchStore, WatchView, read_watch
from gateway._watchlists import (
    BookRejected,
    WatchedBook,
    add_watch_book,
    read_book_file,
    remove_watch_book,
    watch_alerts,
    watch_books,
)

__all__ = [
    "Alert",
    "Book",
    "BookRejected",
    "Evaluation",
    "WatchStore",
    "WatchView",
    "WatchedBook",
    "add_watch_book",
    "read_book_file",
    "read_watch",
    "remove_watch_book",
    "watch_alerts",
    "watch_books",
]
