"""What the template and a rendered project do with bad input, measured: `python -m reliability` writes docs/reliability.md."""
