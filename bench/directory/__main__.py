"""`python -m bench.directory`: run the directory benchmark."""

from __future__ import annotations

from bench.directory.run import main

main()
