"""Loading local Hugging Face causal LMs: one-line errors, device choice, batched scoring.

Everything here needs the optional extra ``tracebias[generate]`` (torch + transformers); the
imports happen inside the functions so that the rest of tracebias works without it.
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path

DTYPES = ("float32", "bfloat16", "float16")
SMALL_MODEL_PARAMS = 20_000_000  # below this, CPU inference runs on one thread


class ModelError(ValueError):
    """A model directory, device or option that cannot be used (reported in one line)."""


def require_torch():
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise ModelError("this command needs the extra: pip install 'tracebias[generate]' "
                         f"({e.name} is not installed)") from None


def check_model_dir(path: str | Path) -> Path:
    """A local model directory with a config.json, or a one-line ModelError (no downloads)."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"model directory {path} does not exist (models load from a local "
                         "folder only; try `tracebias dev tiny-model DIR` for a test model)")
    if not p.is_dir():
        raise ModelError(f"--model {path} is a file; pass the model's directory")
    if not (p / "config.json").is_file():
        raise ModelError(f"{path} is not a Hugging Face model directory (no config.json)")
    try:
        json.loads((p / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{p / 'config.json'} is not valid JSON ({e})") from None
    return p


def model_fingerprint(path: str | Path) -> str:
    """A cheap identity of a model directory's files (names, sizes, modification times): a
    model rebuilt or replaced in the same folder gets a new fingerprint, so it is never resumed
    into an output made with the old one. (Weights are not hashed: they can be many GB.)"""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(Path(path).iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def resolve_device(name: str = "auto") -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"--device {name}: CUDA is not available on this machine (use cpu)")
    if name != "cpu" and not name.startswith("cuda"):
        raise ModelError(f"--device {name!r}: use auto, cpu, cuda or cuda:N")
    return name


def load_model(path: str | Path, device: str = "cpu", dtype: str = "float32"):
    """(tokenizer, model) from a local directory, in eval mode on ``device``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype not in DTYPES:
        raise ModelError(f"--dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    try:
        tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True,
                                                     dtype=getattr(torch, dtype))
    except (OSError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"cannot load the model in {path}: {first}") from None
    model.to(device)
    model.eval()
    if device == "cpu" and sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMS:
        # a tiny model's forward pass is mostly per-operation overhead: extra threads only add
        # synchronisation, and on a busy machine they make it many times slower
        torch.set_num_threads(1)
    return tok, model


def warm_up(model, token_id: int, device: str) -> None:
    """One tiny forward pass, so that one-time set-up does not inflate the first-batch estimate."""
    import torch

    with torch.inference_mode():
        ids = torch.tensor([[int(token_id)] * 2], device=device)
        model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False)


def accepts(model, name: str) -> bool:
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def pad_batch(rows: list[list[int]], pad_id: int, side: str):
    """(input_ids, attention_mask, position_ids) tensors for token-id rows of unequal length.

    Position ids count real tokens only (0 at each row's first real token), so a left-padded
    row sees exactly the positions it would see alone.
    """
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if side == "left":
            ids[i, width - len(r):] = torch.tensor(r, dtype=torch.long)
            mask[i, width - len(r):] = 1
        else:
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, pos


def token_logprobs(model, rows: list[list[int]], wanted: list[list[tuple[int, int]]],
                   pad_id: int, side: str = "left", device: str = "cpu"):
    """Log-probabilities of chosen tokens at chosen positions, for a batch of rows.

    ``wanted[i]`` lists (position, token id) pairs of row ``i``: the log-probability that the
    token at ``position + 1`` is ``token`` given ``rows[i][: position + 1]`` (positions index the
    unpadded row). Returns a float64 NumPy array with one value per pair, in order.
    """
    import numpy as np
    import torch

    ids, mask, pos = pad_batch(rows, pad_id, side)
    width = ids.shape[1]
    slots: dict[tuple[int, int], int] = {}  # (row, padded position) -> distinct slot
    slot_of, t_idx = [], []
    for i, (row, pairs) in enumerate(zip(rows, wanted)):
        shift = width - len(row) if side == "left" else 0
        for p, t in pairs:
            if not 0 <= p < len(row):
                raise IndexError(f"position {p} outside a row of {len(row)} tokens")
            slot_of.append(slots.setdefault((i, p + shift), len(slots)))
            t_idx.append(t)
    if not slot_of:
        return np.zeros(0)
    kwargs = {"attention_mask": mask.to(device), "use_cache": False}
    if accepts(model, "position_ids"):
        kwargs["position_ids"] = pos.to(device)
    first = min(p for _, p in slots)
    keep = width - first
    if side == "left" and keep < width and accepts(model, "logits_to_keep"):
        kwargs["logits_to_keep"] = keep  # only the last `keep` positions reach the LM head
        offset = first
    else:
        offset = 0
    with torch.inference_mode():
        logits = model(input_ids=ids.to(device), **kwargs).logits
        dev = logits.device
        r = torch.tensor([k[0] for k in slots], device=dev)
        p = torch.tensor([k[1] - offset for k in slots], device=dev)
        lsm = torch.log_softmax(logits[r, p].float(), dim=-1)  # (distinct positions, vocab)
        lp = lsm[torch.tensor(slot_of, device=dev), torch.tensor(t_idx, device=dev)]
    return lp.double().cpu().numpy()


def fmt_seconds(s: float) -> str:
    """A rough duration for estimates: "12 s", "7 min", "2.5 h"."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"
