"""``python -m tabsynth``: the same as the ``tabsynth`` command."""

from tabsynth.cli import main

if __name__ == "__main__":
    main()
