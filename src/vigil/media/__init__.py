"""Stage 1 of the data's way: getting bytes and pixels out of evidence.

``sniff`` tells what a file is from its content, ``reader`` opens evidence
read-only, ``images`` and ``video`` decode pixels with the limits that hostile
input needs.
"""
