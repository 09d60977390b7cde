import sys

from gateway import cli

sys.exit(cli.main())
