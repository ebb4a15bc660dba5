"""UltraFeedback-style prompts from the package's template files (`notus/feedback/templates/`).

    conv = aspect_conversation("honesty", "What is 2+2?", ["4", "5"])
    conv = critique_conversation("What is 2+2?", "4")
    system = principle_system_prompt("honesty", prompt_index=3, completion_index=1, seed=42)

Judge prompts follow UltraFeedback's structure: one prompt per aspect rates all completions of an
instruction at once (`<text i>` blocks, one `#### Output for Text i` block per text in the answer);
truthfulness and helpfulness also ask for a `Type` list. The critique prompt asks for feedback on a
single completion ending in `Overall score: X` (1-10). Placeholders are filled by plain string
replacement, so braces in instructions or responses are safe.
"""

from __future__ import annotations

import random
from functools import cache
from importlib import resources

import yaml

from notus.core.types import ASPECTS, Conversation

JUDGE_TEMPLATES = (*ASPECTS, "overall")  # "overall": the single overall-rating prompt (1-5)
TYPED_ASPECTS = {"truthfulness": ("0", "1", "2", "3"), "helpfulness": ("1", "2", "3")}


def ratings_schema(n_texts: int | None = None) -> dict:
    """The JSON answer the judge prompts ask for in JSON mode, with exactly `n_texts` entries when
    given. Backends with structured output (llama.cpp grammars) are constrained to it, so even a
    tiny judge yields one readable rating per text."""
    items = {
        "type": "object",
        "properties": {
            "rating": {"enum": [1, 2, 3, 4, 5, "N/A"]},
            "rationale": {"type": "string", "maxLength": 100},
            "type": {"type": "array", "items": {"enum": ["0", "1", "2", "3"]}, "maxItems": 3},
        },
        "required": ["rating", "rationale"],
    }
    ratings = {"type": "array", "items": items, "minItems": n_texts or 1, "maxItems": n_texts or 16}
    return {"type": "object", "properties": {"ratings": ratings}, "required": ["ratings"]}


def critique_grammar(max_chars: int = 400) -> str:
    """A GBNF grammar of the critique answer the prompt asks for: one paragraph of feedback (at most
    `max_chars` characters, no line break) then `Overall score: X` (1-10), parsed by `parse_critique`.
    A llama.cpp critic is constrained to it, so even a tiny judge states a score."""
    return f'root ::= [^\\n] [^\\n]{{0,{max_chars - 1}}} "\\nOverall score: " score\nscore ::= [1-9] | "10"\n'


@cache
def template(name: str) -> str:
    return (resources.files("notus.feedback") / "templates" / f"{name}.txt").read_text(encoding="utf-8")


@cache
def principle_prompts() -> dict[str, list[str]]:
    text = (resources.files("notus.feedback") / "templates" / "principles.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def fill(text: str, **values: str) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def principle_system_prompt(principle: str, prompt_index: int, completion_index: int, seed: int) -> str:
    """One of the principle's system prompts, chosen reproducibly for this prompt and completion."""
    options = principle_prompts()[principle]
    return random.Random(f"{seed}:{prompt_index}:{completion_index}").choice(options)


def aspect_conversation(
    aspect: str, instruction: str, responses: list[str], json_mode: bool = False
) -> Conversation:
    texts = "\n".join(f"<text {i}> {r}" for i, r in enumerate(responses, 1))
    user = fill(template(aspect), instruction=instruction, texts=texts)
    if json_mode:
        user = user.rstrip() + "\n" + template("json_suffix")
    return [
        {"role": "system", "content": fill(template("judge_system"), n=str(len(responses))).strip()},
        {"role": "user", "content": user.strip()},
    ]


def critique_conversation(instruction: str, response: str) -> Conversation:
    return [
        {"role": "system", "content": template("critique_system").strip()},
        {
            "role": "user",
            "content": fill(template("critique"), instruction=instruction, response=response).strip(),
        },
    ]
