"""``python -m unrated`` runs the command line."""

from unrated.cli import main

main()
