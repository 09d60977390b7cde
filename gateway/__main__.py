"""`python -m gateway`: the `wxgate` command line (gateway.cli)."""

import sys

from gateway import cli

sys.exit(cli.main())
