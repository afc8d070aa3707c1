"""Commands: ``report``, ``serve``."""
