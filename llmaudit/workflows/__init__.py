"""workflows layer: one function per command, typed options in, a typed result out.

Each module holds one command's work (``report --spend``, ``report RUN_DIR``, ``replay``,
``check``, ``ingest``, ``demo``, …): a frozen options dataclass, a result dataclass and the
function that composes the analysis, replay, pricing and ingest calls. No printing, no typer, no
rich: the CLI parses flags, calls the workflow and renders its result through one output writer
(``cli/_output.py``). What a person should hear while the work runs (a warning before a long
replay, "judging …") goes to the ``Notices`` the caller hands in; a progress bar is handed in the
same way. Modules are imported by the command that needs them (nothing is re-exported here), so
``llmaudit --help`` loads none of this.
"""
