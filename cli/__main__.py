"""``python -m cli``: the same as the ``edc`` command."""

from cli import main

main()
