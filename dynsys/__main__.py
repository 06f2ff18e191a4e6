"""``python -m dynsys``: the ``dynsys`` command (:mod:`dynsys.cli`) without the console script."""

if __name__ == "__main__":  # importing this module (as doctest collection does) runs nothing
    from dynsys.cli import main

    raise SystemExit(main(prog="python -m dynsys"))
