"""`python -m runapi_mock` is `runapi-mock`."""

import sys

from .serving.cli import main

sys.exit(main())
