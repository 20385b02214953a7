#!/usr/bin/env python3
"""The Python reference pre-processing, for parity checks of the C# decoder.

For each image: PIL open, convert("RGB"), then either resize((w, h), BICUBIC) ("squash") or
resize(short edge, BICUBIC) + centre crop ("short-edge-crop"), ToTensor, Normalize(mean, std) — the
torchvision pipeline the models were trained with. Writes one float32 CHW tensor per image, concatenated.

  reference_preprocess.py --manifest model.json --out tensors.f32 image1.jpg image2.png ...
"""
import argparse
import json

import numpy as np
from PIL import Image


def preprocess(path, spec):
    image = Image.open(path).convert("RGB")
    width, height = spec["width"], spec["height"]
    if spec.get("resize", "squash") == "squash":
        image = image.resize((width, height), Image.BICUBIC)
    else:
        short = spec["shortEdge"]
        w, h = image.size
        if w <= h:
            size = (short, int(short * h / w))
        else:
            size = (int(short * w / h), short)
        image = image.resize(size, Image.BICUBIC)
        left = int(round((size[0] - width) / 2.0))
        top = int(round((size[1] - height) / 2.0))
        image = image.crop((left, top, left + width, top + height))
    x = np.asarray(image, dtype=np.float32) / 255.0
    x = (x - np.array(spec["mean"], dtype=np.float32)) / np.array(spec["std"], dtype=np.float32)
    return x.transpose(2, 0, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as f:
        spec = json.load(f)["input"]
    spec.setdefault("mean", [0.485, 0.456, 0.406])
    spec.setdefault("std", [0.229, 0.224, 0.225])
    with open(args.out, "wb") as out:
        for path in args.images:
            out.write(preprocess(path, spec).astype("<f4").tobytes())


if __name__ == "__main__":
    main()
