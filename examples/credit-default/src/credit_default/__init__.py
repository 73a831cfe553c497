"""Credit Default: an MLOps level 2 project (training and execution pipelines).

Everything the notebooks, the Data Factory pipelines and the CLI run lives in this package.
The four modules a data scientist edits are ``data_source``, ``cleaning``, ``features`` and
``model``; the rest is the pipeline's machinery.
"""

__version__ = "0.1.0"
