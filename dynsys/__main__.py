"""``python -m dynsys``: the ``dynsys`` command (:mod:`dynsys.cli`) without the console script."""

if __name__ == "__main__":  # importing this module (as doctest collection does) runs nothing
    import gc

    from dynsys.cli import main

    code = main(prog="python -m dynsys")
    # The process ends here. Its files are written and closed, and stdout is flushed at exit;
    # freezing the objects keeps the interpreter's shutdown from traversing everything the
    # command imported once more for reference cycles (a quarter of a second of CPU after
    # `continue`). Only finalizers of objects left in cycles are skipped, which Python never
    # promises to run at exit.
    gc.freeze()
    raise SystemExit(code)
