#!/usr/bin/env python
"""Django's command-line utility; the same as the ``newsletter`` console command."""

from mailer.cli import main

if __name__ == "__main__":
    main()
