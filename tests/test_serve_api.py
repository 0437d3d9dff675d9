"""``classicnets serve``'s routes through Starlette's TestClient, against computations of our own:
a drawing prepared as the digits were made (worked out by hand for a rectangle), feature maps
against torch's convolution, every explained sum against the layer's own output, the course's
worked examples against ``torch.nn.functional.conv2d``, the size limit, one sentence for every
malformed request, and no file written by any of it."""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import io
import math
import shutil
import socket
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

with warnings.catch_warnings():  # Starlette 1.x would rather have httpx2; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import serve as serve_cli
from classicnets.errors import ClassicnetsError
from classicnets.runs import ImageRunConfig, load_run, train
from classicnets.serve import create_app, default_run, open_run, serve, server
from classicnets.serve.app import MAX_BODY, BodyLimit

X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
K = [[0, 1], [2, 3]]


def png(strokes=(), boxes=(), size=280, width=36) -> str:
    """A canvas like the page's: white ink on black, as a PNG data URL."""
    image = Image.new("RGB", (size, size), "black")
    draw = ImageDraw.Draw(image)
    for points in strokes:
        draw.line(points, fill="white", width=width, joint="curve")
        for x, y in points:
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill="white")
    for box in boxes:
        draw.rectangle(box, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def ellipse(cx, cy, rx, ry, n=48):
    return [
        (cx + rx * math.sin(2 * math.pi * t / n), cy - ry * math.cos(2 * math.pi * t / n))
        for t in range(n + 1)
    ]


ONE = png([[(140, 40), (140, 240)]])
ZERO = png([ellipse(140, 140, 60, 100)])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve") / "lenet5-digits"
    torch.set_num_threads(1)
    config = ImageRunConfig(model="lenet5", data="digits", out=str(out), precision="fp32")
    train(config, progress=False)
    return out


@pytest.fixture(scope="module")
def client(run_dir):
    return TestClient(create_app(open_run(run_dir)))


@pytest.fixture(scope="module")
def model(run_dir):
    return load_run(run_dir, device="cpu")[1]


def by_hand_input(model, served_input) -> torch.Tensor:
    """The normalised batch of one, computed here from the served uint8 image and the
    checkpoint's mean and std."""
    raw = torch.tensor(served_input, dtype=torch.float64)[None] / 255.0
    mean, std = model.mean[0], model.std[0]
    return ((raw - mean) / std).float()


def test_a_rectangle_becomes_the_digits_form_worked_out_by_hand(client):
    # A 100 x 200 block: fitted into 32x32 it is 16 wide and 32 tall, centred at columns 8..23,
    # so the 4x4 blocks of columns 2..5 are all set (16 -> 255) and the rest empty.
    answer = client.post("/api/predict", json={"image": png(boxes=[(90, 40, 189, 239)])})
    assert answer.status_code == 200
    native = torch.tensor(answer.json()["native"][0])
    expected = torch.zeros(8, 8, dtype=torch.int64)
    expected[:, 2:6] = 255
    assert torch.equal(native, expected)


def test_predict_gives_probabilities_and_every_layer(client, model):
    answer = client.post("/api/predict", json={"image": ONE})
    assert answer.status_code == 200
    data = answer.json()
    probs = [row["p"] for row in data["probabilities"]]
    assert abs(sum(probs) - 1) < 1e-9 and data["top"] == "1"
    assert [row["class"] for row in data["probabilities"]] == [str(d) for d in range(10)]
    names = [layer["name"] for layer in data["layers"]]
    assert names[:6] == [f"features.{i}" for i in range(6)] and names[-1] == "head.5"
    first = data["layers"][0]
    assert first["shape"] == [6, 28, 28] and first["explainable"]
    assert data["layers"][1]["after"] == "features.0"  # the sigmoid's units explain C1's
    # C1's maps against torch's own convolution of the input normalised here
    conv = model.module.features[0]
    x = by_hand_input(model, data["input"])
    expected = F.conv2d(x, conv.weight, conv.bias, padding=2)[0]
    served = torch.tensor(first["maps"])
    assert torch.allclose(served, expected, rtol=1e-3, atol=1e-3)
    logits = model.module.eval()(x)[0]
    assert torch.allclose(
        torch.tensor(probs, dtype=torch.float64), torch.softmax(logits.double(), 0), atol=1e-5
    )
    assert client.post("/api/predict", json={"image": ZERO}).json()["top"] == "0"


@pytest.mark.parametrize(
    "layer, channel, y, x",
    [("features.0", 3, 0, 0), ("features.0", 5, 14, 9), ("features.3", 7, 4, 6)],
)
def test_explained_sum_is_the_layers_pre_activation(client, model, layer, channel, y, x):
    answer = client.post(
        "/api/explain", json={"image": ZERO, "layer": layer, "channel": channel, "y": y, "x": x}
    )
    assert answer.status_code == 200
    e = answer.json()
    # the layer's output, taken here with a forward hook of our own
    served_input = client.post("/api/predict", json={"image": ZERO}).json()["input"]
    seen = {}
    module = model.module.eval()
    conv = module.get_submodule(layer)
    handle = conv.register_forward_hook(lambda m, i, o: seen.update(inp=i[0], out=o))
    with torch.no_grad():
        module(by_hand_input(model, served_input))
    handle.remove()
    assert abs(e["pre_activation"] - float(seen["out"][0, channel, y, x])) < 1e-4
    assert e["difference"] < 1e-4 and "before the activation function" in e["text"]
    # the window is the padded input at the unit's place; the sum is window x kernel + bias
    p, k = conv.padding[0], conv.kernel_size[0]
    padded = F.pad(seen["inp"][0], (p, p, p, p))
    window = padded[:, y : y + k, x : x + k]
    assert torch.allclose(
        torch.tensor(e["window"], dtype=torch.float64), window.double(), atol=1e-6
    )
    kernel = conv.weight[channel].detach().double()
    total = float((window.double() * kernel).sum() + conv.bias[channel].item())
    assert abs(e["pre_activation"] - total) < 1e-5  # the served window is float32's
    served = torch.tensor(e["window"], dtype=torch.float64) * kernel
    assert torch.equal(torch.tensor(e["products"], dtype=torch.float64), served)
    assert e["pre_activation"] == pytest.approx(served.sum().item() + e["bias"], abs=1e-12)
    assert e["source"] == ("input" if layer == "features.0" else "features.2")
    act = e["activation"]
    assert act["type"] == "Sigmoid" and abs(act["value"] - 1 / (1 + math.exp(-total))) < 1e-5


def _play(client, **fields):
    return client.post("/api/playground", json={"input": X, "kernel": K, **fields})


def _torch_corr(x, k, **kw):
    t = F.conv2d(
        torch.tensor(x, dtype=torch.float64)[None, None], torch.tensor(k).double()[None, None], **kw
    )
    return t[0, 0].tolist()


def test_playground_worked_examples(client):
    plain = _play(client).json()
    assert plain["output"] == [[19, 25], [37, 43]]
    assert plain["sizes"][0] == "height: ⌊(3 + 2×0 − 2) / 1⌋ + 1 = 2"
    assert plain["steps"][0]["line"] == "Y[0,0] = 0×0 + 1×1 + 3×2 + 4×3 = 19"
    assert plain["steps"][3]["cells"] == [[1, 1], [1, 2], [2, 1], [2, 2]]
    padded = _play(client, padding=1).json()
    assert padded["output"] == _torch_corr(X, K, padding=1) and padded["output_shape"] == [4, 4]
    strided = _play(client, padding=1, stride=[3, 2]).json()
    assert strided["output"] == [[0, 8], [6, 8]] == _torch_corr(X, K, padding=1, stride=(3, 2))
    assert strided["sizes"] == [
        "height: ⌊(3 + 2×1 − 2) / 3⌋ + 1 = 2",
        "width: ⌊(3 + 2×1 − 2) / 2⌋ + 1 = 2",
    ]
    for preset in client.get("/api/presets").json():  # the page's buttons
        answer = client.post("/api/playground", json=preset).json()
        kw = {"padding": preset["padding"], "stride": preset["stride"]}
        assert answer["output"] == _torch_corr(preset["input"], preset["kernel"], **kw)


def test_playground_dilation_and_pooling_match_torch(client):
    x = [[(i * 7 + j * 3) % 10 for j in range(6)] for i in range(6)]
    answer = client.post(
        "/api/playground",
        json={
            "input": x,
            "kernel": K,
            "dilation": 2,
            "padding": 1,
            "pool": {"mode": "max", "size": 2},
        },
    ).json()
    conv = _torch_corr(x, K, dilation=2, padding=1)
    assert answer["output"] == conv
    assert answer["sizes"][0] == "height: ⌊(6 + 2×1 − 2×(2 − 1) − 1) / 1⌋ + 1 = 6"
    assert [s["line"].rsplit("= ", 1)[1] for s in answer["steps"]] == [
        str(int(v)) for row in conv for v in row
    ]
    pooled = F.max_pool2d(torch.tensor(conv)[None], 2)[0].tolist()
    assert answer["pool"]["output"] == pooled and answer["pool"]["output_shape"] == [3, 3]
    avg = client.post(
        "/api/playground",
        json={"input": X, "kernel": K, "pool": {"mode": "avg", "size": 2, "stride": 1}},
    ).json()
    assert avg["pool"]["output"] == [[31.0]]


def test_body_over_one_megabyte_is_413(client):
    answer = client.post("/api/predict", content=b"x" * (MAX_BODY + 1))
    assert answer.status_code == 413 and "1 MB" in answer.json()["error"]
    assert client.post("/api/predict", content=b"{}" + b" " * (MAX_BODY - 2)).status_code == 400

    # A chunked body without Content-Length is counted as it streams in.
    reached = []

    async def inner(scope, receive, send):
        reached.append(True)

    sent = []
    chunks = [b"x" * 100_000] * 11

    async def receive():
        body = chunks.pop()
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/predict", "headers": []}
    asyncio.run(BodyLimit(inner)(scope, receive, send))
    assert sent[0]["status"] == 413 and not reached


@pytest.mark.parametrize(
    "path, body, words",
    [
        ("/api/predict", b"{nope", "not valid JSON"),
        ("/api/predict", b"[1, 2]", "must be a JSON object"),
        ("/api/predict", b"\xff\xfe", "not UTF-8"),
        ("/api/predict", {}, "field 'image'"),
        ("/api/predict", {"image": "%%%"}, "not valid base64"),
        ("/api/predict", {"image": base64.b64encode(b"not a png").decode()}, "cannot be read"),
        ("/api/predict", {"image": png(size=40, strokes=())}, "drawing is empty"),
        (
            "/api/explain",
            {"image": ONE, "layer": "head.1", "channel": 0, "y": 0, "x": 0},
            "not a Conv2d",
        ),
        ("/api/explain", {"image": ONE, "layer": "nope", "channel": 0, "y": 0, "x": 0}, "no layer"),
        (
            "/api/explain",
            {"image": ONE, "layer": "features.0", "channel": 6, "y": 0, "x": 0},
            "0 to 5",
        ),
        (
            "/api/explain",
            {"image": ONE, "layer": "features.0", "channel": 0, "y": "1", "x": 0},
            "'y'",
        ),
        ("/api/playground", {"input": X, "kernel": [[1] * 5] * 5}, "(3 - 5 + 0 + 1 = -1)"),
        (
            "/api/playground",
            {"input": X, "kernel": K, "stride": "abc"},
            "stride must be an integer",
        ),
        ("/api/playground", {"input": X, "kernel": K, "stride": 0}, "stride must be a positive"),
        ("/api/playground", {"input": [[1, 2], [3]], "kernel": K}, "rows of 'input'"),
        ("/api/playground", {"input": X, "kernel": [["a"]]}, "numbers only"),
        ("/api/playground", {"input": X, "kernel": K, "pool": {"mode": "sum"}}, "'pool'"),
    ],
)
def test_malformed_requests_get_400_with_one_sentence(client, path, body, words):
    if isinstance(body, bytes):
        answer = client.post(path, content=body)
    else:
        answer = client.post(path, json=body)
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert words in message and "\n" not in message and message.endswith(".")
    assert message.count(". ") == 0 or "e.g." in message


def test_an_unknown_or_language_model_architecture_is_400(client):
    assert client.get("/api/architecture?name=resnet18").json()["total_params"] == 11_689_512
    assert "Did you mean" in client.get("/api/architecture?name=resnt").json()["error"]
    assert client.get("/api/architecture?name=char_lstm").status_code == 400
    names = [m["name"] for m in client.get("/api/architectures").json()]
    assert "lenet5" in names and "char_lstm" not in names


def test_the_model_tab_has_lenets_table(client):
    data = client.get("/api/model").json()
    assert data["model"] == "lenet5" and data["data"] == "digits"
    assert data["total_params"] == 61_706  # the builder's docstring: 1x28x28, 10 classes
    fields = {f["name"]: f["receptive_field"] for f in data["receptive"]}
    assert fields["features.0"] == [5, 5] and fields["features.5"] == [16, 16]


def test_no_request_writes_a_file_or_reads_a_path(client, run_dir):
    written = []
    watching = [True]

    def audit(event, args):
        if not watching[0]:
            return
        if event == "open" and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
            written.append(args[0])
        elif event in ("os.rename", "os.remove", "os.mkdir", "shutil.rmtree", "os.truncate"):
            written.append(args[0])

    sys.addaudithook(audit)
    try:
        client.post("/api/predict", json={"image": ONE})
        client.post(
            "/api/explain", json={"image": ONE, "layer": "features.3", "channel": 0, "y": 1, "x": 1}
        )
        _play(client, padding=1)
        client.get("/api/model")
        client.get("/api/architecture?name=vgg11")
    finally:
        watching[0] = False
    assert written == []
    assert client.get("/static/../explain.py").status_code == 404
    assert client.get(f"/static/{run_dir}/config.json").status_code == 404


def test_a_loopback_server_answers_only_its_own_names(run_dir):
    app = create_app(open_run(run_dir), allowed_hosts=["127.0.0.1", "localhost"])
    assert TestClient(app, base_url="http://127.0.0.1:8000").get("/api/run").status_code == 200
    assert TestClient(app, base_url="http://attacker.example").get("/api/run").status_code == 400
    local = TestClient(app, base_url="http://localhost:8000")
    page = local.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for path in ("/", "/static/app.js", "/static/style.css"):  # nothing from the network
        assert local.get(path).status_code == 200 and "://" not in local.get(path).text


def _serve_args(*argv):
    parser = argparse.ArgumentParser()
    serve_cli.add_commands(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_a_port_in_use_is_one_sentence_before_uvicorn_starts(run_dir, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **k: pytest.fail("uvicorn started"))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(
            ClassicnetsError, match=rf"^Port {port} on 127.0.0.1 is in use; try --port \d+"
        ):
            serve_cli.cmd_serve(_serve_args(str(run_dir), "--port", str(port)))
    finally:
        taken.close()


def test_a_run_without_checkpoint_is_one_sentence(run_dir, tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **k: pytest.fail("uvicorn started"))
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    for checkpoint in copy.glob("*.safetensors"):
        checkpoint.unlink()
    with pytest.raises(ClassicnetsError) as caught:
        serve(copy, port=0, notify=lambda line: None)
    assert "\n" not in str(caught.value) and str(copy) in str(caught.value)


def test_only_a_non_loopback_host_is_warned_about(run_dir, monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self, sockets: started.append(sockets[0].getsockname())
    )
    lines: list[str] = []
    serve(run_dir, host="127.0.0.1", port=0, notify=lines.append)
    assert started[-1][0] == "127.0.0.1" and not any("warning" in line for line in lines)
    serve(run_dir, host="0.0.0.0", port=0, notify=lines.append)
    assert started[-1][0] == "0.0.0.0" and any(
        line.startswith("warning: listening on 0.0.0.0") for line in lines
    )


def test_the_default_run_is_trained_once_then_reused(monkeypatch):
    calls = []

    def quick(config, **kwargs):  # the pipeline, for one epoch
        calls.append(config)
        return train(dataclasses.replace(config, epochs=1, precision="fp32"), **kwargs)

    monkeypatch.setattr(server, "train", quick)
    lines: list[str] = []
    first = default_run(lines.append)
    assert len(calls) == 1 and calls[0].model == "lenet5" and calls[0].data == "digits"
    assert first == server.default_run_dir() and (first / "best.safetensors").is_file()
    assert any("training lenet5 on digits" in line for line in lines)
    assert default_run(lines.append) == first and len(calls) == 1  # reused
    (first / "best.safetensors").write_bytes(b"damaged")
    assert default_run(lines.append) == first and len(calls) == 2  # did not load: retrained
    assert load_run(first)[1].input_shape == (1, 28, 28)
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no scratch left
