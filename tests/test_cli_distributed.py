"""`minigrad train` on several processes (issue 14 §4) and in micro-batches (§2), run for real:

    mpiexec -n 2 minigrad train ... --distributed   == one process with the same global batch
                                                       (GPT; BERT with its masks drawn for the
                                                       global batch, ZeRO-1 and 2 micro-batches
                                                       per rank): the loss curve and the final
                                                       parameters within float32 rounding
    minigrad train --nproc 2 ...                      starts that job itself; resumed on 1
                                                      process it continues as one run
    Trainer(grad_accum=K) == the large batch          float64 within 1e-12, dropout on (GPT and
                                                      BERT; no MPI needed)

The models train in float32, as the CLI does: 2 ranks add the gradients in another order than
one process, so the runs agree to rounding, not bit for bit.  Stated tolerances: 1e-5 on
every logged loss and on every parameter after 4 AdamW steps (AdamW's update is of size lr
per element whatever the gradient, so a rounding difference is not amplified by 1/|g|:
measured: 2e-7 on the losses, 2e-6 on the parameters).  The MPI tests are skipped, saying why, without mpi4py or mpiexec
(pip install -e ".[distributed]").
"""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import minigrad as mg
from minigrad.cli import main
from minigrad.train import CHECKPOINT, LMTask, MLMTask, Trainer, TrainConfig, build_model, read_checkpoint

try:
    import mpi4py  # noqa: F401
    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False
from minigrad.distributed.launch import mpiexec_path

MISSING = ('mpi4py is not installed (pip install -e ".[distributed]")' if not HAVE_MPI4PY else
           'no mpiexec (pip install -e ".[distributed]" brings mpich with it)' if mpiexec_path() is None
           else None)
TOL = 1e-5
# a tiny run: 4 steps at a constant learning rate (min-lr = lr, no warm-up), so a run stopped
# after 2 steps and resumed follows the schedule of the uninterrupted one; dropout on
COMMON = ["--data", "kjv", "--max-chars", "3000", "--block-size", "16", "--batch-size", "4",
          "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--dropout", "0.1",
          "--lr", "3e-3", "--min-lr", "3e-3", "--warmup-steps", "0", "--eval-every", "4",
          "--eval-windows", "4", "--no-progress"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "NUMBA_NUM_THREADS": "1"}


def minigrad_cmd(*args, nproc=None, timeout=240):
    """python -m minigrad ARGS, under mpiexec -n nproc when given; returns (stdout, seconds)."""
    cmd = [sys.executable, "-m", "minigrad", *map(str, args)]
    if nproc is not None:
        cmd = [mpiexec_path(), "-n", str(nproc), *cmd]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout, time.perf_counter() - start


def run_state(out_dir):
    ckpt = read_checkpoint(out_dir / CHECKPOINT)
    return ckpt["step"], ckpt["history"]["loss"], {k: v.data for k, v in ckpt["model"].items()}


def assert_same_run(a, b, tol=TOL):
    step_a, loss_a, params_a = a
    step_b, loss_b, params_b = b
    assert step_a == step_b
    assert np.max(np.abs(np.subtract(loss_a, loss_b))) < tol, (loss_a, loss_b)
    diff = max(float(np.max(np.abs(params_a[k] - params_b[k]))) for k in params_a)
    assert diff < tol, f"parameters differ by {diff:.3g}"
    return diff


@pytest.fixture(scope="module")
def gpt_reference(tmp_path_factory):
    """One process, the whole global batch of 4, 4 steps (the same code path: --distributed
    in a job of one process, dropout masks keyed by sample)."""
    out = tmp_path_factory.mktemp("one") / "run"
    minigrad_cmd("train", *COMMON, "--steps", "4", "--out", out, "--distributed")
    return run_state(out)


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
class TestMPI:
    def test_mpiexec_two_ranks_equal_one_process_gpt(self, gpt_reference, tmp_path):
        out = tmp_path / "run"
        stdout, _ = minigrad_cmd("train", *COMMON, "--steps", "4", "--out", out, "--distributed",
                                 nproc=2)
        assert_same_run(run_state(out), gpt_reference)
        # one log for the job: rank 0 alone prints, and says how many processes took part
        assert stdout.count("data parallel: 2 processes × 2 sequences (global batch 4)") == 1
        assert stdout.count("throughput:") == 1 and "2 processes" in stdout
        assert stdout.count("last step:") == 1
        assert not list(out.glob("*.tmp*")) and not list(out.glob(".*tmp*"))   # atomic writes

    def test_nproc_2_then_resume_on_one_process(self, gpt_reference, tmp_path):
        """--nproc 2 starts mpiexec itself; the run saved by 2 ranks after 2 steps continues on
        1 process (plain `train --resume`: the saved dropout definition is kept) and ends
        where the uninterrupted run ends."""
        out = tmp_path / "run"
        stdout, _ = minigrad_cmd("train", *COMMON, "--steps", "2", "--out", out, "--nproc", 2)
        assert "2 processes" in stdout
        assert read_checkpoint(out / CHECKPOINT)["train_config"]["per_sample_dropout"] is True
        minigrad_cmd("train", *COMMON, "--steps", "4", "--out", out, "--resume")
        assert_same_run(run_state(out), gpt_reference)

    def test_bert_masks_of_the_global_batch_zero_and_accumulation(self, tmp_path):
        """BERT's masked-LM loss is a mean over the masked tokens, whose number differs between
        ranks and micro-batches: the masks are drawn for the global batch and each part's loss
        is weighted by its share of them, so 2 ranks × 2 micro-batches with ZeRO-1 give the
        one-process run."""
        args = ["train", "--arch", "bert", *COMMON, "--steps", "3", "--distributed"]
        minigrad_cmd(*args, "--out", tmp_path / "one")
        minigrad_cmd(*args, "--out", tmp_path / "two", "--zero", "--grad-accum", "2", nproc=2)
        assert_same_run(run_state(tmp_path / "two"), run_state(tmp_path / "one"))
        # the consolidated AdamW state (ZeRO-1's shards gathered) equals one process's
        a, b = read_checkpoint(tmp_path / "two" / CHECKPOINT), read_checkpoint(tmp_path / "one" / CHECKPOINT)
        assert a["optim_arrays"].keys() == b["optim_arrays"].keys()
        for k in a["optim_arrays"]:
            np.testing.assert_allclose(a["optim_arrays"][k].data, b["optim_arrays"][k].data,
                                       rtol=1e-3, atol=1e-7)


