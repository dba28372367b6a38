"""Python clients of Taskline: `Client` (blocking) and `AsyncClient`, over HTTP or straight on Redis."""

from taskline.client.async_ import AsyncClient, TaskOptions
from taskline.client.errors import UnexpectedResponse, WaitTimeout
from taskline.client.sync import Client
from taskline.core.task import Stats

__all__ = ["AsyncClient", "Client", "Stats", "TaskOptions", "UnexpectedResponse", "WaitTimeout"]
