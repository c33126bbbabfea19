"""The translation commands of `minigrad` (§2.3 下游任务, §6 机器翻译); cli.py parses the options.

    minigrad train --task translate [--split-by chapter|book] [--max-pairs N] [--label-smoothing 0.1]
    minigrad translate --checkpoint C --text "In the beginning God created the heaven and the earth."
    minigrad evaluate --checkpoint C [--num-beams 4] [--verses N]

The data are the KJV and the 和合本 joined verse by verse (data/translation.py), held out by
whole chapters (or books).  Training ends with the best weights' test BLEU and chrF (greedy)
next to the two baselines on the same verses.
"""
from __future__ import annotations

import sys

from .data.translation import TranslationData, build_translation_data, load_verse_pairs, split_verse_pairs
from .train.translate import (TranslationTask, baseline_most_frequent, baseline_retrieval,
                              build_translation_model, evaluate_translation, load_translator,
                              score_translations)

SOURCE = "KJV → 和合本 (English→Chinese verse pairs)"


class TranslateCLIError(ValueError):
    """A bad option of a translation command (cli.main prints it in one line)."""


def _describe(args) -> dict:
    """What the run was trained on: enough for evaluate to rebuild the same splits."""
    return {"source": "kjv-cuv", "split_by": args.split_by, "split_seed": args.split_seed,
            "max_pairs": args.max_pairs, "source_vocab_size": args.src_vocab, "min_count": args.min_count,
            "length_buckets": args.length_buckets}


def _splits(info: dict):
    pairs = load_verse_pairs()
    if info.get("max_pairs") is not None:
        pairs = pairs[:info["max_pairs"]]
    return split_verse_pairs(pairs, by=info.get("split_by", "chapter"), seed=info.get("split_seed", 0))


def _print_scores(label: str, scores: dict) -> None:
    print(f"  {label:<36} BLEU {scores['bleu']:6.2f}   chrF {scores['chrf']:6.2f}")


def _print_baselines(splits, split: str, verses) -> None:
    refs = [p.zh for p in splits.split(split)[:verses]]
    _print_scores("baseline: most frequent verse", score_translations(baseline_most_frequent(splits, split, verses), refs))
    _print_scores("baseline: most shared English words",
                  score_translations(baseline_retrieval(splits, split, verses), refs))


def train_translate(args, log=print) -> int:
    """`minigrad train --task translate`: a MarianMTModel from scratch with the Trainer."""
    import minigrad as mg
    from .train import Trainer, check_writable

    if getattr(args, "distributed", False) or getattr(args, "nproc", None) is not None:
        raise TranslateCLIError("--task translate runs in one process (no --distributed / --nproc)")
    if args.arch != "gpt":
        raise TranslateCLIError("--task translate trains an encoder–decoder; leave out --arch")
    out_dir = check_writable(args.out)
    data = build_translation_data(by=args.split_by, seed=args.split_seed, max_pairs=args.max_pairs,
                                  source_vocab_size=args.src_vocab, min_count=args.min_count,
                                  max_source_length=args.max_length, max_target_length=args.max_length,
                                  length_buckets=args.length_buckets)
    s = data.splits
    unit = f"{args.split_by}s"
    held = {(p.book, p.chapter) if args.split_by == "chapter" else p.book for p in s.test}
    print(f"data: {SOURCE}, held out by {args.split_by}: {len(s.train):,} training, {len(s.val):,} "
          f"validation and {len(s.test):,} test verses ({len(held)} test {unit}); English: "
          f"{data.source_tokenizer.vocab_size:,} BPE subwords, Chinese: {data.target_tokenizer.vocab_size:,} "
          f"characters (seen {args.min_count}+ times in training, the rest <unk>)")
    mg.manual_seed(args.seed)
    model, model_config = build_translation_model(data, d_model=args.n_embd, layers=args.n_layer,
                                                  heads=args.n_head, dropout=args.dropout,
                                                  max_position_embeddings=max(256, args.max_length + 2))
    task = TranslationTask(data, label_smoothing=args.label_smoothing, eval_verses=args.eval_verses,
                           description=_describe(args), test_verses=args.test_verses)
    print(f"model: marian (encoder–decoder, {args.n_layer}+{args.n_layer} layers, width {args.n_embd}), "
          f"{model.num_parameters():,} parameters; output: {out_dir}")
    from .cli import _print_run_end, _train_config
    trainer = Trainer(model, task, _train_config(args, out_dir), model_config, tokenizer=data.tokenizers,
                      log=log)
    result = trainer.fit(resume=args.resume)
    _print_run_end(result, out_dir)
    if result.test_metrics:
        n = result.test_metrics["verses"]
        print(f"test split ({n:,} verses of held-out {unit}), the best weights, greedy:")
        _print_scores("model (greedy)", result.test_metrics)
        _print_baselines(s, "test", n)
    if result.best:
        print(f"translate:      minigrad translate --checkpoint {result.best} --text "
              f"\"In the beginning God created the heaven and the earth.\"")
    return 130 if result.interrupted else 0


def translate_command(args) -> int:
    """`minigrad translate`: the Chinese of each --text, one line each."""
    if args.num_beams < 1:
        raise TranslateCLIError(f"--num-beams must be >= 1, got {args.num_beams}")
    translator = load_translator(args.checkpoint)
    texts = args.text or [line.strip() for line in sys.stdin if line.strip()]
    for line in translator.translate(texts, num_beams=args.num_beams, max_new_tokens=args.max_new_tokens):
        print(line)
    return 0


def evaluate_translate(args, ckpt) -> int:
    """`minigrad evaluate` on a translation checkpoint: BLEU/chrF, greedy (and beam search with
    --num-beams), and both baselines, on the same verses of the test (or validation) split."""
    translator = load_translator(args.checkpoint)
    info = ckpt["task"] or {}
    splits = _splits(info)
    data = TranslationData(splits, translator.tokenizers, info.get("max_source_length", 128),
                           info.get("max_target_length", 128))
    split = args.split or "test"
    verses = args.verses
    n = len(splits.split(split)[:verses])
    unit = f"{info.get('split_by', 'chapter')}s"
    print(f"marian at step {ckpt['step']}, {'test' if split == 'test' else 'validation'} split of "
          f"{SOURCE}, held-out {unit}: {n:,} verses")
    task = TranslationTask(data, label_smoothing=0.0)
    loss, tokens = task.loss_on(translator.model, split, max_verses=verses)   # the same verses
    print(f"  {split} loss (cross-entropy per character): {loss:.4f} over {tokens:,} characters")
    _print_scores("model, greedy", evaluate_translation(translator.model, data, split, max_verses=verses))
    if args.num_beams > 1:
        _print_scores(f"model, beam search ({args.num_beams} beams)",
                      evaluate_translation(translator.model, data, split, num_beams=args.num_beams,
                                           max_verses=verses))
    _print_baselines(splits, split, verses)
    return 0
