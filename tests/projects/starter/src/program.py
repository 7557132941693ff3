"""The service: statistics of a list of numbers. Imported as `src.program`, so the relative
import below works only the way the platform imports it (the project root on sys.path)."""

from typing import Any, Dict, Optional

from .libs.return_objects import ErrorResponse, ResultResponse, Response


def run(data: Dict[str, Any], params: Optional[Dict[str, Any]] = None) -> Response:
    params = params or {}
    values = data.get("values", [])
    if not values:
        return ErrorResponse(code="400", detail="data.values is empty")
    scale = params.get("scale", 1)
    scaled = [v * scale for v in values]
    print(f"starter: {len(values)} values, scale {scale}")
    return ResultResponse(
        result={"sum": sum(scaled), "min": min(scaled), "max": max(scaled)},
        metadata={"count": len(values), "scale": scale},
    )
