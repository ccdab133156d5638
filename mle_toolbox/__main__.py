"""``python -m mle_toolbox`` is the ``mle`` command."""

import sys

from .cli import main

sys.exit(main())
