import sys

from ethos.cli import main

sys.exit(main())
