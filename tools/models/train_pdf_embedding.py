#!/usr/bin/env python3
"""Train PDF-Embedding (ICDiff) on labelled pairs, then export it to ONNX plus an icdiff model manifest.

  # the small architecture on a CPU, on a training set the demo writes (`icdiff demo --training-set train`):
  train_pdf_embedding.py --pairs train/pairs.csv --arch small --epochs 4 --out runs/small
  # DeiT-B/16 on D-Rep on a GPU, from an ImageNet DeiT-B/16 checkpoint the user supplies:
  train_pdf_embedding.py --pairs drep/train.parquet --val drep/test.parquet --arch deit-b16 \\
      --init deit_base_patch16_224.pth --device cuda --epochs 30 --batch-size 64 --lr 5e-5 --out runs/drep

The objective is the paper's (no public code): for a pair labelled l, the target over the six tokens is
q_k proportional to f(|(5-k)/5 - l/5|), f Gaussian (--pdf gauss --sigma) or exponential (--pdf exp --lambda);
the prediction is p = softmax_k(c_k / tau) over the per-token cosines c_k of the two images; the loss is
KL(q || p) averaged over the batch. Token k stands for level 5-k, as in inference (level = 5 - argmax_k c_k).
sigma, lambda, tau, the optimiser, schedule, batch size and augmentation are not published: they are arguments
here, with the defaults documented in --help and in the README.

Pairs files: every layout `icdiff eval` reads (CSV with a header row or JSON Lines with name, level, generated,
real; Parquet with those columns), and D-Rep's published Parquet (Name, Level, generated_images / real_images
structs holding the encoded image bytes). Parquet needs pyarrow; where it cannot be imported (Debian 12 has no
python3-pyarrow) a Parquet file is refused with that reason. Relative image paths resolve against the pairs file.

Writes into --out: last.pt (every epoch; --resume carries on from it), checkpoint.pt (the epoch with the best
validation PCC), history.jsonl (one line per epoch), and model.onnx + model.json through the exporter
(export_pdf_embedding.write_model), ready for `icdiff eval --model` and `icdiff audit --model`.
"""
import argparse
import csv
import io
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_pdf_embedding as exporter  # noqa: E402
import icdiff_models as m  # noqa: E402

LEVELS = 6  # replication levels 0..5; token k stands for level 5 - k


class PairsError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# The objective


def target_distribution(levels, pdf="gauss", sigma=0.1, lam=10.0):
    """q[b, k] proportional to f(|(5-k)/5 - l_b/5|), normalised over the six tokens; levels: int tensor [B]."""
    levels = torch.as_tensor(levels, dtype=torch.float64).reshape(-1, 1)
    token_level = (LEVELS - 1 - torch.arange(LEVELS, dtype=torch.float64)).reshape(1, -1)
    d = (token_level / 5.0 - levels / 5.0).abs()
    if pdf == "gauss":
        f = torch.exp(-(d * d) / (2.0 * sigma * sigma))
    elif pdf == "exp":
        f = torch.exp(-lam * d)
    else:
        raise ValueError(f"unknown pdf '{pdf}' (gauss or exp)")
    return (f / f.sum(dim=1, keepdim=True)).float()


def token_cosines(a, b):
    """Per-token cosines of two token sets [B, 6, D] -> [B, 6] (token k against token k only)."""
    return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(dim=-1)


def pdf_loss(cosines, levels, pdf="gauss", sigma=0.1, lam=10.0, tau=0.05):
    """KL(q || softmax(c / tau)) averaged over the batch."""
    q = target_distribution(levels, pdf, sigma, lam).to(cosines.device)
    log_p = F.log_softmax(cosines / tau, dim=1)
    return (torch.xlogy(q, q) - q * log_p).sum(dim=1).mean()


def levels_of(cosines):
    """Inference's rule: level = 5 - argmax_k c_k (the first maximum, as numpy's argmax and the C# rule take)."""
    return (LEVELS - 1) - torch.argmax(cosines, dim=1)


