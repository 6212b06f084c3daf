"""`receptionist demo`: the local stack's command, plugged into the product's command line.

It provisions the demo tenants and calls them through the running stack's Asterisk. The
product's `receptionist` knows nothing of the stack: it finds this command through the entry
point group `receptionist.commands` (see pyproject.toml).
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError
from rcp_admin.routing import validation_error

from rcp_devstack import demo
from rcp_devstack.processes import StackError
from rcp_devstack.settings import StackSettings


class DemoCommand:
    """Provision the demo tenants and call each; needs the stack running."""

    help = (
        "provision the demo tenants and call them through the running stack's Asterisk, "
        "printing what the caller hears and what happens at each step"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """--language fr|en|all."""
        parser.add_argument("--language", choices=["fr", "en", "all"], default="all")

    def run(self, args: argparse.Namespace) -> int:
        """Call the demo tenants; a problem is one line on stderr and exit status 1."""
        languages = list(demo.DEMOS) if args.language == "all" else [args.language]
        try:
            demo.run_demo(StackSettings(), languages)
        except ValidationError as error:
            problem = validation_error(error)
            print(f"receptionist: {problem.message} ({problem.field})", file=sys.stderr)
            return 1
        except (StackError, LookupError, OSError) as error:  # TimeoutError is an OSError
            print(f"receptionist: demo: {error or type(error).__name__}", file=sys.stderr)
            return 1
        return 0


command = DemoCommand()
