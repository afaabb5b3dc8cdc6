import sys

from finetune_cookbook.cli import main

sys.exit(main())
