"""`python -m keyguard` runs the command-line interface."""

from keyguard.cli import main

if __name__ == "__main__":
    main()
