"""Dependencies routes declare: the service built by the app's lifespan."""

from typing import Annotated

from fastapi import Depends, Request

from taskline.service import TaskService


async def get_service(request: Request) -> TaskService:
    service: TaskService = request.app.state.service
    return service


Service = Annotated[TaskService, Depends(get_service)]
