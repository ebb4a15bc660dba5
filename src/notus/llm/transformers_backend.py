"""Local transformers backend: batched, left-padded generation with the model's own chat template."""

from __future__ import annotations

from notus.core.types import Conversation
from notus.llm.contract import BACKENDS, Completion, GenerationParams
from notus.llm.models import load_pretrained


class TransformersModel:
    def __init__(self, ref: str, batch_size: int = 8, dtype: str = "float32", device: str | None = None):
        import torch

        self.name = ref
        self.tokenizer, model = load_pretrained(ref, dtype)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device)
        self.model.eval()
        self.batch_size = batch_size

    def generate(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]:
        import torch

        out: list[Completion] = []
        for start in range(0, len(conversations), self.batch_size):
            batch = conversations[start : start + self.batch_size]
            texts = [
                self.tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
                for c in batch
            ]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            enc = enc.to(self.device)
            kwargs = dict(max_new_tokens=params.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id)
            if params.temperature > 0:
                kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
                if params.seed is not None:
                    torch.manual_seed(params.seed)
            else:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            if params.stop:
                kwargs.update(stop_strings=params.stop, tokenizer=self.tokenizer)
            with torch.no_grad():
                gen = self.model.generate(**enc, **kwargs)
            prompt_len = enc["input_ids"].shape[1]
            for i, row in enumerate(gen[:, prompt_len:]):
                ids = row.tolist()
                n = len(ids)
                while n and ids[n - 1] == self.tokenizer.pad_token_id:
                    n -= 1
                text = self.tokenizer.decode(ids[:n], skip_special_tokens=True)
                for s in params.stop:
                    text = text.split(s)[0]
                finish = "length" if n >= params.max_new_tokens else "stop"
                prompt_tokens = int(enc["attention_mask"][i].sum())
                out.append(Completion(text.strip(), prompt_tokens, n, finish))
        return out


BACKENDS.register("transformers")(TransformersModel)