# --- no MPI needed -------------------------------------------------------------------------------
def _tiny_trainer(kind, tmp_path, name, **config):
    """A float64 GPT or BERT-MLM on 全唐诗's tiny sibling, with dropout 0.2."""
    from minigrad.cli import _lm_data, _model_config
    from types import SimpleNamespace
    bert = kind == "bert"
    data, desc = _lm_data("tang", None, 16, 0.1, 0.1, bert)
    arch = "bert-mlm" if bert else "gpt"
    mg.manual_seed(3)
    cfg = _model_config(SimpleNamespace(n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.2),
                        data.tokenizer.vocab_size, arch)
    model = build_model(arch, cfg).double()
    task = (MLMTask if bert else LMTask)(data, eval_windows=2, description=desc)
    c = TrainConfig(steps=3, batch_size=8, lr=3e-3, warmup_steps=1, eval_every=3, out_dir=str(tmp_path / name),
                    progress=False, plot=False, test_at_end=False, **config)
    return Trainer(model, task, c, cfg, data.tokenizer, log=lambda m: None)


@pytest.mark.parametrize("kind, K", [("gpt", 4), ("bert", 8)])
def test_trainer_grad_accum_equals_the_large_batch(kind, K, tmp_path):
    """K micro-batches of 8/K windows a step == the batch of 8 (AdamW, clipping, warm-up,
    dropout masks keyed by sample; BERT: the masks of the whole batch, each micro-batch
    weighted by its masked tokens): float64 within 1e-12."""
    big = _tiny_trainer(kind, tmp_path, "big", per_sample_dropout=True)
    big.fit()
    acc = _tiny_trainer(kind, tmp_path, "acc", grad_accum=K)
    assert acc.config.per_sample_dropout is True          # on by default with grad_accum > 1
    acc.fit()
    assert np.max(np.abs(np.subtract(acc.history["loss"], big.history["loss"]))) < 1e-12
    for (name, p), (_, q) in zip(acc.model.named_parameters(), big.model.named_parameters()):
        assert np.max(np.abs(p.data - q.data)) < 1e-12, name
    assert big.history["loss"][0] != big.history["loss"][-1]       # it trained


def test_a_part_without_masked_tokens_adds_nothing(tmp_path):
    """A micro-batch (or a rank's share) in which no token was masked: loss 0, gradient 0,
    not the NaN of a mean over no tokens."""
    trainer = _tiny_trainer("bert", tmp_path, "m")
    inputs, labels = trainer.task.prepare(trainer.task.batch(0, 2, 1))
    loss, n = trainer.task.loss(trainer.model, (inputs, np.full_like(labels, -100)))
    loss.backward()
    assert loss.item() == 0.0 and n == inputs.size
    assert all(np.all(p.grad.data == 0) for p in trainer.model.parameters() if p.grad is not None)
    assert trainer.task.loss_items((inputs, labels)) == int((labels != -100).sum()) > 0


def test_grad_accum_one_is_the_plain_loop(tmp_path):
    """grad_accum=1 keeps the generator's dropout masks by default (the loop as it was: a
    3-step CLI run of GPT and BERT gave bit for bit the losses and weights of the loop before
    distributed_loop), and keyed masks are really another definition (the control)."""
    plain = _tiny_trainer("gpt", tmp_path, "plain")
    assert plain.config.per_sample_dropout is False
    plain.fit()
    keyed = _tiny_trainer("gpt", tmp_path, "keyed", per_sample_dropout=True)
    keyed.fit()
    assert plain.history["loss"][0] != keyed.history["loss"][0]


def test_grad_accum_must_divide_the_batch(tmp_path, capsys):
    assert main(["train", *COMMON, "--steps", "1", "--grad-accum", "3", "--out", str(tmp_path / "o")]) == 2
    assert "grad_accum 3" in capsys.readouterr().err


def test_nproc_without_mpi_names_the_extra(tmp_path, capsys, monkeypatch):
    import minigrad.distributed.launch as launch
    monkeypatch.setattr(launch, "mpiexec_path", lambda: None)
    assert main(["train", *COMMON, "--steps", "1", "--nproc", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "mpiexec" in err and '".[distributed]"' in err


def test_started_by_mpiexec_without_distributed_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setenv("PMI_SIZE", "2")
    assert main(["train", *COMMON, "--steps", "1", "--out", str(tmp_path / "o")]) == 2
    assert "add --distributed" in capsys.readouterr().err
    assert main(["train", *COMMON, "--steps", "1", "--zero", "--out", str(tmp_path / "o")]) == 2
