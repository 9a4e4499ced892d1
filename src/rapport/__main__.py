"""`python -m rapport` runs the same CLI as the `rapport` console script."""

from rapport.cli.main import main

if __name__ == "__main__":
    main()
