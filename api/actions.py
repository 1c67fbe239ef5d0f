"""POST /api/actions/{defang,refang,extract}: stateless text tools (bodies are never logged)."""

from __future__ import annotations

import falcon

from api.body import read_json_object, string_field
from shared.iocs import extract, fang


class _TextAction:
    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    def text(self, req: falcon.Request) -> str:
        return string_field(read_json_object(req, self.max_body_bytes), "text")


class Defang(_TextAction):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"result": fang.defang(self.text(req))}


class Refang(_TextAction):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"result": fang.refang(self.text(req))}


class Extract(_TextAction):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"indicators": extract.extract(self.text(req))}
