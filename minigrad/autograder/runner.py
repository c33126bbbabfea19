"""The student's side: the process that imports a student's file and runs its functions.

Nothing here decides a verdict.  The grader (isolation.py, in the grading process) sends a
request -- call the student's `softmax` with these arrays, or run this probe of a check --
and this process sends back what happened: the values returned, as arrays and JSON
(protocol.py), or the exception raised.  The checks compare those values, in the grader.  So
whatever the student's file changes in this process (numpy.isclose, the autograder's modules,
sys.exit, os._exit) changes only what this process sends back, never how it is judged.

    python -I -c BOOT server FD        the fork server: imports numpy, minigrad and the
                                       checks once, then forks one process per lesson file
    python -I -c BOOT child FD OPTIONS one process for one file (when fork is not used)

Each process for a file, forked or started fresh: its own session (the grader kills the
whole process group), stdin from /dev/null, stdout and stderr into output.txt in its own
empty working directory, a memory limit (RLIMIT_AS: what it uses after importing minigrad
plus the allowance), no core dumps, files it writes capped in size (RLIMIT_FSIZE).  Then it
imports the file and answers requests, one at a time, until the grader closes the socket.
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import numpy as np

from . import protocol

_objects: dict[int, object] = {}          # handle -> object, for the current task
_refused_calls: list[str] = []            # forbidden library functions that were called
_REFUSED = "\x00refused\x00"
_MAX_HANDLES = 100_000


# ----------------------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------------------
def boot(argv: list[str]) -> None:
    """`python -I -c BOOT <server FD | child FD OPTIONS>` (see isolation.py)."""
    if argv[0] == "server":
        serve_forks(int(argv[1]))
    elif argv[0] == "child":
        sock = socket.socket(fileno=int(argv[1]))
        _run_child(sock, json.loads(argv[2]), forked=False)
    else:
        raise SystemExit(f"runner: unknown mode {argv[0]!r}")


def preload() -> None:
    """What every student's process needs, imported once by the fork server."""
    import minigrad  # noqa: F401
    from . import lessons
    lessons()


def serve_forks(fd: int) -> None:
    """The fork server.  It never runs a student's code: it forks a process that does.

    Commands (one JSON message each, on a SOCK_SEQPACKET socket):
      {"cmd": "spawn", "options": {...}} + the socket for the new process (SCM_RIGHTS)
            -> {"pid": n}
      {"cmd": "reap", "pid": n, "grace": s}  wait up to s seconds for it to exit, then kill
            its process group, and collect it -> {"exitcode": c} or {"signal": n}, and
            "killed": whether it was still running
    At the end of its socket it kills and collects every process it started, and exits."""
    control = socket.socket(fileno=fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)         # the grader cleans up on Ctrl-C
    preload()
    children: set[int] = set()
    try:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
            except (OSError, ValueError):
                break
            if not data:
                break
            cmd = json.loads(data)
            if cmd["cmd"] == "spawn":
                if len(fds) != 1:
                    for f in fds:
                        os.close(f)
                    control.send(json.dumps({"error": "spawn needs one socket"}).encode())
                    continue
                pid = os.fork()
                if pid == 0:                                   # the student's process
                    code = 0
                    try:
                        os.setsid()
                        control.close()
                        _run_child(socket.socket(fileno=fds[0]), cmd["options"], forked=True)
                    except BaseException:  # noqa: BLE001  (never return into the server loop)
                        code = 70
                    finally:
                        os._exit(code)
                os.close(fds[0])
                children.add(pid)
                control.send(json.dumps({"pid": pid}).encode())
            elif cmd["cmd"] == "reap":
                for f in fds:
                    os.close(f)
                pid = int(cmd["pid"])
                status = reap(pid, float(cmd.get("grace", 0))) if pid in children else {}
                children.discard(pid)
                control.send(json.dumps(status).encode())
    finally:
        for pid in children:
            reap(pid, 0.0)


