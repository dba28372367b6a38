"""`ApiConnection`: requests to a Taskline server over httpx (asyncio), answers read by `protocol`.

Shared by the client (`HttpEngine`) and the worker (`HttpTransport`), so both read error
responses, Retry-After and an unreachable server the same way.
"""

from typing import Any, TypeVar

import httpx

from taskline.client import protocol
from taskline.errors import BackendUnavailable

T = TypeVar("T")


class ApiConnection:
    def __init__(
        self, url: str, *, api_key: str | None, timeout: float | httpx.Timeout, max_connections: int = 100
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=protocol.request_headers(api_key),
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
        return await self._send(method, protocol.target(path, params), protocol.encode_body(body), headers)

    async def send(self, call: "protocol.Call[T]") -> T:
        """Make one client call (see `call` for what it raises)."""
        return call.read(await self._send(call.method, call.target, call.body, call.headers))

    async def _send(self, method: str, target: str, body: bytes | None, headers: Any) -> Any:
        try:
            response = await self._http.request(method, target, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"could not reach {self.url}: {exc!r}") from exc
        return protocol.answer(response.status_code, response.content, response.headers.get("retry-after"))

    async def close(self) -> None:
        await self._http.aclose()
