"""One module per ``reconciler`` sub-command: ``add_parser(sub)`` and ``run(args) -> int``.

The modules stay thin: options in, one library call, render, exit code.
"""