def reap(pid: int, grace: float) -> dict:
    """Wait up to `grace` seconds for process `pid` (a group leader) to exit, kill its process
    group (whatever it started too), collect it: {"exitcode": c} or {"signal": n}, "killed"."""
    deadline = time.monotonic() + grace
    done = 0
    status = 0
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return {"exitcode": None, "killed": False}
        if done or time.monotonic() >= deadline:
            break
        time.sleep(0.005)
    killed = not done
    kill_group(pid)                     # a zombie leader keeps its group id reserved
    if not done:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return {"exitcode": None, "killed": killed}
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status), "killed": killed}
    return {"exitcode": os.WEXITSTATUS(status), "killed": killed}


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ----------------------------------------------------------------------------------------
# One student's process
# ----------------------------------------------------------------------------------------
def _run_child(sock, options: dict, forked: bool) -> None:
    workdir = options["workdir"]
    if forked:                          # a fresh interpreter got these from the grader's Popen
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        out = os.open(os.path.join(workdir, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                      0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(devnull)
        os.close(out)
    try:
        sys.stdout.reconfigure(line_buffering=True)    # a killed process's prints are kept
        sys.stderr.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass
    sys.dont_write_bytecode = True          # no __pycache__ beside the student's file
    os.chdir(workdir)
    tmp = os.path.join(workdir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    os.environ["TMPDIR"] = tmp
    import tempfile
    tempfile.tempdir = None
    os.environ["MINIGRAD_BACKEND"] = "numpy"
    from ..i18n import set_language
    set_language(options.get("lang"))   # the grader's language: the messages made here use it
    preload()              # (forked: imported already) before the limits: they count from here
    limits = apply_limits(options.get("memory_bytes"), options.get("file_bytes"))
    serve_student(sock, Path(options["path"]), limits)


def apply_limits(memory_bytes: int | None, file_bytes: int | None) -> dict:
    """RLIMIT_AS = the address space in use now + memory_bytes; no core files; files written
    at most file_bytes (SIGXFSZ ignored, so a write past it fails instead of killing).  What
    this system does not support is skipped: the dict says what was set."""
    applied = {"memory_bytes": None, "file_bytes": None}
    try:
        import resource
    except ImportError:                   # not POSIX: no limits but the grader's timeouts
        return applied
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    if memory_bytes:
        try:
            base = _address_space()
            limit = base + int(memory_bytes)
            hard = resource.getrlimit(resource.RLIMIT_AS)[1]
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            applied["memory_bytes"] = int(memory_bytes)
        except (ValueError, OSError, AttributeError):
            pass
    if file_bytes:
        try:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (int(file_bytes), int(file_bytes)))
            applied["file_bytes"] = int(file_bytes)
        except (ValueError, OSError, AttributeError):
            pass
    return applied


def _address_space() -> int:
    """Bytes of address space this process uses (VmSize)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        import resource
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss if sys.platform == "darwin" else rss * 1024


def serve_student(sock, path: Path, limits: dict) -> None:
    """Answer the grader's requests until it closes the socket.  The first one is "import"."""
    from .core import load_exercises, LoadError

    module = None
    while True:
        try:
            frame = protocol.read_frame_blocking(sock)
        except (OSError, protocol.ProtocolError):
            return
        if frame is None:
            return
        seq, nonce, tree, arrays = frame
        if module is None:
            _reset_engine()
            try:
                with np.errstate(all="ignore"):
                    module = load_exercises(path)
                reply = {"ok": True, "names": _names(module), "limits": limits}
            except LoadError as e:
                reply = {"ok": False, "import_error": str(e)}
            except BaseException as e:  # noqa: BLE001
                from ..i18n import tr
                reply = {"ok": False, "import_error": tr(f"importing {path} failed:",
                                                         f"导入 {path} 失败：")
                         + f"\n{type(e).__name__}: {e}"}
            _send(sock, seq, nonce, reply, path)
            if not reply["ok"]:
                return
            continue
        _send(sock, seq, nonce, _answer(module, path, tree, arrays), path)


def _send(sock, seq, nonce, reply, path):
    try:
        frame = protocol.pack(seq, nonce, reply, custom=_encode_custom, opaque=_encode_opaque)
    except BaseException as e:  # noqa: BLE001  (a value that cannot be sent, a __repr__ that raises)
        frame = protocol.pack(seq, nonce, {"ok": False, "raised": _exception_info(e, path),
                                           "refused": reply.get("refused", [])})
    sock.sendall(frame)


def _names(module) -> dict:
    out = {}
    for name, value in vars(module).items():
        if name.startswith("__"):
            continue
        kind = ("class" if isinstance(value, type) else
                "function" if callable(value) else
                "module" if type(value).__name__ == "module" else "other")
        out[name] = {"kind": kind, "type": type(value).__name__}
    return out


def _reset_engine() -> None:
    """Every task starts from the same engine state: grad mode on, anomaly mode off, the
    readable NumPy backend, seed 0 (as the checks' references are computed)."""
    from .. import backends
    from ..autograd import mode
    from ..random import manual_seed

    mode.grad_enabled, mode.anomaly, mode.in_backward_rule = True, False, False
    backends.set_backend("numpy")
    manual_seed(0)
    _objects.clear()


def _answer(module, path: Path, tree, arrays) -> dict:
    """Do what one request asks (see isolation.Student): {"ok": True, "value": ...} or
    {"ok": False, "raised": what the student's code raised}; "refused": the forbidden library
    functions that were called (even when the student's code caught the refusal)."""
    if protocol.peek(tree, "reset"):                    # a new task: before decoding
        _reset_engine()
    del _refused_calls[:]
    _forbidden_names.clear()
    names = {}
    try:
        msg = protocol.decode_message(tree, arrays, _decode_hooks(arrays, module))
        op = msg["op"]
        with _forbidden(msg.get("forbid") or []) as names, np.errstate(all="ignore"):
            if op == "call":
                target = msg["target"]
                fn = _attribute_path(module, target) if isinstance(target, str) else target
                value = fn(*msg.get("args", ()), **msg.get("kwargs", {}))
            elif op == "run":
                value = msg["probe"](module, *msg.get("args", ()), **msg.get("kwargs", {}))
            elif op == "keep":
                value = {"handle": _keep(msg["value"])}
            elif op == "fetch":
                value = msg["value"]
            else:
                raise ValueError(f"unknown request {op!r}")
        reply = {"ok": True, "value": value}
    except BaseException as e:  # noqa: BLE001  (student code may raise anything, SystemExit too)
        names = names or dict(_forbidden_names)
        reply = {"ok": False, "raised": _exception_info(e, path)}
    reply["refused"] = sorted({names[n] for n in _refused_calls if n in names})
    return reply


def _attribute_path(module, dotted: str):
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


# ----------------------------------------------------------------------------------------
# Values: what the grader sends (decode hooks) and what is sent back (encode)
# ----------------------------------------------------------------------------------------
def resolve(ref: dict):
    """A function or class of minigrad named by {"module", "qualname"} (module-level or a
    class's attribute; classmethods and staticmethods are unwrapped)."""
    module_name, qualname = ref.get("module"), ref.get("qualname")
    if not isinstance(module_name, str) or not (module_name == "minigrad"
                                                or module_name.startswith("minigrad.")):
        raise protocol.ProtocolError(f"a function outside minigrad: {module_name!r}")
    obj = importlib.import_module(module_name)
    for part in str(qualname).split("."):
        found = vars(obj).get(part) if hasattr(obj, "__dict__") else None
        obj = found if found is not None else getattr(obj, part)
        if isinstance(obj, (classmethod, staticmethod)):
            obj = obj.__func__
    return obj


def _decode_hooks(arrays, module) -> dict:
    from ..tensor import Tensor

    def tensor(node, sub):
        data = protocol.array_ref(node.get("data"), arrays)
        return Tensor(data, requires_grad=bool(node.get("requires_grad")))

    def handle(node, sub):
        key = node.get("id")
        if key not in _objects:
            raise protocol.ProtocolError(f"no object {key!r} in this task")
        return _objects[key]

    def function(node, sub):
        return resolve(node)

    def build(node, sub):
        ctor = sub(node.get("ctor"))
        obj = ctor(*sub(node.get("args") or []), **(sub(node.get("kwargs")) or {}))
        state = sub(node.get("state"))
        if state:
            obj.load_state_dict(state)
        train = node.get("train")
        if train is not None:
            obj.train(bool(train))
        for name, value in (sub(node.get("attrs")) or {}).items():
            setattr(obj, name, value)
        return obj

    return {"tensor": tensor, "handle": handle, "function": function, "build": build}


def _keep(obj) -> int | None:
    if len(_objects) >= _MAX_HANDLES:
        return None
    key = len(_objects) + 1
    while key in _objects:
        key += 1
    _objects[key] = obj
    return key


def _encode_custom(value, enc, depth):
    """A Tensor: its data, grad, requires_grad, whether it has a graph node, and a handle."""
    from ..tensor import Tensor

    if not isinstance(value, Tensor):
        return None
    data = np.asarray(value.data)
    if data.dtype.kind not in "biufc":
        return None
    grad = value.grad
    if grad is not None:
        grad = enc.encode(np.asarray(grad.data if isinstance(grad, Tensor) else grad), depth + 1)
    return {"$": "tensor", "data": enc.array(data), "requires_grad": bool(value.requires_grad),
            "has_node": value._node is not None, "grad": grad, "handle": _keep(value)}


def _encode_opaque(value):
    """Anything else: its type and repr, and a handle the grader can send back."""
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001  (a student's __repr__)
        text = f"<{type(value).__name__} object>"
    if not isinstance(text, str):
        text = f"<{type(value).__name__} object>"
    if len(text) > protocol.MAX_REPR:
        text = text[:protocol.MAX_REPR - 5] + " ...>"
    try:
        is_callable = callable(value)
    except BaseException:  # noqa: BLE001
        is_callable = False
    return {"$": "object", "type": type(value).__name__, "repr": text,
            "callable": is_callable, "handle": _keep(value)}


# ----------------------------------------------------------------------------------------
# Exceptions, and the library functions a task forbids
# ----------------------------------------------------------------------------------------
def _exception_info(e: BaseException, path: Path) -> dict:
    from .core import _first_line, _where

    where, line = _where(e, path)
    message = _first_line(e)
    refused = message[len(_REFUSED):] if message.startswith(_REFUSED) else None
    if isinstance(e, NotImplementedError):
        category = "todo"
    elif refused is not None:
        category = "refused"
    elif isinstance(e, AssertionError):
        category = "assert"
    elif isinstance(e, MemoryError):
        category = "memory"
    else:
        category = "error"
    return {"type": type(e).__name__, "message": message[:2000], "where": where,
            "line": line[:400], "category": category,
            "refused": _forbidden_names.get(refused) if refused is not None else None}


_forbidden_names: dict[str, int] = {}


class _forbidden:
    """Inside: calling a forbidden library function raises an AssertionError whose message
    names it, and notes the call (so the grader hears of it even if the student's code
    catches the error).  specs: [{"kind": "attr", "owner": ref, "attr": name} or
    {"kind": "function", "target": ref}] (refs resolved already)."""

    def __init__(self, specs):
        self.specs = specs
        self.undo = []

    def __enter__(self) -> dict:
        _forbidden_names.clear()
        try:
            self._apply()
        except BaseException:
            self.__exit__()
            raise
        return dict(_forbidden_names)

    def _apply(self):
        for i, spec in enumerate(self.specs):
            if spec["kind"] == "attr":
                owner, attr = spec["owner"], spec["attr"]
                name = f"attr:{i}"
                _forbidden_names[name] = i
                own = attr in getattr(owner, "__dict__", {})
                original = owner.__dict__[attr] if own else None
                setattr(owner, attr, _refuser(name))
                self.undo.append((lambda o=owner, a=attr, own=own, orig=original:
                                  setattr(o, a, orig) if own else delattr(o, a)))
            else:
                f = spec["target"]
                name = f"{f.__module__}.{f.__qualname__}"
                _forbidden_names[name] = i
                code = f.__code__
                f.__code__ = _refused.__code__.replace(co_name=f.__name__, co_qualname=name)
                self.undo.append(lambda f=f, code=code: setattr(f, "__code__", code))

    def __exit__(self, *exc):
        for undo in reversed(self.undo):
            undo()
        return False


def _refuser(name: str):
    def refuse(*args, **kwargs):
        _refused_calls.append(name)
        raise AssertionError(_REFUSED + name)
    return refuse


def _refused(*args, **kwargs):
    # No free variables and only builtins: this code object can stand in for any plain
    # function's (see _forbidden), whatever module that function lives in.  Its qualname is
    # set to the refused function's dotted name.
    import sys
    name = sys._getframe(0).f_code.co_qualname
    sys.modules["minigrad.autograder.runner"]._refused_calls.append(name)
    raise AssertionError("\x00refused\x00" + name)
