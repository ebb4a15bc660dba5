import sys

from notus.cli.main import main

sys.exit(main())
