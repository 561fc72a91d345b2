"""Imported last by the forkserver (:mod:`engine.runtime.forkserver`): importing it freezes
the garbage collector's view of everything imported since :mod:`engine.runtime.gcpause`.

The forkserver's only hook is its list of modules to import, so these imports are the
steps (what CPython's documentation of ``gc.freeze`` advises before forking). Frozen
objects sit in a permanent generation that no collection traverses: a full collection in
a forked child then does not write to the header of every inherited object, which would
copy each page it shares with the server and its siblings. The objects are module-level
and live as long as the process anyway. Import it nowhere else.
"""

import gc

gc.freeze()
gc.enable()  # the children inherit it on
