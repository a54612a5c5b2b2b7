"""Running sweep jobs as separate processes on slices of a device pool (the ``hydra/launcher=seqforge`` plugin's
engine)."""

from seqforge.launch.devices import detect_pool, devices_per_job
from seqforge.launch.scheduler import DISTRIBUTED_VARS, Job, Outcome, clean_environment, run_jobs
from seqforge.launch.summary import Row, print_summary, write_summary

__all__ = [
    "DISTRIBUTED_VARS", "Job", "Outcome", "Row", "clean_environment", "detect_pool", "devices_per_job",
    "print_summary", "run_jobs", "write_summary",
]
