#!/usr/bin/env python3
"""Export a PDF-Embedding (ICDiff) checkpoint to ONNX plus an icdiff model manifest.

  export_pdf_embedding.py --checkpoint vit_gauss_760.pth.tar --out models/pdf-gauss
  export_pdf_embedding.py --random-init --seed 1 --out /tmp/pdf-test      # tests: no weights needed

The checkpoint is the official one (DataParallel around a model whose `base` is a one-element Sequential of a
timm-0.4.12 VisionTransformer: keys start with `module.base.0.`). Keys and shapes are checked strictly.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import icdiff_models as m  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="the user's .pth.tar (vit_gauss_760.pth.tar or vit_exp_563.pth.tar)")
    source.add_argument("--random-init", action="store_true", help="random weights (tests and parity checks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output folder for model.onnx and model.json")
    parser.add_argument("--name", default=None)
    parser.add_argument("--reference", type=int, default=0, help="also write N random inputs and PyTorch outputs")
    args = parser.parse_args()

    model = m.PdfEmbeddingViT()
    if args.checkpoint:
        if not os.path.isfile(args.checkpoint):
            m.fail(f"checkpoint '{args.checkpoint}' does not exist")
        try:
            state = m.read_state_dict(args.checkpoint, ["module.base.0.", "base.0.", "module."])
            m.load_strict(model, state, args.checkpoint)
        except m.CheckpointMismatch as e:
            m.fail(str(e))
        name = args.name or os.path.splitext(os.path.splitext(os.path.basename(args.checkpoint))[0])[0]
    else:
        m.randomise(model, args.seed)
        name = args.name or f"pdf-embedding-random-{args.seed}"

    os.makedirs(args.out, exist_ok=True)
    model.eval()
    m.export_onnx(model, os.path.join(args.out, "model.onnx"), (224, 224), "input", "tokens")
    m.write_manifest(os.path.join(args.out, "model.json"), {
        "format": "icdiff-model/1",
        "name": name,
        "onnx": "model.onnx",
        "notes": "PDF-Embedding (ICDiff): DeiT-B/16 with 6 tokens; level = 5 - argmax of per-token cosines.",
        # The official inference code decodes with Pillow in full and never applies EXIF orientation.
        "input": {"name": "input", "width": 224, "height": 224, "resize": "squash",
                  "mean": m.IMAGENET_MEAN, "std": m.IMAGENET_STD,
                  "fullJpegDecode": True, "exifRotation": False},
        "output": {"name": "tokens", "tokens": 6, "dim": 768},
        "scoring": {"rule": "pdf-argmax"},
    })
    if args.reference:
        m.write_reference(model, args.out, (224, 224), args.reference, args.seed + 1000)
    print(f"wrote {os.path.join(args.out, 'model.onnx')} and model.json")


if __name__ == "__main__":
    main()
