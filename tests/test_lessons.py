"""The classroom exercises and their autograder (lessons/, minigrad/autograder/).

Every check is real: each task fails on the untouched stub, passes on the reference solution,
and fails on typical wrong answers (MUTANTS: a text substitution in the reference solution).
"""
from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from minigrad import autograder
from minigrad.autograder import (CRASHED, FAILED, PASSED, TIMEOUT, TODO, StudentProcess, Task,
                                 run_lesson, run_task)

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
ALL = autograder.lessons()
CASES = [(n, t.id) for n, lesson in ALL.items() for t in lesson.tasks]


def _stub(n):
    return LESSONS_DIR / ALL[n].folder / "exercises.py"


def _solution(n):
    return LESSONS_DIR / "solutions" / f"{ALL[n].folder}.py"


_results = {}


def _result(n, which, task_id):
    key = (n, which)
    if key not in _results:
        path = _stub(n) if which == "stub" else _solution(n)
        _results[key] = {r.task.id: r for r in run_lesson(ALL[n], path)}
    return _results[key][task_id]


def test_lessons_are_found():
    assert sorted(ALL) == list(range(1, len(ALL) + 1)) and len(ALL) >= 4
    for n, lesson in ALL.items():
        assert 3 <= len(lesson.tasks) <= 5, lesson
        assert [t.id for t in lesson.tasks] == [f"{n}.{k}" for k in range(1, len(lesson.tasks) + 1)]
        assert _stub(n).is_file() and _solution(n).is_file()
        readme = (LESSONS_DIR / lesson.folder / "README.md").read_text(encoding="utf-8")
        for t in lesson.tasks:
            assert f"Task {t.id}:" in readme, (lesson.folder, t.id)
        assert "§" in lesson.sections


@pytest.mark.parametrize("lesson,task", CASES)
def test_task_fails_on_the_stub(lesson, task):
    r = _result(lesson, "stub", task)
    assert r.status == TODO, (r.status, r.message)


@pytest.mark.parametrize("lesson,task", CASES)
def test_task_passes_on_the_reference_solution(lesson, task):
    r = _result(lesson, "solution", task)
    assert r.status == PASSED, r.message


def test_stubs_are_generated_from_the_solutions():
    spec = importlib.util.spec_from_file_location("make_stubs", LESSONS_DIR / "make_stubs.py")
    make_stubs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_stubs)
    for n in ALL:
        assert make_stubs.make_stub(_solution(n)) == _stub(n).read_text(encoding="utf-8"), (
            f"{_stub(n)} is out of date: run python lessons/make_stubs.py")
        stub = _stub(n).read_text(encoding="utf-8")
        assert stub.count("raise NotImplementedError") >= len(ALL[n].tasks)
        assert "# TODO" in stub and "REFERENCE SOLUTION" not in stub


