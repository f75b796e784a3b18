"""python -m iaxphone.cli: the same as the iaxphone command."""

import sys

from iaxphone.cli import main

sys.exit(main())
