"""Network definitions and helpers shared by the export scripts.

Only plain PyTorch is used (no timm, no downloads). The module and parameter names follow the layouts the
released checkpoints use, so their state dicts load with a strict key and shape check.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class PatchEmbed(nn.Module):
    def __init__(self, patch=16, channels=3, dim=768):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class DropPath(nn.Module):
    """Stochastic depth per sample (training only; an identity in eval mode and in the exported graph)."""

    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class Block(nn.Module):
    def __init__(self, dim, heads, eps, drop_path=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, dim * 4)
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PdfEmbeddingViT(nn.Module):
    """DeiT-B/16 with six learnable tokens (class token + 5 extra), as PDF-Embedding (ICDiff) uses it.

    Output: the final LayerNorm of the six token positions, [B, 6, 768], not normalised. The defaults are
    DeiT-B/16 at 224 px (the released weights); smaller shapes serve training on a CPU and tests. drop_path is
    the stochastic-depth rate of the last block (rising linearly from 0 over the blocks, as DeiT does); it has
    no parameters, so state dicts are the same with or without it.
    """

    def __init__(self, image=224, patch=16, dim=768, depth=12, heads=12, extra_tokens=5, eps=1e-6, drop_path=0.0):
        super().__init__()
        patches = (image // patch) ** 2
        self.arch = {"image": image, "patch": patch, "dim": dim, "depth": depth, "heads": heads}
        self.patch_embed = PatchEmbed(patch, 3, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.dist_token = nn.Parameter(torch.zeros(1, extra_tokens, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, patches + 1 + extra_tokens, dim))
        rates = [drop_path * i / max(1, depth - 1) for i in range(depth)]
        self.blocks = nn.ModuleList([Block(dim, heads, eps, rates[i]) for i in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.head = nn.Linear(dim, 1000)  # unused; present in the checkpoint
        self.tokens = 1 + extra_tokens

    def forward(self, x):
        x = self.patch_embed(x)
        b = x.shape[0]
        x = torch.cat((self.cls_token.expand(b, -1, -1), self.dist_token.expand(b, -1, -1), x), dim=1)
        x = x + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, : self.tokens]


# Shapes of the six-token ViT. "deit-b16" is the released PDF-Embedding; "small" trains on a CPU in minutes;
# "tiny" is for tests only.
PDF_ARCHS = {
    "deit-b16": {"image": 224, "patch": 16, "dim": 768, "depth": 12, "heads": 12},
    "small": {"image": 112, "patch": 16, "dim": 192, "depth": 4, "heads": 3},
    "tiny": {"image": 32, "patch": 16, "dim": 32, "depth": 1, "heads": 2},
}


def pdf_embedding(arch="deit-b16", drop_path=0.0):
    """The six-token ViT for an architecture name from PDF_ARCHS or a dict of its shape (as checkpoints store it)."""
    shape = PDF_ARCHS[arch] if isinstance(arch, str) else arch
    return PdfEmbeddingViT(image=shape["image"], patch=shape["patch"], dim=shape["dim"], depth=shape["depth"],
                           heads=shape["heads"], drop_path=drop_path)


class GeM(nn.Module):
    def __init__(self, p=3.0, eps=1e-6):
        super().__init__()
        self.p = p
        self.eps = eps

    def forward(self, x):
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(self.p), 1).pow(1.0 / self.p).flatten(1)


class SscdResNet50(nn.Module):
    """SSCD's ResNet-50 descriptor: torchvision ResNet-50 trunk, GeM pooling, 2048->512 projection, L2 norm."""

    def __init__(self, dim=512):
        super().__init__()
        import torchvision

        trunk = torchvision.models.resnet50(weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4
        self.pool = GeM()
        self.embeddings = nn.Linear(2048, dim)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return F.normalize(self.embeddings(self.pool(x)), dim=1)


class CheckpointMismatch(Exception):
    pass


def load_strict(model, state, source):
    """Loads a state dict after checking every key and shape; the error lists all differences at once."""
    expected = model.state_dict()
    missing = sorted(k for k in expected if k not in state)
    unexpected = sorted(k for k in state if k not in expected)
    shapes = sorted(
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or shapes:
        lines = [f"checkpoint '{source}' does not fit the network:"]
        if missing:
            lines.append(f"  missing keys ({len(missing)}): " + ", ".join(missing))
        if unexpected:
            lines.append(f"  unexpected keys ({len(unexpected)}): " + ", ".join(unexpected))
        if shapes:
            lines.append(f"  shape mismatches ({len(shapes)}): " + "; ".join(shapes))
        raise CheckpointMismatch("\n".join(lines))
    model.load_state_dict(state, strict=True)


def read_state_dict(path, prefixes, blob=None):
    """Reads a checkpoint (or takes the already loaded `blob`); unwraps {'state_dict': ...} / {'model': ...} and
    strips the first matching key prefix."""
    if blob is None:
        blob = torch.load(path, map_location="cpu")
    if isinstance(blob, dict):
        for wrapper in ("state_dict", "model"):
            if wrapper in blob and isinstance(blob[wrapper], dict):
                blob = blob[wrapper]
                break
    if not isinstance(blob, dict):
        raise CheckpointMismatch(f"checkpoint '{path}' holds a {type(blob).__name__}, not a state dict")
    for prefix in prefixes:
        if prefix and all(k.startswith(prefix) for k in blob):
            return {k[len(prefix):]: v for k, v in blob.items()}
    return dict(blob)


def randomise(model, seed):
    """Deterministic random weights with realistic scales (tests; no pretrained weights exist here)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                if name.endswith("weight"):
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=generator))
                else:
                    p.copy_(0.02 * torch.randn(p.shape, generator=generator))
            else:
                fan_in = max(1, p[0].numel())
                p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(fan_in))
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.copy_(1.0 + 0.1 * torch.rand(b.shape, generator=generator))
            elif name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=generator))


def export_onnx(model, path, size, input_name, output_name):
    model.eval()
    dummy = torch.zeros(2, 3, size[1], size[0])
    torch.onnx.export(
        model,
        dummy,
        path,
        input_names=[input_name],
        output_names=[output_name],
        dynamic_axes={input_name: {0: "N"}, output_name: {0: "N"}},
        opset_version=17,
        do_constant_folding=True,
    )


def write_manifest(path, manifest):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def write_reference(model, directory, size, count, seed):
    """Random inputs and the PyTorch outputs for them, as raw little-endian float32, for the parity check."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(count, 3, size[1], size[0], generator=generator)
    with torch.no_grad():
        outputs = model(inputs)
    inputs.numpy().astype("<f4").tofile(os.path.join(directory, "reference-inputs.f32"))
    outputs.numpy().astype("<f4").tofile(os.path.join(directory, "reference-outputs.f32"))
    with open(os.path.join(directory, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"count": count, "inputShape": list(inputs.shape), "outputShape": list(outputs.shape)}, f)


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