# Typical wrong answers: (lesson, task, text in the solution, replacement).  Each must fail its task.
MUTANTS = [
    (1, "1.1", "grad[i] = (f_plus - f_minus) / (2 * eps)", "grad[i] = (f_plus - f(x)) / eps"),
    (1, "1.1", "        x[i] = old\n", ""),                                       # x left perturbed
    (1, "1.2", "return g * y * (1.0 - y)", "return Tensor(g.data * y.data * (1 - y.data))"),
    (1, "1.2", "return g * y * (1.0 - y)", "return g * y"),
    (1, "1.3", "grad = grad.sum(axis=tuple(range(lead))) if lead > 0 else grad",
     "grad = grad[(0,) * lead] if lead > 0 else grad"),                      # one copy, not the sum
    (1, "1.3", "    if dims:\n", "    if False:\n"),
    (1, "1.4", "(hv,) = mg.grad((g * v).sum(), x)",
     "e = 1e-4\n    (gp,) = mg.grad(f(mg.tensor(x.data + e * v.data, requires_grad=True)), x)\n"
     "    hv = g"),                                                             # not a double backward
    (1, "1.4", "    (g,) = mg.grad(f(x), x, create_graph=True)\n    (hv,) = mg.grad((g * v).sum(), x)",
     "    f(x).backward(create_graph=True)\n    (hv,) = mg.grad((x.grad * v).sum(), x)"),  # touches x.grad
    (2, "2.1", "e = (x - m).exp()", "e = x.exp()"),                                # overflows
    (2, "2.1", "    m = x.amax(dim=dim, keepdim=True).detach()\n    e = (x - m).exp()\n"
               "    return e / e.sum(dim=dim, keepdim=True)", "    return x.softmax(dim)"),
    (2, "2.2", "return (logits.logsumexp(dim=1) - picked).mean()",
     "return (logits.exp().sum(dim=1).log() - picked).mean()"),
    (2, "2.2", "return (logits.logsumexp(dim=1) - picked).mean()",
     "return (logits.logsumexp(dim=1) - picked).sum()"),
    (2, "2.3", "return p / len(targets)", "return p"),
    (2, "2.3", "z = logits - logits.max(axis=1, keepdims=True)", "z = logits"),
    (2, "2.4", "            p.grad = None\n", ""),
    (2, "2.4", "            p.data -= lr * p.grad.data", "            p.data = p.data + lr * p.grad.data"),
    (2, "2.5", "for _ in range(steps):", "for _ in range(3):"),
    (3, "3.1", "np.tril(np.ones((T, T), dtype=bool))", "np.triu(np.ones((T, T), dtype=bool))"),
    (3, "3.2", "return y * (g - np.sum(g * y, axis=dim, keepdims=True))", "return y * g"),
    (3, "3.2", "np.sum(g * y, axis=dim, keepdims=True)", "np.sum(g * y, axis=-1, keepdims=True)"),
    (3, "3.3", "np.arange(S)[None, :] < np.asarray(lengths)[:, None]",
     "np.arange(S)[None, :] <= np.asarray(lengths)[:, None]"),
    (3, "3.4", "scores = (q @ k.mT) / math.sqrt(d_k)", "scores = q @ k.mT"),
    (3, "3.4", 'scores = mg.where(mg.tensor(mask), scores, float("-inf"))',
     "scores = mg.where(mg.tensor(mask), scores, -1e9)"),
    (3, "3.4", "weights = scores.softmax(dim=-1)", "weights = scores.softmax(dim=-2)"),
    (4, "4.1", "x.reshape(B, T, n_head, C // n_head).transpose(1, 2)",
     "x.reshape(B, n_head, T, C // n_head)"),
    (4, "4.2", "pe[:, 0::2] = np.sin(angle)\n    pe[:, 1::2] = np.cos(angle)",
     "pe[:, 0::2] = np.cos(angle)\n    pe[:, 1::2] = np.sin(angle)"),
    (4, "4.3", "var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)", "var = x.var(dim=-1, keepdim=True)"),
    (4, "4.3", "(var + eps).sqrt()", "(var.sqrt() + eps)"),
    (4, "4.4", "    x = x + block.attn(block.ln_1(x)).output                              # (B, T, C)\n"
               "    return x + block.mlp(block.ln_2(x))", "    return block(x)"),
    (4, "4.4", "return block.ln_2(x + block.mlp(x))", "return block.ln_2(x + block.mlp(block.ln_2(x)))"),
    (4, "4.5", "+ 2 * C\n", "+ 2 * C + vocab_size * C\n"),                      # lm_head counted twice
    # lesson 11
    (11, "11.1", "for i in reversed(range(len(nbytes))):", "for i in range(len(nbytes)):"),   # model order
    (11, "11.1", "size + nbytes[i] > cap_bytes", "size + nbytes[i] >= cap_bytes"),       # never full
    (11, "11.2", "(r - s) % N, chunks[r][(r - s) % N]", "(r + s) % N, chunks[r][(r + s) % N]"),
    (11, "11.3", "steps / world_size * nbytes", "steps * nbytes"),                      # no 1/N
    (11, "11.4", "numel * rank // world_size, numel * (rank + 1) // world_size",
     "rank * (numel // world_size), (rank + 1) * (numel // world_size)"),            # drops the rest
    # lessons 5-9
    (5, "5.1", "return math.exp(float((losses * counts).sum() / counts.sum()))",
     "return float(np.exp(losses).mean())"),                                 # mean of exp, unweighted
    (5, "5.1", "return math.exp(float((losses * counts).sum() / counts.sum()))",
     "return math.exp(float(losses.mean()))"),                               # batches not weighted
    (5, "5.2", "return w[:, :-1], w[:, 1:]", "return w[:, :-1], w[:, :-1]"),   # target = input
    (5, "5.2", "np.arange(block_size + 1)[None, :]", "np.arange(1, block_size + 2)[None, :]"),
    (5, "5.3", "e = np.exp(z - z.max(axis=-1, keepdims=True))", "e = np.exp(z)"),     # overflows
    (5, "5.3", "z = np.where(z < kth, -np.inf, z)", "z = np.where(z > kth, -np.inf, z)"),
    (5, "5.3", "z = np.asarray(logits, dtype=np.float64) / temperature",
     "z = np.asarray(logits, dtype=np.float64) * temperature"),
    (5, "5.4", "best = min(counts, key=lambda p: (-counts[p], p))",
     "best = max(counts, key=lambda p: (counts[p], p))"),                    # ties to the last pair
    (5, "5.4", "counts[pair] = counts.get(pair, 0) + f", "counts[pair] = counts.get(pair, 0) + 1"),
    (5, "5.4", "                i += 2\n", "                i += 1\n"),       # overlapping merges
    (6, "6.1", "p.requires_grad = name.startswith(prefixes)",
     "p.requires_grad = p.requires_grad and name.startswith(prefixes)"),   # never unfreezes
    (6, "6.1", "        if p.requires_grad:\n            n += p.numel()", "        n += p.numel()"),
    (6, "6.2", "logits = model.classifier(model.dropout(pooled))                              #",
     "logits = model.classifier(model.bert(input_ids).pooler_output)  #"),   # mask dropped
    (6, "6.2", "pooled = model.bert(input_ids, attention_mask=attention_mask).pooler_output",
     "pooled = model.bert(input_ids, attention_mask=attention_mask).last_hidden_state.mean(1)"),
    (6, "6.3", "logits.argmax(axis=-1) == np.asarray(labels)", "logits.argmax(axis=0) == np.asarray(labels)"),
    (6, "6.4", "(np.asarray(labels), np.asarray(predictions))", "(np.asarray(predictions), np.asarray(labels))"),
    (7, "7.1", "return (last_hidden_state * m).sum(1) / np.maximum(m.sum(1), 1e-9)",
     "return last_hidden_state.mean(1)"),                                   # padding averaged in
    (7, "7.1", "return (last_hidden_state * m).sum(1) / np.maximum(m.sum(1), 1e-9)",
     "return Tensor((last_hidden_state.data * m).sum(1) / np.maximum(m.sum(1), 1e-9))"),   # no graph
    (7, "7.2", "    a = a / np.linalg.norm(a, axis=-1, keepdims=True)\n", ""),
    (7, "7.3", "return bert.pooler.dense(last_hidden_state[:, 0]).tanh()",
     "return bert.pooler.dense(last_hidden_state.mean(1)).tanh()"),
    (7, "7.3", "return bert.pooler.dense(last_hidden_state[:, 0]).tanh()",
     "return bert.pooler.dense(last_hidden_state[:, 0])"),
    (7, "7.4", "outputs = model(**inputs)\n        predictions = outputs.logits.argmax(-1)\n    return",
     "outputs = model(inputs['input_ids'])\n        predictions = outputs.logits.argmax(-1)\n    return"),
    (7, "7.4", "    with mg.no_grad():\n", "    if True:\n"),
    (8, "8.1", "return m_new, alpha * l + p.sum(), alpha * np.asarray(o) + p @ np.asarray(v)",
     "return m_new, l + p.sum(), alpha * np.asarray(o) + p @ np.asarray(v)"),   # ℓ not rescaled
    (8, "8.1", "return m_new, alpha * l + p.sum(), alpha * np.asarray(o) + p @ np.asarray(v)",
     "return m_new, alpha * l + p.sum(), np.asarray(o) + p @ np.asarray(v)"),   # o not rescaled
    (8, "8.2", "s = np.where(cols[None, :] <= np.arange(T)[:, None], s, -np.inf)",
     "s = np.where(cols[None, :] < np.arange(T)[:, None] + 2, s, -np.inf)"),
    (8, "8.2", "p = np.where(np.isfinite(m_new)[:, None], np.exp(s - m_new[:, None]), 0.0)",
     "p = np.exp(s)"),                                                      # no running max
    (8, "8.2", "s = q @ k[j0:j0 + block].T / math.sqrt(d)", "s = q @ k[j0:j0 + block].T"),
    (8, "8.3", "return int(2 * int(np.prod(batch, dtype=np.int64)) * n * k * m)",
     "return int(n * k * m * int(np.prod(batch, dtype=np.int64)))"),      # multiply-adds, not FLOPs
    (8, "8.3", "return int(2 * int(np.prod(batch, dtype=np.int64)) * n * k * m)",
     "return int(2 * n * k * m)"),                                          # batch forgotten
    (8, "8.4", "+ 2 * T * T * C * 2 +", "+"),                                 # attention forgotten
    (8, "8.4", "return int(n_layer * per_layer + 2 * T * C * vocab_size)", "return int(n_layer * per_layer)"),
    (9, "9.1", "plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)",
     "plogp = p * np.log(p)"),                                              # NaN on masked keys
    (9, "9.1", "return -plogp.sum(axis=-1).mean(axis=-1)", "return -plogp.sum(axis=-2).mean(axis=-1)"),
    (9, "9.2", "    a = (a + np.eye(T)) / 2\n", ""),                           # no residual
    (9, "9.2", "R = layer @ R", "R = R @ layer"),                              # wrong order
    (9, "9.3", "order = np.argsort(-row, kind=\"stable\")[:k]\n", "order = np.argsort(row, kind=\"stable\")[:k]\n"),
    (9, "9.3", "row = np.asarray(att_map)[query]", "row = np.asarray(att_map)[:, query]"),
    (10, "10.1", "k = heads(encoder_states @ w_k, S)", "k = heads(decoder_states @ w_k, T)"),   # K from the decoder
    (10, "10.1", "scores = np.where(keep, scores, -np.inf)",
     "scores = np.where(np.tril(np.ones(scores.shape[-2:], bool)) & keep, scores, -np.inf)"),  # causal
    (10, "10.1", "scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d_k)",
     "scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)"),                 # √d, not √d_k
    (10, "10.1", "    scores = np.where(keep, scores, -np.inf)\n", ""),      # padding not masked
    (10, "10.1", "out = (weights @ v).transpose(0, 2, 1, 3).reshape(B, T, d)",
     "out = (weights @ v).reshape(B, T, d)"),                                # heads merged wrongly
    (10, "10.2", "flat = scores.reshape(-1)", "flat = np.asarray(log_probs, dtype=np.float64).reshape(-1)"),
    (10, "10.2", "best = np.argsort(-flat, kind=\"stable\")[:k]", "best = np.argsort(-flat)[:k]"),  # ties
    (10, "10.2", "return flat[best], best // V, best % V", "return flat[best], best % V, best // V"),
    (10, "10.3", "matches = sum(min(c, most[g]) for g, c in hyp.items())",
     "matches = sum(c for g, c in hyp.items() if g in most)"),              # not clipped
    (10, "10.3", "most[g] = max(most[g], c)", "most[g] = most[g] + c"),     # references summed
    (10, "10.3", "return int(matches), int(sum(hyp.values()))", "return int(matches), len(hyp)"),
    (10, "10.4", "    if hyp_len == 0:\n        return 0.0\n", "    if hyp_len == 0:\n        return 1.0\n"),
    (10, "10.4", "key=lambda L: (abs(L - len(hyp)), L))", "key=lambda L: (abs(L - len(hyp)), -L))"),
    (10, "10.4", "log_mean = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n",
     "log_mean = math.log(sum(m / t for m, t in zip(matches, totals)) / max_n)"),  # arithmetic mean
]


