"""One module per ``reconciler`` sub-command: ``add_parser(sub)`` and ``run(args) -> int``.

The modules stay thin: options in, one library call, render, exit code.

The CLI imports every module to build its parser, so a module imports at its top
only what defining its options needs (argparse, the standard library,
:mod:`reconciler.errors`, :mod:`reconciler.commands.common`); the library,
pydantic, rich and asyncio are imported inside the functions that run the
command (``# lazy: keeps `--help` light``). ``tests/e2e/test_cli_startup.py``
checks that ``--help`` stays that way.
"""
