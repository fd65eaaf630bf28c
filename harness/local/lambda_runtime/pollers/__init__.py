"""One poller per enabled event-source mapping, by the kind of its event source."""
