"""`python -m watcher.extract FILE [SECONDS]`: one bounded extraction in a fresh interpreter, JSON out."""

import sys

from watcher.extract.worker import main

sys.exit(main())
