"""Transfer learning for translation (issue 13 §2, §2.3 迁移学习): does an encoder pretrained as
a BERT help the KJV → 和合本 model?

1. Pre-train a minigrad BERT with the masked-language-model objective (§3.2, issue 5's recipe:
   15% of the tokens chosen, 80/10/10 [MASK]/random/kept) on the English of the *training*
   split only, with the translation model's own English BPE (one extra id for [MASK]).
2. Two translation models with the same architecture (models/bert_to_marian.py: post-LN,
   learned positions, an embedding LayerNorm, width 128, 2 + 2 layers), the same batches and
   the same number of steps: one from a random start, one whose encoder is the BERT.
3. At every mark of --eval-at: validation loss (cross-entropy per character) and greedy
   BLEU/chrF on the first --eval-verses held-out test verses.

    python benchmarks/translate_transfer.py                      # --bert-steps 3000 --steps 3000
    python benchmarks/translate_transfer.py --pairs 2800 --steps 1500 \
        --json benchmarks/results/translate_transfer_2800.json   # little parallel data, all the English
    python benchmarks/translate_transfer.py --quick              # a check (~2 minutes)

--pairs N trains the translation models on N training pairs drawn at random (seed 0) while
the BERT still reads the English of all of them: the setting where pre-training is meant to
pay (much unlabelled text, few labelled examples).

Prints a markdown table; writes benchmarks/results/translate_transfer.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bert-steps", type=int, default=3000)
    p.add_argument("--steps", type=int, default=3000, help="translation training steps, each arm")
    p.add_argument("--eval-at", type=int, nargs="+", default=[500, 1000, 2000, 3000])
    p.add_argument("--eval-verses", type=int, default=400)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--bert-lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=400)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pairs", type=int, default=None, help="translation pairs used (default: all)")
    p.add_argument("--save-bert", default=None, help="write the pre-trained BERT here (a directory)")
    p.add_argument("--load-bert", default=None, help="a BERT directory from --save-bert: skip pre-training")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results", "translate_transfer.json"))
    args = p.parse_args()
    if args.quick:
        args.bert_steps, args.steps, args.eval_at, args.eval_verses = 100, 100, [50, 100], 32
    args.eval_at = sorted(s for s in args.eval_at if s <= args.steps)
    return args


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np                                                         # noqa: E402

import minigrad as mg                                                      # noqa: E402
from minigrad.autograd import no_grad                                     # noqa: E402
from minigrad.data.translation import EOS_ID, PAD_ID, build_translation_data  # noqa: E402
from minigrad.models import (BertConfig, BertForMaskedLM, MarianMTModel,   # noqa: E402
                             load_bert_into_marian_encoder, marian_config_for_bert, mask_tokens)
from minigrad.optim import AdamW                                          # noqa: E402
from minigrad.optim.lr_scheduler import WarmupInverseSqrt                 # noqa: E402
from minigrad.train.translate import TranslationTask, evaluate_translation  # noqa: E402


def pretrain_bert(data, args):
    """MLM on the training split's English: returns (BertForMaskedLM, figures)."""
    V = data.source_tokenizer.vocab_size
    mask_id = V                                                  # one id more than the encoder has
    cfg = BertConfig(vocab_size=V + 1, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=512, max_position_embeddings=256, layer_norm_eps=1e-5,
                     pad_token_id=PAD_ID)
    mg.manual_seed(args.seed)
    bert = BertForMaskedLM(cfg)
    opt = AdamW(bert.parameters(), lr=args.bert_lr, weight_decay=0.01)
    sched = WarmupInverseSqrt(opt, args.warmup)            # as benchmarks/translate.py
    bert.train()
    t0 = time.perf_counter()
    for step in range(args.bert_steps):
        src, mask, _ = data.batch(step, args.batch_size, args.seed + 1)
        inputs, labels = mask_tokens(src, mask_id, V, special_ids=(PAD_ID, EOS_ID))
        loss = bert(inputs, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 500 == 0:
            print(f"  bert step {step + 1}  mlm loss {loss.item():.3f}", flush=True)
    seconds = time.perf_counter() - t0
    # masked-token accuracy and loss on the validation English (fixed masks)
    bert.eval()
    src, mask, _ = data.encode("val")
    mg.manual_seed(1234)
    right = total = 0
    losses = []
    with no_grad():
        for i in range(0, len(src), 64):
            s, m = src[i:i + 64], mask[i:i + 64]
            w = int(m.sum(1).max())
            inputs, labels = mask_tokens(s[:, :w], mask_id, V, special_ids=(PAD_ID, EOS_ID))
            out = bert(inputs, attention_mask=m[:, :w], labels=labels)
            y = labels.data
            pred = out.logits.data.argmax(-1)
            right += int(((pred == y) & (y != -100)).sum())
            total += int((y != -100).sum())
            losses.append(out.loss.item() * int((y != -100).sum()))
    figures = {"steps": args.bert_steps, "seconds": seconds, "val_mlm_loss": sum(losses) / total,
               "val_masked_accuracy": right / total, "val_masked_tokens": total}
    print(f"BERT: {args.bert_steps} steps in {seconds:.0f} s, val MLM loss {figures['val_mlm_loss']:.3f}, "
          f"masked-token accuracy {100 * figures['val_masked_accuracy']:.1f}%", flush=True)
    return bert, figures


def subset(data, n, seed):
    """The same tokenizers and held-out splits, n training pairs drawn at random."""
    from minigrad.data import TranslationData, TranslationSplits
    s = data.splits
    pick = sorted(np.random.default_rng(seed).choice(len(s.train), n, replace=False).tolist())
    return TranslationData(TranslationSplits(tuple(s.train[i] for i in pick), s.val, s.test), data.tokenizers,
                           data.max_source_length, data.max_target_length, data.length_buckets)


def train_arm(name, data, bert, args):
    """One translation model for args.steps steps; evaluated at args.eval_at."""
    cfg = marian_config_for_bert(bert.config, data.source_tokenizer.vocab_size,
                                 data.target_tokenizer.vocab_size, eos_token_id=EOS_ID,
                                 forced_eos_token_id=EOS_ID, dropout=0.1)
    mg.manual_seed(args.seed)
    model = MarianMTModel(cfg)
    if name == "bert":
        load_bert_into_marian_encoder(model, bert)
    task = TranslationTask(data, label_smoothing=0.1, loss_verses=None)
    opt = AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = WarmupInverseSqrt(opt, args.warmup)
    rows, trained = [], 0.0
    model.train()
    for step in range(args.steps):
        t = time.perf_counter()
        loss, _ = task.loss(model, data.batch(step, args.batch_size, args.seed))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        trained += time.perf_counter() - t
        if step + 1 in args.eval_at:
            val_loss, _ = task.loss_on(model, "val")
            model.eval()
            s = evaluate_translation(model, data, "test", max_verses=args.eval_verses)
            model.train()
            rows.append({"step": step + 1, "train_seconds": trained, "train_loss": loss.item(),
                         "val_loss": val_loss, "bleu": s["bleu"], "chrf": s["chrf"], "verses": s["verses"]})
            print(f"  {name:6s} step {step + 1}: val loss {val_loss:.3f}, greedy BLEU {s['bleu']:.2f} "
                  f"chrF {s['chrf']:.2f}  ({trained / 60:.1f} min)", flush=True)
    return rows


def main():
    args = ARGS
    t0 = time.perf_counter()
    data = build_translation_data(seed=args.seed, length_buckets=50)
    if args.load_bert:
        bert = BertForMaskedLM.from_pretrained(args.load_bert)
        with open(os.path.join(args.load_bert, "pretraining.json"), encoding="utf-8") as f:
            bert_figures = json.load(f)
    else:
        bert, bert_figures = pretrain_bert(data, args)
    if args.save_bert:
        bert.save_pretrained(args.save_bert)
        with open(os.path.join(args.save_bert, "pretraining.json"), "w", encoding="utf-8") as f:
            json.dump(bert_figures, f)
    parallel = data if args.pairs is None else subset(data, args.pairs, args.seed)
    print(f"translation pairs: {len(parallel.splits.train):,} of {len(data.splits.train):,}", flush=True)
    arms = {name: train_arm(name, parallel, bert, args) for name in ("random", "bert")}

    print(f"\n### Transfer: encoder from a KJV MLM BERT vs a random start ({args.threads} thread(s))\n")
    print(f"BERT pre-training: {bert_figures['steps']} steps × {args.batch_size} verses, "
          f"{bert_figures['seconds'] / 60:.1f} min; masked-token accuracy "
          f"{100 * bert_figures['val_masked_accuracy']:.1f}% on the validation English\n")
    print("| step | val loss random | val loss BERT | BLEU random | BLEU BERT | chrF random | chrF BERT |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r, b in zip(arms["random"], arms["bert"]):
        print(f"| {r['step']} | {r['val_loss']:.3f} | {b['val_loss']:.3f} | {r['bleu']:.2f} | {b['bleu']:.2f} | "
              f"{r['chrf']:.2f} | {b['chrf']:.2f} |")
    out = {"command": " ".join(sys.argv), "threads": args.threads, "bert": bert_figures,
           "translation_pairs": len(parallel.splits.train),
           "bert_config": bert.config.to_dict() if hasattr(bert.config, "to_dict") else None,
           "arms": arms, "eval_verses": args.eval_verses, "lr": args.lr, "bert_lr": args.bert_lr,
           "warmup": args.warmup, "batch_size": args.batch_size, "total_seconds": time.perf_counter() - t0}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    tmp = args.json + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1, default=str)
    os.replace(tmp, args.json)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
