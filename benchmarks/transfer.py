"""Transfer learning, measured (§2.3 迁移学习, §3.2 预训练, §3.3 微调).

The chapter says a model pre-trained on lots of text adapts to a downstream task with few
labels.  Here, at laptop scale:

1. pre-train a small character-level BERT with the masked-language-model objective (§3.2) on
   the text of the training verses of the KJV (no labels; the test verses are left out);
2. fine-tune it (§3.3) to classify a verse's genre (7 labels: Law, History, Wisdom, Prophets,
   Gospels, Epistles, Apocalyptic; from kjv_books.tsv) with 100 and with 1,000 labelled
   verses (balanced over the labels);
3. train the same architecture from random weights on the same labelled verses, with the
   same steps and learning rate;
4. score both on the same held-out test verses (about 100 per label; Apocalyptic, i.e.
   Revelation, has only 81 in the test split): accuracy.

    python benchmarks/transfer.py                    # the numbers in benchmarks/README.md
    python benchmarks/transfer.py --pretrain-steps 50 --finetune-steps 20   # a smoke test
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minigrad as mg                                                     # noqa: E402
from minigrad.cli import BERT_ROLES, BERT_SPECIALS                       # noqa: E402
from minigrad.data import LMData, kjv_genre                              # noqa: E402
from minigrad.models import BertConfig                                   # noqa: E402
from minigrad.tokenizers import CharTokenizer                            # noqa: E402
from minigrad.train import (ClassificationTask, MLMTask, Trainer, TrainConfig,  # noqa: E402
                            build_model)


def bert_config(vocab_size, args, num_labels=7):
    return BertConfig(vocab_size=vocab_size, hidden_size=args.hidden, num_hidden_layers=args.layers,
                      num_attention_heads=4, intermediate_size=4 * args.hidden,
                      max_position_embeddings=args.max_length, hidden_dropout_prob=0.1,
                      attention_probs_dropout_prob=0.1, num_labels=num_labels).to_dict()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pretrain-steps", type=int, default=600)
    p.add_argument("--finetune-steps", type=int, default=250)
    p.add_argument("--finetune-lr", type=float, default=2e-3)
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--test-per-label", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    log = lambda *a: None                                                   # noqa: E731

    genre = kjv_genre()
    train_all, test_all = genre.split(0.2, seed=args.seed)
    test = test_all.sample(args.test_per_label * genre.num_labels, seed=args.seed)
    text = "\n".join(train_all.texts) + "\n"
    tok = CharTokenizer.from_text(text, special_tokens=BERT_SPECIALS, **BERT_ROLES)
    print(f"pre-training text: the {len(train_all):,} training verses, {len(text):,} characters "
          f"(test verses left out); vocabulary {tok.vocab_size}; test: {len(test)} verses "
          f"{test.counts()}")
    results = {"args": vars(args), "runs": []}

    with tempfile.TemporaryDirectory() as tmp:
        # 1. pre-training (MLM)
        mg.manual_seed(args.seed)
        cfg = bert_config(tok.vocab_size, args)
        mlm = build_model("bert-mlm", cfg)
        data = LMData.from_text(text, tok, block_size=args.max_length - 1, val_fraction=0.02)
        task = MLMTask(data, eval_windows=128)
        tc = TrainConfig(steps=args.pretrain_steps, batch_size=32, lr=1e-3, min_lr=1e-4,
                         warmup_steps=min(50, args.pretrain_steps - 1), weight_decay=0.01,
                         eval_every=max(args.pretrain_steps // 4, 1), ckpt_every=10 ** 9,
                         seed=args.seed, out_dir=os.path.join(tmp, "mlm"), progress=False, plot=False)
        start = time.perf_counter()
        before = task.evaluate(mlm)
        res = Trainer(mlm, task, tc, cfg, tok, log=log).fit()
        pre_s = time.perf_counter() - start
        print(f"MLM pre-training, {args.pretrain_steps} steps of 32×{args.max_length} characters "
              f"({pre_s:.0f} s): masked-character accuracy {before['accuracy']:.1%} -> "
              f"{res.metrics['accuracy']:.1%}, perplexity {before['perplexity']:.1f} -> "
              f"{res.metrics['perplexity']:.2f}", flush=True)
        results["pretraining"] = {"steps": args.pretrain_steps, "seconds": pre_s,
                                  "before": before, "after": res.metrics}
        encoder = {k: v for k, v in mlm.state_dict().items() if k.startswith("bert.")}

        # 2./3. fine-tuning vs from scratch
        print(f"\n| labelled verses | from scratch | pre-trained + fine-tuned |")
        print(f"| --- | --- | --- |")
        for n in args.sizes:
            subset = train_all.sample(n, seed=args.seed + n)
            row = {}
            for arm in ("scratch", "pretrained"):
                mg.manual_seed(args.seed + 1)
                model = build_model("bert-cls", cfg)
                if arm == "pretrained":
                    model.load_state_dict(encoder, strict=False)
                ctask = ClassificationTask(subset, test, tok, args.max_length)
                tc = TrainConfig(steps=args.finetune_steps, batch_size=32, lr=args.finetune_lr,
                                 min_lr=args.finetune_lr / 10,
                                 warmup_steps=min(20, args.finetune_steps - 1), weight_decay=0.01,
                                 eval_every=args.finetune_steps, ckpt_every=10 ** 9, seed=args.seed,
                                 out_dir=os.path.join(tmp, f"{arm}{n}"), progress=False, plot=False)
                t0 = time.perf_counter()
                r = Trainer(model, ctask, tc, cfg, tok, log=log).fit()
                row[arm] = r.metrics["accuracy"]
                results["runs"].append({"n_train": n, "arm": arm, **r.metrics,
                                        "seconds": time.perf_counter() - t0})
            print(f"| {n:,} | {row['scratch']:.1%} | {row['pretrained']:.1%} |", flush=True)
    print(f"(chance: {1 / genre.num_labels:.1%}; {args.finetune_steps} fine-tuning steps of 32 "
          f"verses, cut to {args.max_length - 1} characters)")
    if hasattr(os, "getloadavg"):
        print("load average at the end: %.1f %.1f %.1f on %d cores" % (*os.getloadavg(), os.cpu_count()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
