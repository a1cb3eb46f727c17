"""`python -m f1` is the `f1` command."""

import sys

from f1.cli import main

sys.exit(main())
