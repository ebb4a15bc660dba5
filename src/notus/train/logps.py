"""Log-probabilities of completions, computed lean: shared prompt, no padding waste, chunked LM head.

- A preference pair becomes ONE row `[prompt | chosen | rejected]`: the prompt is run once; a 4D mask
  lets chosen tokens see the prompt and themselves, rejected tokens the prompt and themselves, and the
  rejected positions restart right after the prompt. SFT packs several conversations per row the same
  way (each sees only itself).
- Only positions whose next token is scored go through the LM head, in chunks, inside a custom autograd
  function that recomputes each chunk's logits in backward: the [tokens, vocab] logits never exist in
  full, and log-probs are always computed in fp32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

LM_HEAD_CHUNK = 1024  # positions per chunk of the vocabulary projection


class ChunkedLogProbs(torch.autograd.Function):
    """log p(target | hidden) = (h W^T)[target] - logsumexp(h W^T), in fp32, chunk by chunk."""

    @staticmethod
    def forward(ctx, hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with torch.autocast(hidden.device.type, enabled=False):  # fp32 log-softmax even under bf16 autocast
            return ChunkedLogProbs._forward(ctx, hidden, weight, targets)

    @staticmethod
    def _forward(ctx, hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        out = torch.empty(hidden.shape[0], dtype=torch.float32, device=hidden.device)
        w = weight.float()
        for s in range(0, hidden.shape[0], LM_HEAD_CHUNK):
            logits = hidden[s : s + LM_HEAD_CHUNK].float() @ w.T
            picked = logits.gather(1, targets[s : s + LM_HEAD_CHUNK, None]).squeeze(1)
            out[s : s + LM_HEAD_CHUNK] = picked - torch.logsumexp(logits, dim=1)
        ctx.save_for_backward(hidden, weight, targets)
        return out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        with torch.autocast(grad_out.device.type, enabled=False):
            return ChunkedLogProbs._backward(ctx, grad_out.float())

    @staticmethod
    def _backward(ctx, grad_out: torch.Tensor):
        hidden, weight, targets = ctx.saved_tensors
        w = weight.float()
        grad_h = torch.empty_like(hidden) if ctx.needs_input_grad[0] else None
        grad_w = torch.zeros_like(w) if ctx.needs_input_grad[1] else None
        for s in range(0, hidden.shape[0], LM_HEAD_CHUNK):
            h = hidden[s : s + LM_HEAD_CHUNK].float()
            probs = torch.softmax(h @ w.T, dim=1)
            # d logp / d logits = onehot(target) - softmax
            grad_logits = probs.mul_(-grad_out[s : s + LM_HEAD_CHUNK, None])
            grad_logits.scatter_add_(
                1, targets[s : s + LM_HEAD_CHUNK, None], grad_out[s : s + LM_HEAD_CHUNK, None]
            )
            if grad_h is not None:
                grad_h[s : s + LM_HEAD_CHUNK] = (grad_logits @ w).to(hidden.dtype)
            if grad_w is not None:
                grad_w.addmm_(grad_logits.T, h)
        return grad_h, (grad_w.to(weight.dtype) if grad_w is not None else None), None


@dataclass
class Packed:
    """A batch of rows: token ids, positions, a [B,1,T,T] boolean mask, and the scored positions."""

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    mask: torch.Tensor
    score_rows: torch.Tensor  # (row, position) of each hidden state whose NEXT token is scored
    score_cols: torch.Tensor
    targets: torch.Tensor
    seq_index: torch.Tensor  # which output sequence each scored token belongs to
    n_seqs: int
    n_tokens: int


def pack(rows: list[list[tuple[list[int], int, bool | list[bool], int]]], n_seqs: int) -> Packed:
    """Build a batch from rows of segments `(ids, parent_segment, scored, seq_index)`.

    Within a row, segment k attends causally to itself and to its parent segment (-1 = none). Scored
    tokens (all of a segment, or those flagged in a list) are predicted from the previous position; the
    first token of a child segment is predicted from its parent's last token.
    """
    width = max(sum(len(s[0]) for s in row) for row in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    pos = torch.zeros(len(rows), width, dtype=torch.long)
    seg = torch.full((len(rows), width), -3, dtype=torch.long)  # -3 = padding
    parent = torch.full((len(rows), width), -2, dtype=torch.long)
    sr, sc, tg, si = [], [], [], []
    for r, row in enumerate(rows):
        cursor, ends, starts = 0, {}, {}
        for k, (tokens, par, scored, seq) in enumerate(row):
            n = len(tokens)
            first_pos = 0 if par < 0 else starts[par] + len(row[par][0])
            ids[r, cursor : cursor + n] = torch.tensor(tokens)
            pos[r, cursor : cursor + n] = torch.arange(first_pos, first_pos + n)
            seg[r, cursor : cursor + n] = k
            parent[r, cursor : cursor + n] = par
            flags = [scored] * n if isinstance(scored, bool) else list(scored)
            prev = ends[par] if par >= 0 else None
            for t in range(n):  # token t is predicted from the position before it
                src = cursor + t - 1 if t else prev
                if flags[t] and src is not None:
                    sr.append(r)
                    sc.append(src)
                    tg.append(tokens[t])
                    si.append(seq)
            starts[k], ends[k] = cursor, cursor + n - 1
            cursor += n
    same = seg[:, :, None] == seg[:, None, :]
    shared = parent[:, :, None] == seg[:, None, :]
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    mask = ((same | shared) & causal) | torch.eye(width, dtype=torch.bool)  # pads see themselves only
    return Packed(
        input_ids=ids,
        position_ids=pos,
        mask=mask[:, None],
        score_rows=torch.tensor(sr, dtype=torch.long),
        score_cols=torch.tensor(sc, dtype=torch.long),
        targets=torch.tensor(tg, dtype=torch.long),
        seq_index=torch.tensor(si, dtype=torch.long),
        n_seqs=n_seqs,
        n_tokens=int((seg >= 0).sum()),
    )


def pack_pairs(pairs: list) -> Packed:
    """Each pair one row: prompt (segment 0), chosen (1, sequence 2i), rejected (2, sequence 2i+1)."""
    rows = [
        [(p.prompt, -1, False, -1), (p.chosen, 0, True, 2 * i), (p.rejected, 0, True, 2 * i + 1)]
        for i, p in enumerate(pairs)
    ]
    return pack(rows, 2 * len(pairs))


def sequence_logps(model: torch.nn.Module, batch: Packed) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed fp32 log-probs per sequence and the number of scored tokens per sequence."""
    device = next(model.parameters()).device
    decoder = model.get_decoder()
    hidden = decoder(
        input_ids=batch.input_ids.to(device),
        attention_mask=batch.mask.to(device),
        position_ids=batch.position_ids.to(device),
        use_cache=False,
    ).last_hidden_state
    picked = hidden[batch.score_rows.to(device), batch.score_cols.to(device)]
    weight = model.get_output_embeddings().weight
    token_logps = ChunkedLogProbs.apply(picked, weight, batch.targets.to(device))
    index = batch.seq_index.to(device)
    sums = torch.zeros(batch.n_seqs, dtype=torch.float32, device=device).index_add(0, index, token_logps)
    counts = torch.zeros(batch.n_seqs, dtype=torch.float32, device=device).index_add(
        0, index, torch.ones_like(token_logps)
    )
    return sums, counts