@pytest.mark.parametrize("lesson,task,old,new", MUTANTS,
                         ids=[f"{m[1]}-{i}" for i, m in enumerate(MUTANTS)])
def test_task_fails_on_a_wrong_answer(tmp_path, lesson, task, old, new):
    source = _solution(lesson).read_text(encoding="utf-8")
    assert source.count(old) == 1, f"the mutant's text is not in the solution once: {old!r}"
    path = tmp_path / "exercises.py"
    path.write_text(source.replace(old, new) if "Tensor(" not in new
                    else "from minigrad import Tensor\n" + source.replace(old, new), encoding="utf-8")
    (r,) = run_lesson(ALL[lesson], path, only=task)
    assert r.status != PASSED, f"task {task} passed a wrong answer"
    assert r.message


# --- the runner --------------------------------------------------------------------------
def test_cli_check_list_and_exit_status(capsys):
    assert autograder.main(["list"]) == 0
    assert "Task 3.2: the backward of softmax" in capsys.readouterr().out
    assert autograder.main(["check", "3", "--file", str(_solution(3))]) == 0
    out = capsys.readouterr().out
    assert "Lesson 3: Self-attention (§4.1 自注意力机制)" in out and "4/4 tasks passed" in out
    assert autograder.main(["check", "3", "--file", str(_stub(3))]) == 1
    out = capsys.readouterr().out
    assert "0/4 tasks passed" in out and "not implemented yet" in out
    assert "nudge:" not in out and "--hint" in out      # the nudges are one flag away (see below)
    assert autograder.main(["check", "2", "--file", str(_solution(2)), "--task", "2.3"]) == 0
    assert "1/1 tasks passed" in capsys.readouterr().out
    assert autograder.main(["check", "42"]) == 2
    assert autograder.main(["check", "3", "--task", "9.9"]) == 2
    assert autograder.main(["check", "3", "--file", "no/such/file.py"]) == 2
    assert autograder.main(["frobnicate"]) == 2


