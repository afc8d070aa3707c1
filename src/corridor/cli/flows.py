"""Commands: ``flows``, ``scenario``, ``compare``, ``critical``."""
