"""Vendor record layouts, one module per format, each a declaration read by ``ingest.layout``."""
