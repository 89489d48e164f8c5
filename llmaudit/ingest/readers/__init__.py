"""One module per log format (or per vendor); each exposes ``sniff`` and ``read`` functions."""
