"""`python -m samlfed`: the samlfed command."""

from .cli import main

if __name__ == "__main__":  # not when a tool imports every module of the package
    main()
