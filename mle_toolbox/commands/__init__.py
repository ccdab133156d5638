"""One module per read-back command of the CLI: status, cancel, resume, ls/show, init."""
