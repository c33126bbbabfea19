"""The `minigrad` command (also `python -m minigrad`).

    minigrad demo        train a small GPT on the bundled Tang poems for about a minute: perplexity,
                         a sample, a loss curve and an attention map (in ./runs/demo)
    minigrad train       pre-train a GPT (next character) or a BERT (masked characters) (§3.2)
    minigrad evaluate    validation loss and perplexity, or accuracy, of a checkpoint (§3.2 模型评估)
    minigrad generate    continue a prompt with a trained GPT
    minigrad finetune    fine-tune a BERT for text classification (§3.3 微调, §5), from scratch,
                         from `minigrad train --arch bert`, or from a Hugging Face BERT
                         directory (--pretrained DIR: real weights, WordPiece tokenizer)
    minigrad attention   draw a checkpoint's (or a Hugging Face directory's) attention maps
                         for a text as a PNG (§4.1)

Every command has --help, which shows the defaults.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BERT_ROLES = dict(pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                  mask_token="[MASK]")
SENTENCE = "This is a great movie!"         # the chapter's §5 example sentence
HF_MODEL_DIR = "hf_model"                   # finetune --pretrained writes OUT/hf_model


class CLIError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


# --------------------------------------------------------------------------------------------
# building blocks shared by the commands
# --------------------------------------------------------------------------------------------
def _train_config(args, out_dir):
    from .train import TrainConfig
    return TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, min_lr=args.min_lr,
                       warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
                       grad_clip=args.grad_clip, eval_every=args.eval_every,
                       eval_windows=args.eval_windows, ckpt_every=args.ckpt_every, seed=args.seed,
                       out_dir=str(out_dir), progress=not args.no_progress)


def _lm_data(source: str, max_chars, block_size: int, val_fraction: float, bert: bool):
    from .data import LMData, load_text
    from .tokenizers import CharTokenizer
    text = load_text(source, max_chars)
    if bert:
        tok = CharTokenizer.from_text(text, special_tokens=BERT_SPECIALS, **BERT_ROLES)
    else:
        tok = CharTokenizer.from_text(text)
    return LMData.from_text(text, tok, block_size - 1 if bert else block_size, val_fraction,
                            source=source), len(text)


def _model_config(args, vocab_size: int, arch: str, num_labels: int = 2) -> dict:
    from .models import BertConfig, GPTConfig
    if arch == "gpt":
        return GPTConfig(vocab_size=vocab_size, n_layer=args.n_layer, n_head=args.n_head,
                         n_embd=args.n_embd, block_size=args.block_size,
                         dropout=args.dropout).to_dict()
    return BertConfig(vocab_size=vocab_size, hidden_size=args.n_embd, num_hidden_layers=args.n_layer,
                      num_attention_heads=args.n_head, intermediate_size=4 * args.n_embd,
                      max_position_embeddings=args.block_size, hidden_dropout_prob=args.dropout,
                      attention_probs_dropout_prob=args.dropout, num_labels=num_labels,
                      pad_token_id=0).to_dict()


class _Default:
    """A default that depends on --pretrained (shown in --help as 'A; B with --pretrained').

    A Hugging Face BERT is already trained, so fine-tuning it takes small steps (lr 5e-5, as
    in the BERT paper, §3.3 微调) and word pieces instead of characters (64 tokens hold a review).
    A callable `pretrained` is computed from the other arguments (warm-up: 10% of --steps).
    """

    def __init__(self, scratch, pretrained, shown=None):
        self.scratch, self.pretrained = scratch, pretrained
        self.shown = shown if shown is not None else pretrained

    def __str__(self) -> str:
        return f"{self.scratch}; {self.shown} with --pretrained"

    def __truediv__(self, k):             # --min-lr defaults to --lr / 10
        return _Default(self.scratch / k, self.pretrained / k)


def _resolve_defaults(args) -> None:
    """Replace every _Default left in `args` by its value for this run."""
    pretrained = bool(getattr(args, "pretrained", None))
    later = []
    for name, value in vars(args).items():
        if isinstance(value, _Default):
            if pretrained and callable(value.pretrained):
                later.append((name, value.pretrained))
            else:
                setattr(args, name, value.pretrained if pretrained else value.scratch)
    for name, rule in later:              # after the plain values it depends on
        setattr(args, name, rule(args))


def _hf_model_type(directory) -> str:
    """config.json's model_type, with the loaders' errors as CLIErrors."""
    from .models.pretrained import CONFIG_NAME, model_type_of, read_config
    try:
        return model_type_of(read_config(directory), os.path.join(directory, CONFIG_NAME))
    except (OSError, ValueError) as e:
        raise CLIError(str(e)) from None


def _load_hf_bert(directory, train_set, dropout=None):
    """(model, tokenizer) for fine-tuning (§3.3 微调, §5): a local Hugging Face BERT directory
    (config.json + model.safetensors + vocab.txt) with a new classification head, one output
    per label of `train_set`, and its WordPiece tokenizer.  Prints Hugging Face's notice that
    the head is newly initialised.  `dropout` (None: config.json's) overrides both rates."""
    import warnings

    from .models import AutoTokenizer, BertForSequenceClassification, NewlyInitializedWarning
    from .tokenizers import BertTokenizer
    model_type = _hf_model_type(directory)
    if model_type != "bert":
        raise CLIError(f"--pretrained needs a BERT directory (model_type 'bert'); "
                       f"{os.path.join(directory, 'config.json')} says '{model_type}'")
    names = list(train_set.label_names)
    overrides = dict(num_labels=len(names), id2label={str(i): n for i, n in enumerate(names)},
                     label2id={n: i for i, n in enumerate(names)})
    if dropout is not None:
        overrides.update(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    try:
        tok = AutoTokenizer.from_pretrained(directory)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NewlyInitializedWarning)
            model = BertForSequenceClassification.from_pretrained(directory, **overrides)
    except (OSError, ValueError) as e:        # PretrainedError is a ValueError
        raise CLIError(str(e)) from None
    for w in caught:
        if issubclass(w.category, NewlyInitializedWarning):
            print(f"notice: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not isinstance(tok, BertTokenizer):
        raise CLIError(f"--pretrained: '{directory}' has a {type(tok).__name__}, not BERT's vocab.txt")
    if tok.vocab_size > model.config.vocab_size:
        raise CLIError(f"--pretrained: vocab.txt has {tok.vocab_size} tokens but config.json's "
                       f"vocab_size is {model.config.vocab_size}; do they belong together?")
    return model, tok


def _load_hf_for_attention(directory):
    """(model, tokenizer) of a Hugging Face directory, to look at (no new head): the bare
    BertModel for BERT, the GPT for GPT-2."""
    from .models import AutoModel, AutoModelForCausalLM, AutoTokenizer
    cls = AutoModelForCausalLM if _hf_model_type(directory) == "gpt2" else AutoModel
    try:
        return cls.from_pretrained(directory), AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError) as e:
        raise CLIError(str(e)) from None


def _save_hf_directory(model, tok, directory) -> str:
    """save_pretrained of model and tokenizer: a directory that minigrad's and Hugging Face's
    AutoModelForSequenceClassification / AutoTokenizer .from_pretrained both read."""
    from .models import save_pretrained
    save_pretrained(model, directory)          # config.json + model.safetensors
    save_pretrained(tok, directory)            # vocab.txt + tokenizer_config.json
    return str(directory)


def _print_run_end(result, out_dir):
    print(f"checkpoint: {result.checkpoint}")
    if result.loss_png:
        print(f"loss curve: {result.loss_png}")


def _sample(model, tok, prompt: str, n: int, temperature: float, top_k, seed: int) -> str:
    import numpy as np

    import minigrad as mg
    try:
        ids = tok.encode(prompt)
    except KeyError as e:
        raise CLIError(f"the prompt has a character the model never saw: {e.args[0]}") from None
    if not ids:
        raise CLIError("the prompt is empty: give at least one character")
    mg.manual_seed(seed)
    out = model.generate(np.asarray([ids]), max_new_tokens=n, temperature=temperature, top_k=top_k)
    return tok.decode(out.data[0].tolist())


def _attention_png(model, tok, text: str, path, layer=None, head=None) -> str:
    import matplotlib.pyplot as plt

    from .viz import plot_attention
    try:
        fig = plot_attention(model, tok, text, layer=layer, head=head)
    except KeyError as e:
        raise CLIError(f"the text has a character the model never saw: {e.args[0]}") from None
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------
def _demo(args) -> int:
    """A small GPT (§3.1) pre-trained on a bundled corpus (§3.2 预训练): next-character
    cross-entropy (§4.2), evaluated by perplexity = exp(mean cross-entropy) on text it never
    saw (§3.2 模型评估), then a sample and an attention map (§4.1)."""
    import minigrad as mg
    from .models import GPT, GPTConfig
    from .train import LMTask, Trainer, check_writable

    out_dir = check_writable(args.out)
    mg.manual_seed(args.seed)
    data, n_chars = _lm_data(args.corpus, args.chars if args.corpus == "kjv" else None,
                             args.block_size, 0.1, bert=False)
    tok = data.tokenizer
    name = {"tang": "唐诗三百首 (Three Hundred Tang Poems)", "kjv": "the King James Bible"}[args.corpus]
    print(f"data: {name}, {len(data.train.ids):,} training / {len(data.val.ids):,} validation "
          f"characters (the last 10%), vocabulary {tok.vocab_size:,} characters")
    config = GPTConfig(vocab_size=tok.vocab_size, n_layer=args.n_layer, n_head=args.n_head,
                       n_embd=args.n_embd, block_size=args.block_size, dropout=args.dropout)
    model = GPT(config)
    print(f"model: GPT, {config.n_layer} layers × {config.n_head} heads, width {config.n_embd}, "
          f"context {config.block_size}, dropout {config.dropout}: {model.num_parameters():,} parameters")
    task = LMTask(data, eval_windows=None, description={"source": args.corpus})
    before = task.evaluate(model)["perplexity"]
    print(f"before training: validation perplexity {before:.1f} (a uniform guess scores "
          f"{tok.vocab_size:,})")
    train_cfg = _train_config(args, out_dir)
    trainer = Trainer(model, task, train_cfg, config.to_dict(), tok)
    start = time.perf_counter()
    result = trainer.fit()
    seconds = time.perf_counter() - start
    if result.interrupted:
        return 130
    best = min(result.history["eval"], key=lambda e: e["val_loss"])
    if best["step"] != result.step:         # early stopping: keep the best weights
        from .train import BEST, load_model
        model, _, _ = load_model(out_dir / BEST)
        print(f"validation loss was lowest at step {best['step']}: using those weights")
    after = best["perplexity"]
    print(f"after {result.step} steps ({seconds:.0f} s): validation perplexity {after:.1f}")
    prompt = args.prompt if args.prompt is not None else (
        "春眠不觉晓，" if args.corpus == "tang" else "And God said, ")
    print(f"sample (temperature {args.temperature}, top-k {args.top_k}; the prompt is "
          f"'{prompt}'):")
    print(_sample(model, tok, prompt, args.sample_chars, args.temperature, args.top_k, args.seed))
    text = "床前明月光，疑是地上霜。" if args.corpus == "tang" else "In the beginning God created"
    png = _attention_png(model, tok, text, out_dir / "attention.png")
    print(f"loss curve:     {result.loss_png}")
    print(f"attention map:  {png}  (all layers × heads on '{text}')")
    print(f"checkpoint:     {result.checkpoint}  (try: minigrad generate --checkpoint "
          f"{out_dir / 'best.safetensors'} --prompt '{prompt}')")
    return 0


# --------------------------------------------------------------------------------------------
# train / evaluate / generate / finetune / attention
# --------------------------------------------------------------------------------------------
def _train(args) -> int:
    """Pre-training (§3.2): a GPT predicts the next character, a BERT the masked ones."""
    import minigrad as mg
    from .train import LMTask, MLMTask, Trainer, build_model, check_writable

    out_dir = check_writable(args.out)
    bert = args.arch == "bert"
    data, n_chars = _lm_data(args.data, args.max_chars, args.block_size, args.val_fraction, bert)
    arch = "bert-mlm" if bert else "gpt"
    mg.manual_seed(args.seed)
    model_config = _model_config(args, data.tokenizer.vocab_size, arch)
    model = build_model(arch, model_config)
    desc = {"source": args.data, "max_chars": args.max_chars, "val_fraction": args.val_fraction}
    task = (MLMTask if bert else LMTask)(data, eval_windows=args.eval_windows, description=desc)
    print(f"data: {args.data}, {n_chars:,} characters, vocabulary {data.tokenizer.vocab_size:,}; "
          f"model: {arch}, {model.num_parameters():,} parameters; output: {out_dir}")
    trainer = Trainer(model, task, _train_config(args, out_dir), model_config, data.tokenizer)
    result = trainer.fit(resume=args.resume)
    _print_run_end(result, out_dir)
    return 130 if result.interrupted else 0


def _evaluate(args) -> int:
    """Perplexity = exp(mean cross-entropy) on the whole validation split, or accuracy on the
    test split (§3.2 模型评估)."""
    from .data import LMData, classification_task, load_text
    from .train import ClassificationTask, LMTask, MLMTask, load_model

    model, tok, ckpt = load_model(args.checkpoint)
    task_info = ckpt["task"] or {}
    kind = task_info.get("task")
    if kind in ("lm", "mlm"):
        source = args.data or task_info["source"]
        text = load_text(source, task_info.get("max_chars"))
        block = task_info["block_size"] - (1 if kind == "mlm" else 0)
        try:
            data = LMData.from_text(text, tok, block, task_info.get("val_fraction", 0.1), source)
        except KeyError as e:
            raise CLIError(f"'{source}' has a character the model's vocabulary lacks: {e.args[0]}") from None
        task = (MLMTask if kind == "mlm" else LMTask)(data, eval_windows=None)
        metrics = task.evaluate(model, max_windows=args.windows)
        print(f"{ckpt['arch']} at step {ckpt['step']}, validation split of {source} "
              f"({len(data.val.ids):,} tokens)")
    elif kind == "classification":
        _, test = classification_task(task_info["name"], seed=task_info.get("split_seed", 0))
        task = ClassificationTask(test, test, tok, task_info["max_length"])
        metrics = task.evaluate(model)
        print(f"{ckpt['arch']} at step {ckpt['step']}, test split of {task_info['name']} "
              f"({len(test):,} texts)")
    else:
        raise CLIError(f"'{args.checkpoint}' does not say what it was trained on (no task metadata)")
    for k, v in metrics.items():
        print(f"{k.replace('_', ' ')}: {v:.4f}")
    return 0


def _generate(args) -> int:
    from .train import load_model
    model, tok, ckpt = load_model(args.checkpoint)
    if ckpt["arch"] != "gpt":
        raise CLIError(f"generate needs a GPT checkpoint; '{args.checkpoint}' holds a {ckpt['arch']}")
    print(_sample(model, tok, args.prompt, args.max_new_tokens, args.temperature, args.top_k, args.seed))
    return 0


def _finetune(args) -> int:
    """Fine-tuning (§3.3 微调): a BERT with a classification layer on the [CLS] vector (§5),
    from a Hugging Face BERT directory (--pretrained: real pre-trained weights and their
    WordPiece tokenizer), from a minigrad checkpoint (minigrad train --arch bert, --checkpoint),
    or from scratch.  With --pretrained the result is also written as a Hugging Face directory
    (OUT/hf_model)."""
    import minigrad as mg
    from .data import classification_task
    from .train import ClassificationTask, Trainer, check_writable

    _resolve_defaults(args)
    if args.checkpoint and args.pretrained:
        raise CLIError("give --pretrained (a Hugging Face BERT directory) or --checkpoint (a minigrad "
                       "BERT checkpoint), not both")
    out_dir = check_writable(args.out)
    train_set, test_set = classification_task(args.task, seed=args.split_seed)
    if args.n_train:
        train_set = train_set.sample(args.n_train, seed=args.seed)
    mg.manual_seed(args.seed)
    if args.pretrained:
        model, tok = _load_hf_bert(args.pretrained, train_set, args.dropout)
        model_config = model.config.to_dict()
        print(f"encoder weights and WordPiece vocabulary ({tok.vocab_size:,} tokens) from "
              f"{args.pretrained}; new classifier layer")
    else:
        model, tok, model_config = _minigrad_bert(args, train_set)
    max_length = min(args.max_length, model_config["max_position_embeddings"])
    task = ClassificationTask(train_set, test_set, tok, max_length,
                              description={"name": args.task, "n_train": len(train_set),
                                           "split_seed": args.split_seed,
                                           "pretrained": args.pretrained or args.checkpoint or None})
    print(f"task {args.task}: {len(train_set):,} training texts {train_set.counts()}, "
          f"{len(test_set):,} test texts; {model.num_parameters():,} parameters")
    if args.pretrained and not args.resume:
        before = task.evaluate(model)["accuracy"]
        print(f"before fine-tuning: test accuracy {before:.1%} (the classifier is new and random)")
    trainer = Trainer(model, task, _train_config(args, out_dir), model_config, tok)
    result = trainer.fit(resume=args.resume)
    if result.metrics:
        print(f"test accuracy {result.metrics['accuracy']:.1%}")
    _print_run_end(result, out_dir)
    if result.interrupted:
        return 130
    if args.pretrained:
        hf_dir = _save_hf_directory(model, tok, out_dir / HF_MODEL_DIR)
        print(f"Hugging Face directory: {hf_dir}  (the final weights; load it with "
              f"AutoModelForSequenceClassification / AutoTokenizer .from_pretrained, in minigrad "
              f"or transformers)")
    return 0


def _minigrad_bert(args, train_set):
    """(model, tokenizer, model_config) of a character-level BERT classifier: the encoder of a
    `minigrad train --arch bert` checkpoint (--checkpoint), or random weights."""
    from .tokenizers import CharTokenizer
    from .train import build_model, read_checkpoint
    from .train.checkpoint import tokenizer_from_dict
    if args.checkpoint:
        ckpt = read_checkpoint(args.checkpoint)
        if ckpt["arch"] not in ("bert-mlm", "bert-cls"):
            raise CLIError(f"finetune needs a BERT checkpoint (minigrad train --arch bert); "
                           f"'{args.checkpoint}' holds a {ckpt['arch']}")
        tok = tokenizer_from_dict(ckpt["tokenizer"])
        model_config = dict(ckpt["model_config"], num_labels=train_set.num_labels)
        model = build_model("bert-cls", model_config)
        encoder = {k: v for k, v in ckpt["model"].items()
                   if k.startswith("bert.") and not k.startswith("bert.pooler")}
        model.load_state_dict(encoder, strict=False)
        print(f"encoder weights from {args.checkpoint} (step {ckpt['step']}); new classifier layer")
    else:
        tok = CharTokenizer.from_text("".join(train_set.texts), special_tokens=BERT_SPECIALS, **BERT_ROLES)
        model_config = _model_config(args, tok.vocab_size, "bert-cls", train_set.num_labels)
        model = build_model("bert-cls", model_config)
        print("no --checkpoint or --pretrained: training from scratch (random initial weights)")
    return model, tok, model_config


def _attention(args) -> int:
    """Attention maps softmax(QKᵀ/√d_k) of every layer and head (§4.1) on a text, of a
    minigrad checkpoint or of a Hugging Face directory (--pretrained, or a directory given
    to --checkpoint): the real model's maps on the chapter's §5 sentence by default."""
    from .train import load_model
    if bool(args.checkpoint) == bool(args.pretrained):
        raise CLIError("give one of --checkpoint FILE (from train/finetune) or --pretrained DIR "
                       "(a Hugging Face directory)")
    source = args.pretrained or args.checkpoint
    if args.pretrained or os.path.isdir(source):
        model, tok = _load_hf_for_attention(source)
    else:
        model, tok, _ = load_model(source)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    print(_attention_png(model, tok, args.text, args.out, args.layer, args.head))
    return 0


# --------------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------------
def _sub(sub, name, func, help_):
    p = sub.add_parser(name, help=help_, description=help_,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.set_defaults(func=func)
    return p


def _model_args(p, n_layer, n_head, n_embd, block_size, dropout):
    p.add_argument("--n-layer", type=int, default=n_layer, help="Transformer blocks")
    p.add_argument("--n-head", type=int, default=n_head, help="attention heads per block")
    p.add_argument("--n-embd", type=int, default=n_embd, help="model width (divisible by --n-head)")
    p.add_argument("--block-size", type=int, default=block_size, help="context length in tokens")
    p.add_argument("--dropout", type=float, default=dropout, help="dropout rate")


def _train_args(p, steps, batch_size, lr, warmup, eval_every, ckpt_every, out, resume=True,
                min_lr=None, weight_decay=0.1):
    p.add_argument("--steps", type=int, default=steps, help="optimizer steps in all")
    p.add_argument("--batch-size", type=int, default=batch_size, help="sequences per step")
    p.add_argument("--lr", type=float, default=lr, help="peak learning rate (AdamW)")
    p.add_argument("--min-lr", type=float, default=min_lr if min_lr is not None else lr / 10,
                   help="learning rate at the end of the cosine decay")
    p.add_argument("--warmup-steps", type=int, default=warmup, help="linear warm-up steps")
    p.add_argument("--weight-decay", type=float, default=weight_decay, help="AdamW weight decay")
    p.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm (0: off)")
    p.add_argument("--eval-every", type=int, default=eval_every, help="evaluate every N steps")
    p.add_argument("--eval-windows", type=int, default=256,
                   help="validation windows per evaluation (language models)")
    p.add_argument("--ckpt-every", type=int, default=ckpt_every, help="checkpoint every N steps")
    p.add_argument("--seed", type=int, default=1337, help="random seed (init, batches, dropout)")
    p.add_argument("--out", default=out, help="output folder (checkpoints, loss curve)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    if resume:
        p.add_argument("--resume", action="store_true",
                       help="continue from OUT/checkpoint.safetensors (same options)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minigrad", description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[2:9]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("lesson", help="classroom exercises: `lesson list`, `lesson check N [--file PATH]`")

    demo = _sub(sub, "demo", _demo, "train a small GPT on bundled text for about a minute: "
                "validation perplexity, a sample, a loss curve and an attention map")
    demo.add_argument("--corpus", choices=["tang", "kjv"], default="tang",
                      help="bundled text: 唐诗三百首 or the King James Bible")
    demo.add_argument("--chars", type=int, default=400_000, help="characters of the KJV to use")
    _model_args(demo, n_layer=2, n_head=4, n_embd=64, block_size=32, dropout=0.2)
    _train_args(demo, steps=200, batch_size=32, lr=3e-3, warmup=20, eval_every=25,
                ckpt_every=100, out="runs/demo", resume=False)
    demo.add_argument("--prompt", default=None, help="start of the sample (default: 春眠不觉晓， "
                      "for tang, 'And God said, ' for kjv)")
    demo.add_argument("--sample-chars", type=int, default=60, help="characters to generate")
    demo.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    demo.add_argument("--top-k", type=int, default=20, help="sample from the k most likely")

    train = _sub(sub, "train", _train, "pre-train a character-level GPT (next character) or "
                 "BERT (masked characters) on a bundled corpus or a text file (§3.2)")
    train.add_argument("--arch", choices=["gpt", "bert"], default="gpt", help="model family")
    train.add_argument("--data", default="tang", help="'tang', 'kjv' or a UTF-8 text file")
    train.add_argument("--max-chars", type=int, default=None, help="use only the first N characters")
    train.add_argument("--val-fraction", type=float, default=0.1, help="validation share (the end)")
    _model_args(train, n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.1)
    _train_args(train, steps=2000, batch_size=12, lr=1e-3, warmup=100, eval_every=250,
                ckpt_every=250, out="runs/train")

    ev = _sub(sub, "evaluate", _evaluate, "validation loss and perplexity (language models) or "
              "test accuracy (classifiers) of a checkpoint")
    ev.add_argument("--checkpoint", required=True, help="a .safetensors file written by train/finetune")
    ev.add_argument("--data", default=None, help="evaluate on this text's validation split instead")
    ev.add_argument("--windows", type=int, default=None, help="at most N validation windows (all: omit)")

    gen = _sub(sub, "generate", _generate, "continue a prompt with a trained GPT")
    gen.add_argument("--checkpoint", required=True, help="a GPT checkpoint (.safetensors)")
    gen.add_argument("--prompt", required=True, help="the start of the text")
    gen.add_argument("--max-new-tokens", type=int, default=200, help="characters to generate")
    gen.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    gen.add_argument("--top-k", type=int, default=20, help="sample from the k most likely")
    gen.add_argument("--seed", type=int, default=1337, help="random seed of the sampling")

    ft = _sub(sub, "finetune", _finetune, "fine-tune a BERT for text classification (§3.3, §5): from "
              "scratch, from a minigrad BERT checkpoint, or from a Hugging Face BERT directory "
              "(--pretrained; then OUT/hf_model is written too)")
    ft.add_argument("--task", choices=["kjv-genre", "tang-form", "tang-author", "sentiment"],
                    default="sentiment", help="labelled data set")
    ft.add_argument("--pretrained", default=None, metavar="DIR",
                    help="a local Hugging Face BERT directory (config.json, model.safetensors, "
                         "vocab.txt), e.g. minigrad.models.package_model_dir(): its weights, its "
                         "WordPiece tokenizer and its architecture (--n-layer etc. are ignored)")
    ft.add_argument("--checkpoint", default=None,
                    help="pre-trained BERT (minigrad train --arch bert); omit both this and "
                         "--pretrained to train from scratch")
    ft.add_argument("--n-train", type=int, default=None, help="use only N training texts (balanced)")
    ft.add_argument("--split-seed", type=int, default=0, help="seed of the train/test split")
    ft.add_argument("--max-length", type=int, default=_Default(128, 64),
                    help="tokens per text, [CLS] included (characters; with --pretrained word "
                         "pieces, [CLS] text [SEP])")
    _model_args(ft, n_layer=2, n_head=4, n_embd=64, block_size=128,
                dropout=_Default(0.1, None, shown="config.json's"))
    _train_args(ft, steps=_Default(300, 150), batch_size=_Default(32, 16), lr=_Default(5e-4, 5e-5),
                warmup=_Default(30, lambda a: a.steps // 10, shown="10% of --steps"), eval_every=50,
                ckpt_every=100, out="runs/finetune",
                weight_decay=0.01)

    at = _sub(sub, "attention", _attention, "draw attention maps for a text (§4.1), of a "
              "checkpoint or of a Hugging Face model directory")
    at.add_argument("--checkpoint", default=None,
                    help="a GPT or BERT checkpoint (.safetensors), or a Hugging Face directory")
    at.add_argument("--pretrained", default=None, metavar="DIR",
                    help="a local Hugging Face BERT or GPT-2 directory, e.g. MiniLM")
    at.add_argument("--text", default=SENTENCE, help="the text to look at")
    at.add_argument("--out", default="attention.png", help="PNG file to write")
    at.add_argument("--layer", type=int, default=None, help="one layer (default: all)")
    at.add_argument("--head", type=int, default=None, help="one head (default: all)")
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["lesson"]:         # minigrad lesson list | check N [--file PATH]
        from .autograder import main as lesson_main
        return lesson_main(argv[1:])
    args = build_parser().parse_args(argv)
    from .serialization import CheckpointError
    from .train import CheckpointMismatchError
    if os.environ.get("MINIGRAD_DEBUG"):          # full tracebacks for developers
        return args.func(args)
    try:
        return args.func(args)
    except (CLIError, CheckpointError, CheckpointMismatchError, FileNotFoundError,
            IsADirectoryError, PermissionError, ValueError) as e:
        print(f"minigrad {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"minigrad {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
