"""`python -m graphspace`: the same command line as `graphspace`."""

from graphspace.cli import main

if __name__ == "__main__":
    main(prog_name="graphspace")
