"""Python clients of Taskline: `Client` (blocking) and `AsyncClient`, over HTTP or straight on Redis."""

from taskline.client.async_ import AsyncClient, AsyncSchedules, ScheduleTaskOptions, TaskOptions
from taskline.client.errors import UnexpectedResponse, WaitTimeout
from taskline.client.events import Event
from taskline.client.schedules import Schedule
from taskline.client.sync import Client, Schedules
from taskline.core.task import Stats

__all__ = [
    "AsyncClient",
    "AsyncSchedules",
    "Client",
    "Event",
    "Schedule",
    "ScheduleTaskOptions",
    "Schedules",
    "Stats",
    "TaskOptions",
    "UnexpectedResponse",
    "WaitTimeout",
]
