"""Rendering: an attribute table -> pixels, per-symbol masks and the JSON labels.

The renderer (``compose``) warps glyphs of the atlas (``glyphs``) and fills them with patterns
(``patterns``); the per-pixel work runs in compiled kernels, C (``ckernels``) or numba
(``kernels``), chosen by ``backend``, which agree on the ``contract``; ``labels`` writes the
Synbols-compatible labels. Import the modules themselves: this face stays empty, so that
importing the light ones (the contract) does not load the others.
"""
