"""`python -m xietong` runs the CLI."""

from xietong.cli import main

main()
