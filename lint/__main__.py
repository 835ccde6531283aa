"""`python -m holdfast` is the same as the `holdfast` command."""

from holdfast.cli import main

if __name__ == "__main__":
    main()
