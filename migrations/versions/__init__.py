"""Numbered revisions, ``NNNN_slug.py``; each one reversible."""
