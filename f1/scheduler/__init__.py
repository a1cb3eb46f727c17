"""The async DAG scheduler: runs plan steps as their dependencies finish, and records a `Trace`."""

from f1.scheduler.abandon import abandoned
from f1.scheduler.executor import Scheduler, run_plan
from f1.scheduler.trace import ErrorKind, StepError, StepRecord, StepStatus, Trace

__all__ = ["ErrorKind", "Scheduler", "StepError", "StepRecord", "StepStatus", "Trace", "abandoned", "run_plan"]
