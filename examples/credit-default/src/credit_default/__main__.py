"""`python -m credit_default <command>`."""

from .cli import main

raise SystemExit(main())
