"""Bad model references and folders: one error line naming the model and the fix, exit 2, never a
traceback, never code from the folder (pickles and `auto_map` modules that would write a marker file),
never a changed file. Each case is a copy of the tiny model folder with one thing broken, loaded by
`notus eval preference` (tokenizer + model) and, where the folder check catches it, by `notus serve`
(which checks the folder before importing torch)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
from _evalserve_helpers import digests, run_notus, write

from notus.core.errors import ModelNotFoundError
from notus.llm.models import load_pretrained

MARKER = "code-ran.txt"


class WritesMarker:
    """Unpickling this runs `open(path, "w")`: the marker proves that a pickle was executed."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def tiny_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit_config(folder: Path, **changes: object) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def pickle_only(folder: Path, name: str) -> None:
    (folder / "model.safetensors").unlink()
    (folder / name).write_bytes(pickle.dumps(WritesMarker(str(folder.parent / MARKER))))


def remote_code(folder: Path, model_type: object) -> None:
    """A config naming custom code, and the module it names (which would write the marker if run)."""
    edit_config(folder, model_type=model_type, auto_map={"AutoConfig": "evil.EvilConfig",
                "AutoModelForCausalLM": "evil.EvilModel"})  # fmt: skip
    write(folder / "evil.py", f"open({str(folder.parent / MARKER)!r}, 'w').write('ran')\n")


def corrupt_safetensors(folder: Path, content: bytes) -> None:
    (folder / "model.safetensors").write_bytes(content)


def truncate(folder: Path) -> None:
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])


# (id, how to break the folder, error fragment, whether the folder check (before torch) catches it)
FOLDER_CASES = [
    ("no-config", lambda f: (f / "config.json").unlink(), "has no config.json", True),
    ("config-non-utf8", lambda f: (f / "config.json").write_bytes(b'{"model_type": "\xff"}'), "config.json: byte offset 16 is not UTF-8", True),
    ("config-not-json", lambda f: (f / "config.json").write_text("model_type: llama"), "config.json: not valid JSON", True),
    ("config-empty", lambda f: (f / "config.json").write_text(""), "config.json: not valid JSON", True),
    ("config-list", lambda f: (f / "config.json").write_text("[]"), "config.json: a JSON list, not an object", True),
    ("config-deep", lambda f: (f / "config.json").write_text("[" * 100_000 + "]" * 100_000), "config.json: JSON nested too deeply", True),
    ("config-huge-number", lambda f: (f / "config.json").write_text('{"hidden_size": ' + "9" * 5000 + "}"), "config.json: not valid JSON", True),
    ("config-is-folder", lambda f: ((f / "config.json").unlink(), (f / "config.json").mkdir()), "has no config.json", True),
    ("no-weights", lambda f: (f / "model.safetensors").unlink(), "no weights (*.safetensors)", True),
    ("pickle-bin", lambda f: pickle_only(f, "pytorch_model.bin"), "weights only in pickle format (pytorch_model.bin)", True),
    ("pickle-pt", lambda f: pickle_only(f, "model.pt"), "pickle format (model.pt)", True),
    ("pickle-ckpt", lambda f: pickle_only(f, "model.ckpt"), "pickle format (model.ckpt)", True),
    ("pickle-pkl", lambda f: pickle_only(f, "weights.pkl"), "pickle format (weights.pkl)", True),
    ("safetensors-random-bytes", lambda f: corrupt_safetensors(f, b"\x00\x01garbage" * 10), "not a readable safetensors file", True),
    ("safetensors-empty", lambda f: corrupt_safetensors(f, b""), "not a readable safetensors file", True),
    ("safetensors-huge-header-length", lambda f: corrupt_safetensors(f, (2**63).to_bytes(8, "little") + b"{}"), "not a readable safetensors", True),
    ("safetensors-header-not-json", lambda f: corrupt_safetensors(f, (4).to_bytes(8, "little") + b"abcd"), "not a readable safetensors", True),
    ("safetensors-truncated", truncate, "not a readable safetensors file", True),
    ("safetensors-bad-beside-bin", lambda f: (pickle_only(f, "pytorch_model.bin"), corrupt_safetensors(f, b"x")), "not a readable safetensors", True),
    ("index-missing-shard", lambda f: write(f / "model.safetensors.index.json", json.dumps({"weight_map": {"w": "model-00002.safetensors"}})), "shard(s) model-00002.safetensors missing", True),
    ("index-not-json", lambda f: write(f / "model.safetensors.index.json", "{"), "model.safetensors.index.json: not valid JSON", True),
    ("index-no-weight-map", lambda f: write(f / "model.safetensors.index.json", "{}"), "no weight_map", True),
    ("auto-map-unknown-type", lambda f: remote_code(f, "evil-arch"), "names custom code (`auto_map`) for model type 'evil-arch'", True),
    ("auto-map-no-type", lambda f: remote_code(f, None), "for model type None", True),
    ("auto-map-type-not-text", lambda f: remote_code(f, ["llama"]), "names custom code", True),
    ("unknown-model-type", lambda f: edit_config(f, model_type="evil-arch"), "could not be loaded", False),
    ("model-type-missing", lambda f: edit_config(f, model_type=None), "could not be loaded", False),
    ("shapes-do-not-match", lambda f: edit_config(f, hidden_size=64, intermediate_size=128), "could not be loaded", False),
    ("tokenizer-json-corrupt", lambda f: (f / "tokenizer.json").write_text("{"), "could not be loaded", False),
    ("tokenizer-config-non-utf8", lambda f: (f / "tokenizer_config.json").write_bytes(b"\xff\xfe{"), "could not be loaded", False),
    ("tokenizer-auto-map", lambda f: (edit_config(f), write(f / "tokenizer_config.json", json.dumps({"tokenizer_class": "EvilTokenizer", "auto_map": {"AutoTokenizer": ["evil.EvilTokenizer", None]}})), write(f / "evil.py", "open('code-ran.txt', 'w')\n")), "could not be loaded", False),
]  # fmt: skip


