#!/usr/bin/env python3
"""Tests of train_pdf_embedding.py (CPU, seconds): the objective against a hand computation, the pairs readers,
one epoch lowering the loss, initialisation from a DeiT-layout checkpoint, resuming, and the checkpoint -> ONNX
export (the ONNX Runtime side of that round trip is checked by the .NET test that runs this file).

  /usr/bin/python3 -m unittest -v test_train_pdf_embedding      # from tools/models
"""
import contextlib
import io
import json
import math
import os
import random
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import icdiff_models as m  # noqa: E402
import train_pdf_embedding as t  # noqa: E402


def write_toy_pairs(folder, count, seed=0, size=48):
    """A tiny labelled set: random block images; level 5 an exact copy, 4 a slightly noisy copy, 3 a brighter copy,
    2 half copied, 1 a corner copied, 0 an unrelated image. Writes pairs.csv (relative paths) and returns its path."""
    from PIL import Image
    import numpy as np

    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "img"), exist_ok=True)

    def scene():
        blocks = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        return np.kron(blocks, np.ones((size // 4, size // 4, 1), dtype=np.uint8))

    lines = ["name,level,generated,real"]
    for i in range(count):
        level = i % 6
        real = scene()
        if level == 5:
            gen = real.copy()
        elif level == 4:
            gen = np.clip(real.astype(int) + rng.integers(-12, 13, size=real.shape), 0, 255).astype(np.uint8)
        elif level == 3:
            gen = np.clip(real.astype(int) + 70, 0, 255).astype(np.uint8)
        elif level == 2:
            gen = scene()
            gen[:, : size // 2] = real[:, : size // 2]
        elif level == 1:
            gen = scene()
            gen[: size // 4, : size // 4] = real[: size // 4, : size // 4]
        else:
            gen = scene()
        Image.fromarray(gen).save(os.path.join(folder, "img", f"g{i}.png"))
        Image.fromarray(real).save(os.path.join(folder, "img", f"r{i}.png"))
        lines.append(f"p{i},{level},img/g{i}.png,img/r{i}.png")
    path = os.path.join(folder, "pairs.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def hand_kl(cosines, level, pdf, sigma, lam, tau):
    """KL(q || p) for one pair, written out with the math module only."""
    weights = []
    for k in range(6):
        d = abs((5 - k) / 5 - level / 5)
        weights.append(math.exp(-d * d / (2 * sigma * sigma)) if pdf == "gauss" else math.exp(-lam * d))
    q = [w / sum(weights) for w in weights]
    e = [math.exp(c / tau) for c in cosines]
    p = [x / sum(e) for x in e]
    return sum(qk * math.log(qk / pk) for qk, pk in zip(q, p) if qk > 0)


def quiet():
    return contextlib.redirect_stdout(io.StringIO())


class ObjectiveTests(unittest.TestCase):
    COSINES = [[0.91, 0.62, 0.40, 0.33, 0.10, -0.20],
               [0.10, 0.20, 0.75, 0.30, 0.05, 0.00],
               [-0.30, -0.10, 0.00, 0.15, 0.22, 0.48],
               [0.50, 0.50, 0.50, 0.50, 0.50, 0.50]]
    LEVELS = [5, 2, 0, 3]

    def check(self, pdf, sigma=0.1, lam=10.0, tau=0.05):
        c = torch.tensor(self.COSINES)
        got = float(t.pdf_loss(c, torch.tensor(self.LEVELS), pdf, sigma, lam, tau))
        want = sum(hand_kl(row, level, pdf, sigma, lam, tau) for row, level in zip(self.COSINES, self.LEVELS)) / len(self.LEVELS)
        self.assertAlmostEqual(got, want, places=5, msg=f"{pdf}: loss {got} vs hand-computed KL {want}")
        self.assertGreater(want, 0.0)

    def test_loss_equals_hand_computed_kl_gauss(self):
        self.check("gauss")
        self.check("gauss", sigma=0.25, tau=0.1)

    def test_loss_equals_hand_computed_kl_exp(self):
        self.check("exp")
        self.check("exp", lam=3.0, tau=0.2)

    def test_target_peaks_on_the_token_of_the_level_and_sums_to_one(self):
        for pdf in ("gauss", "exp"):
            q = t.target_distribution(torch.arange(6), pdf)
            self.assertTrue(torch.allclose(q.sum(1), torch.ones(6)))
            self.assertEqual(q.argmax(1).tolist(), [5, 4, 3, 2, 1, 0])  # token k stands for level 5 - k

    def test_loss_is_zero_when_the_prediction_is_the_target(self):
        tau = 0.05
        q = t.target_distribution(torch.tensor([3, 1]), "gauss")
        cosines = tau * q.log() + 0.3  # softmax(c / tau) == q
        self.assertLess(float(t.pdf_loss(cosines, torch.tensor([3, 1]), "gauss", tau=tau)), 1e-6)

    def test_levels_follow_inference_rule(self):
        c = torch.tensor(self.COSINES)
        self.assertEqual(t.levels_of(c).tolist(), [5, 3, 0, 5])  # a tie keeps the first token: level 5


class PairsTests(unittest.TestCase):
    def test_csv_and_jsonl_give_the_same_pairs_with_resolved_paths(self):
        with tempfile.TemporaryDirectory() as d:
            csv_path = write_toy_pairs(d, 6)
            rows = t.read_pairs(csv_path)
            with open(os.path.join(d, "pairs.jsonl"), "w", encoding="utf-8") as f:
                for i, (_, level, _, _) in enumerate(rows):
                    f.write(json.dumps({"name": f"p{i}", "level": level, "generated": f"img/g{i}.png", "real": os.path.join(d, "img", f"r{i}.png")}) + "\n")
            self.assertEqual(t.read_pairs(os.path.join(d, "pairs.jsonl")), rows)
            self.assertEqual(rows[0], ("p0", 0, os.path.join(d, "img", "g0.png"), os.path.join(d, "img", "r0.png")))

    def test_bad_level_names_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.csv")
            with open(path, "w", encoding="utf-8") as f:
                f.write("Name,Level,Generated,Real\na,3,g.png,r.png\nb,7,g.png,r.png\n")
            with self.assertRaises(t.PairsError) as e:
                t.read_pairs(path)
            self.assertIn("line 3", str(e.exception))
            self.assertIn("'7'", str(e.exception))

    def test_parquet_path_layout_and_drep_image_structs(self):
        pq, reason = t.parquet_reader()
        if pq is None:
            self.skipTest(reason)
        import pyarrow as pa

        with tempfile.TemporaryDirectory() as d:
            rows = t.read_pairs(write_toy_pairs(d, 6))
            pq.write_table(pa.table({"name": [r[0] for r in rows], "level": [r[1] for r in rows],
                                     "generated": [os.path.relpath(r[2], d) for r in rows], "real": [r[3] for r in rows]}),
                           os.path.join(d, "paths.parquet"))
            self.assertEqual(t.read_pairs(os.path.join(d, "paths.parquet")), rows)

            def struct(path):
                with open(path, "rb") as f:
                    return {"bytes": f.read(), "path": os.path.basename(path)}

            pq.write_table(pa.table({"Name": [r[0] for r in rows], "Level": pa.array([r[1] for r in rows], pa.int64()),
                                     "generated_images": [struct(r[2]) for r in rows], "real_images": [struct(r[3]) for r in rows]}),
                           os.path.join(d, "drep.parquet"))
            drep = t.read_pairs(os.path.join(d, "drep.parquet"))
            self.assertEqual([(r[0], r[1]) for r in drep], [(r[0], r[1]) for r in rows])
            bank = t.ImageBank(drep, 32, log=lambda _: None)
            by_path = t.ImageBank(rows, 32, log=lambda _: None)
            self.assertTrue(torch.equal(bank.images[bank.pairs[:, 0]], by_path.images[by_path.pairs[:, 0]]))

    def test_parquet_without_a_reader_is_refused_with_the_reason(self):
        if t.parquet_reader()[0] is not None:
            self.skipTest("pyarrow is importable here; the refusal path is not reachable")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "drep.parquet")
            with open(path, "wb") as f:
                f.write(b"PAR1")
            with self.assertRaises(t.PairsError) as e:
                t.read_pairs(path)
            self.assertIn("pyarrow", str(e.exception))


class TrainingTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        cls.dir = tempfile.TemporaryDirectory()
        cls.pairs = write_toy_pairs(cls.dir.name, 96, seed=1)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def args(self, out, *extra):
        return ["--pairs", self.pairs, "--arch", "tiny", "--out", out, "--batch-size", "8", "--lr", "2e-3",
                "--warmup-epochs", "0", "--log-every", "0", "--val-fraction", "0.25", "--seed", "3", *extra]

    def test_one_epoch_lowers_the_loss(self):
        args = t.parse_args(self.args(os.path.join(self.dir.name, "unused"), "--epochs", "1"))
        torch.manual_seed(args.seed)
        with quiet():
            bank = t.ImageBank(t.read_pairs(self.pairs), 32)
            model = t.build_model(args.arch, args.drop_path, args.init)
        optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        before = t.evaluate(model, bank, args, torch.device("cpu"))["loss"]
        state = {"epoch": 0, "step": 0, "best_pcc": -2.0}
        t.train_epoch(model, bank, optimiser, t.make_schedule(args, len(bank) // args.batch_size), state, args,
                      torch.device("cpu"), None, lambda _: None)
        after = t.evaluate(model, bank, args, torch.device("cpu"))["loss"]
        self.assertEqual(state["step"], 12)
        self.assertLess(after, before * 0.95, f"loss {before:.4f} -> {after:.4f}")

    def test_training_resumes_and_exports_the_checkpoint(self):
        out = os.path.join(self.dir.name, "run")
        with quiet():
            self.assertEqual(t.main(self.args(out, "--epochs", "1", "--no-export")), 0)
            self.assertEqual(t.main(self.args(out, "--epochs", "2", "--resume", "--reference", "6")), 0)
        with open(os.path.join(out, "history.jsonl"), encoding="utf-8") as f:
            epochs = [json.loads(line)["epoch"] for line in f]
        self.assertEqual(epochs, [1, 2])
        self.assertEqual(torch.load(os.path.join(out, "last.pt"))["epoch"], 2)
        with open(os.path.join(out, "model.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual((manifest["input"]["width"], manifest["output"]["tokens"], manifest["output"]["dim"], manifest["scoring"]["rule"]),
                         (32, 6, 32, "pdf-argmax"))
        import onnx

        onnx.checker.check_model(onnx.load(os.path.join(out, "model.onnx")))
        # The checkpoint read back grades the reference pairs as the exported run said it did.
        best = torch.load(os.path.join(out, "checkpoint.pt"))
        model = m.pdf_embedding(best["arch"])
        model.load_state_dict(best["state_dict"])
        model.eval()
        with open(os.path.join(out, "reference-pairs.json"), encoding="utf-8") as f:
            reference = json.load(f)
        import numpy as np

        x = torch.from_numpy(np.fromfile(os.path.join(out, "reference-pairs.f32"), dtype="<f4").reshape(reference["inputShape"]))
        with torch.no_grad():
            out_tokens = model(x)
        self.assertEqual(t.levels_of(t.token_cosines(out_tokens[0::2], out_tokens[1::2])).tolist(), reference["levels"])

    def test_init_from_a_deit_checkpoint_adds_five_tokens_and_copies_the_class_position(self):
        torch.manual_seed(0)
        shape = m.PDF_ARCHS["tiny"]
        patches = (shape["image"] // shape["patch"]) ** 2
        source = m.pdf_embedding("tiny")
        state = {k: torch.randn_like(v) for k, v in source.state_dict().items() if k not in ("dist_token", "pos_embed")}
        state["pos_embed"] = torch.randn(1, 1 + patches, shape["dim"])  # timm DeiT: class token + patches
        path = os.path.join(self.dir.name, "deit.pth")
        torch.save({"model": state}, path)
        model = m.pdf_embedding("tiny")
        description = t.init_from_checkpoint(model, path)
        self.assertIn("ImageNet checkpoint", description)
        pos = model.pos_embed.detach()
        for k in range(6):
            self.assertTrue(torch.equal(pos[0, k], state["pos_embed"][0, 0]))
        self.assertTrue(torch.equal(pos[0, 6:], state["pos_embed"][0, 1:]))
        self.assertTrue(torch.equal(model.blocks[0].attn.qkv.weight.detach(), state["blocks.0.attn.qkv.weight"]))
        self.assertEqual(tuple(model.dist_token.shape), (1, 5, shape["dim"]))
        self.assertAlmostEqual(float(model.dist_token.std()), 0.02, delta=0.006)  # truncated normal, std 0.02
        del state["blocks.0.norm1.weight"]
        torch.save({"model": state}, path)
        with self.assertRaises(m.CheckpointMismatch) as e:
            t.init_from_checkpoint(m.pdf_embedding("tiny"), path)
        self.assertIn("blocks.0.norm1.weight", str(e.exception))

    def test_random_init_seeds_the_extra_tokens_as_the_paper_does(self):
        torch.manual_seed(0)
        model = t.build_model("small", 0.1, "random", log=lambda _: None)
        pos = model.pos_embed.detach()
        for k in range(1, 6):
            self.assertTrue(torch.equal(pos[0, k], pos[0, 0]))
        self.assertFalse(torch.equal(pos[0, 6], pos[0, 0]))
        self.assertEqual([round(b.drop_path.p, 6) for b in model.blocks], [0.0, 0.033333, 0.066667, 0.1])  # rising linearly


if __name__ == "__main__":
    unittest.main()