# ---------------------------------------------------------------------------------------------------------------
# Pairs


def _resolve(root, path):
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(root, path))


def _level(value, where):
    try:
        level = int(str(value).strip())
    except ValueError:
        raise PairsError(f"{where}: level '{value}' is not an integer 0..5") from None
    if not 0 <= level <= 5 or str(value).strip() not in (str(level), f"{level}.0"):
        raise PairsError(f"{where}: level '{value}' is not an integer 0..5")
    return level


def read_pairs(path):
    """Labelled pairs as a list of (name, level, generated, real); generated/real is a path or a bytes object."""
    if not os.path.isfile(path):
        raise PairsError(f"pairs file '{path}' does not exist")
    root = os.path.dirname(os.path.abspath(path))
    ext = os.path.splitext(path)[1].lower()
    rows = []
    if ext == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise PairsError(f"pairs file '{path}' is empty")
            names = [h.strip().lower() for h in header]
            if not all(c in names for c in ("level", "generated", "real")):
                raise PairsError(f"pairs file '{path}': the header must name level, generated and real (and optionally name); it has: {','.join(header)}")
            at = {c: names.index(c) for c in ("name", "level", "generated", "real") if c in names}
            for line, fields in enumerate(reader, start=2):
                if not fields:
                    continue
                get = lambda c: fields[at[c]] if c in at and at[c] < len(fields) else ""  # noqa: E731
                rows.append(_path_row(path, f"line {line}", root, get("name"), get("level"), get("generated"), get("real")))
    elif ext in (".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as f:
            for line, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    raise PairsError(f"pairs file '{path}' line {line}: not valid JSON ({e})") from None
                if not isinstance(obj, dict):
                    raise PairsError(f"pairs file '{path}' line {line}: expected a JSON object")
                rows.append(_path_row(path, f"line {line}", root, obj.get("name"), obj.get("level"), obj.get("generated"), obj.get("real")))
    elif ext == ".parquet":
        rows = _read_parquet(path, root)
    else:
        raise PairsError(f"pairs file '{path}': unknown format '{ext}'; use .csv, .jsonl or .parquet")
    if not rows:
        raise PairsError(f"pairs file '{path}' holds no pairs")
    return rows


def _path_row(path, where, root, name, level, generated, real):
    where = f"pairs file '{path}' {where}"
    if not generated or not real:
        raise PairsError(f"{where}: generated and real image paths are required")
    return (name or generated, _level(level, where), _resolve(root, str(generated)), _resolve(root, str(real)))


def parquet_reader():
    """pyarrow.parquet, or None with the reason it cannot be imported."""
    try:
        import pyarrow.parquet as pq  # noqa: F401
        return pq, None
    except ImportError as e:
        return None, (f"reading Parquet needs pyarrow, which cannot be imported here ({e}); Debian 12 has no "
                      "python3-pyarrow: install pyarrow where it is available, or use a CSV/JSON Lines pairs file")


def _read_parquet(path, root):
    pq, reason = parquet_reader()
    if pq is None:
        raise PairsError(f"pairs file '{path}': {reason}")
    table = pq.read_table(path)
    columns = {c.lower(): c for c in table.column_names}
    rows = []
    if "generated_images" in columns and "real_images" in columns:
        # D-Rep as published: Name, Level (int64), image structs holding the encoded bytes.
        data = table.to_pydict()
        names = data.get(columns.get("name", ""), [None] * table.num_rows)
        for i in range(table.num_rows):
            where = f"pairs file '{path}' row {i + 1}"
            g = _image_bytes(data[columns["generated_images"]][i], where, "generated_images")
            r = _image_bytes(data[columns["real_images"]][i], where, "real_images")
            rows.append((names[i] or f"row-{i + 1}", _level(data[columns["level"]][i], where), g, r))
    elif all(c in columns for c in ("level", "generated", "real")):
        data = table.to_pydict()
        names = data.get(columns.get("name", ""), [None] * table.num_rows)
        for i in range(table.num_rows):
            rows.append(_path_row(path, f"row {i + 1}", root, names[i], data[columns["level"]][i],
                                  data[columns["generated"]][i], data[columns["real"]][i]))
    else:
        raise PairsError(f"pairs file '{path}': expected columns level, generated, real (paths) or Name, Level, "
                         f"generated_images, real_images (D-Rep); it has: {', '.join(table.column_names)}")
    return rows


def _image_bytes(value, where, column):
    if isinstance(value, dict):
        value = value.get("bytes")
    if not isinstance(value, (bytes, bytearray)) or not value:
        raise PairsError(f"{where}: {column} holds no image bytes")
    return bytes(value)


def split_pairs(rows, val_fraction, seed):
    """A seeded held-out split: (train, val)."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_val = int(round(len(rows) * val_fraction))
    val = sorted(order[:n_val])
    train = sorted(order[n_val:])
    return [rows[i] for i in train], [rows[i] for i in val]


# ---------------------------------------------------------------------------------------------------------------
# Images: decoded once into uint8 tensors, as the inference pipeline pre-processes them (squash, bicubic)


def decode(source, size):
    """uint8 HWC numpy array (no torch here: decoding runs in forked workers, where OpenMP would hang)."""
    from PIL import Image
    import numpy as np

    image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source).convert("RGB")
    image = image.resize((size, size), Image.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


def _decode_job(job):
    source, size = job
    try:
        return decode(source, size), None
    except Exception as e:  # noqa: BLE001 - a bad image is reported, not fatal
        return None, f"{e.__class__.__name__}: {e}"


class ImageBank:
    """Every distinct image of a set of pairs, decoded once: uint8 [N, 3, S, S]; pairs as index pairs."""

    def __init__(self, rows, size, workers=1, log=print):
        keys, index = [], {}
        for _, _, g, r in rows:
            for s in (g, r):
                k = s if isinstance(s, str) else ("bytes", hash(s), len(s))
                if k not in index:
                    index[k] = len(keys)
                    keys.append(s)
        start = time.time()
        jobs = [(s, size) for s in keys]
        if workers > 1:
            import multiprocessing

            # spawn, not fork: a process forked after torch has started its OpenMP threads can hang in them.
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                decoded = pool.map(_decode_job, jobs, chunksize=32)
        else:
            decoded = [_decode_job(j) for j in jobs]
        self.images = torch.zeros(len(keys), 3, size, size, dtype=torch.uint8)
        bad = set()
        for i, (tensor, error) in enumerate(decoded):
            if tensor is None:
                bad.add(i)
                log(f"  skipped image {keys[i] if isinstance(keys[i], str) else '(embedded bytes)'}: {error}")
            else:
                self.images[i] = torch.from_numpy(tensor.copy()).permute(2, 0, 1)
        self.pairs, self.levels, self.names, self.skipped = [], [], [], 0
        for name, level, g, r in rows:
            gi = index[g if isinstance(g, str) else ("bytes", hash(g), len(g))]
            ri = index[r if isinstance(r, str) else ("bytes", hash(r), len(r))]
            if gi in bad or ri in bad:
                self.skipped += 1
                continue
            self.pairs.append((gi, ri))
            self.levels.append(level)
            self.names.append(name)
        self.pairs = torch.tensor(self.pairs, dtype=torch.long).reshape(-1, 2)
        self.levels = torch.tensor(self.levels, dtype=torch.long)
        log(f"  decoded {len(keys)} images at {size}px in {time.time() - start:.1f}s; {len(self.levels)} pairs"
            + (f", {self.skipped} skipped (unreadable image)" if self.skipped else ""))

    def __len__(self):
        return len(self.levels)


_MEAN = torch.tensor(m.IMAGENET_MEAN).reshape(1, 3, 1, 1)
_STD = torch.tensor(m.IMAGENET_STD).reshape(1, 3, 1, 1)


def normalise(images_uint8):
    return (images_uint8.float() / 255.0 - _MEAN) / _STD


def batch_tensors(bank, idx, augment=None, generator=None):
    """Generated and real inputs [B, 3, S, S] for the pairs idx; 'flip' mirrors both images of a pair alike."""
    g = bank.images[bank.pairs[idx, 0]]
    r = bank.images[bank.pairs[idx, 1]]
    if augment == "flip":
        flip = torch.rand(len(idx), generator=generator) < 0.5
        g = torch.where(flip.reshape(-1, 1, 1, 1), g.flip(-1), g)
        r = torch.where(flip.reshape(-1, 1, 1, 1), r.flip(-1), r)
    return normalise(g), normalise(r)


# ---------------------------------------------------------------------------------------------------------------
# The model


def build_model(arch, drop_path, init, log=print):
    model = m.pdf_embedding(arch, drop_path)
    if init in (None, "", "random"):
        init_random(model)
        log(f"  backbone: random ({_describe(model)})")
    else:
        log(f"  backbone: {init_from_checkpoint(model, init)}")
    return model


def _describe(model):
    a = model.arch
    return f"ViT {a['image']}px, patch {a['patch']}, width {a['dim']}, depth {a['depth']}, {a['heads']} heads, " \
           f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters"


def _seed_extra_tokens(model):
    """The five extra tokens truncated-normal (std 0.02); the first six position embeddings = the class token's."""
    with torch.no_grad():
        nn.init.trunc_normal_(model.dist_token, std=0.02)
        model.pos_embed[:, 1:model.tokens] = model.pos_embed[:, :1].clone()


def init_random(model):
    """DeiT's initialisation (truncated normal 0.02 for weights and tokens, zero biases, unit LayerNorms)."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    with torch.no_grad():
        nn.init.trunc_normal_(model.cls_token, std=0.02)
        nn.init.trunc_normal_(model.pos_embed, std=0.02)
    _seed_extra_tokens(model)


def init_from_checkpoint(model, path):
    """Starts from a checkpoint: an ImageNet DeiT (timm layout: cls_token, pos_embed of 1 + patches [+ 1 distillation]
    positions, blocks..., optionally {'model': ...}) gets five new extra tokens and its class position copied to the
    first six; a PDF-Embedding checkpoint (released or trained here, six tokens) is loaded as it is (fine-tuning)."""
    if not os.path.isfile(path):
        raise m.CheckpointMismatch(f"checkpoint '{path}' does not exist")
    blob = torch.load(path, map_location="cpu")
    state = m.read_state_dict(path, ["module.base.0.", "base.0.", "module."], blob)
    own = model.state_dict()
    if "dist_token" in state and tuple(state["dist_token"].shape) == tuple(own["dist_token"].shape):
        m.load_strict(model, state, path)
        return f"PDF-Embedding checkpoint '{path}' (six tokens, fine-tuning; {_describe(model)})"
    patches = own["pos_embed"].shape[1] - model.tokens
    mapped, ignored = {}, []
    for key, value in state.items():
        if key == "pos_embed":
            source_patches = value[:, -_square(value.shape[1]):]
            if source_patches.shape[1] != patches:
                source_patches = _resize_grid(source_patches, patches)
            mapped[key] = torch.cat([value[:, :1].expand(-1, model.tokens, -1), source_patches], dim=1)
        elif key in own and tuple(value.shape) == tuple(own[key].shape) and key != "dist_token":
            mapped[key] = value
        else:
            ignored.append(key)
    new = ["dist_token"] + [k for k in ("head.weight", "head.bias") if k not in mapped]
    missing = [k for k in own if k not in mapped and k not in new]
    if missing:
        raise m.CheckpointMismatch(f"checkpoint '{path}' does not fit the network ({_describe(model)}): "
                                   f"missing or mis-shaped keys ({len(missing)}): {', '.join(missing)}")
    with torch.no_grad():
        for key in new:
            if key.startswith("head."):
                own[key].zero_()
        own.update(mapped)
        model.load_state_dict(own, strict=True)
        nn.init.trunc_normal_(model.dist_token, std=0.02)
    return (f"ImageNet checkpoint '{path}' ({_describe(model)}; new: 5 extra tokens, first six positions from the class "
            f"token's" + (f"; not used: {', '.join(sorted(ignored))}" if ignored else "") + ")")


def _square(n):
    """The largest square number of positions at the end of a position table of n entries (the patch grid)."""
    for extra in (1, 2, 0):
        side = int(math.isqrt(n - extra))
        if side * side == n - extra:
            return n - extra
    raise m.CheckpointMismatch(f"position embedding of {n} entries is not 1 or 2 tokens plus a square patch grid")


def _resize_grid(grid, patches):
    side, new_side = int(math.isqrt(grid.shape[1])), int(math.isqrt(patches))
    dim = grid.shape[2]
    x = grid.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    x = F.interpolate(x, size=(new_side, new_side), mode="bicubic", align_corners=False)
    return x.permute(0, 2, 3, 1).reshape(1, new_side * new_side, dim)


# ---------------------------------------------------------------------------------------------------------------
# Training and evaluation


def pearson(x, y):
    x, y = x.double(), y.double()
    x, y = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    return float((x * y).sum()) / denominator if denominator > 0 else float("nan")


@torch.no_grad()
def evaluate(model, bank, args, device):
    """Validation loss, PCC and MSE of level/5, exact agreement and per-level accuracy."""
    model.eval()
    if len(bank) == 0:
        return {}
    losses, predicted = [], []
    for start in range(0, len(bank), args.eval_batch_size):
        idx = torch.arange(start, min(len(bank), start + args.eval_batch_size))
        g, r = batch_tensors(bank, idx)
        out = model(torch.cat([g, r]).to(device))
        c = token_cosines(out[: len(idx)], out[len(idx):])
        losses.append(float(pdf_loss(c, bank.levels[idx], args.pdf, args.sigma, args.lam, args.tau)) * len(idx))
        predicted.append(levels_of(c).cpu())
    predicted = torch.cat(predicted)
    truth = bank.levels
    per_level = {}
    for level in range(LEVELS):
        mask = truth == level
        if mask.any():
            per_level[str(level)] = round(float((predicted[mask] == level).float().mean()), 4)
    return {
        "loss": sum(losses) / len(bank),
        "pcc": pearson(predicted.float() / 5, truth.float() / 5),
        "mse": float(((predicted.float() - truth.float()) / 5).pow(2).mean()),
        "accuracy": float((predicted == truth).float().mean()),
        "per_level": per_level,
        "predicted": predicted,
    }


def train_epoch(model, bank, optimiser, schedule, state, args, device, deadline, log):
    """One pass over the training pairs in a seeded order; stops early (returns False) once the deadline passes."""
    model.train()
    generator = torch.Generator().manual_seed(args.seed * 1000 + state["epoch"])
    order = torch.randperm(len(bank), generator=generator)
    total, count, start = 0.0, 0, time.time()
    steps = len(bank) // args.batch_size if len(bank) >= args.batch_size else 1
    # A run stopped part-way through an epoch (--max-minutes) and resumed carries on with that epoch's next batch.
    first = min(steps, max(0, state["step"] - state["epoch"] * steps))
    for step in range(first, steps):
        idx = order[step * args.batch_size:(step + 1) * args.batch_size]
        g, r = batch_tensors(bank, idx, args.augment, generator)
        for group in optimiser.param_groups:
            group["lr"] = schedule(state["step"])
        out = model(torch.cat([g, r]).to(device))
        loss = pdf_loss(token_cosines(out[: len(idx)], out[len(idx):]), bank.levels[idx], args.pdf, args.sigma, args.lam, args.tau)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip_grad > 0:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
        optimiser.step()
        state["step"] += 1
        total += float(loss) * len(idx)
        count += len(idx)
        if args.log_every and (step + 1) % args.log_every == 0:
            rate = count * 2 / max(1e-9, time.time() - start)
            log(f"  epoch {state['epoch'] + 1} step {step + 1}/{steps}: loss {total / count:.4f}, lr {schedule(state['step']):.2e}, {rate:.0f} img/s")
        if deadline and time.time() > deadline:
            return total / max(1, count), False
    return total / max(1, count), True


def make_schedule(args, steps_per_epoch, started=None):
    """Linear warm-up then cosine decay to lr * min_lr_ratio. Progress is counted in steps over --epochs or, with
    --max-minutes, in elapsed time over that budget, whichever is further on: a run stopped by its time budget
    has still annealed its learning rate."""
    total = max(1, args.epochs * steps_per_epoch)
    warmup = int(args.warmup_epochs * steps_per_epoch)
    budget = args.max_minutes * 60 if args.max_minutes > 0 and started is not None else None

    def lr(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        if budget:
            progress = max(progress, (time.time() - started) / budget)
        progress = min(1.0, progress)
        return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    return lr


def save(path, model, optimiser, state, args, name):
    tmp = path + ".tmp"
    torch.save({"format": "icdiff-pdf-embedding-train/1", "name": name, "arch": model.arch,
                "state_dict": model.state_dict(), "optimizer": optimiser.state_dict() if optimiser else None,
                "epoch": state["epoch"], "step": state["step"], "best_pcc": state["best_pcc"],
                "args": {k: v for k, v in vars(args).items()}}, tmp)
    os.replace(tmp, path)


def write_reference(model, bank, out, count, device):
    """The first `count` validation pairs as raw float32 inputs (generated, real, generated, real, ...) and the
    levels PyTorch gives them, for the check that the exported ONNX graph grades them the same."""
    model.eval()
    idx = torch.arange(min(count, len(bank)))
    g, r = batch_tensors(bank, idx)
    inputs = torch.stack([g, r], dim=1).reshape(-1, *g.shape[1:])
    with torch.no_grad():
        out_g, out_r = model(g.to(device)), model(r.to(device))
        cosines = token_cosines(out_g, out_r).cpu()
    inputs.numpy().astype("<f4").tofile(os.path.join(out, "reference-pairs.f32"))
    with open(os.path.join(out, "reference-pairs.json"), "w", encoding="utf-8") as f:
        json.dump({"pairs": len(idx), "inputShape": [len(idx) * 2] + list(g.shape[1:]),
                   "levels": levels_of(cosines).tolist(), "cosines": cosines.tolist(),
                   "labels": bank.levels[idx].tolist()}, f)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", required=True, help="labelled pairs: .csv, .jsonl or .parquet (paths or D-Rep image bytes)")
    p.add_argument("--val", default=None, help="held-out pairs file; default: --val-fraction of --pairs")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of --pairs held out when --val is not given (default 0.1)")
    p.add_argument("--out", required=True, help="output folder (checkpoints, history, model.onnx + model.json)")
    p.add_argument("--name", default=None, help="model name in the manifest (default: pdf-embedding-<arch>-<pdf>)")
    p.add_argument("--arch", default="small", help="deit-b16 (the released model's shape), small (4 layers, width 192, "
                   "patch 16 at 112 px: trains on a CPU) or tiny (tests); default small")
    p.add_argument("--init", default="random", help="'random' or a checkpoint: ImageNet DeiT-B/16 (timm layout) or a "
                   "PDF-Embedding one to fine-tune (default random)")
    p.add_argument("--drop-path", type=float, default=0.1, help="stochastic depth of the last block (default 0.1, the paper's)")
    p.add_argument("--pdf", choices=["gauss", "exp"], default="gauss", help="shape of the target distribution (default gauss)")
    p.add_argument("--sigma", type=float, default=0.1, help="Gaussian width on the level/5 scale (default 0.1: a neighbouring level weighs e^-2 of the true one)")
    p.add_argument("--lambda", dest="lam", type=float, default=10.0, help="exponential rate on the level/5 scale (default 10: a neighbour weighs e^-2)")
    p.add_argument("--tau", type=float, default=0.05, help="softmax temperature over the per-token cosines (default 0.05)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64, help="pairs per step (default 64)")
    p.add_argument("--eval-batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=5e-4, help="AdamW peak learning rate (default 5e-4, for a random backbone; use ~5e-5 from ImageNet weights)")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-epochs", type=float, default=0.5)
    p.add_argument("--min-lr-ratio", type=float, default=0.01, help="cosine decay ends at lr * this")
    p.add_argument("--clip-grad", type=float, default=1.0, help="gradient norm clip (0: off)")
    p.add_argument("--augment", choices=["none", "flip"], default="flip", help="flip: mirror both images of a pair alike, at random (default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--workers", type=int, default=1, help="processes decoding images before training")
    p.add_argument("--max-minutes", type=float, default=0, help="stop training after this long, counted from the start "
                   "of training, after decoding (the learning rate anneals over it; validation, checkpoint and export still run)")
    p.add_argument("--resume", action="store_true", help="carry on from --out/last.pt if it exists")
    p.add_argument("--log-every", type=int, default=20, help="print progress every N steps (0: per epoch only)")
    p.add_argument("--no-export", action="store_true", help="stop after the checkpoint")
    p.add_argument("--reference", type=int, default=0, help="also write N validation pairs and PyTorch's levels for an ONNX parity check")
    return p.parse_args(argv)


def blas_in_use():
    """(description, is_reference) of the BLAS this process mapped after a matrix product: Debian's torch calls
    libblas.so.3, which is the reference BLAS (about 1 GFLOP/s, some forty times slower here) unless OpenBLAS is
    installed and selected (Debian's libopenblas0-pthread; tools/bench/install-baselines.sh)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    try:
        with open("/proc/self/maps") as maps:
            libraries = {line.split()[-1] for line in maps if ".so" in line}
    except OSError:
        return "unknown (no /proc/self/maps)", False
    for lib in sorted(libraries):
        name = os.path.basename(os.path.realpath(lib))
        if "openblas" in lib or "openblas" in name:
            return f"OpenBLAS ({os.path.realpath(lib)})", False
        if "mkl" in name:
            return f"MKL ({lib})", False
    for lib in sorted(libraries):
        if os.path.basename(lib).startswith("libblas.so"):
            return f"the reference BLAS ({os.path.realpath(lib)})", True
    return "torch's own kernels (no system BLAS mapped)", False


def main(argv=None):
    args = parse_args(argv)
    if args.arch not in m.PDF_ARCHS:
        m.fail(f"--arch '{args.arch}' is not one of {', '.join(m.PDF_ARCHS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = lambda text: print(text, flush=True)  # noqa: E731
    device = torch.device(args.device)
    if device.type == "cpu":
        blas, reference = blas_in_use()
        log(f"BLAS: {blas}")
        if reference:
            log("  warning: matrix products run on the reference BLAS, far slower than OpenBLAS; install Debian's "
                "libopenblas0-pthread (sudo tools/bench/install-baselines.sh) for a CPU run")
    name = args.name or f"pdf-embedding-{args.arch}-{args.pdf}"

    try:
        rows = read_pairs(args.pairs)
        if args.val:
            train_rows, val_rows = rows, read_pairs(args.val)
        else:
            train_rows, val_rows = split_pairs(rows, args.val_fraction, args.seed)
    except PairsError as e:
        m.fail(str(e))
    size = m.PDF_ARCHS[args.arch]["image"]
    log(f"pairs: {len(train_rows)} training, {len(val_rows)} held out; levels 0..5 in training: "
        + "/".join(str(sum(1 for r in train_rows if r[1] == k)) for k in range(LEVELS)))
    train_bank = ImageBank(train_rows, size, args.workers, log)
    val_bank = ImageBank(val_rows, size, args.workers, log)
    if len(train_bank) == 0:
        m.fail("no readable training pairs")

    last = os.path.join(args.out, "last.pt")
    state = {"epoch": 0, "step": 0, "best_pcc": -2.0}
    try:
        if args.resume and os.path.isfile(last):
            blob = torch.load(last, map_location="cpu")
            model = m.pdf_embedding(blob["arch"], args.drop_path)
            model.load_state_dict(blob["state_dict"])
            state = {"epoch": blob["epoch"], "step": blob["step"], "best_pcc": blob["best_pcc"]}
            log(f"  resumed from {last}: {state['epoch']} epoch(s) done, best validation PCC {state['best_pcc']:.4f}")
        else:
            model = build_model(args.arch, args.drop_path, args.init, log)
            blob = None
    except m.CheckpointMismatch as e:
        m.fail(str(e))
    model.to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    if blob is not None and blob.get("optimizer"):
        optimiser.load_state_dict(blob["optimizer"])
    steps_per_epoch = max(1, len(train_bank) // args.batch_size)
    started, cpu_started = time.time(), time.process_time()  # the time budget counts training, not decoding
    deadline = started + args.max_minutes * 60 if args.max_minutes > 0 else None
    schedule = make_schedule(args, steps_per_epoch, started)
    log(f"objective: KL(q || softmax(c / {args.tau})), q {args.pdf} "
        + (f"sigma {args.sigma}" if args.pdf == "gauss" else f"lambda {args.lam}")
        + f"; AdamW lr {args.lr} wd {args.weight_decay}, {args.epochs} epochs x {steps_per_epoch} steps of {args.batch_size} pairs, "
        f"torch threads {torch.get_num_threads()}, device {device}")

    history = os.path.join(args.out, "history.jsonl")
    finished = True
    while state["epoch"] < args.epochs:
        epoch_start = time.time()
        train_loss, finished = train_epoch(model, train_bank, optimiser, schedule, state, args, device, deadline, log)
        metrics = evaluate(model, val_bank, args, device)
        record = {"epoch": state["epoch"] + 1, "complete": finished, "train_loss": round(train_loss, 5),
                  "seconds": round(time.time() - epoch_start, 1)}
        record.update({f"val_{k}": (round(v, 5) if isinstance(v, float) else v) for k, v in metrics.items() if k != "predicted"})
        log(f"epoch {record['epoch']}{'' if finished else ' (stopped at --max-minutes)'}: train loss {train_loss:.4f}"
            + (f", val loss {metrics['loss']:.4f}, val PCC {metrics['pcc']:.4f}, accuracy {metrics['accuracy']:.3f}, "
               f"per level {metrics['per_level']}" if metrics else "") + f" ({record['seconds']:.0f}s)")
        with open(history, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if finished:
            state["epoch"] += 1
        pcc = metrics.get("pcc", float("nan")) if metrics else float("nan")
        if not metrics or (not math.isnan(pcc) and pcc > state["best_pcc"]) or not os.path.isfile(os.path.join(args.out, "checkpoint.pt")):
            state["best_pcc"] = pcc if not math.isnan(pcc) else state["best_pcc"]
            save(os.path.join(args.out, "checkpoint.pt"), model, None, state, args, name)
        save(last, model, optimiser, state, args, name)
        if not finished:
            break

    log(f"training: {time.time() - started:.0f}s wall, {time.process_time() - cpu_started:.0f}s CPU, best validation PCC {state['best_pcc']:.4f} -> {os.path.join(args.out, 'checkpoint.pt')}")
    if args.no_export:
        return 0
    best = torch.load(os.path.join(args.out, "checkpoint.pt"), map_location="cpu")
    model = m.pdf_embedding(best["arch"])
    model.load_state_dict(best["state_dict"])
    exporter.write_model(model, args.out, name)
    if args.reference:
        write_reference(model, val_bank if len(val_bank) else train_bank, args.out, args.reference, torch.device("cpu"))
    log(f"wrote {os.path.join(args.out, 'model.onnx')} and model.json (icdiff eval/audit --model {os.path.join(args.out, 'model.json')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