def pairs_file(folder: Path) -> Path:
    return write(
        folder / "pairs.jsonl", json.dumps({"prompt": "Hi", "chosen": "Hello!", "rejected": "No."}) + "\n"
    )


@pytest.mark.parametrize(
    ("break_it", "fragment", "early"), [c[1:] for c in FOLDER_CASES], ids=[c[0] for c in FOLDER_CASES]
)
def test_broken_model_folders_are_one_line_errors(
    tiny_model_dir, tmp_path, capsys, monkeypatch, break_it, fragment, early
):
    monkeypatch.chdir(tmp_path)  # a module run by accident would write its marker here too
    folder = tiny_copy(tiny_model_dir, tmp_path / "model")
    break_it(folder)
    data = pairs_file(tmp_path / "data")
    before = digests(tmp_path)
    commands = [
        ["eval", "preference", "--model", str(folder), "--reference", str(folder), "--data", str(data)]
    ]
    if early:
        commands.append(["serve", str(folder), "--port", "1"])
    for argv in commands:
        code, out, err = run_notus(argv, capsys)
        assert code == 2 and fragment in err, (argv[:2], err)
        # one error line (transformers may log its load report and progress bars before it)
        assert (
            "Traceback" not in out + err
            and sum(line.startswith("notus: error:") for line in err.splitlines()) == 1
        )
    assert not (tmp_path / MARKER).exists() and not (tmp_path / "model" / MARKER).exists()
    assert digests(tmp_path) == before


REFERENCE_CASES = [
    ("empty-reference", lambda t: "", "no model given"),
    ("missing-path", lambda t: str(t / "nope"), "is not an embedded model"),
    ("relative-missing", lambda t: "./nope/model", "is not an embedded model"),
    ("three-part-id", lambda t: "a/b/c", "is not an embedded model"),
    ("empty-folder", lambda t: str((t / "empty").mkdir() or t / "empty"), "has no config.json"),
    ("a-file", lambda t: str(write(t / "model.safetensors", b"x")), "is a file, not a model folder"),
    ("a-gguf-file", lambda t: str(write(t / "model.gguf", b"GGUF")), {"serve": "model.gguf: not a GGUF model llama.cpp can load", "eval": "a .gguf file is served with --backend llamacpp"}),
    ("adapter-without-weights", lambda t: str(write(t / "lora" / "adapter_config.json", "{}").parent), "no weights (*.safetensors) next to its adapter_config.json"),
    ("adapter-config-not-json", lambda t: str(write(t / "lora" / "adapter_config.json", "{").parent), "adapter_config.json: not valid JSON"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "fragment"), [c[1:] for c in REFERENCE_CASES], ids=[c[0] for c in REFERENCE_CASES]
)
def test_bad_model_references(tmp_path, capsys, make, fragment):
    ref = make(tmp_path)
    for argv in (
        ["serve", ref],
        ["eval", "preference", "--model", ref, "--reference", ref, "--data", str(pairs_file(tmp_path))],
    ):
        code, out, err = run_notus(argv, capsys)
        expected = (
            fragment[argv[0]] if isinstance(fragment, dict) else fragment
        )  # a .gguf file: serve runs llama.cpp
        assert code == 2 and expected in err and "Traceback" not in out + err, err


