"""Threadline's speed targets, run by `make bench`.

Every benchmark is timed beside two floors measured in the same run: a
trivial one-query view and a plain one-page WeasyPrint document, so results
read as ratios that mean the same on a fast or a slow machine.
"""
