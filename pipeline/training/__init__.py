"""Training the models the product ships (``make train``, ``run.py train``): data, fitting, and
cross-validation grouped by event cluster."""
