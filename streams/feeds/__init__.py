"""News feeds polled on their own schedule: the table of sources and their validators."""

from streams.feeds.store import (
    Feed,
    FeedError,
    add_feed,
    claim_due_feeds,
    list_feeds,
    record_poll,
    remove_feed,
)

__all__ = ["Feed", "FeedError", "add_feed", "claim_due_feeds", "list_feeds", "record_poll",
           "remove_feed"]
