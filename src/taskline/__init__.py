"""Taskline: a distributed task queue service. Submit over HTTP from any language; run anywhere."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("taskline")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

# Imported after __version__, which the clients read.
from taskline.client import AsyncClient, Client
from taskline.worker.app import App, TaskContext
from taskline.worker.outcomes import Fail, Retry

__all__ = ["App", "AsyncClient", "Client", "Fail", "Retry", "TaskContext", "__version__"]
