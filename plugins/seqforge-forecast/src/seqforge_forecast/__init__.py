"""seqforge-forecast: multi-step forecasting and step-by-step signal regression as a seqforge plugin.

The tasks live in :mod:`seqforge_forecast.tasks`, the data modules in :mod:`seqforge_forecast.series`;
importing this package (and its :mod:`~seqforge_forecast.plugin`) stays torch-free.
"""

__version__ = "0.1.0"
