#!/usr/bin/env python3
"""Export an SSCD ResNet-50 descriptor (512-d, L2-normalised) to ONNX plus an icdiff model manifest.

  export_sscd.py --weights sscd_resnet50.pth --out models/sscd
  export_sscd.py --random-init --seed 1 --out /tmp/sscd-test

Weights: a state dict with torchvision ResNet-50 trunk keys (conv1, bn1, layer1..layer4) plus the projection
`embeddings.weight` (512 x 2048) and `embeddings.bias`; a classifier `fc.*` is ignored. Keys and shapes are
checked strictly. Pre-processing: short edge to 288 and a 288 centre crop (default) or a 320x320 squash.
The five thresholds start from the published operating points (cosine 0.5 = replica for Somepalli et al.,
0.75 = copy at 90% precision on DISC2021) and should be fitted with `icdiff calibrate` on labelled pairs.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import icdiff_models as m  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", help="torchvision-format ResNet-50 weights plus the embeddings projection")
    source.add_argument("--random-init", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--name", default=None)
    parser.add_argument("--preprocess", choices=["short-edge-288", "square-320"], default="short-edge-288")
    parser.add_argument("--reference", type=int, default=0)
    args = parser.parse_args()

    model = m.SscdResNet50()
    if args.weights:
        if not os.path.isfile(args.weights):
            m.fail(f"weights '{args.weights}' does not exist")
        try:
            state = m.read_state_dict(args.weights, ["module.", "model."])
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
            m.load_strict(model, state, args.weights)
        except m.CheckpointMismatch as e:
            m.fail(str(e))
        name = args.name or os.path.splitext(os.path.basename(args.weights))[0]
    else:
        m.randomise(model, args.seed)
        name = args.name or f"sscd-random-{args.seed}"

    square = args.preprocess == "square-320"
    size = 320 if square else 288
    os.makedirs(args.out, exist_ok=True)
    model.eval()
    m.export_onnx(model, os.path.join(args.out, "model.onnx"), (size, size), "input", "embedding")
    preprocess = {"name": "input", "width": size, "height": size, "mean": m.IMAGENET_MEAN, "std": m.IMAGENET_STD}
    preprocess.update({"resize": "squash"} if square else {"resize": "short-edge-crop", "shortEdge": 288})
    m.write_manifest(os.path.join(args.out, "model.json"), {
        "format": "icdiff-model/1",
        "name": name,
        "onnx": "model.onnx",
        "notes": "SSCD ResNet-50 (512-d, L2-normalised). Thresholds are starting points; fit them with icdiff calibrate.",
        "input": preprocess,
        "output": {"name": "embedding", "tokens": 1, "dim": 512},
        "scoring": {"rule": "cosine-thresholds", "thresholds": [0.3, 0.4, 0.5, 0.6, 0.75]},
    })
    if args.reference:
        m.write_reference(model, args.out, (size, size), args.reference, args.seed + 1000)
    print(f"wrote {os.path.join(args.out, 'model.onnx')} and model.json")


if __name__ == "__main__":
    main()
