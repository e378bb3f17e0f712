"""`python -m samlfed`: the samlfed command."""

from .cli import main

main()
