"""Imported first by the forkserver (:mod:`engine.runtime.forkserver`): importing it turns
the garbage collector off until :mod:`engine.runtime.gcfreeze` freezes what the imports
in between created. A collection meanwhile would free objects among the survivors and
leave holes in shared pages, which forked children then fill, copying the pages."""

import gc

gc.disable()
