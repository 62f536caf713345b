"""`python -m mockserver` is `runapi-mock`."""

import sys

from .cli import main

sys.exit(main())
