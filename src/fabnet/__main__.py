"""`python -m fabnet`: the same entry point as the `fabnet` console script."""

from fabnet.cli import main

if __name__ == "__main__":
    main()
