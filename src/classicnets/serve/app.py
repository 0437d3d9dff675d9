"""The explainer's routes: a Starlette app around one trained image model.

Every answer is computed in memory from what the request sends; nothing a request sends is
written anywhere, and no route takes a file path: the page and its two assets are read from the
package once, when the app is made. Request bodies over :data:`MAX_BODY` bytes get 413
(declared ``Content-Length`` or counted as they stream in); a body or field that cannot be used
gets 400 with one sentence.

Routes: ``GET /`` (and ``/static/app.js``, ``/static/style.css``): the page. ``GET /api/run``:
the served run. ``POST /api/predict {"image": PNG data URL}``: class probabilities, the input
as the model takes it and every layer's output. ``POST /api/explain {"image", "layer",
"channel", "y", "x"}``: one convolution unit as window x kernel + bias. ``POST
/api/playground``: a cross-correlation (and pooling) of small matrices, step by step; ``GET
/api/presets``: the course's worked examples. ``GET /api/model``: the served model's summary
and receptive fields; ``GET /api/architectures``, ``GET /api/architecture?name=NAME``: those of
any registered image model at its native input size.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
from dataclasses import dataclass
from importlib import resources

import torch
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..analysis import receptive_field, summary
from ..errors import ClassicnetsError
from ..models import list_models, model_info
from ..train import Model
from .drawing import DrawingRecipe, decode_drawing
from .explain import explain_unit, layers_json, run_layers
from .playground import PRESETS, playground

MAX_BODY = 1_000_000  # bytes: a drawing's PNG is some 10-30 kB
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    # the page's own script and style only, and no framing by other sites
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class ServedRun:
    """What the app serves: a trained image model and where it came from."""

    model: Model
    model_name: str
    data: str | None
    source: str  # the run directory or checkpoint, for the page's header


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit`` bytes, whether its
    ``Content-Length`` says so or the bytes streamed in (chunked) add up past it. The body is
    read here, in memory, and handed on whole."""

    def __init__(self, app, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit
        self.too_large = (
            f"The request body is over {limit / 1e6:g} MB ({limit:,} bytes); send less."
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._reply(send, 400, "The Content-Length header is not a number.")
                return
            if int(declared) > self.limit:
                await self._reply(send, 413, self.too_large)
                return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._reply(send, 413, self.too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, handed = b"".join(chunks), False

        async def replay():
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _reply(send, status: int, message: str) -> None:
        response = JSONResponse({"error": message}, status_code=status, headers=HEADERS)
        response.headers["Connection"] = "close"
        await response({"type": "http"}, None, send)


async def _json_body(request: Request) -> dict:
    body = await request.body()
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ClassicnetsError("The request body is not UTF-8 text; send JSON.") from None
    except json.JSONDecodeError as err:
        raise ClassicnetsError(
            f"The request body is not valid JSON ({err.msg} at line {err.lineno}, column "
            f"{err.colno})."
        ) from None
    if not isinstance(data, dict):
        raise ClassicnetsError("The request body must be a JSON object.")
    return data


def _architecture_rows(module_or_name, input_size) -> dict:
    """A summary (layer, output shape, params, MACs) and receptive fields as JSON."""
    table = summary(module_or_name, input_size=input_size).to_json()
    fields = receptive_field(module_or_name, input_size)
    table["receptive"] = [{**dataclasses.asdict(f), "type": f.layer} for f in fields]
    return table


@functools.cache
def architecture(name: str) -> dict:
    """A registered image model at its native input size, built on the meta device (shapes
    only: no weights are allocated, so even EfficientNet-B7 takes a fraction of a second)."""
    info = model_info(name)
    if "sequence" in info.tags:
        raise ClassicnetsError(f"Model '{name}' is a language model; pick an image model.")
    with torch.device("meta"):
        table = _architecture_rows(name, tuple(info.input_size))
    return {"name": name, "family": info.family, "year": info.year, "paper": info.paper, **table}


def image_models() -> list[dict]:
    """The registered image models (language models, tagged ``sequence``, left out)."""
    rows = []
    for name in list_models():
        info = model_info(name)
        if "sequence" not in info.tags:
            rows.append({"name": name, "family": info.family, "year": info.year})
    return rows


# The course's worked examples, as `classicnets conv` and its tests define them: the 3x3
# input 0..8 cross-correlated with the 2x2 kernel 0..3 (19 25 37 43), with padding 1, and
# with padding 1 and stride 3x2 (0 8 6 8).
def create_app(served: ServedRun, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The explainer for ``served``'s model.

    Args:
        served: the model and where it came from.
        allowed_hosts: the ``Host`` headers answered (others get 400, so that a web page cannot
            reach a loopback server by pointing a name of its own at 127.0.0.1); any when None.

    Raises:
        ClassicnetsError: the model does not take images of a recorded shape.
    """
    model = served.model
    model.module.eval()
    recipe = DrawingRecipe(model, served.data)
    lock = threading.Lock()  # the layers are watched with hooks: one pass at a time
    pages = {
        path: (resources.files(__package__).joinpath("static", name).read_bytes(), kind)
        for path, (name, kind) in ASSETS.items()
    }
    with lock:
        own = _architecture_rows(model.module, tuple(model.input_shape))
    classes = list(model.classes or (str(i) for i in range(own["layers"][-1]["output_shape"][-1])))
    run_info = {
        "model": served.model_name,
        "data": served.data,
        "source": served.source,
        "classes": classes,
        "input_shape": list(model.input_shape),
        "native_side": recipe.native_side,
        "preparation": recipe.text,
    }

    def look(image: object):
        prepared = recipe(decode_drawing(image))
        with lock:
            scores, records = run_layers(model, prepared.x)
        return prepared, scores, records

    def predict(data: dict) -> dict:
        prepared, scores, records = look(data.get("image"))
        probs = torch.softmax(scores.double(), dim=0)
        return {
            "probabilities": [
                {"class": name, "p": float(p)} for name, p in zip(classes, probs, strict=True)
            ],
            "top": classes[int(probs.argmax())],
            "native": prepared.native.tolist(),
            "input": prepared.raw.tolist(),
            "layers": layers_json(records),
        }

    def explain(data: dict) -> dict:
        _, _, records = look(data.get("image"))
        return explain_unit(
            records, data.get("layer"), data.get("channel"), data.get("y"), data.get("x")
        )

    def page(request: Request) -> Response:
        body, kind = pages[request.url.path]
        return Response(body, media_type=kind, headers=HEADERS)

    def posted(compute):
        async def endpoint(request: Request) -> Response:
            data = await _json_body(request)
            return JSONResponse(await run_in_threadpool(compute, data), headers=HEADERS)

        return endpoint

    async def run(_: Request) -> Response:
        return JSONResponse(run_info, headers=HEADERS)

    async def model_table(_: Request) -> Response:
        return JSONResponse({**own, **run_info}, headers=HEADERS)  # the run names the model

    async def presets(_: Request) -> Response:
        return JSONResponse(PRESETS, headers=HEADERS)

    async def architectures(_: Request) -> Response:
        return JSONResponse(image_models(), headers=HEADERS)

    async def one_architecture(request: Request) -> Response:
        name = request.query_params.get("name", "")
        if not name:
            raise ClassicnetsError("Give a model name: /api/architecture?name=lenet5.")
        return JSONResponse(await run_in_threadpool(architecture, name), headers=HEADERS)

    async def user_error(_: Request, err: Exception) -> Response:
        message = " ".join(str(err).split())  # one line
        return JSONResponse({"error": message}, status_code=400, headers=HEADERS)

    routes = [Route(path, page) for path in pages]
    routes += [
        Route("/api/run", run),
        Route("/api/model", model_table),
        Route("/api/presets", presets),
        Route("/api/architectures", architectures),
        Route("/api/architecture", one_architecture),
        Route("/api/predict", posted(predict), methods=["POST"]),
        Route("/api/explain", posted(explain), methods=["POST"]),
        Route("/api/playground", posted(playground), methods=["POST"]),
    ]
    middleware = [Middleware(BodyLimit)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers={ClassicnetsError: user_error}
    )
