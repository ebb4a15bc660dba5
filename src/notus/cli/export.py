"""`notus export gguf MODEL -o FILE.gguf [--quant f16|q8_0|q4_k_m|q4_1]`: a GGUF for llama.cpp, Ollama, LM Studio.

notus export gguf runs/dpo -o dpo.q4_k_m.gguf --quant q4_k_m     # a `notus train` run (LoRA merged first)
notus export gguf smollm2-135m-instruct -o smollm2.f16.gguf      # the embedded model
notus export gguf my-org/my-model -o my-model.q8_0.gguf --quant q8_0 --check-tokens 0   # no check

See docs/export.md (Ollama's `ollama create` with a Modelfile) and notus.export.gguf.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from notus.core.errors import NotusError

QUANT_CHOICES = ("f16", "q8_0", "q4_k_m", "q4_1")  # notus.export.gguf.QUANTS (kept import-free for --help)


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("gguf", help="convert a model to GGUF with llama.cpp's converter (and quantize it)")
    p.add_argument(
        "model", metavar="MODEL", help="embedded name, model folder, `notus train` run folder or Hub id"
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE.gguf", help="the GGUF file to write")
    p.add_argument("--quant", default="f16", choices=QUANT_CHOICES, help="default: %(default)s")
    p.add_argument("--check-tokens", type=int, default=32, metavar="N",
                   help="compare N greedy tokens per check prompt with the transformers model (0: skip; "
                   "default: %(default)s)")  # fmt: skip
    p.set_defaults(func=export_gguf_cmd)


def export_gguf_cmd(args: argparse.Namespace) -> int:
    from notus.core.runs import refuse_overwrite

    out = Path(args.output)
    if out.suffix != ".gguf":
        raise NotusError(
            f"-o {out}: a GGUF file name must end in .gguf (e.g. {out.with_suffix('.gguf').name})"
        )
    if args.check_tokens < 0:
        raise NotusError(f"--check-tokens {args.check_tokens} must be >= 0")
    inputs = [Path(args.model).expanduser()] if Path(args.model).expanduser().exists() else []
    from notus.llm.models import EMBEDDED, embedded_gguf_path

    if args.model in EMBEDDED:
        inputs.append(embedded_gguf_path(args.model))
    refuse_overwrite(inputs, {"-o": out})
    from notus.export.gguf import export_gguf

    report = export_gguf(args.model, out, args.quant, check_tokens=args.check_tokens)
    print(f"notus export: wrote {out} ({report['quant']}, {report['bytes'] / 2**20:.1f} MiB)")
    if "check" in report:
        c = report["check"]
        print(
            f"notus export: greedy check on {c['prompts']} prompts: {c['greedy_equal']}/{c['prompts']} "
            f"identical answers, top-1 agreement {c['top1_agreement']:.1%} over {c['positions']} tokens"
        )
    print(json.dumps(report))
    return 0
