"""`ApiConnection`: requests to a Taskline server, answers as JSON, errors as `taskline.errors`.

Shared by the client (`HttpEngine`) and the worker (`HttpTransport`), so both read error
responses, Retry-After and an unreachable server the same way.
"""

from typing import Any

import httpx
import orjson

from taskline import __version__
from taskline.client.errors import error_from_response
from taskline.errors import BackendUnavailable


class ApiConnection:
    def __init__(
        self, url: str, *, api_key: str | None, timeout: float | httpx.Timeout, max_connections: int = 100
    ) -> None:
        headers = {"User-Agent": f"taskline-client/{__version__}", "Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One request; the decoded JSON answer (None for an empty one), or the error it stands for raised.

        Raises:
            BackendUnavailable: the server could not be reached.
            TasklineError: the class of the error code the server answered.
        """
        content = None if body is None else orjson.dumps(body)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path, content=content, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"could not reach {self.url}: {exc!r}") from exc
        if response.status_code >= 400:
            try:
                error_body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                error_body = None
            raise error_from_response(response.status_code, error_body, response.headers.get("retry-after"))
        return orjson.loads(response.content) if response.content else None

    async def close(self) -> None:
        await self._http.aclose()
