"""`python -m {{ cookiecutter.__package_name }} <command>`."""

from .cli import main

raise SystemExit(main())
