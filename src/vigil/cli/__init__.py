"""The ``vigil`` command line: thin commands over the library."""
