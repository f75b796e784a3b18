"""python -m iaxphone: the same as the iaxphone command."""

import sys

from iaxphone.cli import main

sys.exit(main())