def test_default_file_is_found_from_the_current_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT / "lessons" / "03_attention")
    assert autograder.find_exercises(ALL[3]).resolve() == _stub(3).resolve()
    (tmp_path / "lessons" / ALL[1].folder).mkdir(parents=True)
    (tmp_path / "lessons" / ALL[1].folder / "exercises.py").write_text(
        _solution(1).read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert autograder.main(["check", "1"]) == 0


def test_a_file_that_does_not_import_fails_every_task(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("def softmax(x:\n", encoding="utf-8")
    results = run_lesson(ALL[2], path)
    assert [r.status for r in results] == [CRASHED] * len(ALL[2].tasks)
    assert "SyntaxError" in results[0].message and "line 1" in results[0].message


def test_student_exceptions_time_limits_and_engine_state_are_contained(tmp_path):
    import minigrad as mg
    from minigrad.autograd import mode

    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent("""
        import minigrad as mg
        def loop():
            while True:
                pass
        def crash():
            return {}["key"]
        def leave_modes_switched():
            mg.set_grad_enabled(False)
            mg.set_backend("numpy")
            raise SystemExit(3)
        def wrong():
            assert 1 == 2, "my own assert"
    """), encoding="utf-8")
    before = (mode.grad_enabled, mg.backends.current_name())
    with StudentProcess(path) as student:         # the file runs in a process of its own
        r = run_task(Task("9.1", "loop", lambda m: m.loop(), "hint", timeout=0.5), student, path)
        assert r.status == TIMEOUT and r.seconds < 5
        r = run_task(Task("9.2", "crash", lambda m: m.crash(), "hint"), student, path)
        assert r.status == CRASHED and "KeyError" in r.message and "student.py, line 7" in r.message
        r = run_task(Task("9.3", "modes", lambda m: m.leave_modes_switched(), "hint"), student, path)
        assert r.status == CRASHED and "SystemExit" in r.message
        assert (mode.grad_enabled, mg.backends.current_name()) == before
        r = run_task(Task("9.4", "assert", lambda m: m.wrong(), "hint"), student, path)
        assert r.status == FAILED and "my own assert" in r.message
        assert student.starts == 2                  # a new process after the endless loop


def test_library_functions_are_restored_after_a_forbidding_check():
    import minigrad.nn.functional as F
    from minigrad import Tensor
    from minigrad.ops.softmax import Softmax

    run_lesson(ALL[2], _solution(2))
    run_lesson(ALL[3], _stub(3))
    assert "apply" not in Softmax.__dict__
    x = Tensor([[1.0, 2.0]])
    assert F.softmax(x).shape == (1, 2)
    assert F.cross_entropy(x, Tensor([1])).item() > 0
    assert F.scaled_dot_product_attention(x[None], x[None], x[None]).shape == (1, 1, 2)
