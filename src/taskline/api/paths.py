"""Path parameters that may hold `/`: a worker's id (a pod's `ns/name`, a path) is one.

Starlette's `path` convertor matches an empty value too, so `/admin/workers/` would be the
worker "" (a 422) instead of the redirect to `/admin/workers` every other trailing slash gets;
`segments` is one character or more of anything, `/` included.
"""

from starlette.convertors import Convertor, register_url_convertor


class SegmentsConvertor(Convertor[str]):
    regex = ".+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("segments", SegmentsConvertor())
