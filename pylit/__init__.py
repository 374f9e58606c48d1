"""
# pylit

Our site generator: commented Python modules become pages with the notes on the left and the
code on the right, math typeset on the server with KaTeX.
"""

__version__ = '0.1.0'
