"""``/_sandbox/*``: control of a running stand-in from another process (CLI sandbox, e2e tests).

GET  /_sandbox/state          counts, pending faults, posted replies
GET  /_sandbox/posted         what the desk posted through the API
POST /_sandbox/faults         {"fault": name, "path": glob, "times": n, ...params}
POST /_sandbox/faults/clear   drop every pending fault
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from desk.sandbox.faults import FaultError, FaultPlan
from desk.sandbox.wire import Request, Response


def control_response(
    request: Request,
    faults: FaultPlan,
    state: Callable[[], dict[str, Any]],
    posted: Callable[[], list[dict[str, Any]]],
    content_type: str,
) -> Response:
    route = (request.method, request.path.rstrip("/"))
    if route == ("GET", "/_sandbox/state"):
        return Response.json(200, {**state(), "posted": posted()}, content_type)
    if route == ("GET", "/_sandbox/posted"):
        return Response.json(200, {"posted": posted()}, content_type)
    if route == ("POST", "/_sandbox/faults/clear"):
        faults.clear()
        return Response.json(200, {"cleared": True}, content_type)
    if route == ("POST", "/_sandbox/faults"):
        try:
            spec = json.loads(request.body.decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            return Response.json(400, {"error": "body must be a JSON object"}, content_type)
        if not isinstance(spec, dict) or not isinstance(spec.get("fault"), str):
            return Response.json(
                400, {"error": 'body must be a JSON object with a "fault" name'}, content_type
            )
        name = spec.pop("fault")
        path = str(spec.pop("path", "*"))
        times = spec.pop("times", 1)
        try:
            fault = faults.inject(name, path=path, times=times, **spec)
        except (FaultError, TypeError, ValueError) as exc:
            return Response.json(400, {"error": str(exc)}, content_type)
        return Response.json(200, {"injected": fault.as_dict()}, content_type)
    return Response.json(
        404, {"error": f"no sandbox control at {request.method} {request.path}"}, content_type
    )
