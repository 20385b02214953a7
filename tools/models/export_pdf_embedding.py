#!/usr/bin/env python3
"""Export a PDF-Embedding (ICDiff) checkpoint to ONNX plus an icdiff model manifest.

  export_pdf_embedding.py --checkpoint vit_gauss_760.pth.tar --out models/pdf-gauss
  export_pdf_embedding.py --checkpoint runs/drep/checkpoint.pt --out models/pdf-drep   # from train_pdf_embedding.py
  export_pdf_embedding.py --random-init --seed 1 --out /tmp/pdf-test      # tests: no weights needed

The checkpoint is the official one (DataParallel around a model whose `base` is a one-element Sequential of a
timm-0.4.12 VisionTransformer: keys start with `module.base.0.`), or one written by train_pdf_embedding.py, which
records its architecture (`arch`) beside the state dict. Keys and shapes are checked strictly.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import icdiff_models as m  # noqa: E402


def write_model(model, out, name, notes=None, reference=0, seed=0):
    """Exports `model` (a PdfEmbeddingViT of any shape) to out/model.onnx and writes out/model.json for icdiff."""
    arch = model.arch
    size = (arch["image"], arch["image"])
    os.makedirs(out, exist_ok=True)
    model.eval()
    m.export_onnx(model, os.path.join(out, "model.onnx"), size, "input", "tokens")
    m.write_manifest(os.path.join(out, "model.json"), {
        "format": "icdiff-model/1",
        "name": name,
        "onnx": "model.onnx",
        "notes": notes or (f"PDF-Embedding (ICDiff): ViT (patch {arch['patch']}, width {arch['dim']}, depth {arch['depth']}) "
                           "with 6 tokens; level = 5 - argmax of per-token cosines."),
        # The official inference code decodes with Pillow in full and never applies EXIF orientation.
        "input": {"name": "input", "width": size[0], "height": size[1], "resize": "squash",
                  "mean": m.IMAGENET_MEAN, "std": m.IMAGENET_STD,
                  "fullJpegDecode": True, "exifRotation": False},
        "output": {"name": "tokens", "tokens": 6, "dim": arch["dim"]},
        "scoring": {"rule": "pdf-argmax"},
    })
    if reference:
        m.write_reference(model, out, size, reference, seed + 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="the user's .pth.tar (vit_gauss_760.pth.tar or vit_exp_563.pth.tar) or a trained checkpoint")
    source.add_argument("--random-init", action="store_true", help="random weights (tests and parity checks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output folder for model.onnx and model.json")
    parser.add_argument("--name", default=None)
    parser.add_argument("--reference", type=int, default=0, help="also write N random inputs and PyTorch outputs")
    args = parser.parse_args()

    if args.checkpoint:
        if not os.path.isfile(args.checkpoint):
            m.fail(f"checkpoint '{args.checkpoint}' does not exist")
        blob = torch.load(args.checkpoint, map_location="cpu")
        arch = blob.get("arch", "deit-b16") if isinstance(blob, dict) else "deit-b16"
        model = m.pdf_embedding(arch)
        try:
            state = m.read_state_dict(args.checkpoint, ["module.base.0.", "base.0.", "module."], blob)
            m.load_strict(model, state, args.checkpoint)
        except m.CheckpointMismatch as e:
            m.fail(str(e))
        name = args.name or (blob.get("name") if isinstance(blob, dict) else None) or \
            os.path.splitext(os.path.splitext(os.path.basename(args.checkpoint))[0])[0]
    else:
        model = m.pdf_embedding("deit-b16")
        m.randomise(model, args.seed)
        name = args.name or f"pdf-embedding-random-{args.seed}"

    write_model(model, args.out, name, reference=args.reference, seed=args.seed)
    print(f"wrote {os.path.join(args.out, 'model.onnx')} and model.json")


if __name__ == "__main__":
    main()
