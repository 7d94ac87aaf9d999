"""Training on engines beyond one process: Spark (``ials``) and torchrun (``mf``).

Each engine trains the same model class as ``--engine local`` and returns a fitted model
that :func:`unrated.modelfile.save_model` writes to the same model file.
"""
