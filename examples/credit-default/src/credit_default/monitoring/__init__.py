"""Production monitoring (Esteira 2): what the champion's inputs and predictions looked like when
it was validated (``baseline``), how far a scored batch moved from there (``drift``), how good
the predictions were once labels arrived (``performance``) and what to do about it (``rules``).

Every statistic over a batch is a Spark aggregation; only small summaries (bin counts, a few
numbers per feature) ever reach the driver.
"""
