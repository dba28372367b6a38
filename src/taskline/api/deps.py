"""What routes reach through the request: the service the app's lifespan built."""

from fastapi import Request

from taskline.service import TaskService


def service_of(request: Request) -> TaskService:
    service: TaskService = request.app.state.service
    return service
