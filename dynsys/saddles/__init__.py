"""Saddle search between minima, every result verified by the flow.

Newton from random seeds rarely lands on index-1 saddles in high dimension; the searches here go
where saddles are. :func:`string_method` relaxes climbing strings between pairs of minima (one
batched gradient call per iteration over all images of all strings) and splits them at the
intermediate minima they find; :func:`dimer_search` follows the lowest Hessian mode uphill from
many starting states at once. :func:`find_saddles` refines every candidate by Newton, classifies
it by its Hessian, and accepts it only when it has index 1 and the two halves of its unstable
manifold, traced by the flow (:func:`dynsys.graph.critical_point_graph`), end at two distinct
minima; the outcome of every candidate is a :class:`dynsys.Status` code (``converged``,
``wrong_index``, ``unconnected``, or Newton's failure). :func:`graph_points` hands the minima and
the saddles found to :func:`dynsys.graph.critical_point_graph`. The same seed gives the same
result, bit for bit.

References
----------
W. E, W. Ren and E. Vanden-Eijnden, J. Chem. Phys. 126, 164103 (2007).
W. Ren and E. Vanden-Eijnden, J. Chem. Phys. 138, 134105 (2013).
G. Henkelman and H. Jonsson, J. Chem. Phys. 111, 7010 (1999).
K. Mueller and L. D. Brown, Theor. Chim. Acta 53, 75 (1979).
"""

from ._dimer import dimer_search
from ._find import find_saddles, graph_points
from ._options import SaddleOptions
from ._string import string_method

__all__ = ["SaddleOptions", "dimer_search", "find_saddles", "graph_points", "string_method"]
