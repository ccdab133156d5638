"""One module per CLI command: run, eval, resume, status, cancel, report, ls/show, init."""
