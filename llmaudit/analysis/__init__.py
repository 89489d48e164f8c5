"""The analysis layer, in three rooms: spend (logs), routing (what-if and strategies) and gate (the check),
over common (what they share)."""
