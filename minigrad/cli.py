"""The `minigrad` command (also `python -m minigrad`).

    minigrad demo      a short training run on the bundled Tang poems: perplexity and a sample
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _demo(args) -> int:
    """A character-level language model on a bundled corpus, trained on the engine (§3.2 预训练).

    The model is Bengio et al.'s (2003) neural language model: the previous `context`
    characters are embedded, concatenated, passed through one tanh layer, and a softmax over
    the vocabulary predicts the next character.  It is trained with cross-entropy (§4.2) and
    evaluated by perplexity = exp(mean cross-entropy) on poems it never saw (§3.2 模型评估).
    """
    import minigrad as mg
    import minigrad.nn as nn
    import minigrad.nn.functional as F
    from minigrad.data import kjv_text, tang_poems
    from minigrad.optim import AdamW
    from minigrad.tokenizers import CharTokenizer

    mg.manual_seed(args.seed)
    if args.corpus == "tang":   # 唐诗三百首: small (25k characters) with a 2,500-character vocabulary
        text = "\n\n".join(p.text for p in tang_poems())
    else:                       # the King James Bible, first `--chars` characters
        text = kjv_text(args.chars)
    split = int(len(text) * 0.9)    # train on the first 90%, validate on the rest
    tok = CharTokenizer.from_text(text)
    train_ids = np.asarray(tok.encode(text[:split]), dtype=np.int64)
    val_ids = np.asarray(tok.encode(text[split:]), dtype=np.int64)
    context, vocab = args.context, tok.vocab_size
    print(f"data: {args.corpus}, {len(train_ids):,} training / {len(val_ids):,} "
          f"validation characters, vocabulary {vocab:,} characters")

    def windows(ids):  # every position: `context` previous ids -> the next id
        idx = np.arange(context)[None, :] + np.arange(len(ids) - context)[:, None]
        return ids[idx], ids[context:]

    x_train, y_train = windows(train_ids)
    x_val, y_val = windows(val_ids)

    model = nn.Sequential(
        nn.Embedding(vocab, args.embd),                 # (B, context) -> (B, context, embd)
        nn.Flatten(),                                   # -> (B, context·embd)
        nn.Linear(context * args.embd, args.hidden),    # -> (B, hidden)
        nn.Tanh(),
        nn.Linear(args.hidden, vocab),                  # -> (B, vocab) logits
    )
    print(f"model: {model.num_parameters():,} parameters\n{model}")
    optimizer = AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    rng = mg.random.generator()

    @mg.no_grad()
    def perplexity(x, y):
        model.eval()
        losses = [F.cross_entropy(model(mg.tensor(x[i:i + 4096])), y[i:i + 4096],
                                  reduction="sum").item() for i in range(0, len(y), 4096)]
        model.train()
        return float(np.exp(sum(losses) / len(y)))

    print(f"before training: validation perplexity {perplexity(x_val, y_val):.1f} "
          f"(a uniform guess scores {vocab:,})")
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        batch = rng.integers(0, len(y_train), args.batch_size)
        loss = F.cross_entropy(model(mg.tensor(x_train[batch])), y_train[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % max(args.steps // 5, 1) == 0 or step == args.steps:
            print(f"step {step:5d}  train loss {loss.item():.3f}  "
                  f"({time.perf_counter() - start:.1f} s)")
    print(f"after {args.steps} steps: validation perplexity {perplexity(x_val, y_val):.1f}")

    # Sampling: feed the model its own output, one character at a time.
    ids = list(tok.encode(text[split:split + context]))
    with mg.no_grad():
        model.eval()
        for _ in range(args.sample_chars):
            logits = model(mg.tensor(np.asarray([ids[-context:]])))
            probs = F.softmax(logits / 0.8, dim=-1).numpy()[0].astype(np.float64)
            ids.append(int(rng.choice(vocab, p=probs / probs.sum())))
    print("sample (the first characters are the prompt):")
    print(tok.decode(ids))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minigrad", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small language model on the bundled Tang poems",
                          formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo.add_argument("--corpus", choices=["kjv", "tang"], default="kjv",
                      help="bundled text: the King James Bible or 唐诗三百首")
    demo.add_argument("--chars", type=int, default=400_000, help="characters of the KJV to use")
    demo.add_argument("--steps", type=int, default=3000, help="optimisation steps")
    demo.add_argument("--batch-size", type=int, default=128)
    demo.add_argument("--context", type=int, default=8, help="characters of context")
    demo.add_argument("--embd", type=int, default=24, help="embedding size per character")
    demo.add_argument("--hidden", type=int, default=384, help="hidden layer width")
    demo.add_argument("--lr", type=float, default=3e-3)
    demo.add_argument("--sample-chars", type=int, default=200)
    demo.add_argument("--seed", type=int, default=1337)
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
