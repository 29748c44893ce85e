"""Reading agreement folders at scale: the parse cache and the parallel reader.

:mod:`tracker.loader` stays the reference (every error located); :func:`read.read_agreements`
gives the same agreements faster, and falls back to the loader whenever a file fails.
"""