def test_a_known_architecture_with_auto_map_loads_without_running_its_code(
    tiny_model_dir, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    folder = tiny_copy(tiny_model_dir, tmp_path / "model")
    remote_code(folder, "llama")  # transformers' own Llama class is used; evil.py is never imported
    tokenizer, model = load_pretrained(str(folder))
    assert type(model).__name__ == "LlamaForCausalLM" and tokenizer.chat_template
    assert not (tmp_path / MARKER).exists()
    with pytest.raises(ModelNotFoundError, match="evil-arch"):
        remote_code(folder, "evil-arch")
        load_pretrained(str(folder))
    assert not (tmp_path / MARKER).exists()


def test_a_sound_folder_still_evaluates(tiny_model_dir, tmp_path, capsys):
    data = pairs_file(tmp_path)
    code, out, err = run_notus(["eval", "preference", "--model", str(tiny_model_dir), "--reference",
                                str(tiny_model_dir), "--data", str(data), "--json"], capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["n"] == 1


GGUF_CASES = [
    ("gguf-garbage", lambda t: str(write(t / "m.gguf", b"GGUF" + b"\x00" * 64)), "m.gguf: not a GGUF model llama.cpp can load"),
    ("gguf-empty", lambda t: str(write(t / "m.gguf", b"")), "not a GGUF model llama.cpp can load"),
    ("gguf-text", lambda t: str(write(t / "m.gguf", "hello")), "not a GGUF model"),
    ("gguf-folder-without-gguf", lambda t: str(write(t / "m" / "config.json", "{}").parent), "llama.cpp needs a GGUF file"),
    ("gguf-bin-file", lambda t: str(write(t / "model.bin", pickle.dumps(WritesMarker(str(t / MARKER))))), "llama.cpp needs a GGUF file"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "fragment"), [c[1:] for c in GGUF_CASES], ids=[c[0] for c in GGUF_CASES])
def test_bad_gguf_files_on_the_llamacpp_backend(tmp_path, capsys, make, fragment):
    ref = make(tmp_path)
    before = digests(tmp_path)
    code, out, err = run_notus(["serve", ref, "--backend", "llamacpp", "--port", "1"], capsys)
    assert code == 2 and fragment in err and "Traceback" not in out + err, err
    assert digests(tmp_path) == before and not (tmp_path / MARKER).exists()


# ---- a judge endpoint that answers badly: one error line, never a traceback or a hang ----

GOOD_REPLY = {"choices": [{"message": {"content": "Rating: [[7]]"}, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 3.0, "completion_tokens": 2}}  # fmt: skip
ENDPOINT_REPLIES = {
    "not-json": (200, b"<html>gateway</html>", "a body that is not JSON"),
    "deep-json": (200, ("[" * 100_000 + "]" * 100_000).encode(), "a body that is not JSON"),
    "json-list": (200, b"[]", "without OpenAI's chat.completion shape"),
    "no-choices": (200, json.dumps({"choices": []}).encode(), "without OpenAI's chat.completion shape"),
    "message-null": (200, json.dumps({"choices": [{"message": None}]}).encode(), "chat.completion shape"),
    "content-number": (200, json.dumps({"choices": [{"message": {"content": 5}}]}).encode(), "chat.completion shape"),
    "usage-text": (200, json.dumps({**GOOD_REPLY, "usage": {"prompt_tokens": "x"}}).encode(), "chat.completion shape"),
    "usage-negative": (200, json.dumps({**GOOD_REPLY, "usage": {"completion_tokens": -1}}).encode(), "chat.completion shape"),
    "logprobs-text": (200, json.dumps({"choices": [{"message": {"content": "x"}, "logprobs": {"content": "x"}}]}).encode(), "chat.completion shape"),
    "status-418": (418, b"teapot", "answered 418: teapot"),
    "retry-after-huge": (429, b"slow down", "answered 429"),
}  # fmt: skip


@pytest.fixture(scope="module")
def endpoint():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("content-length", 0)))
            status, payload, _ = ENDPOINT_REPLIES.get(
                self.path.split("/")[1], (200, json.dumps(GOOD_REPLY).encode(), "")
            )
            self.send_response(status)
            self.send_header("Retry-After", "99999999")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def mt_bench_judged_by(url: str, tmp_path: Path, *extra: str) -> list[str]:
    question = write(
        tmp_path / "q.jsonl", json.dumps({"question_id": 81, "category": "writing", "turns": ["q"]})
    )
    answer = write(
        tmp_path / "a.jsonl", json.dumps({"question_id": 81, "model_id": "m", "choices": [{"turns": ["a"]}]})
    )
    return ["eval", "mt-bench", "--questions", str(question), "--answers", str(answer), "--judge-base-url", url,
            "--output", str(tmp_path / "out"), "--json", *extra]  # fmt: skip


@pytest.mark.parametrize("case", list(ENDPOINT_REPLIES))
def test_a_judge_endpoint_answering_badly_is_one_error_line(endpoint, tmp_path, capsys, monkeypatch, case):
    import time

    monkeypatch.setattr("notus.llm.openai_backend.MAX_RETRY_AFTER_S", 0.2)  # a 99999999 s Retry-After
    start = time.monotonic()
    argv = mt_bench_judged_by(f"{endpoint}/{case}/v1", tmp_path, "--judge-max-retries", "1")
    code, out, err = run_notus(argv, capsys)
    assert code == 2 and ENDPOINT_REPLIES[case][2] in err and "Traceback" not in out + err, err
    assert time.monotonic() - start < 20


def test_a_sound_judge_endpoint_scores(endpoint, tmp_path, capsys):
    code, out, err = run_notus(mt_bench_judged_by(f"{endpoint}/good/v1", tmp_path), capsys)
    assert code == 0, err
    assert json.loads(out)["m"]["overall"] == 7.0
