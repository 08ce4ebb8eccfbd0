"""Everything the site is made of, one module per output behind one interface (base.py).

Each output says which artifacts it would make, each keyed by its inputs; the build's engine
decides which to make again. Adding an output is a module here and one line in pipeline/making.py.
"""
