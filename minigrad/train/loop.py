"""The training loop (§3.2 预训练 · 模型训练 and 模型评估, §3.3 微调 · 模型训练).

    trainer = Trainer(model, task, TrainConfig(steps=2000, out_dir="runs/x"), model_config=...)
    result = trainer.fit()                 # or fit(resume=True) to continue a saved run

Each step: a batch, the forward pass and its cross-entropy loss (§4.2), backward, gradient
clipping, an AdamW step, and the learning-rate schedule (linear warm-up, then cosine decay).
Every `eval_every` steps the task is evaluated on its validation split (validation loss,
perplexity = exp(mean cross-entropy) for language models, accuracy for classifiers: §3.2
模型评估), the weights with the lowest validation loss so far are written to best.safetensors
(early stopping) and the loss curve is redrawn; every `ckpt_every` steps, at the end, and on
Ctrl-C a checkpoint of the last step is written atomically (checkpoint.py).  At the end, the
best weights are scored once on the task's test split, which took no part in choosing them:
that is the figure to report (`TrainResult.test_metrics`, history["test"], the loss curve).
`fit(resume=True)` restores model, optimizer, schedule, RNG and step, and then gives exactly
the parameters an uninterrupted run would have.
"""
from __future__ import annotations

import math
import os
import signal
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from .. import random as _random
from ..i18n import tr
from ..optim import AdamW, clip_grad_norm_
from ..optim.lr_scheduler import WarmupCosine
from .checkpoint import (CheckpointMismatchError, check_compatible, optimizer_state_from,
                         read_checkpoint, save_checkpoint)

CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"
LOSS_PNG = "loss.png"
MAX_HISTORY = 10_000       # points per curve kept in a checkpoint's metadata


