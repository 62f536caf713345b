"""`python -m runapi_mock` is `runapi-mock`."""

import sys

from .cli import main

sys.exit(main())
