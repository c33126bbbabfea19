"""python -m minigrad.autograder check 3  (the same as `minigrad lesson check 3`)."""
import sys

from . import main

sys.exit(main())
