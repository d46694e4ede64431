"""`archive serve`: the clerks' web page and the HTTP API over one read-only `Archive`."""