@dataclass
class TrainConfig:
    """Options of a training run (the CLI's --flags have the same names)."""
    steps: int = 1000            # optimizer steps in all (a resumed run counts the earlier ones)
    batch_size: int = 32
    lr: float = 1e-3             # peak learning rate, reached after the warm-up
    min_lr: float = 1e-4         # where the cosine decay ends
    warmup_steps: int = 100
    weight_decay: float = 0.1    # AdamW's decoupled decay, on matrices only (not biases/norms)
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0       # max global gradient norm (0: no clipping)
    eval_every: int = 100
    eval_windows: int = 256      # validation windows per evaluation (language models)
    ckpt_every: int = 500
    seed: int = 1337
    out_dir: str = "runs/train"
    progress: bool = True        # tqdm progress bar
    plot: bool = True            # loss-curve PNG in out_dir
    test_at_end: bool = True     # score the best weights on the test split (if the task has one)
    overwrite: bool = True       # start afresh in an out_dir that already holds a run (the
                                 # CLI's train/finetune refuse that unless --overwrite is given)
    grad_accum: int = 1          # micro-batches of batch_size/grad_accum per step, one update
                                 # (gradient accumulation, §8; distributed_loop.forward_backward)
    per_sample_dropout: bool | None = None   # dropout masks keyed by sample (random.py): the
                                 # same masks however the batch is cut; None: on with
                                 # grad_accum > 1 or several ranks (a resumed run: as saved)

    def __post_init__(self):
        """Refuse, before any training starts, options that would waste a run or poison it."""
        problems = []
        for name in ("lr", "min_lr", "weight_decay", "grad_clip", "beta1", "beta2"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                problems.append(f"{name} must be a finite number >= 0, got {value!r}")
        if isinstance(self.lr, (int, float)) and self.lr == 0:
            problems.append("lr must be > 0 (a run with learning rate 0 changes nothing)")
        for name in ("batch_size", "eval_every", "ckpt_every", "grad_accum"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                problems.append(f"{name} must be a whole number >= 1, got {value!r}")
        for name in ("steps", "warmup_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                problems.append(f"{name} must be a whole number >= 0, got {value!r}")
        if (isinstance(self.grad_accum, int) and isinstance(self.batch_size, int)
                and self.grad_accum >= 1 and self.batch_size % self.grad_accum):
            problems.append(f"batch_size {self.batch_size} cannot be cut into grad_accum "
                            f"{self.grad_accum} equal micro-batches (use a multiple of {self.grad_accum})")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class TrainResult:
    step: int
    metrics: dict                # the last validation evaluation
    history: dict
    interrupted: bool
    checkpoint: str              # the last step (checkpoint.safetensors, for --resume)
    loss_png: str | None
    seconds: float
    best: str | None = None      # best.safetensors: the weights with the lowest validation loss
    best_step: int | None = None
    test_metrics: dict | None = None   # those weights on the test split (None: no test split)
    tokens: int = 0              # tokens trained on in this run, all ranks together
    train_seconds: float = 0.0   # time in the training steps (no evaluation, no checkpoints)

    @property
    def tokens_per_second(self) -> float:
        """Throughput of the whole job: tokens of all ranks per second of training steps."""
        return self.tokens / self.train_seconds if self.train_seconds > 0 else 0.0


SPLIT_NAMES = {"val": "validation", "test": "test"}


def format_metrics(metrics: dict) -> str:
    """'validation loss 4.118  validation perplexity 61.4': every figure names its split."""
    split = next((k[:-5] for k in metrics if k.endswith("_loss")), "val")
    name = SPLIT_NAMES.get(split, split)
    zh = {"val": "验证集", "test": "测试集"}.get(split, split)       # 中文: 验证集损失 4.118
    terms = {"perplexity": "困惑度", "accuracy": "准确率"}
    parts = []
    for k, v in metrics.items():
        if k in ("tokens", "texts"):
            continue
        label = (tr(f"{name} loss", f"{zh}损失") if k == f"{split}_loss" else
                 tr(f"{name} {k.replace('_', ' ')}", f"{zh}{terms.get(k, k.replace('_', ' '))}"))
        parts.append(f"{label} {v:.1%}" if k == "accuracy" else f"{label} {v:.4g}")
    return "  ".join(parts)


def check_writable(directory) -> Path:
    """Create `directory` if needed and prove we can write there (before any training)."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise PermissionError(f"cannot write to the output folder '{directory}': "
                              f"{e.strerror or e}. Choose another folder with --out.") from None
    return directory


def param_groups(model, weight_decay: float) -> list:
    """Weight decay on matrices (Linear weights, embeddings), none on biases and LayerNorm."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


class Trainer:
    def __init__(self, model, task, config: TrainConfig, model_config: dict, tokenizer=None,
                 log=print, callback=None):
        self.model, self.task, self.config = model, task, config
        self.model_config, self.tokenizer, self.log = model_config, tokenizer, log
        self.callback = callback                  # callback(trainer) after every step (tests)
        c = config
        if c.steps < 1:
            raise ValueError(f"steps must be >= 1, got {c.steps}")
        self.net = model                          # what the forward pass runs (DDP: a wrapper)
        self.rank = getattr(self, "rank", 0)      # set before by DistributedTrainer
        self.world_size = getattr(self, "world_size", 1)
        self._auto_keyed = c.per_sample_dropout is None
        if self._auto_keyed:
            c = self.config = replace(c, per_sample_dropout=self._keyed_by_default())
        self.optimizer = self._make_optimizer(param_groups(model, c.weight_decay))
        warmup = min(c.warmup_steps, max(c.steps - 1, 0))
        if warmup < c.warmup_steps:
            self.log(f"notice: a warm-up of {c.warmup_steps} steps is longer than the run "
                     f"({c.steps} steps); warming up for {warmup} step{'s' if warmup != 1 else ''} instead")
        self.scheduler = WarmupCosine(getattr(self.optimizer, "_full", self.optimizer),   # ZeRO's groups
                                      warmup_steps=warmup,
                                      total_steps=max(c.steps, warmup + 1), min_lr=min(c.min_lr, c.lr))
        self.step = 0
        self.history = {"step": [], "loss": [], "lr": [], "eval": []}
        self.best = math.inf
        self.best_step = None
        self._stop = False
        self._updating = False
        self.out_dir = Path(c.out_dir)

    def _keyed_by_default(self) -> bool:
        """Dropout masks keyed by sample when the batch is cut (micro-batches, ranks)."""
        return self.config.grad_accum > 1 or self.world_size > 1

    def _make_optimizer(self, groups):
        """AdamW (DistributedTrainer: ZeRO-1 with --zero)."""
        c = self.config
        return AdamW(groups, lr=c.lr, betas=(c.beta1, c.beta2), weight_decay=c.weight_decay)

    # --- checkpoints -------------------------------------------------------------------------
    def _check_weights_finite(self, path) -> None:
        """Never replace a good checkpoint with one holding NaN or Inf: raise instead, naming
        the first bad parameters; the file at `path` (if any) is the last good one."""
        bad = [name for name, p in self.model.named_parameters() if not np.isfinite(p.data).all()]
        if bad:
            kept = (f"'{path}' still holds the last good checkpoint"
                    if os.path.exists(path) else "no checkpoint was written")
            raise FloatingPointError(
                f"the weights hold NaN or Inf at step {self.step} ({', '.join(bad[:3])}"
                f"{', ...' if len(bad) > 3 else ''}); they were not saved and {kept}. Lower --lr "
                f"or keep --grad-clip on")

    def _bounded_history(self) -> dict:
        """The history stored in a checkpoint: at most MAX_HISTORY points per curve (every
        k-th), so a long run never writes a header it cannot load."""
        hist = {**self.history, "best": self.best, "best_step": self.best_step}
        for key in ("step", "loss", "lr", "eval"):
            values = hist.get(key, [])
            if len(values) > MAX_HISTORY:
                k = -(-len(values) // MAX_HISTORY)
                hist[key] = values[::k][:MAX_HISTORY - 1] + values[-1:]
        return hist

    def save(self, path=None) -> str:
        path = str(path or self.out_dir / CHECKPOINT)
        self._check_weights_finite(path)
        save_checkpoint(path, self.model, arch=self.task.arch, model_config=self.model_config,
                        tokenizer=self.tokenizer, task=self.task.describe(),
                        train_config=self.config.to_dict(), step=self.step,
                        optimizer=self.optimizer, scheduler=self.scheduler,
                        history=self._bounded_history())
        return path

    def resume_from(self, path) -> None:
        ckpt = read_checkpoint(path)
        check_compatible(ckpt, self.task.arch, self.model_config, self.tokenizer, self.task.describe())
        if ckpt["optimizer"] is None or ckpt["scheduler"] is None:
            raise ValueError(f"'{path}' holds weights only (no optimizer state); it cannot be "
                             f"resumed (use it with finetune --checkpoint instead)")
        fresh_total = self.scheduler.total_steps         # the schedule a new run would follow
        try:
            self.model.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(optimizer_state_from(ckpt))
            self.scheduler.load_state_dict(ckpt["scheduler"])
            _random.set_rng_state(ckpt["rng"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as e:
            raise CheckpointMismatchError(
                f"'{path}' cannot be resumed: its weights, optimizer state, schedule or random "
                f"state is damaged or was edited ({type(e).__name__}: {e})") from None
        self.step = ckpt["step"]
        hist = dict(ckpt["history"] or {})
        self.best = hist.pop("best", math.inf)
        self.best_step = hist.pop("best_step", None)
        self.history = {k: list(hist.get(k, [])) for k in ("step", "loss", "lr", "eval")}
        saved = ckpt["train_config"] or {}
        if self._auto_keyed and isinstance(saved.get("per_sample_dropout"), bool):
            # continue with the saved run's dropout masks (a run of N ranks on M ranks)
            self.config = replace(self.config, per_sample_dropout=saved["per_sample_dropout"])
        planned = ckpt["scheduler"].get("total_steps")
        if planned is not None and planned != fresh_total and saved.get("steps") != self.config.steps:
            steps = self.config.steps
            what = (f"steps {planned}-{steps} run at its final rate {self.scheduler.min_lrs[0]:g}"
                    if planned < steps else f"the run stops at step {steps}, before the decay ends")
            self.log(f"notice: --steps {steps} changes the schedule: the saved run's learning rate "
                     f"decays until step {planned} and resuming keeps that, so {what} (a fresh "
                     f"{steps}-step run would decay over all {steps})")
        changed = [k for k in ("batch_size", "lr", "min_lr", "warmup_steps", "weight_decay",
                               "grad_clip", "seed", "per_sample_dropout")
                   if k in saved and saved[k] != getattr(self.config, k)]
        if changed:
            self.log(f"warning: resuming with other {', '.join(changed)} than the saved run; the "
                     f"result will differ from an uninterrupted run")
        self.log(f"resumed from {path} at step {self.step}")

    # --- the loop ----------------------------------------------------------------------------
    def _on_sigint(self, signum, frame):
        if self._stop:                       # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self._stop = True
        self.log("\nCtrl-C: finishing this step and saving a checkpoint (press again to abort)")

    def request_stop(self) -> None:
        """Stop after the current step, save, and return (what Ctrl-C does)."""
        self._stop = True

    def evaluate(self) -> dict:
        metrics = self.task.evaluate(self.model)
        self.history["eval"].append({"step": self.step, **metrics})
        return metrics

    def fit(self, resume: bool = False) -> TrainResult:
        c = self.config
        check_writable(self.out_dir)
        ckpt_path = self.out_dir / CHECKPOINT
        if resume:
            if not ckpt_path.exists():
                raise FileNotFoundError(f"--resume: no checkpoint at '{ckpt_path}' (train without "
                                        f"--resume first, or point --out at the run's folder)")
            self.resume_from(ckpt_path)
        elif ckpt_path.exists() and not c.overwrite:
            raise ValueError(f"'{self.out_dir}' already holds a run ({CHECKPOINT}); continue it "
                             f"with --resume, or pass --overwrite to start again and replace "
                             f"its files (or choose another --out)")
        self._stop = False
        handler_installed = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._on_sigint) if handler_installed else None
        start, tokens, interrupted, step_seconds = time.perf_counter(), 0, False, 0.0
        metrics = {}
        bar = None
        try:
            if c.progress:
                from tqdm.auto import tqdm
                bar = tqdm(total=c.steps, initial=self.step, desc="train", unit="step",
                           dynamic_ncols=True, leave=False)
            while self.step < c.steps:
                if self._stop:
                    interrupted = True
                    break
                t0 = time.perf_counter()
                self.model.train()
                self.optimizer.zero_grad()
                value, n_tok = self._forward_backward()     # the mean loss of the (global) batch
                if c.grad_clip > 0:
                    clip_grad_norm_(self.model.parameters(), c.grad_clip)
                lr = self.optimizer.param_groups[0]["lr"]
                self._updating = True                       # parameters change from here ...
                self.optimizer.step()
                self.scheduler.step()
                self.step += 1
                self._updating = False                      # ... to here
                step_seconds += time.perf_counter() - t0
                if not math.isfinite(value):
                    raise FloatingPointError(f"the loss became {value} at step {self.step}; lower "
                                             f"--lr or keep --grad-clip on")
                self.history["step"].append(self.step)
                self.history["loss"].append(value)
                self.history["lr"].append(lr)
                tokens += n_tok
                if bar is not None:
                    dt = max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(loss=f"{value:.3f}", tok_s=f"{n_tok / dt:,.0f}")
                    bar.update(1)
                if self.step % c.eval_every == 0 or self.step == c.steps:
                    metrics = self.evaluate()
                    self._report(metrics, bar)
                    if metrics["val_loss"] < self.best:
                        self.best, self.best_step = metrics["val_loss"], self.step
                        self._save_best()
                if self.step % c.ckpt_every == 0 and self.step < c.steps:
                    self.save()
                if self.step % c.eval_every == 0 or self.step == c.steps:
                    self._plot()                    # after the checkpoints: a plot never costs one
                if self.callback is not None:
                    self.callback(self)
        except KeyboardInterrupt:
            interrupted = True
            if self._updating:                 # half-updated parameters: keep the last good file
                self.log("interrupted during a parameter update; the last checkpoint was kept")
                raise
        finally:
            if bar is not None:
                bar.close()
            if handler_installed:
                signal.signal(signal.SIGINT, previous)
        best = self.out_dir / BEST
        test = None
        if not interrupted and c.test_at_end and getattr(self.task, "has_test", False) and self._has_best():
            test = self.test_best()
        path = self.save()
        png = self._plot()
        if interrupted:
            self.log(f"interrupted at step {self.step}/{c.steps}; checkpoint saved to {path}; "
                     f"continue with --resume")
        return TrainResult(self.step, metrics, self.history, interrupted, path, png,
                           time.perf_counter() - start, str(best) if best.exists() else None,
                           self.best_step, test, tokens, step_seconds)

    def _forward_backward(self):
        """The step's batch, forward and backward (in grad_accum micro-batches): p.grad holds
        the gradient of the batch's mean loss.  Returns (that loss, tokens in the batch)."""
        from .distributed_loop import forward_backward
        c = self.config
        batch = self.task.batch(self.step, c.batch_size, c.seed)
        prepare = getattr(self.task, "prepare", None)        # MLM: the masks of the whole batch
        if prepare is not None:
            batch = prepare(batch)
        return forward_backward(self.net, self.task, batch, c.grad_accum, step=self.step,
                                seed=c.seed if c.per_sample_dropout else None,
                                rank=self.rank, world_size=self.world_size)

    def _has_best(self) -> bool:
        return (self.out_dir / BEST).exists()

    def test_best(self) -> dict:
        """The weights of best.safetensors (lowest validation loss) on the test split, once:
        the figure to report.  self.model keeps its last weights."""
        from .checkpoint import read_checkpoint as _read
        saved = _read(self.out_dir / BEST)
        last = {k: v.data for k, v in self.model.state_dict().items()}
        try:
            self.model.load_state_dict(saved["model"])
            metrics = self.task.evaluate(self.model, max_windows=None, split="test")
        finally:
            self.model.load_state_dict(last)
        self.history["test"] = {"step": saved["step"], **metrics}
        count = (tr(f"{metrics['tokens']:,} tokens", f"{metrics['tokens']:,} 个词元") if "tokens" in metrics
                 else tr(f"{metrics['texts']:,} texts", f"{metrics['texts']:,} 条文本")
                 if "texts" in metrics else "")
        self.log(tr(f"test split, the best weights (step {saved['step']}, lowest validation loss): ",
                    f"测试集，最佳权重（第 {saved['step']} 步，验证集损失最低）：")
                 + format_metrics(metrics) + (tr(f"  ({count})", f"（{count}）") if count else ""))
        return metrics

    def _report(self, metrics, bar):
        loss = f"{self.history['loss'][-1]:.3f}"
        parts = [tr(f"step {self.step:5d}", f"第 {self.step:5d} 步"),
                 tr(f"train loss {loss}", f"训练损失 {loss}"), format_metrics(metrics)]
        msg = "  ".join(parts)
        if bar is not None:
            bar.write(msg)
        else:
            self.log(msg)

    def _save_best(self):
        """The weights with the lowest validation loss so far (early stopping, §3.2 模型评估)."""
        self._check_weights_finite(self.out_dir / BEST)
        save_checkpoint(self.out_dir / BEST, self.model, arch=self.task.arch,
                        model_config=self.model_config, tokenizer=self.tokenizer,
                        task=self.task.describe(), step=self.step)

    def _plot(self):
        """The loss curve PNG; a plot that fails (a full disk, a broken font) is reported and
        training goes on: the checkpoints are written before it."""
        if not self.config.plot or not self.history["step"]:
            return None
        path = self.out_dir / LOSS_PNG
        try:
            from ..viz import plot_loss_curve
            plot_loss_curve(self.history, path, title=self.task.describe().get("source", ""))
        except Exception as e:                  # noqa: BLE001 (a picture never stops a run)
            self.log(f"warning: the loss curve could not be written to {path}: {e}")
            return None
        return str(path)
